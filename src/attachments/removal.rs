//! Removing an attachment's bytes (and what was made from them) through the job queue,
//! whenever no row names them:
//!
//! - **Deleted.** The job is enqueued in the transaction that deletes the rows, so the
//!   removal happens even when the process that deleted them stops before removing the
//!   files itself. Removing what is already gone is nothing, so the job and the
//!   request's own removal after its commit never trouble each other.
//! - **Never recorded.** An upload goes into the store before the transaction that
//!   records it opens (so no connection or lock is held while the bytes go up), and its
//!   removal is enqueued first, [`UNRECORDED_AFTER`] ahead and keyed by the id the
//!   record will have ([`reserve`]). Recording the file cancels that job
//!   ([`claim`]); a process that stops between the two leaves a file the job removes.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::storage::{unrecorded_key, Store};
use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

pub const REMOVE_FILES: JobKind = JobKind {
    name: "attachments.remove_files",
    queue: "default",
    priority: 5,
    max_attempts: 5,
    timeout: Duration::from_secs(60),
};

/// Removes the files of attachments whose rows are gone. Its environment is the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveFiles {
    pub attachments: Vec<Uuid>,
}

/// How long an upload's bytes may wait in the store for the record naming them: longer
/// than any upload takes to go into a bucket, retries included.
pub const UNRECORDED_AFTER: Duration = Duration::from_secs(3600);

/// Enqueues, for each of `attachments` (ids not yet recorded), the removal of its files
/// [`UNRECORDED_AFTER`] from now, in `tx`, which the caller commits before putting the
/// files in the store.
pub async fn reserve(tx: &TenantTx, attachments: &[Uuid]) -> Result<(), DomainError> {
    let at = crate::kernel::unit::now(tx)
        + chrono::Duration::from_std(UNRECORDED_AFTER).unwrap_or(chrono::Duration::MAX);
    let jobs = attachments
        .iter()
        .map(|id| {
            RemoveFiles {
                attachments: vec![*id],
            }
            .at(at)
            .unique(unrecorded_key(*id))
        })
        .collect();
    crate::kernel::jobs::enqueue(tx, jobs).await?;
    Ok(())
}

/// Cancels the removal [`reserve`] enqueued for `attachment`, in the transaction that
/// records it. Refused when that removal has already started (the upload took longer
/// than [`UNRECORDED_AFTER`] to go into the store): its bytes may be gone, so the file
/// is not recorded and is to be sent again.
pub async fn claim(tx: &TenantTx, attachment: Uuid) -> Result<(), DomainError> {
    let cancelled =
        crate::kernel::jobs::cancel_pending(tx, REMOVE_FILES, &unrecorded_key(attachment)).await?;
    if cancelled == 1 {
        return Ok(());
    }
    Err(DomainError::Unavailable(anyhow::anyhow!(
        "the upload took longer than {} minutes to store: send it again",
        UNRECORDED_AFTER.as_secs() / 60
    )))
}

/// Enqueues the removal of `attachments`' files, in the transaction deleting their rows.
pub async fn schedule(tx: &TenantTx, attachments: Vec<Uuid>) -> Result<(), DomainError> {
    if attachments.is_empty() {
        return Ok(());
    }
    crate::kernel::jobs::enqueue(tx, vec![RemoveFiles { attachments }.now()]).await?;
    Ok(())
}

impl BackgroundJob for RemoveFiles {
    const KIND: JobKind = REMOVE_FILES;
    type Env = Store;

    async fn run(self, ctx: JobContext, store: Store) -> Result<(), JobError> {
        // Only ids whose rows are gone: a job must never remove a live file.
        let tx = ctx.db.begin().await?;
        let live: Vec<Uuid> = tx
            .query(
                "select id from attachments where id = any($1)",
                &[&self.attachments],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        tx.commit().await?;
        let gone: Vec<Uuid> = self
            .attachments
            .into_iter()
            .filter(|id| !live.contains(id))
            .collect();
        super::files::remove_files(&store, ctx.db.tenant_id(), &gone).await;
        Ok(())
    }
}
