//! Tenant users, as far as provisioning needs them: creating the first admin.

use serde::Serialize;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::tenancy::error::map_unique_violation;
use crate::tenancy::{Email, TenancyError};

/// Roles, weakest first: each can do what the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Viewer,
    Member,
    Manager,
    Admin,
}

impl Role {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "admin" => Self::Admin,
            "manager" => Self::Manager,
            "member" => Self::Member,
            "viewer" => Self::Viewer,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }
}

/// A user to create, with the password already hashed (hashing is slow; do it before
/// opening the transaction).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedUser {
    pub id: Uuid,
    pub email: Email,
    pub display_name: String,
    pub role: Role,
}

/// Inserts a user into the tenant schema that `transaction`'s search_path points at.
pub async fn insert(
    transaction: &Transaction<'_>,
    tenant_slug: &str,
    user: &NewUser,
) -> Result<CreatedUser, TenancyError> {
    let row = transaction
        .query_one(
            "insert into users (email, password_hash, display_name, role) \
             values ($1, $2, $3, $4) returning id",
            &[
                &user.email.as_str(),
                &user.password_hash,
                &user.display_name,
                &user.role.as_str(),
            ],
        )
        .await
        .map_err(|e| map_unique_violation(e, tenant_slug, None, Some(user.email.as_str())))?;
    Ok(CreatedUser {
        id: row.get(0),
        email: user.email.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
    })
}
