//! Counterparties' types, and the rules of their fields. No I/O.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::validate::{self, nullable};
use crate::kernel::DomainError;

pub const COLUMNS: &str =
    "id, name, kind, email, website, address, notes, created_by, created_at, updated_at";

#[derive(Serialize, ToSchema)]
pub struct CounterpartyView {
    pub id: Uuid,
    pub name: String,
    /// `organisation` or `individual`.
    pub kind: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when one counterparty is fetched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contacts: Option<Vec<ContactView>>,
}

impl From<&Row> for CounterpartyView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            name: row.get(1),
            kind: row.get(2),
            email: row.get(3),
            website: row.get(4),
            address: row.get(5),
            notes: row.get(6),
            created_by: row.get(7),
            created_at: row.get(8),
            updated_at: row.get(9),
            contacts: None,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub id: Uuid,
    pub counterparty_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub title: Option<String>,
}

impl From<&Row> for ContactView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            counterparty_id: row.get(1),
            name: row.get(2),
            email: row.get(3),
            phone: row.get(4),
            title: row.get(5),
        }
    }
}

pub fn kind(value: &str) -> Result<String, DomainError> {
    match value {
        "organisation" | "individual" => Ok(value.to_owned()),
        _ => Err(DomainError::Validation(
            "kind must be organisation or individual".into(),
        )),
    }
}

pub fn email(value: Option<&str>) -> Result<Option<String>, DomainError> {
    validate::optional_text("email", value, 254)?
        .map(|e| {
            crate::tenancy::Email::parse(&e)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| DomainError::Validation(e.to_string()))
        })
        .transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    pub name: String,
    #[schema(pattern = "^(organisation|individual)$")]
    pub kind: Option<String>,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 500)]
    pub website: Option<String>,
    #[schema(max_length = 2000)]
    pub address: Option<String>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCounterparty {
    #[schema(min_length = 1, max_length = 300)]
    pub name: Option<String>,
    #[schema(pattern = "^(organisation|individual)$")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 254)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 500)]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 10000)]
    pub notes: Option<Option<String>>,
}

pub fn patch_text(
    field: &str,
    patch: &Option<Option<String>>,
    old: &Option<String>,
    max: usize,
) -> Result<Option<String>, DomainError> {
    match patch {
        None => Ok(old.clone()),
        Some(value) => validate::optional_text(field, value.as_deref(), max),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 254)]
    pub email: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    #[schema(max_length = 200)]
    pub title: Option<String>,
}
