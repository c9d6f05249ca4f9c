//! OCR of scanned PDFs and images, a page a job. The text job finds the pages that have
//! no text of their own (every page of an image; a PDF's pages without a text layer),
//! stores the others, and enqueues one [`RecognizePage`] per page to read: pages of one
//! file are recognised in parallel by as many workers as there are, each page's text is
//! committed as it is read (so progress shows, and a crash loses one page's work), and
//! the job that commits the last page enqueues [`FinishRecognition`], which assembles
//! the searchable PDF (the scan with its recognised text as an invisible layer) beside
//! the original with no transaction open, then records the outcome.
//!
//! The tools are the distribution's: `pdftoppm` (poppler) renders a page, `tesseract`
//! reads it, `pdfseparate` and `pdfunite` assemble the PDF. Each runs as a process of
//! its own, one thread each (workers are the parallelism), killed past its timeout.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::files::work_folder;
use super::outcome::lock_text_in;
use super::text;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::language::set_or_told;
use crate::kernel::storage::{Store, StoredName, PARTIAL_SUFFIX};
use crate::kernel::unit;
use crate::tenancy::scoped::TenantTx;

pub const RECOGNIZE_PAGE: JobKind = JobKind {
    name: "attachments.recognize_page",
    queue: "documents",
    priority: 4,
    max_attempts: 3,
    timeout: Duration::from_secs(300),
};

pub const FINISH_RECOGNITION: JobKind = JobKind {
    name: "attachments.finish_recognition",
    queue: "documents",
    priority: 4,
    max_attempts: 3,
    timeout: Duration::from_secs(300),
};

/// The longest rendering or reading one page may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest side of a rendered page, in pixels: an A4 page at 300 dpi. A page of
/// any declared size renders to at most this, so a hostile page size cannot make a
/// gigapixel image.
const RENDER_LONG_SIDE: &str = "3508";

/// Reads one page of an attachment by OCR. Its environment is the upload folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecognizePage {
    pub attachment_id: Uuid,
    pub page: i32,
}

