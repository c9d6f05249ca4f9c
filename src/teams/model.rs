//! Teams and their members: inputs, views, pure validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::DomainError;

pub const COLUMNS: &str = "t.id, t.name, t.description, t.created_at, t.updated_at, \
    (select count(*) from team_members m where m.team_id = t.id)";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// The team's key, as workflow definitions name it: lower case letters, digits,
    /// `_` and `-`, starting with a letter.
    #[schema(pattern = "^[a-z][a-z0-9_-]{0,49}$", max_length = 50)]
    pub name: String,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[schema(pattern = "^[a-z][a-z0-9_-]{0,49}$", max_length = 50)]
    pub name: Option<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub added_at: DateTime<Utc>,
}

impl From<&Row> for MemberView {
    fn from(row: &Row) -> Self {
        Self {
            user_id: row.get(0),
            email: row.get(1),
            display_name: row.get(2),
            added_at: row.get(3),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when one team is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberView>>,
}

impl From<&Row> for TeamView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            description: row.get(2),
            created_at: row.get(3),
            updated_at: row.get(4),
            member_count: row.get(5),
            members: None,
        }
    }
}

/// A team's key: 1 to 50 of a-z, 0-9, `_` and `-`, starting with a letter (`legal`,
/// `finance-emea`). Approver lists and escalations name teams by it. Checked once by
/// [`TeamName::parse`]; binds to SQL as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        if crate::kernel::validate::is_key(value, 50, "_-") {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::Validation(
                "name: 1 to 50 of a-z, 0-9, _ and -, starting with a letter".into(),
            ))
        }
    }

    /// Whether `value` would parse.
    pub fn is_valid(value: &str) -> bool {
        Self::parse(value).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_names_are_keys() {
        for good in ["legal", "finance-emea", "c_suite", "t1"] {
            assert_eq!(TeamName::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "",
            "Legal",
            "1team",
            "le gal",
            "legal;drop",
            &"x".repeat(51),
        ] {
            assert!(TeamName::parse(bad).is_err(), "{bad}");
        }
    }
}
