//! Typed answers: a handler's signature names the type of the body it sends
//! (`Result<Json<ContractView>, DomainError>`), and `tests/api/openapi.rs` checks that
//! this is the type its OpenAPI entry documents for the success status. So the document
//! and the body cannot say different things.

use actix_web::body::BoxBody;
use actix_web::http::header::{
    ContentType, HeaderName, HeaderValue, CACHE_CONTROL, ETAG, LOCATION, PRAGMA,
};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, Responder, ResponseError};
use serde::Serialize;

use super::answer_json;
use super::error::ApiError;
use super::json::Json;
use crate::kernel::DomainError;

/// `body` as the answer's JSON (see `answer_json`); a body that cannot be written is
/// the API's 500, as any other internal error.
fn json(mut builder: HttpResponseBuilder, body: &impl Serialize) -> HttpResponse {
    match answer_json::to_vec(body) {
        Ok(bytes) => builder.content_type(ContentType::json()).body(bytes),
        Err(error) => ApiError::from(DomainError::Internal(error.into())).error_response(),
    }
}

/// 200 with `T` as JSON (the same `Json` that extracts bodies).
impl<T: Serialize> Responder for Json<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        json(HttpResponse::Ok(), &self.0)
    }
}

/// Marks an answer that carries a credential (a token, a ticket) as one that nothing on
/// the way may keep (RFC 9111, 5.2.2.5; RFC 6749, 5.1): no cache, and no
/// `Idempotency-Key` store either, which keeps only answers that may be stored.
fn not_to_be_stored(response: &mut HttpResponse) {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// 200 with `T`, a credential, as JSON: marked so that nothing keeps it.
pub struct Secret<T>(pub T);

impl<T: Serialize> Responder for Secret<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(HttpResponse::Ok(), &self.0);
        not_to_be_stored(&mut response);
        response
    }
}

/// 201 with `T` as JSON, and where it lives (`Location`) and its version (`ETag`) when
/// it has them.
pub struct Created<T> {
    pub body: T,
    pub location: Option<String>,
    pub etag: Option<String>,
    /// It carries a credential: marked so that nothing keeps it.
    pub secret: bool,
}

impl<T> Created<T> {
    pub fn new(body: T) -> Self {
        Self {
            body,
            location: None,
            etag: None,
            secret: false,
        }
    }

    pub fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    pub fn at(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn tagged(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

impl<T: Serialize> Responder for Created<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(HttpResponse::Created(), &self.body);
        for (name, value) in [(LOCATION, self.location), (ETAG, self.etag)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(name, value);
            }
        }
        if self.secret {
            not_to_be_stored(&mut response);
        }
        response
    }
}

/// 202: `T` (what was accepted, as it stands now) as JSON, with where to follow it
/// and, when a `Prefer` asked for it (RFC 7240), the preference applied.
pub struct Accepted<T> {
    pub body: T,
    pub location: String,
    pub preference_applied: Option<&'static str>,
}

impl<T: Serialize> Responder for Accepted<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(HttpResponse::Accepted(), &self.body);
        if let Ok(location) = HeaderValue::from_str(&self.location) {
            response.headers_mut().insert(LOCATION, location);
        }
        if let Some(applied) = self.preference_applied {
            response.headers_mut().insert(
                HeaderName::from_static("preference-applied"),
                HeaderValue::from_static(applied),
            );
        }
        response
    }
}

/// 200 with `T` as JSON and its version as an `ETag`.
pub struct Tagged<T> {
    pub body: T,
    pub etag: String,
}

impl<T: Serialize> Responder for Tagged<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(HttpResponse::Ok(), &self.body);
        if let Ok(value) = HeaderValue::from_str(&self.etag) {
            response.headers_mut().insert(ETAG, value);
        }
        response
    }
}

/// 204, no body.
pub struct NoContent;

impl Responder for NoContent {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
}