/// Whether the OCR tools are installed: what a file that needs OCR falls back on
/// without them is a clear failed or partial state, never a retried job.
pub fn available() -> bool {
    ["tesseract", "pdftoppm", "pdfseparate", "pdfunite"]
        .iter()
        .all(|program| on_path(program))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// The languages Tesseract has installed, or `None` when it is not installed.
pub async fn installed_languages() -> Option<Vec<String>> {
    let output = run(tool("tesseract").arg("--list-langs"))
        .await
        .ok()?
        .stdout;
    // The first line is a heading ("List of available languages ...").
    Some(
        String::from_utf8_lossy(&output)
            .lines()
            .skip(1)
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
    )
}

/// Starts reading `blank` (page numbers from 1) of a file of `pages` pages by OCR in
/// `languages`, in the transaction that records the rest of its text.
pub async fn begin(
    tx: &TenantTx,
    attachment: Uuid,
    pages: i32,
    blank: &[i32],
    languages: &[String],
) -> Result<(), JobError> {
    tx.execute(
        "update attachment_texts set state = 'recognizing', method = 'ocr', pages = $2, \
         ocr_pages_total = $3, ocr_pages_done = 0, ocr_languages = $4, updated_at = $5 \
         where attachment_id = $1",
        &[
            &attachment,
            &pages,
            &(blank.len() as i32),
            &languages,
            &unit::now(tx),
        ],
    )
    .await?;
    let jobs = blank
        .iter()
        .map(|&page| {
            RecognizePage {
                attachment_id: attachment,
                page,
            }
            .now()
        })
        .collect();
    crate::kernel::jobs::enqueue(tx, jobs).await?;
    Ok(())
}

/// What reading one page came to.
#[derive(Debug)]
pub enum PageRead {
    Read { text: String, confidence: f32 },
    Unreadable(String),
}

impl BackgroundJob for RecognizePage {
    const KIND: JobKind = RECOGNIZE_PAGE;
    type Env = Store;

    async fn run(self, ctx: JobContext, store: Store) -> Result<(), JobError> {
        let (id, page) = (self.attachment_id, self.page);
        let tx = ctx.db.begin().await?;
        let row = tx
            .query_opt(
                "select a.content_type, t.ocr_languages, \
                        exists (select 1 from attachment_pages p where p.attachment_id = a.id and p.page = $2) \
                 from attachments a join attachment_texts t on t.attachment_id = a.id \
                 where a.id = $1 and t.state = 'recognizing'",
                &[&id, &page],
            )
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(()); // deleted, or finished, since
        };
        let (content_type, languages, done): (String, Vec<String>, bool) =
            (row.get(0), row.get(1), row.get(2));
        if done {
            return Ok(());
        }
        let folder = store.scratch(ctx.db.tenant_id());
        let work = work_folder(&folder, id);
        let read = match tokio::fs::create_dir_all(&work).await {
            Ok(()) => match original_on_disk(&store, ctx.db.tenant_id(), id, &work).await {
                Ok(original) => read_page(&original, &content_type, page, &work, &languages).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(JobError::Retry(format!("making {}: {e}", work.display()))),
        };
        let read = match read {
            // The last attempt records the page as unreadable rather than leaving the
            // file recognising for ever.
            Err(JobError::Retry(reason)) if ctx.job.attempt >= ctx.job.max_attempts => {
                PageRead::Unreadable(format!("the page could not be read: {reason}"))
            }
            other => other?,
        };
        let tx = ctx.db.begin().await?;
        record_page(&tx, &store, id, page, read).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Ends a file's OCR once its last page is in: assembles the searchable PDF and puts it
/// in the store with no transaction open (the tools and a bucket take as long as they
/// take, and hold no connection or lock meanwhile), then records the outcome, an event,
/// if the file is still being recognised. Enqueued by the job that commits the last
/// page, in its transaction, so a crash between the two loses nothing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FinishRecognition {
    pub attachment_id: Uuid,
    /// Why the last page that could not be read could not: the file's error if no
    /// page could be.
    pub last_failure: Option<String>,
}

impl BackgroundJob for FinishRecognition {
    const KIND: JobKind = FINISH_RECOGNITION;
    type Env = Store;

    async fn run(self, ctx: JobContext, store: Store) -> Result<(), JobError> {
        let id = self.attachment_id;
        let tenant = ctx.db.tenant_id();
        let work = work_folder(&store.scratch(tenant), id);
        let tx = ctx.db.begin().await?;
        let row = tx
            .query_opt(
                "select a.content_type, t.pages from attachments a \
                 join attachment_texts t on t.attachment_id = a.id \
                 where a.id = $1 and t.state = 'recognizing' \
                   and t.ocr_pages_done >= t.ocr_pages_total",
                &[&id],
            )
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            remove_work(&work).await;
            return Ok(()); // deleted, or finished, since
        };
        let (content_type, pages): (String, i32) = (row.get(0), row.get(1));
        let searchable = match assemble(&store, tenant, id, &content_type, pages, &work).await {
            Ok(sha256) => Some(sha256),
            Err(reason) => {
                tracing::warn!(attachment = %id, reason, "no searchable PDF");
                None
            }
        };
        let tx = ctx.db.begin().await?;
        let kept = finish(&tx, &ctx, id, pages, searchable, self.last_failure).await?;
        tx.commit().await?;
        if !kept {
            // Deleted meanwhile, or no text to lay over the scan: the PDF put in the
            // store for it is nobody's.
            let _ = store
                .remove(tenant, &[StoredName::searchable_pdf(id)])
                .await;
        }
        remove_work(&work).await;
        Ok(())
    }
}

/// The original file on local disk, for the tools to read: where it is stored, or,
/// when it is in a bucket, a copy fetched once into the work folder (written under a
/// temporary name and renamed, so pages read in parallel never see half of it).
async fn original_on_disk(
    store: &Store,
    tenant: crate::tenancy::TenantId,
    id: Uuid,
    work: &Path,
) -> Result<PathBuf, JobError> {
    let name = StoredName::original(id);
    if let Some(path) = store.local_path(tenant, &name) {
        return Ok(path);
    }
    let copy = work.join("original");
    if tokio::fs::try_exists(&copy).await.unwrap_or(false) {
        return Ok(copy);
    }
    let partial = work.join(format!("original.{}", Uuid::new_v4()));
    let fetched = store
        .copy_to(tenant, &name, &partial)
        .await
        .map_err(|e| JobError::Retry(format!("fetching {id} from the bucket: {e}")))?;
    if !fetched {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(JobError::Cancel(format!("{id} is not in the bucket")));
    }
    tokio::fs::rename(&partial, &copy)
        .await
        .map_err(|e| JobError::Retry(format!("keeping the fetched original: {e}")))?;
    Ok(copy)
}

async fn remove_work(work: &Path) {
    if let Err(e) = tokio::fs::remove_dir_all(work).await {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(error = %e, path = %work.display(), "OCR work folder not removed");
        }
    }
}

