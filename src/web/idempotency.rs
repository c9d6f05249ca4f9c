//! `Idempotency-Key` on every POST of a signed-in user: a retry with the same key gets
//! the first answer back instead of making the change twice.
//!
//! The key is recorded in the tenant's `idempotency_keys` by the very transaction that
//! makes the change (a commit guard on the request's tenant handle, run just before
//! COMMIT), so it exists exactly when the change does: after a connection lost during
//! COMMIT (503 `outcome_unknown`), a retry with the key finds it and answers from it,
//! or finds nothing and makes the change. The answer is stored after the handler
//! returns and kept for 24 hours.
//!
//! - Same key, same request, answer stored: the stored answer, with
//!   `Idempotent-Replayed: true`.
//! - Same key, another body, path or method: 422 `idempotency_key_reused`.
//! - Same key while the first is still running (or made its change but its answer was
//!   lost): 409 `idempotency_key_in_use`; two at once never both commit, the second's
//!   guard refuses it.
//!
//! An answer marked `Cache-Control: no-store` (one that carries a credential: new
//! tokens, a stream ticket) is never kept: a retry with its key gets
//! `idempotency_key_in_use`.
//!
//! Keys are per user: another user's key never answers for you. Requests without a
//! valid token (signing in) are not covered.
//!
//! An upload (`multipart/form-data`) is matched by its parts, not its bytes: a client
//! picks a new boundary each time it sends a form, so the same files sent again under
//! another boundary are the same request ([`super::form_digest`]). Its body streams on
//! to the handler (it is not held in memory), and its hash is known once the form's
//! closing delimiter has passed, which is before the handler writes anything. A retry
//! whose key is known is read to its end to be compared, and answered without running.

use std::sync::{Arc, OnceLock};

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use futures::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use uuid::Uuid;

use super::error::ApiError;
use super::form_digest::FormDigest;
use super::tenant::{tenant_in, verified_claims, RequestCommitGuard};
use super::{AppState, MAX_FILES_PER_FORM, MAX_JSON_BODY_BYTES};
use crate::kernel::{Actor, DomainError, Principal, Refusal};
use crate::tenancy::scoped::{CommitGuard, TenantDb};

pub const HEADER: &str = "idempotency-key";

/// How long a key and its answer are kept.
const KEPT_FOR: chrono::Duration = chrono::Duration::hours(24);

/// Answers larger than this are not kept (a retry then gets `idempotency_key_in_use`).
const MAX_KEPT_BODY: usize = 1024 * 1024;

/// Response headers kept with the answer.
const KEPT_HEADERS: [&str; 3] = ["content-type", "location", "etag"];

/// Run before every COMMIT of the request's transactions: when the transaction wrote
/// something, the key is recorded with it; a key another request recorded first makes
/// it refuse (and roll back). A second writing transaction of the same request finds
/// its own row (same request id) and goes on.
const GUARD_SQL: &str = "\
    with mark as ( \
        insert into idempotency_keys (owner_id, key, request_hash, request_id, created_at, expires_at) \
        select $1, $2, $3, $4, $5, $6 where pg_current_xact_id_if_assigned() is not null \
        on conflict (owner_id, key) do update set request_id = excluded.request_id \
            where idempotency_keys.request_id = excluded.request_id \
        returning 1) \
    select pg_current_xact_id_if_assigned() is null or exists (select 1 from mark)";

fn refused(code: &'static str, message: String, status: Refusal) -> actix_web::Error {
    ApiError::from(DomainError::refused(status, code, message, Value::Null)).into()
}

/// The request's hash as the commit guard binds it: known at once for a JSON body, and
/// for an upload once its form has been read (the handler reads it whole before it
/// writes). Bound as NULL while unknown, which the key's row refuses (`request_hash` is
/// not null): a write committed before the body was read fails rather than records a
/// key that would answer for another body.
#[derive(Clone, Debug, Default)]
struct RequestHash(Arc<OnceLock<String>>);

