//! The JSON body extractor every route uses instead of actix's own: the same size
//! limit and errors (`error::json_config`), plus one check for the whole API that no
//! string or key in the body holds NUL or another control character, with a 400 that
//! names the field. PostgreSQL would otherwise refuse NUL with a 500, deep in a query.

use std::ops::{Deref, DerefMut};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::kernel::validate::no_forbidden_chars_in_json;
use crate::kernel::DomainError;

/// A JSON body, checked for control characters, deserialized into `T`.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let document = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let document = document.await?.into_inner();
            no_forbidden_chars_in_json(&document)?;
            serde_json::from_value(document)
                .map(Json)
                .map_err(|e| DomainError::BadRequest(format!("invalid JSON body: {e}")).into())
        })
    }
}

/// utoipa-actix-web looks at handler arguments; a body is documented by the route's
/// own `request_body`, so this adds nothing.
impl<T> utoipa::__dev::ComposeSchema for Json<T> {
    fn compose(
        _: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::Object::new().into()
    }
}

/// A JSON body that may be left out altogether (no body: `None`). A body that is sent
/// is checked exactly as [`Json`] checks it, so a malformed one is a 400, never taken
/// for an absent one (actix's own `Option<Json<T>>` would swallow the error).
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
        let headers = req.headers();
        let absent = match headers.get(CONTENT_LENGTH) {
            Some(length) => length.as_bytes() == b"0",
            None => !headers.contains_key(TRANSFER_ENCODING),
        };
        if absent {
            return Box::pin(async { Ok(OptionalJson(None)) });
        }
        let body = Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(OptionalJson(Some(body.await?.0))) })
    }
}

impl<T> utoipa::__dev::ComposeSchema for OptionalJson<T> {
    fn compose(
        _: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::Object::new().into()
    }
}
