//! The one error every area's service returns. It knows nothing of HTTP: the web layer
//! maps each variant to a status (`web::error`), and a job maps it to retry-or-fail.
//! Expected refusals are variants with a stable code; the rest is `Internal` with
//! context, its cause logged once where it leaves the process.

use tokio_postgres::error::SqlState;

use crate::tenancy::error::{constraint_is, violated_constraint};
use crate::tenancy::pool::connection_lost;
use crate::tenancy::TenancyError;

/// What kind of refusal a [`DomainError::Refused`] is; the web layer picks the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The input breaks a rule (400).
    Invalid,
    /// The state of the record forbids it, or the caller's copy is stale (409).
    Conflict,
    /// A precondition (the version the caller read) was required but not given (428).
    PreconditionRequired,
    /// A precondition was given that can never hold, such as a weak ETag (412).
    PreconditionFailed,
    /// Well-formed, but it contradicts what the same request said before, such as an
    /// idempotency key reused for another body (422).
    Unprocessable,
    /// An outside service the tenant configured failed, or answered what cannot be
    /// read (502).
    Upstream,
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("no tenant is served at this host")]
    UnknownTenant,
    #[error("this tenant is suspended")]
    TenantSuspended,
    #[error("this tenant's data is being upgraded; try again shortly")]
    TenantMigrating,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("missing, invalid or expired token")]
    InvalidToken,
    #[error("this refresh token was already used; all sessions of this login are now revoked")]
    RefreshTokenReused,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Validation(String),
    #[error("no such user")]
    UserNotFound,
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    BadRequest(String),
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    /// The database connection broke while the change was being committed: it may or
    /// may not have been made. A client retries with the same `Idempotency-Key` to
    /// learn which (and to make it at most once).
    #[error("the connection to the database was lost while committing: the change may or may not have been made; retry with the same Idempotency-Key to find out")]
    OutcomeUnknown(#[source] anyhow::Error),
    #[error("no such {0}")]
    Missing(&'static str),
    /// A refusal that carries structured details (the allowed transitions, the
    /// missing template variables, the current version...).
    #[error("{message}")]
    Refused {
        kind: Refusal,
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl DomainError {
    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTenant => "unknown_tenant",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantMigrating => "tenant_migrating",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Forbidden(_) => "forbidden",
            Self::Validation(_) => "invalid_input",
            Self::UserNotFound => "user_not_found",
            Self::Conflict(code, _) => code,
            Self::RateLimited(_) => "rate_limited",
            Self::BadRequest(_) => "bad_request",
            Self::Unavailable(_) => "service_unavailable",
            Self::OutcomeUnknown(_) => "outcome_unknown",
            Self::Missing(_) => "not_found",
            Self::Refused { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }

    /// A failed query. Nothing the client sent can cause one (all input is bound as
    /// parameters and validated first), so it is internal, unless the connection itself
    /// is gone (a restart, a failover), which is a passing unavailability.
    pub fn database(error: tokio_postgres::Error) -> Self {
        if connection_lost(&error) {
            return Self::Unavailable(
                anyhow::Error::new(error).context("database connection lost"),
            );
        }
        // A transaction chosen to break a deadlock, or to keep serializable order, was
        // rolled back whole: nothing of it stayed, and the same request can succeed on
        // a second try. A 503 with Retry-After says so; a 500 would not.
        let transient = error.code().is_some_and(|code| {
            [
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::LOCK_NOT_AVAILABLE,
            ]
            .contains(code)
        });
        if transient {
            return Self::Unavailable(
                anyhow::Error::new(error)
                    .context("the transaction was rolled back to let another finish"),
            );
        }
        Self::Internal(anyhow::Error::new(error).context("database query"))
    }

    /// A failed write. Input is validated before it reaches SQL, but a constraint can
    /// still fire on a race (a referenced row deleted meanwhile, a name taken by a
    /// concurrent request): those are the client's 4xx, not a 500.
    pub fn write(error: tokio_postgres::Error) -> Self {
        let Some(db) = error.as_db_error() else {
            return Self::database(error);
        };
        let code = db.code();
        if *code == SqlState::UNIQUE_VIOLATION {
            Self::Conflict("duplicate", "a record with this name already exists".into())
        } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
            // Deleting a referenced row ("update or delete on table ... violates"),
            // as opposed to naming a row that does not exist.
            if db.message().starts_with("update or delete on table") {
                Self::Conflict("in_use", "the record is still referenced by others".into())
            } else {
                Self::Validation("a referenced record does not exist".into())
            }
        } else if *code == SqlState::CHECK_VIOLATION
            || *code == SqlState::NUMERIC_VALUE_OUT_OF_RANGE
            || *code == SqlState::STRING_DATA_RIGHT_TRUNCATION
        {
            Self::Validation(format!("value refused: {}", db.message()))
        } else {
            Self::database(error)
        }
    }

    /// Input that breaks a rule (`invalid_input`, 400).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Validation(message.into())
    }

    /// Input refused with its own code and details (400).
    pub fn invalid_as(
        code: &'static str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self::refused(Refusal::Invalid, code, message, details)
    }

    /// A change the current state does not allow, with its own code and details (409).
    pub fn conflict(
        code: &'static str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self::refused(Refusal::Conflict, code, message, details)
    }

    /// A structured refusal; see [`DomainError::Refused`].
    pub fn refused(
        kind: Refusal,
        code: &'static str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self::Refused {
            kind,
            code,
            message: message.into(),
            details,
        }
    }
}

/// `?` on a query: a failed read or write, mapped as [`DomainError::database`].
impl From<tokio_postgres::Error> for DomainError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::database(error)
    }
}

impl From<TenancyError> for DomainError {
    fn from(error: TenancyError) -> Self {
        match error {
            // An unreachable database or an exhausted pool is a 503, not a 500.
            TenancyError::Unreachable { .. } => Self::Unavailable(error.into()),
            TenancyError::CommitOutcomeUnknown(_) => Self::OutcomeUnknown(error.into()),
            // The only commit guard is the idempotency key's (see `web::idempotency`).
            TenancyError::CommitRefused => Self::Conflict(
                "idempotency_key_in_use",
                "another request with this Idempotency-Key made its change first".into(),
            ),
            TenancyError::Database(db) => Self::database(db),
            TenancyError::SchemaVersion { .. } => Self::TenantMigrating,
            other => Self::Internal(other.into()),
        }
    }
}

/// Maps the violation of one named constraint to a domain error, and any other
/// failure as [`DomainError::write`] does. Constraint names are matched with or
/// without the shard suffix Citus appends (`users_email_key_102070`).
pub trait OnConstraint<T> {
    fn on_constraint(
        self,
        name: &str,
        refusal: impl FnOnce() -> DomainError,
    ) -> Result<T, DomainError>;
}

impl<T> OnConstraint<T> for Result<T, tokio_postgres::Error> {
    fn on_constraint(
        self,
        name: &str,
        refusal: impl FnOnce() -> DomainError,
    ) -> Result<T, DomainError> {
        self.map_err(|error| {
            let named = error
                .as_db_error()
                .and_then(violated_constraint)
                .is_some_and(|actual| constraint_is(actual, name));
            if named {
                refusal()
            } else {
                DomainError::write(error)
            }
        })
    }
}
