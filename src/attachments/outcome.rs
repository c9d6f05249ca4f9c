//! How reading a file's text ended, as an event: the text job and OCR's last page
//! both end a file's reading this way.

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
