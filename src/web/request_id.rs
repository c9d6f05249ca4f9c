//! Request ids and the per-request span: every log line of a request carries its id,
//! method, path and (once resolved) tenant; the id is echoed in `X-Request-Id`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use tracing::Instrument;

use super::AppState;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_LEN: usize = 64;

/// The id of the current request, for handlers that want to report it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A client's id is kept only if it is short and plain, so it cannot forge log lines.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub async fn with_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
        tenant = tracing::field::Empty,
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let (status, route) = match &result {
        Ok(response) => (
            response.status(),
            response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
        ),
        // Refused before routing (unknown tenant, bad host, ...).
        Err(error) => (error.as_response_error().status_code(), "unmatched".into()),
    };
    if let Some(state) = state {
        state
            .metrics
            .observe(&route, &method, status.as_u16(), started.elapsed());
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1e3,
            "request finished"
        );
    });
    let header = HeaderValue::from_str(&id).expect("request ids are plain ASCII");
    match result {
        Ok(mut response) => {
            response.headers_mut().insert(REQUEST_ID_HEADER, header);
            Ok(response)
        }
        Err(error) => {
            // Errors from inner middleware (unknown tenant, ...) become responses here so
            // they carry the id too.
            let mut response = error.error_response();
            response.headers_mut().insert(REQUEST_ID_HEADER, header);
            Err(actix_web::error::InternalError::from_response(error, response).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_accepted_from_clients() {
        assert!(acceptable("3f2a-9c.abc_DEF"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("id\nfake log line"));
        assert!(!acceptable(&"a".repeat(65)));
    }
}
