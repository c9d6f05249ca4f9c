//! The clause library's types: what a clause is, what is sent to make or change one,
//! what similarity and validation report. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::contracts::model::{clause_category as category, CLAUSE_CATEGORIES as CATEGORIES};

pub const COLUMNS: &str = "id, title, category, body, created_by, created_at, updated_at";
pub const MAX_CLAUSE_CHARS: usize = 100_000;

#[derive(Serialize, ToSchema)]
pub struct ClauseView {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    pub body: String,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Row> for ClauseView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            title: row.get(1),
            category: row.get(2),
            body: row.get(3),
            created_by: row.get(4),
            created_at: row.get(5),
            updated_at: row.get(6),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClause {
    #[schema(min_length = 1, max_length = 300)]
    pub title: String,
    pub category: String,
    #[schema(min_length = 1, max_length = 100000)]
    pub body: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClause {
    #[schema(min_length = 1, max_length = 300)]
    pub title: Option<String>,
    pub category: Option<String>,
    #[schema(min_length = 1, max_length = 100000)]
    pub body: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SimilarClause {
    pub id: Uuid,
    pub title: String,
    pub category: String,
    /// Trigram similarity, 0 to 1.
    pub similarity: f32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachClause {
    pub clause_id: Uuid,
    /// Order within the contract (default: after the others).
    #[schema(minimum = 0, maximum = 10000)]
    pub position: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct ClauseValidation {
    pub contract_type: String,
    pub required: Vec<String>,
    pub present: Vec<String>,
    pub missing: Vec<String>,
    /// True when nothing is missing.
    pub complete: bool,
}
