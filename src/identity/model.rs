//! Users as the API shows and takes them, and the rules of their fields. No I/O.

use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::password::NewPassword;
use crate::kernel::{DomainError, Role};

pub const USER_COLUMNS: &str = "id, email, display_name, role, active";
/// The largest page of users.
pub const MAX_PAGE: i64 = 200;

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
}

impl From<&Row> for UserView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            email: row.get(1),
            display_name: row.get(2),
            role: row.get(3),
            active: row.get(4),
        }
    }
}

pub fn parse_role(role: &str) -> Result<Role, DomainError> {
    Role::parse(role).ok_or_else(|| {
        DomainError::Validation("role must be one of admin, manager, member, viewer".into())
    })
}

pub fn parse_password(password: &str) -> Result<NewPassword, DomainError> {
    NewPassword::parse(password).map_err(|e| DomainError::Validation(e.to_string()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(max_length = 254, format = Email)]
    pub email: String,
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: String,
    #[schema(pattern = "^(admin|manager|member|viewer)$")]
    pub role: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(min_length = 1, max_length = 200)]
    pub display_name: Option<String>,
    #[schema(pattern = "^(admin|manager|member|viewer)$")]
    pub role: Option<String>,
    pub active: Option<bool>,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(max_length = 1024)]
    pub current_password: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
}