impl ToSql for RequestHash {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0.get() {
            Some(hash) => hash.as_str().to_sql(ty, out),
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// The hash a kept key is compared with: method, path, query, the body's type and the
/// body (a JSON body's bytes, a form's [`FormDigest`]).
fn request_hash(line: &RequestLine, content_type: &str, body: &[u8]) -> String {
    let mut digest = Sha256::new();
    for part in [
        line.method.as_bytes(),
        line.path.as_bytes(),
        line.query.as_bytes(),
        content_type.as_bytes(),
        body,
    ] {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What of the request line a key answers for.
struct RequestLine {
    method: String,
    path: String,
    query: String,
}

/// The boundary of a multipart body, if its type names one.
fn form_boundary(content_type: &str) -> Option<String> {
    use actix_web::mime;
    let mime: mime::Mime = content_type.parse().ok()?;
    let boundary = mime.get_param(mime::BOUNDARY)?.as_str();
    (mime.type_() == mime::MULTIPART && !boundary.is_empty()).then(|| boundary.to_owned())
}

/// What an upload's hash is made of, for [`request_hash`]: its type without the
/// boundary, and the form's digest.
const FORM_TYPE: &str = "multipart/form-data";

/// Reads a form to its end (a retry whose key is known: it is compared, not run),
/// within what the upload routes take and never idle longer than they wait.
async fn read_form(
    payload: &mut Payload,
    mut form: FormDigest,
    bound: u64,
    idle: std::time::Duration,
) -> Result<String, actix_web::Error> {
    let mut read = 0u64;
    loop {
        let chunk = tokio::time::timeout(idle, payload.next())
            .await
            .map_err(|_| ApiError::stalled(idle))?;
        let Some(chunk) = chunk else {
            return Ok(form.finish());
        };
        let chunk = chunk?;
        read += chunk.len() as u64;
        if read > bound {
            return Err(ApiError::PayloadTooLarge(format!(
                "the form is larger than any upload takes ({bound} bytes)"
            ))
            .into());
        }
        form.update(&chunk);
    }
}

/// The payload handed on to an upload's handler: the same bytes, digested as they
/// pass; `hash` is set once the form's closing delimiter (or its end) has passed.
fn digesting(
    payload: Payload,
    form: FormDigest,
    hash: RequestHash,
    finish: impl Fn(String) -> String + 'static,
) -> Payload {
    let finish = std::rc::Rc::new(finish);
    let stream = futures::stream::unfold((payload, Some(form)), move |(mut payload, mut form)| {
        let (hash, finish) = (hash.clone(), finish.clone());
        async move {
            let next = payload.next().await;
            let done = match &next {
                Some(Ok(chunk)) => form.as_mut().is_some_and(|form| {
                    form.update(chunk);
                    form.closed()
                }),
                Some(Err(_)) => false,
                None => true,
            };
            if done {
                if let Some(form) = form.take() {
                    let _ = hash.0.set(finish(form.finish()));
                }
            }
            next.map(|item| (item, (payload, form)))
        }
    });
    // Readers may ask again after the end (actix-multipart does): fused, it says the end
    // again instead of panicking.
    Payload::Stream {
        payload: Box::pin(stream.fuse()),
    }
}

/// A key of 1 to 255 visible ASCII characters.
fn parse_key(value: &HeaderValue) -> Option<String> {
    let bytes = value.as_bytes();
    (!bytes.is_empty() && bytes.len() <= 255 && bytes.iter().all(|b| (0x21..=0x7e).contains(b)))
        .then(|| String::from_utf8_lossy(bytes).into_owned())
}

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let header = req.headers().get(HEADER).cloned();
    let (Some(header), true) = (header, req.method() == Method::POST) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(key) = parse_key(&header) else {
        return Err(refused(
            "invalid_idempotency_key",
            "Idempotency-Key: 1 to 255 visible ASCII characters".into(),
            Refusal::Invalid,
        ));
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let tenant = tenant_in(req.request());
    let claims = verified_claims(req.request(), &state).ok();
    let (Some(tenant), Some(claims)) = (tenant, claims) else {
        // Not a signed-in request to a tenant: the handler answers as it would.
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if claims.tid != tenant.id.0 {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    // A kept answer goes back only to a token the handler itself would take: not
    // logged out, its user active and its session not ended (resolved below).
    let principal = Principal::Session {
        user: claims.sub,
        generation: claims.generation,
        token: claims.jti,
    };
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let line = RequestLine {
        method: req.method().as_str().to_owned(),
        path: req.path().to_owned(),
        query: req.query_string().to_owned(),
    };
    let hash = RequestHash::default();
    let mut payload = req.take_payload();
    let form = if content_type.starts_with("multipart/") {
        // A multipart body without a boundary cannot be read, by the routes either (they
        // refuse it): its hash stays unknown, so a write it made would fail rather than
        // record the key for it.
        form_boundary(&content_type).map(|boundary| FormDigest::new(&boundary))
    } else {
        // The body, at most what any JSON route takes, kept to hash and handed on.
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > MAX_JSON_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge(format!(
                    "the body is larger than {} KiB",
                    MAX_JSON_BODY_BYTES / 1024
                ))
                .into());
            }
            body.extend_from_slice(&chunk);
        }
        let body = body.freeze();
        let _ = hash.0.set(request_hash(&line, &content_type, &body));
        payload = Payload::from(body);
        None
    };

    let owner = claims.sub;
    let db = TenantDb::new(
        state.pool.clone(),
        tenant.id,
        &tenant.schema,
        tenant.role.as_ref(),
    );
    let now = state.clock.now();
    let found = {
        let tx = db.begin().await.map_err(ApiError::from)?;
        Actor::resolve(&tx, &principal)
            .await
            .map_err(ApiError::from)?;
        // An expired key is forgotten first: it no longer answers for anything.
        tx.execute(
            "delete from idempotency_keys where owner_id = $1 and key = $2 and expires_at <= $3",
            &[&owner, &key, &now],
        )
        .await
        .map_err(ApiError::from)?;
        let row = tx
            .query_opt(
                "select request_hash, status, headers, body from idempotency_keys \
                 where owner_id = $1 and key = $2",
                &[&owner, &key],
            )
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        row
    };
    if let Some(row) = found {
        let hash = match form {
            Some(form) => {
                let bound = state
                    .config
                    .max_upload_bytes
                    .saturating_add(MAX_JSON_BODY_BYTES as u64)
                    .saturating_mul(MAX_FILES_PER_FORM as u64);
                let digest =
                    read_form(&mut payload, form, bound, state.config.upload_idle_timeout).await?;
                request_hash(&line, FORM_TYPE, digest.as_bytes())
            }
            None => hash.0.get().cloned().unwrap_or_default(),
        };
        let stored_hash: String = row.get(0);
        if stored_hash != hash {
            return Err(refused(
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request (method, path or body); use a new key".into(),
                Refusal::Unprocessable,
            ));
        }
        let Some(status) = row.get::<_, Option<i32>>(1) else {
            return Err(refused(
                "idempotency_key_in_use",
                "a request with this Idempotency-Key is in progress, or made its change without an answer kept; do not repeat it".into(),
                Refusal::Conflict,
            ));
        };
        let headers: Value = row.get(2);
        let kept: Vec<u8> = row.get(3);
        let status = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = HttpResponse::build(status);
        if let Some(headers) = headers.as_object() {
            for (name, value) in headers {
                if let (Ok(name), Some(Ok(value))) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    value.as_str().map(HeaderValue::from_str),
                ) {
                    response.insert_header((name, value));
                }
            }
        }
        response.insert_header(("idempotent-replayed", "true"));
        return Ok(req.into_response(response.body(kept)));
    }

    req.set_payload(match form {
        Some(form) => digesting(payload, form, hash.clone(), move |digest| {
            request_hash(&line, FORM_TYPE, digest.as_bytes())
        }),
        None => payload,
    });
    let request_id = Uuid::new_v4();
    let guard = CommitGuard {
        sql: GUARD_SQL.to_owned(),
        params: vec![
            Box::new(owner),
            Box::new(key.clone()),
            Box::new(hash),
            Box::new(request_id),
            Box::new(now),
            Box::new(now + KEPT_FOR),
        ],
    };
    req.extensions_mut()
        .insert(RequestCommitGuard(Arc::new(guard)));
    let response = next.call(req).await?;
    // An answer that carries a credential says it may not be stored: a retry is told
    // the key is in use rather than handed a copy kept in the database.
    let unstorable = response
        .headers()
        .get(CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        });
    if response.status().is_server_error() || unstorable {
        return Ok(response.map_into_boxed_body());
    }
    // Keep the answer for retries (when the request wrote anything, its key row exists
    // and takes it; otherwise nothing changed and a retry may simply run again).
    let (request, response) = response.into_parts();
    let (head, payload) = response.into_parts();
    let answer = body::to_bytes_limited(payload, MAX_KEPT_BODY).await;
    let Ok(Ok(answer)) = answer else {
        // Too large to keep, or unreadable: answered as it is, not kept.
        let response = head.set_body(BoxBody::new(()));
        return Ok(ServiceResponse::new(request, response));
    };
    let mut headers = serde_json::Map::new();
    for name in KEPT_HEADERS {
        if let Some(value) = head.headers().get(name).and_then(|v| v.to_str().ok()) {
            headers.insert(name.to_owned(), json!(value));
        }
    }
    let stored = async {
        let tx = db.begin().await?;
        tx.execute(
            "update idempotency_keys set status = $4, headers = $5, body = $6 \
             where owner_id = $1 and key = $2 and request_id = $3 and status is null",
            &[
                &owner,
                &key,
                &request_id,
                &i32::from(head.status().as_u16()),
                &Value::Object(headers),
                &answer.as_ref(),
            ],
        )
        .await?;
        // Expired keys go a few at a time as new answers are kept: no sweeper needed.
        // About a hundred: those up to the hundredth expiry, found on the expiry index
        // (an `in (select ... limit 100)` would hash the whole table on every request).
        tx.execute(
            "delete from idempotency_keys where expires_at <= $1 and expires_at <= coalesce( \
                 (select expires_at from idempotency_keys where expires_at <= $1 \
                  order by expires_at offset 99 limit 1), $1)",
            &[&now],
        )
        .await?;
        tx.commit().await?;
        Ok::<_, crate::tenancy::TenancyError>(())
    };
    if let Err(error) = stored.await {
        // The change stands; a retry is told the key is in use instead of replayed.
        tracing::warn!(error = %crate::tenancy::describe_error(&error), "keeping an idempotent answer failed");
    }
    let response = head.set_body(BoxBody::new(answer));
    Ok(ServiceResponse::new(request, response))
}
