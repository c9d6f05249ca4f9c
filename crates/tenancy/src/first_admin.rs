//! The first admin of a tenant, as provisioning needs it: a value the operator (or the
//! test harness) fills in, inserted in the tenant's own schema in the provisioning
//! transaction. The `users` table is built by the tenant migrations, which this layer
//! owns; user management itself (roles, passwords, sessions) is the identity area's,
//! and this layer never calls into it.

use serde::Serialize;
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::error::map_unique_violation;
use super::{Email, TenancyError};

/// The role name the first admin gets; the identity area's `admin` role.
pub const ADMIN_ROLE: &str = "admin";

/// An admin to create, with the password already hashed (hashing is slow and belongs
/// to the identity area; do it before opening the transaction).
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub email: Email,
    pub display_name: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedAdmin {
    pub id: Uuid,
    pub email: Email,
    pub display_name: String,
    pub role: &'static str,
}

/// Inserts the admin into the tenant schema that `transaction`'s search_path points at.
pub async fn insert(
    transaction: &Transaction<'_>,
    tenant_slug: &str,
    admin: &FirstAdmin,
) -> Result<CreatedAdmin, TenancyError> {
    let row = transaction
        .query_one(
            "insert into users (email, password_hash, display_name, role) \
             values ($1, $2, $3, $4) returning id",
            &[
                &admin.email.as_str(),
                &admin.password_hash,
                &admin.display_name,
                &ADMIN_ROLE,
            ],
        )
        .await
        .map_err(|e| map_unique_violation(e, tenant_slug, None, Some(admin.email.as_str())))?;
    Ok(CreatedAdmin {
        id: row.get(0),
        email: admin.email.clone(),
        display_name: admin.display_name.clone(),
        role: ADMIN_ROLE,
    })
}
