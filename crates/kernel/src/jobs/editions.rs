//! Readings a job stores (the tasks made of a contract's obligations, the terms it
//! suggests, its risk findings) follow the rules of the release that made them: a
//! release that reads better would leave every contract read before it as it was
//! until its text next changed. A reader names an edition; at start-up,
//! [`bring_up_to`] enqueues a job reading everything again for each active tenant whose
//! readings are of an older edition, and records the new one in the same transaction,
//! so that it happens once across every instance and every restart.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;
use uuid::Uuid;

use super::enqueue::{enqueue_with, NewJob};
use crate::tenancy::TenantId;

/// Records `edition` of `reader` for every active tenant behind it (or with no edition
/// recorded) and returns them. Only those behind are written, so a start with nothing
/// to do locks no row; the upsert's condition makes a second instance starting at the
/// same time, which read the same tenants as behind, find nothing left to do.
const RAISE_SQL: &str = "\
    insert into public.reader_editions (tenant_id, reader, edition) \
    select t.id, $1, $2 from public.tenants t \
    where t.status = 'active' and not exists (select 1 from public.reader_editions e \
        where e.tenant_id = t.id and e.reader = $1 and e.edition >= $2) \
    on conflict (tenant_id, reader) do update set edition = excluded.edition \
        where public.reader_editions.edition < excluded.edition \
    returning tenant_id";

/// Enqueues `job` for every active tenant whose readings of `reader` are older than
/// `edition`, and records `edition` for them, in one transaction. Returns how many
/// tenants were behind.
pub async fn bring_up_to(
    client: &mut Client,
    reader: &str,
    edition: i32,
    job: NewJob,
    now: DateTime<Utc>,
) -> Result<usize, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let behind: Vec<Uuid> = tx
        .query(RAISE_SQL, &[&reader, &edition])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for tenant in &behind {
        enqueue_with(&tx, TenantId(*tenant), now, vec![job.clone()]).await?;
    }
    tx.commit().await?;
    Ok(behind.len())
}
