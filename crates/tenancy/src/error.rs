//! Everything the tenancy core can refuse or fail at. Expected failures are variants with
//! a stable code; the rest is `Other` with context.

use thiserror::Error;

use super::names::NameError;

#[derive(Debug, Error)]
pub enum TenancyError {
    #[error(transparent)]
    InvalidName(#[from] NameError),
    #[error("{0}")]
    InvalidInput(String),
    #[error("a tenant with slug {0:?} already exists")]
    SlugTaken(String),
    #[error("host {0:?} already belongs to a tenant")]
    HostTaken(String),
    #[error("schema {0:?} already exists in the database but no tenant owns it; drop or rename it first")]
    SchemaExists(String),
    #[error("an operator or user with email {0:?} already exists")]
    EmailTaken(String),
    #[error("no tenant with slug {0:?}")]
    TenantNotFound(String),
    #[error("no domain {0:?}")]
    DomainNotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The tenant's schema is at another version than this binary's migrations end at:
    /// what the binary would write there may not fit it.
    #[error(
        "tenant {slug:?}'s schema is at version {at}, this release's at {expected}; \
         run `tenantctl migrate` of the release that matches first"
    )]
    SchemaVersion {
        slug: String,
        at: i32,
        expected: i32,
    },
    #[error("another migration holds the migration lock ({holder})")]
    MigrationLocked { holder: String },
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("database error: {0}")]
    Database(#[from] tokio_postgres::Error),
    /// The connection broke after COMMIT was sent: the change may or may not have been
    /// made, and nothing here can tell which.
    #[error("the connection was lost while committing; the outcome is unknown: {0}")]
    CommitOutcomeUnknown(tokio_postgres::Error),
    /// The transaction's commit guard returned no row (see `TenantDb::with_commit_guard`);
    /// it was rolled back.
    #[error("the commit guard refused this transaction")]
    CommitRefused,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl TenancyError {
    /// The stable machine-readable code, as printed by `tenantctl --json`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidName(NameError::Slug { .. }) => "invalid_slug",
            Self::InvalidName(NameError::Host { .. }) => "invalid_host",
            Self::InvalidName(NameError::Email { .. }) => "invalid_email",
            Self::InvalidInput(_) => "invalid_input",
            Self::SlugTaken(_) => "slug_taken",
            Self::HostTaken(_) => "host_taken",
            Self::SchemaExists(_) => "schema_exists",
            Self::EmailTaken(_) => "email_taken",
            Self::TenantNotFound(_) => "tenant_not_found",
            Self::DomainNotFound(_) => "domain_not_found",
            Self::Conflict(_) => "conflict",
            Self::SchemaVersion { .. } => "tenant_migrating",
            Self::MigrationLocked { .. } => "migration_locked",
            Self::Unreachable { .. } => "database_unreachable",
            Self::CommitOutcomeUnknown(_) => "outcome_unknown",
            Self::CommitRefused => "commit_refused",
            Self::Database(_) => "database_error",
            Self::Other(_) => "internal_error",
        }
    }

    /// Whether the operator's input (or environment) was at fault, rather than the run.
    pub fn is_operator_error(&self) -> bool {
        !matches!(self, Self::Database(_) | Self::Other(_))
    }
}

/// Constraint names from the migrations, mapped to what they mean to an operator.
pub(crate) fn map_unique_violation(
    error: tokio_postgres::Error,
    slug: &str,
    host: Option<&str>,
    email: Option<&str>,
) -> TenancyError {
    use tokio_postgres::error::SqlState;
    let Some(db_error) = error.as_db_error() else {
        return error.into();
    };
    if *db_error.code() == SqlState::DUPLICATE_SCHEMA {
        return TenancyError::SchemaExists(format!("t_{slug}"));
    }
    if *db_error.code() != SqlState::UNIQUE_VIOLATION {
        return error.into();
    }
    let violated = violated_constraint(db_error);
    let named = |names: &[&str]| {
        violated.is_some_and(|actual| names.iter().any(|name| constraint_is(actual, name)))
    };
    if named(&["tenants_slug_key", "tenants_schema_name_key"]) {
        TenancyError::SlugTaken(slug.to_owned())
    } else if named(&["domains_host_key"]) {
        TenancyError::HostTaken(host.unwrap_or_default().to_owned())
    } else if named(&["users_email_key", "platform_operators_email_key"]) {
        TenancyError::EmailTaken(email.unwrap_or_default().to_owned())
    } else {
        error.into()
    }
}

/// The constraint a violation names: the error's constraint field, or, where that is
/// missing, the name in its message. Citus re-raises a worker's violation on the
/// coordinator without the field, but with the worker's message
/// (`duplicate key value violates unique constraint "users_email_key_102070"`), so a
/// conflict is told apart the same way on both. (A server whose `lc_messages` is not
/// English translates the message; there only the field is read.)
pub fn violated_constraint(db_error: &tokio_postgres::error::DbError) -> Option<&str> {
    if let Some(name) = db_error.constraint() {
        return Some(name);
    }
    let message = db_error.message();
    let after = &message[message.find("constraint \"")? + "constraint \"".len()..];
    let name = &after[..after.find('"')?];
    (!name.is_empty()).then_some(name)
}

/// Whether `actual`, a constraint name PostgreSQL reported, is the constraint the
/// migrations named `expected`. Citus reports a shard's copy with its shard id
/// appended (`users_email_key_102070`), so that suffix is allowed.
pub fn constraint_is(actual: &str, expected: &str) -> bool {
    match actual.strip_prefix(expected) {
        Some("") => true,
        Some(rest) => {
            rest.len() > 1 && rest.starts_with('_') && rest[1..].bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod constraint_name_tests {
    use super::constraint_is;

    #[test]
    fn constraint_names_match_with_or_without_a_shard_suffix() {
        assert!(constraint_is("users_email_key", "users_email_key"));
        assert!(constraint_is("users_email_key_102070", "users_email_key"));
        assert!(!constraint_is("users_email_key_", "users_email_key"));
        assert!(!constraint_is("users_email_key_x1", "users_email_key"));
        assert!(!constraint_is("users_email", "users_email_key"));
        assert!(!constraint_is("users_email_key2", "users_email_key"));
    }
}
