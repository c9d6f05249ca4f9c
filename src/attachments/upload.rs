//! Receiving an upload: the multipart `file` field streamed to a temporary file in the
//! tenant's folder, hashed and counted as it comes, refused as soon as it is too large,
//! stalls, breaks off, or is not what its type says. The temporary file is removed
//! unless the caller keeps it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_multipart::{Multipart, MultipartError};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

use super::model::{clean_filename, content_matches, ACCEPTED};
use crate::kernel::storage::RECEIVING_PREFIX;
use crate::kernel::DomainError;
use crate::web::error::ApiError;

/// A file being received: removed from disk unless `keep` is called.
pub struct PendingFile {
    pub(crate) path: PathBuf,
    pub(crate) kept: bool,
}

impl PendingFile {
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

pub struct Received {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub file: PendingFile,
}

/// The most fields other than `file` a form may carry (they are read and dropped).
const MAX_OTHER_FIELDS: usize = 32;
/// The most bytes those fields may carry together.
const MAX_OTHER_FIELD_BYTES: usize = 64 * 1024;

/// Streams the multipart's `file` field to `folder`, hashing and counting as it goes
/// and giving up as soon as it passes `limit`; a form with a second `file` is refused.
pub async fn receive(
    multipart: Multipart,
    folder: &Path,
    limit: u64,
    idle: Duration,
) -> Result<Received, ApiError> {
    let mut form = Form::new(multipart);
    let received = receive_next(&mut form, folder, limit, idle)
        .await?
        .ok_or_else(|| DomainError::BadRequest("the form has no \"file\" field".into()))?;
    // The form is read to its end: a second file is refused rather than dropped
    // unseen, and what follows the file is bounded as any other field.
    if next_file_field(&mut form, idle).await?.is_some() {
        return Err(DomainError::BadRequest(
            "this upload takes one file; the form has more than one \"file\" field".into(),
        )
        .into());
    }
    Ok(received)
}

/// A multipart form being read, with what its fields other than `file` have used of
/// their bounds.
pub struct Form {
    multipart: Multipart,
    other_fields: usize,
    other_bytes: usize,
}

impl Form {
    pub fn new(multipart: Multipart) -> Self {
        Self {
            multipart,
            other_fields: 0,
            other_bytes: 0,
        }
    }
}

/// Streams the form's next `file` field to `folder` as [`receive`] does; `None` once
/// the form has no more. A form of several files is read one file at a time.
pub async fn receive_next(
    form: &mut Form,
    folder: &Path,
    limit: u64,
    idle: Duration,
) -> Result<Option<Received>, ApiError> {
    let bad = |message: String| DomainError::BadRequest(message);
    let Some(mut field) = next_file_field(form, idle).await? else {
        return Ok(None);
    };
    let filename = field
        .content_disposition()
        .and_then(|d| d.get_filename())
        .and_then(clean_filename)
        .ok_or_else(|| bad("the file field needs a file name".into()))?;
    let content_type = field
        .content_type()
        .map(|m| m.essence_str().to_owned())
        .unwrap_or_default();
    if !ACCEPTED.iter().any(|(t, _)| *t == content_type) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "attachments may be {}",
            ACCEPTED
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    tokio::fs::create_dir_all(folder).await.map_err(|e| {
        DomainError::Internal(anyhow::anyhow!("creating {}: {e}", folder.display()))
    })?;
    let file = PendingFile {
        path: folder.join(format!("{RECEIVING_PREFIX}{}", Uuid::new_v4())),
        kept: false,
    };
    let mut out = tokio::fs::File::create(&file.path)
        .await
        .map_err(|e| DomainError::Internal(anyhow::anyhow!("creating an upload file: {e}")))?;
    let written = async {
        let (mut size, mut hasher, mut head) = (0u64, Sha256::new(), Vec::with_capacity(512));
        while let Some(chunk) = tokio::time::timeout(idle, field.try_next())
            .await
            .map_err(|_| ApiError::stalled(idle))?
            .map_err(|e| bad(format!("the upload broke off: {e}")))?
        {
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::PayloadTooLarge(format!(
                    "attachments are at most {limit} bytes"
                )));
            }
            if head.len() < 512 {
                head.extend_from_slice(&chunk[..chunk.len().min(512 - head.len())]);
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| DomainError::Internal(anyhow::anyhow!("writing an upload: {e}")))?;
        }
        out.sync_all()
            .await
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("writing an upload: {e}")))?;
        Ok((size, hasher, head))
    }
    .await;
    // Closed before anyone is answered, whatever happened: a dropped tokio File closes
    // on a blocking thread some time later, which would keep the descriptor open past
    // the response (and past the removal of a refused upload).
    drop(out.into_std().await);
    let (size, hasher, head) = written?;
    if size == 0 {
        return Err(bad("the file is empty".into()).into());
    }
    if !content_matches(&content_type, &head) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the file's content is not {content_type}"
        )));
    }
    if content_type.starts_with("application/vnd.openxmlformats-officedocument.") {
        let path = file.path.clone();
        let problem = tokio::task::spawn_blocking(move || archive_problem(&path))
            .await
            .map_err(|e| DomainError::Internal(anyhow::anyhow!("checking an archive: {e}")))?;
        if let Some(problem) = problem {
            return Err(DomainError::invalid_as(
                "unsafe_archive",
                format!("the {content_type} file is refused: {problem}"),
                serde_json::Value::Null,
            )
            .into());
        }
    }
    let sha256 = super::files::hex(&hasher.finalize());
    Ok(Some(Received {
        filename,
        content_type,
        size,
        sha256,
        file,
    }))
}

