//! What one search across the tenant's records answers. No I/O.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The kinds of record one search covers, as named in `types` and in each result.
pub const KINDS: [&str; 6] = [
    "account",
    "contact",
    "lead",
    "opportunity",
    "invoice",
    "contract",
];

/// One record found.
#[derive(Serialize, ToSchema)]
pub struct Found {
    /// `account`, `contact`, `lead`, `opportunity`, `invoice` or `contract`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Uuid,
    /// Its name, title or number.
    pub title: String,
    /// A word on what it is: the account's industry, the contact's emails, the lead's
    /// company, the opportunity's stage, the invoice's status, the contract's status.
    pub detail: Option<String>,
    /// Where to read it.
    pub link: String,
    /// Trigram similarity of the title to the query, 0 to 1: results come best first.
    pub score: f32,
}

/// The kinds asked for: all when `types` is absent, else each one named (comma-
/// separated), or `None` when one is not a kind.
pub fn kinds(types: Option<&str>) -> Option<Vec<&'static str>> {
    match types {
        None => Some(KINDS.to_vec()),
        Some(list) => list
            .split(',')
            .map(|t| KINDS.iter().find(|k| **k == t.trim()).copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_name_known_kinds_only() {
        assert_eq!(kinds(None).unwrap().len(), 6);
        assert_eq!(kinds(Some("lead, invoice")).unwrap(), ["lead", "invoice"]);
        assert!(kinds(Some("lead,users")).is_none());
        assert!(kinds(Some("")).is_none());
    }
}
