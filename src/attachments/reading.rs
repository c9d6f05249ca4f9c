//! An attachment's text: read by a job once its upload has committed (never in the
//! request), stored page by page, served back, and found by the search of the record it
//! belongs to. The job is idempotent: it acts only on a `pending` text, under a row
//! lock, so a second run (a retry, a rescued job) changes nothing.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::text::{self, Extracted, MAX_PAGES, MAX_TEXT_CHARS};
use super::upload::tenant_folder;
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::{unit, Actor, DomainError, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const EXTRACT_TEXT: JobKind = JobKind {
    name: "attachments.extract_text",
    queue: "default",
    priority: 3,
    max_attempts: 3,
    timeout: Duration::from_secs(300),
};

/// Reads an attachment's text. Its environment is the upload folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractText {
    pub attachment_id: Uuid,
}

/// Records that `attachment` waits for its text and enqueues the job that reads it, in
/// the transaction that stores the attachment.
pub async fn schedule(tx: &TenantTx, attachment: Uuid) -> Result<(), DomainError> {
    tx.execute(
        "insert into attachment_texts (attachment_id, updated_at) values ($1, $2)",
        &[&attachment, &unit::now(tx)],
    )
    .await?;
    crate::kernel::jobs::enqueue(
        tx,
        vec![ExtractText {
            attachment_id: attachment,
        }
        .now()],
    )
    .await?;
    Ok(())
}

impl BackgroundJob for ExtractText {
    const KIND: JobKind = EXTRACT_TEXT;
    type Env = PathBuf;

    async fn run(self, ctx: JobContext, upload_dir: PathBuf) -> Result<(), JobError> {
        let id = self.attachment_id;
        let tx = ctx.db.begin().await?;
        let row = tx
            .query_opt(
                "select a.content_type, t.state from attachments a \
                 join attachment_texts t on t.attachment_id = a.id where a.id = $1",
                &[&id],
            )
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(()); // deleted since
        };
        let (content_type, state): (String, String) = (row.get(0), row.get(1));
        if state != "pending" {
            return Ok(());
        }
        let path = tenant_folder(&upload_dir, ctx.db.tenant_id()).join(id.to_string());
        let extracted = if text::needs_ocr(&content_type) {
            recognize(&path).await?
        } else {
            match tokio::fs::read(&path).await {
                Ok(bytes) => {
                    // Parsing a large file is CPU work: off the async workers.
                    tokio::task::spawn_blocking(move || text::extract(&content_type, &bytes))
                        .await
                        .unwrap_or_else(|_| Extracted::Failed("the file could not be read".into()))
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Extracted::Failed("the file is not on disk".into())
                }
                Err(error) => return Err(JobError::Retry(format!("reading {id}: {error}"))),
            }
        };
        let tx = ctx.db.begin().await?;
        record(&tx, &ctx, id, extracted).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The longest one image may take to recognise.
const OCR_TIMEOUT: Duration = Duration::from_secs(120);

/// The text of an image, through Tesseract (English) on the PATH, in a process of its
/// own that is killed if it runs past [`OCR_TIMEOUT`].
async fn recognize(path: &std::path::Path) -> Result<Extracted, JobError> {
    let run = tokio::process::Command::new("tesseract")
        .arg(path)
        .args(["stdout", "-l", "eng", "tsv"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(OCR_TIMEOUT, run).await {
        Err(_) => Ok(Extracted::Failed(format!(
            "OCR took longer than {} s",
            OCR_TIMEOUT.as_secs()
        ))),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => Ok(Extracted::Failed(
            "OCR is not available on this server: tesseract is not installed".into(),
        )),
        Ok(Err(error)) => Err(JobError::Retry(format!("running tesseract: {error}"))),
        Ok(Ok(output)) if output.status.success() => {
            Ok(text::recognized(&String::from_utf8_lossy(&output.stdout)))
        }
        Ok(Ok(output)) => {
            let reason = String::from_utf8_lossy(&output.stderr);
            Ok(Extracted::Failed(format!(
                "the image cannot be read: {}",
                crate::kernel::validate::truncate(reason.trim(), 200)
            )))
        }
    }
}

/// Stores what reading the file came to, if its text is still pending.
async fn record(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    extracted: Extracted,
) -> Result<(), JobError> {
    // The attachment first, then its text: the order a delete takes them in (the
    // attachment's row, then its text through the cascade), so the two wait for each
    // other instead of deadlocking.
    let pending = tx
        .query_opt(
            "select 1 from attachments a join attachment_texts t on t.attachment_id = a.id \
             where a.id = $1 and t.state = 'pending' for key share of a for update of t",
            &[&id],
        )
        .await?;
    if pending.is_none() {
        return Ok(());
    }
    let mut method = "text";
    let (state, error, pages, characters) = match extracted {
        Extracted::Recognized { text, confidence } => {
            method = "ocr";
            let characters = text.chars().count() as i64;
            tx.execute(
                "insert into attachment_pages (attachment_id, page, body, confidence) \
                 values ($1, 1, $2, $3)",
                &[&id, &text, &confidence],
            )
            .await?;
            ("extracted", None, 1, characters)
        }
        Extracted::Pages { pages, truncated } => {
            let numbers: Vec<i32> = (1..=pages.len() as i32).collect();
            let characters: i64 = pages.iter().map(|p| p.chars().count() as i64).sum();
            tx.execute(
                "insert into attachment_pages (attachment_id, page, body) \
                 select $1, page, body from unnest($2::int[], $3::text[]) as p(page, body)",
                &[&id, &numbers, &pages],
            )
            .await?;
            let error = truncated.then(|| {
                format!("only the first {MAX_PAGES} pages and {MAX_TEXT_CHARS} characters are kept")
            });
            ("extracted", error, pages.len() as i32, characters)
        }
        Extracted::Unsupported => (
            "unsupported",
            Some("this kind of file has no text to read yet".to_owned()),
            0,
            0,
        ),
        Extracted::Failed(reason) => ("failed", Some(reason), 0, 0),
    };
    tx.execute(
        "update attachment_texts set state = $2, error = $3, pages = $4, characters = $5, \
         updated_at = $6, method = $7 where attachment_id = $1",
        &[
            &id,
            &state,
            &error,
            &pages,
            &characters,
            &unit::now(tx),
            &method,
        ],
    )
    .await?;
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
            changes: json!({"state": state, "method": method, "error": error, "pages": pages, "characters": characters}),
        },
    )
    .await?;
    Ok(())
}

/// Where reading an attachment's text stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextStatus {
    pub attachment_id: Uuid,
    /// `pending` (the job has not run yet), `extracted`, `failed` or `unsupported`.
    pub state: String,
    /// `text` (the file's own text) or `ocr` (recognised in an image).
    pub method: String,
    /// Why it failed or is unsupported, or what was not kept of a very long file.
    pub error: Option<String>,
    pub pages: i32,
    pub characters: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for TextStatus {
    fn from(row: &Row) -> Self {
        Self {
            attachment_id: row.get(0),
            state: row.get(1),
            error: row.get(2),
            pages: row.get(3),
            characters: row.get(4),
            updated_at: row.get(5),
            method: row.get(6),
        }
    }
}

/// One page of an attachment's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextPage {
    /// From 1.
    pub page: i32,
    pub text: String,
    /// For text recognised by OCR: the mean word confidence, 0-100.
    pub confidence: Option<f32>,
}

