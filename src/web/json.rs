//! The JSON body extractor every route uses instead of actix's own: the same size
//! limit and errors (`error::json_config`), plus checks for the whole API in one
//! place: the body is an object, and so is every struct in it (never an array read as
//! a struct's fields by position, `objects_only`), no key appears twice in an object (which one would win is a guess), and
//! no string or key holds NUL or another control character, with a 400 that names the
//! field. PostgreSQL would otherwise refuse NUL with a 500, deep in a query.

use std::ops::{Deref, DerefMut};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use futures::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;
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
        let document = web::Json::<StrictValue>::from_request(req, payload);
        Box::pin(async move {
            let document = document.await?.into_inner().0;
            // serde takes an array for a struct (its fields by position): `["x"]` would
            // rename a team. Every body of this API is an object.
            if !document.is_object() {
                return Err(ApiError::from(DomainError::BadRequest(
                    "invalid JSON body: expected an object at the top level".into(),
                ))
                .into());
            }
            no_forbidden_chars_in_json(&document).map_err(ApiError::from)?;
            super::objects_only::from_value(document)
                .map(Json)
                .map_err(|e| {
                    ApiError::from(DomainError::BadRequest(format!("invalid JSON body: {e}")))
                        .into()
                })
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

/// A JSON document as `serde_json::Value`, refusing an object with a key twice.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "the key {:?} appears twice in one object",
                    crate::kernel::validate::truncate(&key, 40)
                )));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_in_any_object_is_refused() {
        let parse = |text: &str| serde_json::from_str::<StrictValue>(text).map(|v| v.0);
        assert!(parse(r#"{"a": 1, "a": 2}"#).is_err());
        assert!(parse(r#"{"a": {"b": [{"c": 1, "c": 1}]}}"#).is_err());
        let fine = parse(r#"{"a": 1, "b": [1, -2, 2.5, "x", null, true, {"a": 1}]}"#).unwrap();
        assert_eq!(
            fine,
            serde_json::json!({"a": 1, "b": [1, -2, 2.5, "x", null, true, {"a": 1}]})
        );
    }
}
