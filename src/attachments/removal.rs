//! Removing a deleted attachment's bytes (and what was made from them) through the job
//! queue: the job is enqueued in the transaction that deletes the rows, so the removal
//! happens even when the process that deleted them stops before removing the files
//! itself. Removing what is already gone is nothing, so the job and the request's own
//! removal after its commit never trouble each other.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::storage::Store;
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
