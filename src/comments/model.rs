//! Comments as data, and finding the mentions in one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::attachments::originals::{on_contract, HangsOff};
use crate::kernel::letters::fold_case;

/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 20_000;
/// Mentions beyond this many in one comment are ignored.
pub const MAX_MENTIONS: usize = 50;

pub(crate) const COLUMNS: &str =
    "id, target_kind, target_id, author_id, body, mentions, created_at";

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: Uuid,
    /// The kind of record commented on: `contract`.
    pub target_kind: String,
    pub target_id: Uuid,
    pub author_id: Option<Uuid>,
    pub body: String,
    /// Ids of the users mentioned.
    pub mentions: Vec<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<&Row> for CommentView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            target_kind: row.get(1),
            target_id: row.get(2),
            author_id: row.get(3),
            body: row.get(4),
            mentions: row.get(5),
            created_at: row.get(6),
        }
    }
}

impl HangsOff for CommentView {
    fn contract(&self) -> Option<Uuid> {
        on_contract(&self.target_kind, self.target_id)
    }
    fn texts(&mut self) -> Vec<&mut String> {
        vec![&mut self.body]
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Mention users as `@their@email`.
    #[schema(min_length = 1, max_length = 20000)]
    pub body: String,
}

/// The addresses written as `@name@example.com` in a comment, lower-cased, in order of
/// first appearance.
pub fn mentioned_emails(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for (index, _) in body.match_indices('@') {
        // A mention starts at an '@' that does not continue a word (so the '@' inside
        // an address is not a mention of its domain).
        let preceded_by_word = body[..index]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'));
        if preceded_by_word {
            continue;
        }
        let candidate: String = body[index + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'))
            .collect();
        let candidate = fold_case(candidate.trim_end_matches('.'));
        if candidate.matches('@').count() == 1
            && crate::tenancy::Email::parse(&candidate).is_ok()
            && !found.contains(&candidate)
        {
            found.push(candidate);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::mentioned_emails;

    #[test]
    fn mentions_are_at_addresses_not_the_addresses_inside_text() {
        assert_eq!(
            mentioned_emails("Ping @Ann@acme.example and @bob@acme.example. Mail carol@acme.example, @ann@acme.example again"),
            ["ann@acme.example", "bob@acme.example"]
        );
        assert!(mentioned_emails("no mentions @ all, @@x").is_empty());
    }
}
