//! The contract lifecycle management core: contracts and everything around them. Every
//! table lives in the tenant schema; every handler reaches it through `TenantDb`, and
//! every mutation writes its audit row in the same transaction.
//!
//! Roles: viewer reads; member creates and edits what they own; manager edits all;
//! admin also manages users and settings (contract types).

pub mod attachments;
pub mod audit;
pub mod calendar;
pub mod clauses;
pub mod comments;
pub mod contracts;
pub mod counterparties;
pub mod pdf;
pub mod templates;
pub mod validate;

use std::future::{ready, Ready};

use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::auth::user_routes::{role_of, ACTING_USER_SQL};
use crate::auth::users::Role;
use crate::http::error::ApiError;
use crate::http::request_id::RequestId;
use crate::http::tenant::AuthUser;
use crate::http::AppState;
use crate::tenancy::scoped::TenantDb;

/// Registers every CLM route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    contracts::configure(cfg);
    counterparties::configure(cfg);
    clauses::configure(cfg);
    templates::configure(cfg);
    comments::configure(cfg);
    attachments::configure(cfg);
    pdf::configure(cfg);
    calendar::configure(cfg);
    audit::configure(cfg);
}

/// Reads as the caller, in one round trip: checks that the caller is, right now, active
/// with at least `minimum`, and returns each statement's rows in order.
pub async fn read_as(
    db: &TenantDb,
    user: &AuthUser,
    minimum: Role,
    statements: &[(&str, &[&(dyn ToSql + Sync)])],
) -> Result<Vec<Vec<Row>>, ApiError> {
    let acting: [&(dyn ToSql + Sync); 1] = [&user.claims.sub];
    let mut all = Vec::with_capacity(statements.len() + 1);
    all.push((ACTING_USER_SQL, &acting[..]));
    all.extend_from_slice(statements);
    let mut results = db.read(&all).await?;
    role_of(results[0].first(), minimum)?;
    results.remove(0);
    Ok(results)
}

/// The one row `sql` (taking the id as `$1`) finds, as a view, for a caller with at
/// least the `minimum` role; a 404 naming `what` when there is none.
pub async fn read_one_as<T: for<'a> From<&'a Row>>(
    db: &TenantDb,
    user: &AuthUser,
    minimum: Role,
    sql: &str,
    id: uuid::Uuid,
    what: &'static str,
) -> Result<T, ApiError> {
    let results = read_as(db, user, minimum, &[(sql, &[&id])]).await?;
    results[0]
        .first()
        .map(T::from)
        .ok_or(ApiError::Missing(what))
}

/// The rows `sql` (taking the contract id as `$1`) finds for a contract the caller may
/// read; a 404 when the contract does not exist.
pub async fn read_contract_rows(
    db: &TenantDb,
    user: &AuthUser,
    contract_id: uuid::Uuid,
    sql: &str,
) -> Result<Vec<Row>, ApiError> {
    let mut results = read_as(
        db,
        user,
        Role::Viewer,
        &[
            ("select 1 from contracts where id = $1", &[&contract_id]),
            (sql, &[&contract_id]),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(ApiError::Missing("contract"));
    }
    Ok(results.remove(1))
}

/// Loads the row `sql` (`... where id = $1 for update`) finds, locked for the rest of
/// the transaction, as a view; a 404 naming `what` when there is none.
pub async fn lock_row<T: for<'a> From<&'a Row>>(
    tx: &crate::tenancy::scoped::TenantTx,
    sql: &str,
    id: uuid::Uuid,
    what: &'static str,
) -> Result<T, ApiError> {
    tx.query_opt(sql, &[&id])
        .await
        .map_err(ApiError::database)?
        .map(|row| T::from(&row))
        .ok_or(ApiError::Missing(what))
}

/// Deletes the row `sql` (`delete ... where id = $1 returning ...`) names and returns
/// it; a 404 naming `what` when there is none, a 409 when other rows still refer to it.
pub async fn delete_row(
    tx: &crate::tenancy::scoped::TenantTx,
    sql: &str,
    id: uuid::Uuid,
    what: &'static str,
) -> Result<Row, ApiError> {
    tx.query_opt(sql, &[&id])
        .await
        .map_err(ApiError::write)?
        .ok_or(ApiError::Missing(what))
}

const MAX_USER_AGENT_CHARS: usize = 500;

/// Where a request came from, for the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.config.trust_proxy);
        // Behind our own proxy the client is the first X-Forwarded-For entry;
        // otherwise the header is the client's to forge, and the peer is the truth.
        let forwarded = trust_proxy
            .then(|| req.headers().get("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse::<std::net::IpAddr>().ok());
        let ip = forwarded
            .or_else(|| req.peer_addr().map(|addr| addr.ip()))
            .map(|ip| ip.to_string());
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(MAX_USER_AGENT_CHARS).collect());
        let request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
        ready(Ok(Self {
            ip,
            user_agent,
            request_id,
        }))
    }
}
