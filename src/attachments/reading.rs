//! An attachment's text: read by a job once its upload has committed (never in the
//! request), stored page by page, served back, and found by the search of the record it
//! belongs to. The job is idempotent: it acts only on a `pending` text, under a row
//! lock, so a second run (a retry, a rescued job) changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::originals::{self, Guard};
use super::text::{self, Extracted, MAX_PAGES, MAX_TEXT_CHARS};
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::language::{set_or_told, TextLanguage};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::storage::{Store, StoredName};
use crate::kernel::{unit, DomainError, Principal, Role};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const EXTRACT_TEXT: JobKind = JobKind {
    name: "attachments.extract_text",
    queue: "default",
    priority: 3,
    max_attempts: 3,
    timeout: Duration::from_secs(300),
};

/// Reads an attachment's text. Its environment is the store.
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
    type Env = Store;

    async fn run(self, ctx: JobContext, store: Store) -> Result<(), JobError> {
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
        let name = StoredName::original(id);
        let extracted = if text::needs_ocr(&content_type) {
            // An image is one page with no text of its own.
            Extracted::Pages {
                pages: vec![String::new()],
                truncated: false,
            }
        } else {
            match store.read(ctx.db.tenant_id(), &name).await {
                Ok(Some(bytes)) => {
                    let content_type = content_type.clone();
                    // Parsing a large file is CPU work: off the async workers.
                    tokio::task::spawn_blocking(move || text::extract(&content_type, &bytes))
                        .await
                        .unwrap_or_else(|_| Extracted::Failed("the file could not be read".into()))
                }
                Ok(None) => Extracted::Failed("the file is not in the store".into()),
                // The last attempt settles it, so that the text never stays pending.
                Err(error) if ctx.job.attempt >= ctx.job.max_attempts => {
                    Extracted::Failed(format!("the file could not be read: {error}"))
                }
                Err(error) => return Err(JobError::Retry(format!("reading {id}: {error}"))),
            }
        };
        let tx = ctx.db.begin().await?;
        record(&tx, &ctx, id, &content_type, extracted).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Stores what reading the file came to, if its text is still pending.
async fn record(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    content_type: &str,
    extracted: Extracted,
) -> Result<(), JobError> {
    if !super::outcome::lock_text_in(tx, id, "pending").await? {
        return Ok(());
    }
    let scanned = text::needs_ocr(content_type) || content_type == "application/pdf";
    let extracted = match extracted {
        Extracted::Pages { pages, truncated } if scanned => {
            let blank = text::blank_pages(&pages);
            if blank.is_empty() {
                Extracted::Pages { pages, truncated }
            } else if super::ocr::available() {
                // The pages with text are kept now; OCR adds the others.
                store_pages(tx, id, &pages, &blank).await?;
                let languages = super::settings::current(tx).await?.ocr_languages;
                return super::ocr::begin(tx, id, pages.len() as i32, &blank, &languages).await;
            } else if text::needs_ocr(content_type) {
                Extracted::Failed(
                    "OCR is not available on this server: tesseract is not installed".into(),
                )
            } else {
                let note = format!(
                    "{} of {} pages have no text of their own, and OCR is not installed on this server",
                    blank.len(),
                    pages.len()
                );
                return record_pages(tx, ctx, id, pages, Some(note)).await;
            }
        }
        other => other,
    };
    match extracted {
        Extracted::Pages { pages, truncated } => {
            let note = truncated.then(|| {
                format!("only the first {MAX_PAGES} pages and {MAX_TEXT_CHARS} characters are kept")
            });
            record_pages(tx, ctx, id, pages, note).await
        }
        Extracted::Unsupported => {
            let reason = "this kind of file has no text to read yet".to_owned();
            settle(tx, ctx, id, ("unsupported", Some(reason)), 0, 0).await
        }
        Extracted::Failed(reason) => settle(tx, ctx, id, ("failed", Some(reason)), 0, 0).await,
    }
}

/// Stores `pages` but those numbered in `skip` (from 1).
async fn store_pages(
    tx: &TenantTx,
    id: Uuid,
    pages: &[String],
    skip: &[i32],
) -> Result<(), JobError> {
    let (numbers, bodies): (Vec<i32>, Vec<&str>) = (1..)
        .zip(pages.iter().map(String::as_str))
        .filter(|(number, _)| !skip.contains(number))
        .unzip();
    let set = super::language::set_language(tx, id).await?;
    let languages: Vec<&str> = bodies.iter().map(|b| set_or_told(set, b)).collect();
    tx.execute(
        "insert into attachment_pages (attachment_id, page, body, text_language) \
         select $1, page, body, language \
         from unnest($2::int[], $3::text[], $4::text[]) as p(page, body, language)",
        &[&id, &numbers, &bodies, &languages],
    )
    .await?;
    Ok(())
}

/// Stores a file's own text, page by page, with `note` on what was not read.
async fn record_pages(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    pages: Vec<String>,
    note: Option<String>,
) -> Result<(), JobError> {
    store_pages(tx, id, &pages, &[]).await?;
    let characters: i64 = pages.iter().map(|p| p.chars().count() as i64).sum();
    settle(
        tx,
        ctx,
        id,
        ("extracted", note),
        pages.len() as i32,
        characters,
    )
    .await
}

/// Records the outcome of reading a file's own text, an event.
async fn settle(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    (state, error): (&str, Option<String>),
    pages: i32,
    characters: i64,
) -> Result<(), JobError> {
    tx.execute(
        "update attachment_texts set state = $2, error = $3, pages = $4, characters = $5, \
         updated_at = $6, method = 'text' where attachment_id = $1",
        &[&id, &state, &error, &pages, &characters, &unit::now(tx)],
    )
    .await?;
    let changes = json!({"state": state, "method": "text", "error": error, "pages": pages, "characters": characters});
    super::outcome::record(tx, ctx, id, state, changes).await
}

/// Where reading an attachment's text stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct TextStatus {
    pub attachment_id: Uuid,
    /// `pending` (the job has not run yet), `recognizing` (OCR is reading its scanned
    /// pages), `extracted`, `failed` or `unsupported`.
    pub state: String,
    /// `text` (the file's own text) or `ocr` (pages recognised in a scan or an image).
    pub method: String,
    /// Why it failed or is unsupported, or what was not kept of a very long file.
    pub error: Option<String>,
    pub pages: i32,
    pub characters: i64,
    pub updated_at: DateTime<Utc>,
    /// How many pages OCR has to read (those with no text of their own), and has read.
    pub ocr_pages_total: i32,
    pub ocr_pages_done: i32,
    /// The languages OCR reads them in: the tenant's setting when it started.
    pub ocr_languages: Vec<String>,
    /// Whether a searchable PDF was made, at `/attachments/{id}/searchable-pdf`.
    pub searchable_pdf: bool,
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
            ocr_pages_total: row.get(7),
            ocr_pages_done: row.get(8),
            ocr_languages: row.get(9),
            searchable_pdf: row.get(10),
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
    /// The language it is stemmed in: the file's set language, else the one its own
    /// words tell.
    pub text_language: TextLanguage,
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
        "select attachment_id, state, error, pages, characters, updated_at, method, \
                ocr_pages_total, ocr_pages_done, ocr_languages, searchable_pdf_sha256 is not null \
         from attachment_texts where attachment_id = $1",
        attachment,
        "attachment text",
    )
    .await
}

