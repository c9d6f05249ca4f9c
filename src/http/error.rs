//! One error type for every route, rendered as `{"error": "<stable_code>", "message"}`.
//! Causes of 500s go to the log once, here; the body says only "internal error".

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::tenancy::TenancyError;

/// How long a client should wait while its tenant's schema is being migrated.
pub const MIGRATING_RETRY_AFTER_SECS: u32 = 30;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the Host header is missing or not a valid host name")]
    InvalidHost,
    #[error("no tenant is served at this host")]
    UnknownTenant,
    #[error("this tenant is suspended")]
    TenantSuspended,
    #[error("this tenant's data is being upgraded; try again shortly")]
    TenantMigrating,
    #[error("no such route")]
    NotFound,
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
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    #[error("no such {0}")]
    Missing(&'static str),
    /// A refusal that carries structured details (the allowed transitions, the
    /// missing template variables, the current version...).
    #[error("{message}")]
    Refused {
        status: StatusCode,
        code: &'static str,
        message: String,
        details: serde_json::Value,
    },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidHost => "invalid_host",
            Self::UnknownTenant => "unknown_tenant",
            Self::TenantSuspended => "tenant_suspended",
            Self::TenantMigrating => "tenant_migrating",
            Self::NotFound => "not_found",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Forbidden(_) => "forbidden",
            Self::Validation(_) => "invalid_input",
            Self::UserNotFound => "user_not_found",
            Self::Conflict(code, _) => code,
            Self::RateLimited(_) => "rate_limited",
            Self::BadRequest(_) => "bad_request",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable(_) => "service_unavailable",
            Self::Missing(_) => "not_found",
            Self::Refused { code, .. } => code,
            Self::Internal(_) => "internal_error",
        }
    }
}

impl ApiError {
    /// A failed query. Nothing the client sent can cause one (all input is bound as
    /// parameters and validated first), so it is a 500 with the cause logged.
    pub fn database(error: tokio_postgres::Error) -> Self {
        Self::Internal(anyhow::Error::new(error).context("database query"))
    }

    /// A failed write. Input is validated before it reaches SQL, but a constraint can
    /// still fire on a race (a referenced row deleted meanwhile, a name taken by a
    /// concurrent request): those are the client's 4xx, not a 500.
    pub fn write(error: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
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

    /// A structured refusal; see [`ApiError::Refused`].
    pub fn refused(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self::Refused {
            status,
            code,
            message: message.into(),
            details,
        }
    }
}

impl From<TenancyError> for ApiError {
    fn from(error: TenancyError) -> Self {
        match error {
            // An unreachable database or an exhausted pool is a 503, not a 500.
            TenancyError::Unreachable { .. } => Self::Unavailable(error.into()),
            other => Self::Internal(other.into()),
        }
    }
}

/// Every error response: a stable code to branch on and a message for people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `unknown_tenant`, `invalid_token`.
    pub error: String,
    pub message: String,
    /// Structured context for some refusals, e.g. `allowed` transitions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidHost | Self::BadRequest(_) | Self::Validation(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::UnknownTenant | Self::NotFound | Self::UserNotFound | Self::Missing(_) => {
                StatusCode::NOT_FOUND
            }
            Self::Refused { status, .. } => *status,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(..) => StatusCode::CONFLICT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::TenantSuspended => StatusCode::FORBIDDEN,
            Self::InvalidCredentials | Self::InvalidToken | Self::RefreshTokenReused => {
                StatusCode::UNAUTHORIZED
            }
            Self::TenantMigrating | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) | Self::Unavailable(cause) => {
                tracing::error!(error = %format!("{cause:#}"), code = self.code(), "request failed");
            }
            _ => {}
        }
        let details = match self {
            Self::Refused { details, .. } if !details.is_null() => Some(details.clone()),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            details,
        });
        if let Self::RateLimited(seconds) = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(*seconds));
        }
        if matches!(self, Self::InvalidToken) {
            response.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        if matches!(self, Self::TenantMigrating | Self::Unavailable(_)) {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(MIGRATING_RETRY_AFTER_SECS));
        }
        response
    }
}

/// JSON body errors (malformed, too large, wrong content type) as `ApiError`s.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _req| {
            let api = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    ApiError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
                }
                JsonPayloadError::ContentType => {
                    ApiError::UnsupportedMediaType("send the body as application/json".into())
                }
                JsonPayloadError::Deserialize(e) => {
                    ApiError::BadRequest(format!("invalid JSON body: {e}"))
                }
                other => ApiError::BadRequest(format!("invalid body: {other}")),
            };
            api.into()
        })
}

/// The refusals every tenant route can give, for the OpenAPI document.
#[derive(utoipa::IntoResponses)]
pub enum TenantRouteErrors {
    /// Bad input or Host header.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Tenant suspended, or the caller's role is too low.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Unknown tenant host, or no such route or record.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Tenant migrating (Retry-After) or database unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The refusals of every route that needs a logged-in user: those of
/// [`TenantRouteErrors`] plus 401.
#[derive(utoipa::IntoResponses)]
pub enum AuthedRouteErrors {
    /// Bad input or Host header.
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// Missing, invalid, expired or foreign token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// Tenant suspended, or the caller's role is too low.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Unknown tenant host, or no such route or record.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Tenant migrating (Retry-After) or database unavailable.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// A path segment that does not parse (say, a malformed id) is a 400, as JSON.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default()
        .error_handler(|error, _req| ApiError::BadRequest(format!("invalid path: {error}")).into())
}

/// Query-string errors as JSON 400s.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default()
        .error_handler(|error, _req| ApiError::BadRequest(format!("invalid query: {error}")).into())
}