/// The form's next `file` field, the fields before it read and dropped within their
/// bounds; `None` once the form has no more.
async fn next_file_field(
    form: &mut Form,
    idle: Duration,
) -> Result<Option<actix_multipart::Field>, ApiError> {
    let bad = |message: String| DomainError::BadRequest(message);
    loop {
        let field = tokio::time::timeout(idle, form.multipart.try_next())
            .await
            .map_err(|_| ApiError::stalled(idle))?
            .map_err(|e| match e {
                MultipartError::ContentTypeMissing | MultipartError::ContentTypeIncompatible => {
                    ApiError::UnsupportedMediaType(
                        "attachments are uploaded as multipart/form-data".into(),
                    )
                }
                e => bad(format!("invalid multipart body: {e}")).into(),
            })?;
        let Some(field) = field else {
            return Ok(None);
        };
        if field.name() == Some("file") {
            return Ok(Some(field));
        }
        // Another field is read and dropped, within bounds: a form can make us read
        // only so much that we do not keep.
        form.other_fields += 1;
        if form.other_fields > MAX_OTHER_FIELDS {
            return Err(bad(format!(
                "a form takes at most {MAX_OTHER_FIELDS} fields besides its files"
            ))
            .into());
        }
        let mut field = field;
        while let Some(chunk) = tokio::time::timeout(idle, field.try_next())
            .await
            .map_err(|_| ApiError::stalled(idle))?
            .map_err(|e| bad(format!("the upload broke off: {e}")))?
        {
            form.other_bytes += chunk.len();
            if form.other_bytes > MAX_OTHER_FIELD_BYTES {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the fields besides the files are at most {} KiB together",
                    MAX_OTHER_FIELD_BYTES / 1024
                )));
            }
        }
    }
}

/// The most parts an Office file may hold.
const MAX_ARCHIVE_ENTRIES: usize = 10_000;
/// The most an Office file may declare it decompresses to, all parts together.
const MAX_ARCHIVE_BYTES: u64 = 512 * 1024 * 1024;
/// The highest compression ratio a large part may declare (ordinary Word and Excel
/// parts compress 5 to 30 times).
const MAX_PART_RATIO: u64 = 200;

/// Why an Office file (a ZIP archive) is not safe to keep, from its central
/// directory alone, nothing decompressed: a part outside the archive's root, too many
/// parts, or sizes and ratios of a decompression bomb. A part that lies about its size
/// is bounded again when it is read.
fn archive_problem(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(archive) => archive,
        Err(error) => return Some(format!("it is not a readable ZIP archive ({error})")),
    };
    if archive.len() > MAX_ARCHIVE_ENTRIES {
        return Some(format!("it holds more than {MAX_ARCHIVE_ENTRIES} parts"));
    }
    let mut total = 0u64;
    for index in 0..archive.len() {
        let Ok(part) = archive.by_index_raw(index) else {
            return Some("a part of it cannot be read".into());
        };
        if part.enclosed_name().is_none() {
            return Some("a part's name leads outside the archive".into());
        }
        let (size, packed) = (part.size(), part.compressed_size().max(1));
        total = total.saturating_add(size);
        if size > 10 * 1024 * 1024 && size / packed > MAX_PART_RATIO {
            return Some("a part decompresses to hundreds of times its size".into());
        }
    }
    (total > MAX_ARCHIVE_BYTES).then(|| {
        format!(
            "it decompresses to more than {} MiB",
            MAX_ARCHIVE_BYTES / 1024 / 1024
        )
    })
}
