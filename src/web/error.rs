//! Domain errors as HTTP: every refusal rendered as `{"error": "<stable_code>",
//! "message"}` with its status. Causes of 500s and 503s go to the log once, here; the
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

impl ResponseError for DomainError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidHost | Self::BadRequest(_) | Self::Validation(_) => {
                StatusCode::BAD_REQUEST
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnknownTenant | Self::NotFound | Self::UserNotFound | Self::Missing(_) => {
                StatusCode::NOT_FOUND
            }
            Self::Refused { kind, .. } => match kind {
                Refusal::Invalid => StatusCode::BAD_REQUEST,
                Refusal::Conflict => StatusCode::CONFLICT,
                Refusal::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
                Refusal::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
                Refusal::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(..) => StatusCode::CONFLICT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::TenantSuspended => StatusCode::FORBIDDEN,
            Self::InvalidCredentials | Self::InvalidToken | Self::RefreshTokenReused => {
                StatusCode::UNAUTHORIZED
            }
            Self::TenantMigrating | Self::Unavailable(_) | Self::OutcomeUnknown(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::UploadStalled(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) | Self::Unavailable(cause) | Self::OutcomeUnknown(cause) => {
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

/// JSON body errors (malformed, too large, wrong content type) as `DomainError`s.
pub fn json_config(limit: usize) -> actix_web::web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    actix_web::web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |error, _req| {
            let api = match &error {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => {
                    DomainError::PayloadTooLarge(format!("the body is larger than {limit} bytes"))
                }
                JsonPayloadError::ContentType => {
                    DomainError::UnsupportedMediaType("send the body as application/json".into())
                }
                JsonPayloadError::Deserialize(e) => {
                    DomainError::BadRequest(format!("invalid JSON body: {e}"))
                }
                other => DomainError::BadRequest(format!("invalid body: {other}")),
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
    actix_web::web::PathConfig::default().error_handler(|error, req| {
        match super::routes::literal_route_refusal(req) {
            Some(response) => {
                actix_web::error::InternalError::from_response(error, response).into()
            }
            None => DomainError::BadRequest(format!("invalid path: {error}")).into(),
        }
    })
}

/// Query-string errors as JSON 400s.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|error, _req| {
        DomainError::BadRequest(format!("invalid query: {error}")).into()
    })
}
