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