fn page_file(work: &Path, page: i32, extension: &str) -> PathBuf {
    work.join(format!("page-{page:05}.{extension}"))
}

/// Renders `page` of the file at `original` (a PDF; an image is its own one page) and
/// reads it, leaving its one-page searchable PDF in `work`: what each page's job does,
/// and what the OCR benchmark times.
pub async fn read_page(
    original: &Path,
    content_type: &str,
    page: i32,
    work: &Path,
    languages: &[String],
) -> Result<PageRead, JobError> {
    let image = if content_type == "application/pdf" {
        let prefix = work.join(format!("page-{page:05}"));
        let rendered = run(tool("pdftoppm")
            .args([
                "-gray",
                "-png",
                "-singlefile",
                "-scale-to",
                RENDER_LONG_SIDE,
            ])
            .arg("-f")
            .arg(page.to_string())
            .arg("-l")
            .arg(page.to_string())
            .arg(original)
            .arg(&prefix))
        .await;
        if let Err(reason) = rendered {
            return reason.for_page("the page cannot be rendered");
        }
        page_file(work, page, "png")
    } else {
        original.to_owned()
    };
    let base = work.join(format!("page-{page:05}"));
    let read = run(tool("tesseract")
        .arg(&image)
        .arg(&base)
        .arg("-l")
        .arg(languages.join("+"))
        .args(["tsv", "pdf"]))
    .await;
    if image != original {
        let _ = tokio::fs::remove_file(&image).await;
    }
    let said = match read {
        Ok(output) => output.stderr,
        Err(reason) => return reason.for_page("the page cannot be read"),
    };
    // Tesseract ends well even when its image library could not allocate the image
    // (over the memory bound): it then read nothing, and says so only on stderr.
    if String::from_utf8_lossy(&said).contains("malloc fail") {
        let _ = tokio::fs::remove_file(page_file(work, page, "tsv")).await;
        let _ = tokio::fs::remove_file(page_file(work, page, "pdf")).await;
        return Ok(PageRead::Unreadable(
            "the page cannot be read: the image is too large to read within the memory bound"
                .into(),
        ));
    }
    let tsv = tokio::fs::read_to_string(page_file(work, page, "tsv"))
        .await
        .map_err(|e| JobError::Retry(format!("reading Tesseract's output: {e}")))?;
    let _ = tokio::fs::remove_file(page_file(work, page, "tsv")).await;
    let (text, confidence) = text::recognized(&tsv);
    Ok(PageRead::Read { text, confidence })
}

/// Why a tool did not give its output.
enum ToolFailure {
    /// The tool said no (the input is not what it reads) or ran past its time: the
    /// page is unreadable, and trying again would not change that.
    Refused(String),
    /// The tool could not be started for a reason that may pass (out of processes).
    Transient(String),
}

impl ToolFailure {
    fn for_page(self, what: &str) -> Result<PageRead, JobError> {
        match self {
            ToolFailure::Refused(reason) => Ok(PageRead::Unreadable(format!("{what}: {reason}"))),
            ToolFailure::Transient(reason) => Err(JobError::Retry(reason)),
        }
    }
}