/// Where reading `attachment`'s text stands, for anyone who may read it.
pub async fn status(
    db: &TenantDb,
    principal: &Principal,
    attachment: Uuid,
) -> Result<TextStatus, DomainError> {
    crate::kernel::reads::read_one_as(
        db,
        principal,
        Role::Viewer,
        "select attachment_id, state, error, pages, characters, updated_at, method \
         from attachment_texts where attachment_id = $1",
        attachment,
        "attachment text",
    )
    .await
}

/// A page of `attachment`'s text pages, in order.
pub async fn pages(
    db: &TenantDb,
    principal: &Principal,
    attachment: Uuid,
    page: &PageRequest,
) -> Result<Page<TextPage>, DomainError> {
    let after: Option<i32> = page.after()?;
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (
                "select 1 from attachment_texts where attachment_id = $1",
                &[&attachment],
            ),
            (
                "select page, body, confidence from attachment_pages where attachment_id = $1 \
                 and ($3::int is null or page > $3) order by page limit $2",
                &[&attachment, &page.fetch(), &after],
            ),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("attachment text"));
    }
    let pages: Vec<TextPage> = results[1]
        .iter()
        .map(|row| TextPage {
            page: row.get(0),
            text: row.get(1),
            confidence: row.get(2),
        })
        .collect();
    Ok(Page::keyset(pages, page, |p| p.page))
}

/// The whole extracted text of `attachment`, its pages separated by a blank line, in
/// the caller's transaction (a reaction to its `attachment.text_extracted` event).
pub async fn text_of(tx: &TenantTx, attachment: Uuid) -> Result<String, DomainError> {
    let row = tx
        .query_one(
            "select coalesce(string_agg(body, E'\\n\\n' order by page), '') \
             from attachment_pages where attachment_id = $1",
            &[&attachment],
        )
        .await?;
    Ok(row.get(0))
}
