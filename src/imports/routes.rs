//! CSV imports over HTTP: the file is the request body (`text/csv`), read up to its
//! bound; the run is [`super::service::run`], committed only when it is real and every
//! row is good.

use actix_web::{post, web, HttpRequest};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use super::model::*;
use super::service;
use crate::kernel::{Actor, DomainError};
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::tenant::{AuthUser, RequestDb};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row and report, keeping nothing (default false).
    dry_run: Option<bool>,
    /// Leave out rows that duplicate a record or an earlier row (by email, or by
    /// company domain for accounts) instead of refusing the file (default false).
    skip_duplicates: Option<bool>,
}

/// The body, if it is CSV and within the bound.
async fn csv_body(req: &HttpRequest, mut body: web::Payload) -> Result<Vec<u8>, ApiError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("text/csv") {
        return Err(ApiError::UnsupportedMediaType(
            "send the file as the body, with Content-Type: text/csv".into(),
        ));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| DomainError::BadRequest(format!("the body could not be read: {e}")))?;
        if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge(format!(
                "an import file is at most {MAX_IMPORT_BYTES} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    if std::str::from_utf8(&bytes).is_err() {
        return Err(DomainError::invalid("the file is not UTF-8 text").into());
    }
    Ok(bytes)
}

/// Reads, runs and answers an import of `kind`.
async fn import(
    kind: ImportKind,
    req: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<Json<ImportReport>, ApiError> {
    let bytes = csv_body(&req, body).await?;
    let options = ImportOptions {
        dry_run: query.dry_run.unwrap_or(false),
        skip_duplicates: query.skip_duplicates.unwrap_or(false),
    };
    let rows = service::rows(kind, &bytes)?;
    let tx = db.begin().await?;
    let actor = Actor::resolve(&tx, &user.principal()).await?;
    let mut report = service::run(&tx, &actor, &origin, kind, rows, options).await?;
    if options.dry_run {
        tx.rollback().await.map_err(DomainError::database)?;
        return Ok(Json(report));
    }
    if !report.valid {
        tx.rollback().await.map_err(DomainError::database)?;
        report.dry_run = true;
        return Err(DomainError::invalid_as(
            "import_invalid",
            format!(
                "{} of {} rows cannot be imported; nothing was imported",
                report.errors.len(),
                report.rows
            ),
            json!(report),
        )
        .into());
    }
    tx.commit().await?;
    Ok(Json(report))
}

#[utoipa::path(
    post,
    path = "/api/v1/counterparties/import",
    tag = "counterparties",
    params(ImportQuery),
    request_body(content_type = "text/csv", description = "A header row naming create fields (name required; tags separated by semicolons), owner (a user's email) for owner_id, parent (an account's name) for parent_id, then up to 5000 rows; at most 5 MiB"),
    responses(
        (status = 200, description = "Every row made (or with dry_run checked and rolled back) in one transaction", body = ImportReport),
        (status = 413, description = "A file over 5 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/counterparties/import")]
pub async fn import_accounts(
    req: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<Json<ImportReport>, ApiError> {
    import(ImportKind::Accounts, req, user, db, origin, query, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/contacts/import",
    tag = "counterparties",
    params(ImportQuery),
    request_body(content_type = "text/csv", description = "A header row naming create fields (name required; emails, phones and account_ids separated by semicolons), accounts (names, separated by semicolons) for account_ids, then up to 5000 rows; at most 5 MiB"),
    responses(
        (status = 200, description = "Every row made (or with dry_run checked and rolled back) in one transaction", body = ImportReport),
        (status = 413, description = "A file over 5 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contacts/import")]
pub async fn import_contacts(
    req: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<Json<ImportReport>, ApiError> {
    import(ImportKind::Contacts, req, user, db, origin, query, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/leads/import",
    tag = "leads",
    params(ImportQuery),
    request_body(content_type = "text/csv", description = "A header row naming create fields (name required), owner (a user's email) for owner_id, then up to 5000 rows; at most 5 MiB"),
    responses(
        (status = 200, description = "Every row made (or with dry_run checked and rolled back) in one transaction", body = ImportReport),
        (status = 413, description = "A file over 5 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/leads/import")]
pub async fn import_leads(
    req: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<Json<ImportReport>, ApiError> {
    import(ImportKind::Leads, req, user, db, origin, query, body).await
}

#[utoipa::path(
    post,
    path = "/api/v1/opportunities/import",
    tag = "pipeline",
    params(ImportQuery),
    request_body(content_type = "text/csv", description = "A header row naming create fields (name, account_id or account (its name), and currency required; contact_ids separated by semicolons), owner (a user's email) for owner_id, contacts (emails, separated by semicolons) for contact_ids, then up to 5000 rows; at most 5 MiB. A row whose account already has an opportunity of that name is a duplicate"),
    responses(
        (status = 200, description = "Every row made (or with dry_run checked and rolled back) in one transaction", body = ImportReport),
        (status = 413, description = "A file over 5 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/opportunities/import")]
pub async fn import_opportunities(
    req: HttpRequest,
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    query: web::Query<ImportQuery>,
    body: web::Payload,
) -> Result<Json<ImportReport>, ApiError> {
    import(
        ImportKind::Opportunities,
        req,
        user,
        db,
        origin,
        query,
        body,
    )
    .await
}