/// The most address space an OCR tool may take: a page at 300 dpi needs under 200 MiB,
/// while a decompression-bomb image (a 1.6 MB PNG of 40,000 by 40,000 pixels) made
/// Tesseract take 3 GiB before failing. Over the bound, the tool fails (the page is
/// unreadable) instead of taking the machine's memory.
const TOOL_ADDRESS_SPACE: u64 = 1 << 30;

/// `program`, run under `prlimit` (util-linux) bounding its address space when that is
/// installed, as it is on every Debian and Ubuntu.
fn tool(program: &str) -> tokio::process::Command {
    static PRLIMIT: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| on_path("prlimit"));
    if *PRLIMIT {
        let mut command = tokio::process::Command::new("prlimit");
        command
            .arg(format!("--as={TOOL_ADDRESS_SPACE}"))
            .arg("--")
            .arg(program);
        command
    } else {
        tokio::process::Command::new(program)
    }
}

/// Runs `command` (no input, one thread) to its end or [`STEP_TIMEOUT`]; what it wrote
/// when it succeeds.
async fn run(command: &mut tokio::process::Command) -> Result<std::process::Output, ToolFailure> {
    let output = command
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(STEP_TIMEOUT, output).await {
        Err(_) => Err(ToolFailure::Refused(format!(
            "it took longer than {} s",
            STEP_TIMEOUT.as_secs()
        ))),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => Err(
            ToolFailure::Refused("OCR is not installed on this server".into()),
        ),
        Ok(Err(error)) => Err(ToolFailure::Transient(format!("starting OCR: {error}"))),
        Ok(Ok(output)) if output.status.success() => Ok(output),
        Ok(Ok(output)) => {
            let said = String::from_utf8_lossy(&output.stderr);
            Err(ToolFailure::Refused(crate::kernel::validate::truncate(
                said.trim(),
                200,
            )))
        }
    }
}

/// Stores what reading `page` came to, if the file is still being recognised; the
/// last page enqueues the file's [`FinishRecognition`].
async fn record_page(
    tx: &TenantTx,
    store: &Store,
    id: Uuid,
    page: i32,
    read: PageRead,
) -> Result<(), JobError> {
    let folder = &store.scratch(tx.tenant_id());
    if !lock_text_in(tx, id, "recognizing").await? {
        // Deleted while the page was read: what it left is nobody's.
        remove_work(&work_folder(folder, id)).await;
        return Ok(());
    }
    let (body, confidence, failure) = match read {
        PageRead::Read { text, confidence } => (text, confidence, None),
        PageRead::Unreadable(reason) => (String::new(), 0.0, Some(reason)),
    };
    let language = set_or_told(super::language::set_language(tx, id).await?, &body);
    let inserted = tx
        .execute(
            "insert into attachment_pages (attachment_id, page, body, confidence, text_language) \
             values ($1, $2, $3, $4, $5) on conflict do nothing",
            &[&id, &page, &body, &confidence, &language],
        )
        .await?;
    if inserted == 0 {
        return Ok(());
    }
    let progress = tx
        .query_one(
            "update attachment_texts set ocr_pages_done = ocr_pages_done + 1, updated_at = $2 \
             where attachment_id = $1 returning ocr_pages_done, ocr_pages_total",
            &[&id, &unit::now(tx)],
        )
        .await?;
    let (done, total): (i32, i32) = (progress.get(0), progress.get(1));
    if done < total {
        return Ok(());
    }
    let finishing = FinishRecognition {
        attachment_id: id,
        last_failure: failure,
    };
    crate::kernel::jobs::enqueue(tx, vec![finishing.now().unique(format!("ocr-finish:{id}"))])
        .await?;
    Ok(())
}

