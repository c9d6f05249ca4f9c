//! Errors as HTTP: every refusal, the domain's and the transport's, rendered as
//! `{"error": "<stable_code>", "message"}` with its status. Causes of 500s and 503s go to the log once, here; the
//! body says only "internal error".

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub use crate::kernel::DomainError;
use crate::kernel::Refusal;

/// How long a client should wait while its tenant's schema is being migrated.
pub const MIGRATING_RETRY_AFTER_SECS: u32 = 30;

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

/// How the domain's refusals answer over HTTP: a status each, the JSON body with the
/// stable code, and the headers some of them carry.
mod domain {
    use super::*;

    pub(super) fn status_code(error: &DomainError) -> StatusCode {
        match error {
            DomainError::BadRequest(_) | DomainError::Validation(_) => StatusCode::BAD_REQUEST,
            DomainError::UnknownTenant | DomainError::UserNotFound | DomainError::Missing(_) => {
                StatusCode::NOT_FOUND
            }
            DomainError::Refused { kind, .. } => match kind {
                Refusal::Invalid => StatusCode::BAD_REQUEST,
                Refusal::Conflict => StatusCode::CONFLICT,
                Refusal::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
                Refusal::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
                Refusal::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::Upstream => StatusCode::BAD_GATEWAY,
            },
            DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
            DomainError::Conflict(..) => StatusCode::CONFLICT,
            DomainError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            DomainError::TenantSuspended => StatusCode::FORBIDDEN,
            DomainError::InvalidCredentials
            | DomainError::InvalidToken
            | DomainError::RefreshTokenReused => StatusCode::UNAUTHORIZED,
            DomainError::TenantMigrating
            | DomainError::Unavailable(_)
            | DomainError::OutcomeUnknown(_) => StatusCode::SERVICE_UNAVAILABLE,
            DomainError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(super) fn error_response(error: &DomainError) -> HttpResponse {
        match error {
            DomainError::Internal(cause)
            | DomainError::Unavailable(cause)
            | DomainError::OutcomeUnknown(cause) => {
                tracing::error!(error = %format!("{cause:#}"), code = error.code(), "request failed");
            }
            _ => {}
        }
        let details = match error {
            DomainError::Refused { details, .. } if !details.is_null() => Some(details.clone()),
            _ => None,
        };
        let mut response = HttpResponse::build(status_code(error)).json(ErrorBody {
            error: error.code().to_owned(),
            message: error.to_string(),
            details,
        });
        if let DomainError::RateLimited(seconds) = error {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(*seconds));
        }
        if matches!(error, DomainError::InvalidToken) {
            response.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
        }
        if matches!(
            error,
            DomainError::TenantMigrating | DomainError::Unavailable(_)
        ) {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(MIGRATING_RETRY_AFTER_SECS));
        }
        response
    }
}

/// What the HTTP transport refuses, beside the domain's refusals: a request that is
/// not one the server can read (its host, its method, its body's size, type or pace).
/// Only the web layer and the handlers that read a body themselves (uploads) make
/// these; everything else is a [`DomainError`], which converts into one.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("the Host header is missing, repeated or not a valid host name")]
    InvalidHost,
    #[error("this method is not allowed on this route")]
    MethodNotAllowed,
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request body that stopped arriving.
    #[error("{0}")]
    UploadStalled(String),
}

impl ApiError {
    /// An upload that sent nothing for `idle`.
    pub fn stalled(idle: std::time::Duration) -> Self {
        Self::UploadStalled(format!("the upload sent nothing for {} s", idle.as_secs()))
    }

    /// The stable, machine-readable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Domain(error) => error.code(),
            Self::InvalidHost => "invalid_host",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::UploadStalled(_) => "request_timeout",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Domain(error) => domain::status_code(error),
            Self::InvalidHost => StatusCode::BAD_REQUEST,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UploadStalled(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Domain(error) => domain::error_response(error),
            _ => HttpResponse::build(self.status_code()).json(ErrorBody {
                error: self.code().to_owned(),
                message: self.to_string(),
                details: None,
            }),
        }
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Domain(error.into())
    }
}

impl From<crate::tenancy::TenancyError> for ApiError {
    fn from(error: crate::tenancy::TenancyError) -> Self {
        Self::Domain(error.into())
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
                    DomainError::BadRequest(format!("invalid JSON body: {e}")).into()
                }
                other => DomainError::BadRequest(format!("invalid body: {other}")).into(),
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

/// Query-string errors as JSON 400s.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|error, _req| {
        ApiError::from(DomainError::BadRequest(format!("invalid query: {error}"))).into()
    })
}
