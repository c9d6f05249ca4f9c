//! Attachments as data: the view, the accepted file types and the checks on a file's
//! name and first bytes. No I/O here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::language::TextLanguage;
use crate::kernel::validate::{self, nullable};

pub(crate) const COLUMNS: &str = "id, target_kind, target_id, filename, content_type, size_bytes, \
     sha256, uploaded_by, created_at, text_language_set";

/// Accepted types, each with the leading bytes its files must start with.
pub const ACCEPTED: &[(&str, &[&[u8]])] = &[
    ("application/pdf", &[b"%PDF-"]),
    ("image/png", &[b"\x89PNG\r\n\x1a\n"]),
    ("image/jpeg", &[b"\xff\xd8\xff"]),
    ("image/tiff", &[b"II*\x00", b"MM\x00*"]),
    ("text/plain", &[]),
    ("text/html", &[]),
    ("application/msword", &[b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &[b"PK\x03\x04"],
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &[b"PK\x03\x04"],
    ),
];

/// Whether the first bytes of a file fit its declared type. Plain text must be UTF-8
/// without NUL bytes (a partial character at the end of the sample is fine).
pub fn content_matches(content_type: &str, head: &[u8]) -> bool {
    let Some((_, magics)) = ACCEPTED.iter().find(|(t, _)| *t == content_type) else {
        return false;
    };
    if content_type == "text/plain" || content_type == "text/html" {
        let valid_prefix = match std::str::from_utf8(head) {
            Ok(_) => true,
            Err(e) => e.error_len().is_none(),
        };
        return valid_prefix && !head.contains(&0);
    }
    magics.iter().any(|magic| head.starts_with(magic))
}

/// The client's file name made safe to store and to send back in a header: its last
/// path component, without control characters or quotes, at most 255 characters.
pub fn clean_filename(raw: &str) -> Option<String> {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !validate::is_bidi_control(*c) && *c != '"')
        .take(255)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

/// A change to a file's record: the language its text is stemmed in.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateAttachment {
    /// The language to stem every page of its text in, whatever the pages' words;
    /// null: each page's words tell again. Absent: unchanged.
    #[serde(default, deserialize_with = "nullable")]
    pub text_language: Option<Option<TextLanguage>>,
}

/// A file attached to a record, as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: Uuid,
    /// The kind of record the file belongs to: `contract`.
    pub target_kind: String,
    pub target_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// The language every page of its text is stemmed in, set by a person; null: each
    /// page in the language its own words tell (see its text pages).
    pub text_language: Option<TextLanguage>,
}

impl super::originals::HangsOff for AttachmentView {
    fn contract(&self) -> Option<Uuid> {
        super::originals::on_contract(&self.target_kind, self.target_id)
    }
    /// Its name: a file named for what the copy removed ("Project Zebrafish.pdf").
    fn texts(&mut self) -> Vec<&mut String> {
        vec![&mut self.filename]
    }
}

impl From<&Row> for AttachmentView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            target_kind: row.get(1),
            target_id: row.get(2),
            filename: row.get(3),
            content_type: row.get(4),
            size_bytes: row.get(5),
            sha256: row.get(6),
            uploaded_by: row.get(7),
            created_at: row.get(8),
            text_language: row.get::<_, Option<&str>>(9).map(TextLanguage::of_config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_paths_controls_and_bidirectional_overrides() {
        assert_eq!(
            clean_filename("invoice\u{202E}fdp.exe").as_deref(),
            Some("invoicefdp.exe")
        );
        assert_eq!(
            clean_filename("a\u{2066}b\u{2069}\u{200F}.txt").as_deref(),
            Some("ab.txt")
        );
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\x\\..\\\"q\".pdf").as_deref(),
            Some("q.pdf")
        );
        assert_eq!(clean_filename("\u{202E}"), None);
    }

    #[test]
    fn file_names_lose_paths_and_dangerous_characters() {
        assert_eq!(
            clean_filename("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_filename("C:\\Users\\x\\contract.pdf").as_deref(),
            Some("contract.pdf")
        );
        assert_eq!(clean_filename("a\"b\r\nc.pdf").as_deref(), Some("abc.pdf"));
        assert_eq!(clean_filename("..").as_deref(), None);
        assert_eq!(clean_filename("/").as_deref(), None);
    }

    #[test]
    fn content_must_match_the_declared_type() {
        assert!(content_matches("application/pdf", b"%PDF-1.7\n"));
        assert!(!content_matches("application/pdf", b"MZ\x90\x00"));
        assert!(content_matches("text/plain", "héllo".as_bytes()));
        assert!(!content_matches("text/plain", b"\x00\x01binary"));
        assert!(!content_matches("application/x-msdownload", b"MZ"));
    }
}
