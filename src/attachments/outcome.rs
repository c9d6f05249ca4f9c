//! How reading a file's text ended, as an event: the text job and OCR's last step
//! both end a file's reading this way, under the lock both take first.

use uuid::Uuid;

use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{JobContext, JobError};
use crate::kernel::Actor;
use crate::tenancy::scoped::TenantTx;

/// The event that says how reading a file's text ended (`attachment.text_extracted`,
/// `.text_failed`, `.text_unsupported`), recorded as the text extraction.
pub async fn record(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    state: &str,
    changes: serde_json::Value,
) -> Result<(), JobError> {
    audit::record(
        tx,
        &Actor::system("text extraction"),
        &ctx.origin(),
        Entry {
            action: match state {
                "extracted" => "text_extracted",
                "unsupported" => "text_unsupported",
                _ => "text_failed",
            },
            entity: "attachment",
            entity_id: Some(id),
            changes,
        },
    )
    .await?;
    Ok(())
}

/// Locks attachment `id`'s text if it is in `state`; whether it is. The attachment
/// first, then its text: the order a delete takes them in (the attachment's row, then
/// its text through the cascade), so the two wait for each other instead of
/// deadlocking. What every writer of a file's text takes first.
pub async fn lock_text_in(tx: &TenantTx, id: Uuid, state: &str) -> Result<bool, JobError> {
    Ok(tx
        .query_opt(
            "select 1 from attachments a join attachment_texts t on t.attachment_id = a.id \
             where a.id = $1 and t.state = $2 for key share of a for update of t",
            &[&id, &state],
        )
        .await?
        .is_some())
}