/// Records how a file's OCR ended, with `searchable` the SHA-256 of the searchable PDF
/// put in the store for it, if the file is still being recognised (its text row
/// locked). An event. Whether the PDF is kept: not when the file was deleted or
/// finished since, nor when no text was recognised to lay over it.
async fn finish(
    tx: &TenantTx,
    ctx: &JobContext,
    id: Uuid,
    pages: i32,
    searchable: Option<String>,
    last_failure: Option<String>,
) -> Result<bool, JobError> {
    if !lock_text_in(tx, id, "recognizing").await? {
        return Ok(false);
    }
    let summary = tx
        .query_one(
            "select coalesce(sum(char_length(body)), 0)::bigint, \
                    avg(confidence) filter (where confidence is not null)::real, \
                    count(*) filter (where confidence is not null and body = '')::int, \
                    count(*) filter (where body <> '')::int \
             from attachment_pages where attachment_id = $1",
            &[&id],
        )
        .await?;
    let (characters, confidence, empty, with_text): (i64, Option<f32>, i32, i32) = (
        summary.get(0),
        summary.get(1),
        summary.get(2),
        summary.get(3),
    );
    let (state, error) = if with_text == 0 {
        (
            "failed",
            Some(last_failure.unwrap_or_else(|| "no text could be recognised".into())),
        )
    } else if empty > 0 {
        (
            "extracted",
            Some(format!(
                "no text was recognised on {empty} of {pages} pages"
            )),
        )
    } else {
        ("extracted", None)
    };
    let searchable = if state == "extracted" {
        searchable
    } else {
        None
    };
    tx.execute(
        "update attachment_texts set state = $2, error = $3, characters = $4, \
         searchable_pdf_sha256 = $5, updated_at = $6 where attachment_id = $1",
        &[
            &id,
            &state,
            &error,
            &characters,
            &searchable,
            &unit::now(tx),
        ],
    )
    .await?;
    let changes = json!({
        "state": state, "method": "ocr", "error": error, "pages": pages,
        "characters": characters, "confidence": confidence,
        "searchable_pdf": searchable.is_some(),
    });
    super::outcome::record(tx, ctx, id, state, changes).await?;
    Ok(searchable.is_some())
}

/// Puts the searchable PDF together: each recognised page's own PDF, and for a PDF's
/// pages that had text of their own, that page of the original. Written beside the
/// original under a temporary name and renamed, so it is whole or absent. Its SHA-256.
async fn assemble(
    store: &Store,
    tenant: crate::tenancy::TenantId,
    id: Uuid,
    content_type: &str,
    pages: i32,
    work: &Path,
) -> Result<String, String> {
    let folder = &store.scratch(tenant);
    let original = original_on_disk(store, tenant, id, work)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut parts = Vec::with_capacity(pages as usize);
    for page in 1..=pages {
        let part = page_file(work, page, "pdf");
        if tokio::fs::try_exists(&part).await.unwrap_or(false) {
            parts.push(part);
        } else if content_type == "application/pdf" {
            let pattern = work.join(format!("page-{page:05}.%d.pdf"));
            run(tool("pdfseparate")
                .arg("-f")
                .arg(page.to_string())
                .arg("-l")
                .arg(page.to_string())
                .arg(&original)
                .arg(&pattern))
            .await
            .map_err(|f| describe(f, "pdfseparate"))?;
            let separated = work.join(format!("page-{page:05}.{page}.pdf"));
            tokio::fs::rename(&separated, &part)
                .await
                .map_err(|e| e.to_string())?;
            parts.push(part);
        } else {
            return Err(format!("page {page} has no PDF"));
        }
    }
    let partial = folder.join(format!("{id}.searchable.pdf{PARTIAL_SUFFIX}"));
    if parts.len() == 1 {
        tokio::fs::copy(&parts[0], &partial)
            .await
            .map_err(|e| e.to_string())?;
    } else {
        run(tool("pdfunite").args(&parts).arg(&partial))
            .await
            .map_err(|f| describe(f, "pdfunite"))?;
    }
    let sha256 = super::files::sha256_of(&partial)
        .await
        .map_err(|e| e.to_string())?;
    store
        .put(tenant, &StoredName::searchable_pdf(id), &partial)
        .await
        .map_err(|e| e.to_string())?;
    Ok(sha256)
}

fn describe(failure: ToolFailure, tool: &str) -> String {
    match failure {
        ToolFailure::Refused(reason) | ToolFailure::Transient(reason) => {
            format!("{tool}: {reason}")
        }
    }
}
