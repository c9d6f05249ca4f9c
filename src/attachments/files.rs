//! Where what is made from a stored file lives beside it, and reading a file's hash.
//! The original is `<tenant folder>/<id>`; OCR works in `<id>.ocr/` and keeps its
//! searchable PDF as `<id>.searchable.pdf`. Removing an attachment removes all three.

use std::path::{Path, PathBuf};

use uuid::Uuid;

/// Where the pages of one file are worked on by OCR: `<tenant folder>/<id>.ocr`.
pub fn work_folder(folder: &Path, attachment: Uuid) -> PathBuf {
    folder.join(format!("{attachment}.ocr"))
}

/// Where a file's searchable PDF is kept: beside it, `<id>.searchable.pdf`.
pub fn searchable_path(folder: &Path, attachment: Uuid) -> PathBuf {
    folder.join(format!("{attachment}.searchable.pdf"))
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
        Ok(hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Removes stored files whose records are gone, with what was made from them (the
/// searchable PDF, OCR's work in progress); a failure is logged, never returned
/// (the record is what names a file, so a leftover is unreachable).
pub async fn remove_files(folder: &Path, ids: &[Uuid]) {
    for id in ids {
        let derived = [folder.join(id.to_string()), searchable_path(folder, *id)];
        for path in derived {
            if let Err(e) = tokio::fs::remove_file(&path).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(error = %e, path = %path.display(), "attachment file not removed");
                }
            }
        }
        let work = work_folder(folder, *id);
        if let Err(e) = tokio::fs::remove_dir_all(&work).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, path = %work.display(), "OCR work folder not removed");
            }
        }
    }
}
