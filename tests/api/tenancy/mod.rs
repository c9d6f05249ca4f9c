//! The tenancy core against a real PostgreSQL: provisioning, spares, fleet migration.

use std::time::Duration;

use crate::support::{fingerprint_differences, history, schema_fingerprint, schemas, TestDb};
use pactum::tenancy::fleet::{self, FleetOptions, FleetReport, OutcomeStatus, SchemaKind, Scope};
use pactum::tenancy::provision::{self, NewTenant, ProvisionPath, MIGRATION_LOCK_KEY};
use pactum::tenancy::{
    registry, spares, Host, MigrationSet, TenancyError, TenantSlug, TenantStatus,
};
use tokio_postgres::Client;

mod homes;
mod isolation;
mod lifecycle;
mod migrations;
mod plans;
mod spare_pool;

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.localhost")).unwrap(),
    )
    .unwrap()
}

/// The embedded tenant set plus one more migration: "the next release".
fn next_release(sql: &str) -> MigrationSet {
    let base = MigrationSet::tenant();
    let next = base.latest_version() + 1;
    base.with_extra(&[(&format!("V{next}__next_release"), sql)])
        .unwrap()
}

async fn create(db: &TestDb, set: &MigrationSet, slug: &str) -> provision::Provisioned {
    let mut client = db.client().await;
    provision::create_tenant(&mut client, set, &new_tenant(slug))
        .await
        .unwrap_or_else(|e| panic!("creating {slug}: {e}"))
}

async fn migrate(db: &TestDb, set: &MigrationSet, options: FleetOptions) -> FleetReport {
    fleet::migrate_fleet(
        &db.database_url(),
        &MigrationSet::public(),
        set,
        &options,
        |_| {},
    )
    .await
    .expect("fleet migration runs")
}

async fn registry_version(client: &Client, slug: &str) -> i32 {
    client
        .query_one(
            "select schema_version from public.tenants where slug = $1",
            &[&slug],
        )
        .await
        .unwrap()
        .get(0)
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}