/// A file's searchable PDF, where OCR made one.
pub struct SearchablePdf {
    id: Uuid,
    filename: String,
    sha256: Option<String>,
}

impl From<&Row> for SearchablePdf {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            filename: row.get(1),
            sha256: row.get(2),
        }
    }
}

/// The id, file name and SHA-256 of `attachment`'s searchable PDF, for anyone who may
/// read the attachment; missing while there is none.
pub async fn searchable_pdf(
    db: &TenantDb,
    principal: &Principal,
    attachment: Uuid,
) -> Result<(Uuid, String, String), DomainError> {
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (
                "select a.id, a.filename, t.searchable_pdf_sha256 from attachments a \
                 join attachment_texts t on t.attachment_id = a.id where a.id = $1",
                &[&attachment],
            ),
            (originals::ATTACHMENT_GUARD_SQL, &[&attachment]),
        ],
    )
    .await?;
    let found = results[0]
        .first()
        .map(SearchablePdf::from)
        .ok_or(DomainError::Missing("attachment"))?;
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    let sha256 = found.sha256.ok_or(DomainError::Missing("searchable PDF"))?;
    Ok((found.id, found.filename, sha256))
}

/// A page of `attachment`'s text pages, in order.
pub async fn pages(
    db: &TenantDb,
    principal: &Principal,
    attachment: Uuid,
    page: &PageRequest,
) -> Result<Page<TextPage>, DomainError> {
    let after: Option<i32> = page.after()?;
    let (actor, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (
                "select 1 from attachment_texts where attachment_id = $1",
                &[&attachment],
            ),
            (originals::ATTACHMENT_GUARD_SQL, &[&attachment]),
            (
                "select page, body, confidence, text_language from attachment_pages \
                 where attachment_id = $1 and page > coalesce($3::int, 0) order by page limit $2",
                &[&attachment, &page.fetch(), &after],
            ),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("attachment text"));
    }
    originals::require_original(Guard::from_rows(&results[1]).as_ref(), &actor)?;
    let pages: Vec<TextPage> = results[2]
        .iter()
        .map(|row| TextPage {
            page: row.get(0),
            text: row.get(1),
            confidence: row.get(2),
            text_language: TextLanguage::of_config(row.get(3)),
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
