//! OCR's work folder beside a stored file, reading a file's hash, and removing an
//! attachment's files: its bytes and searchable PDF from the store, OCR's work in
//! progress from the tenant's scratch folder.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::kernel::storage::{Store, StoredName};
use crate::tenancy::TenantId;

/// Where the pages of one file are worked on by OCR: `<tenant folder>/<id>.ocr`.
pub fn work_folder(folder: &Path, attachment: Uuid) -> PathBuf {
    folder.join(format!("{attachment}.ocr"))
}

/// A digest as lower-case hex, as SHA-256s are recorded.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of the file at `path`, in hex, read in blocks on a blocking thread
/// (never whole in memory).
pub async fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut block = vec![0u8; 64 * 1024];
        loop {
            let read = file.read(&mut block)?;
            if read == 0 {
                break;
            }
            hasher.update(&block[..read]);
        }
        Ok(hex(&hasher.finalize()))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Removes stored files whose records are gone, with what was made from them (the
/// searchable PDF, OCR's work in progress); a failure is logged, never returned
/// (the record is what names a file, so a leftover is unreachable, and the removal
/// job tries again).
pub async fn remove_files(store: &Store, tenant: TenantId, ids: &[Uuid]) {
    for id in ids {
        if let Err(e) = store.remove(tenant, &StoredName::all_of(*id)).await {
            tracing::warn!(error = %e, attachment = %id, "attachment files not removed");
        }
        let work = work_folder(&store.scratch(tenant), *id);
        if let Err(e) = tokio::fs::remove_dir_all(&work).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, path = %work.display(), "OCR work folder not removed");
            }
        }
    }
}
