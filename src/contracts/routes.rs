//! The contract routes: extract, call the service, shape the response (ETags,
//! `Location`, `If-Match`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde_json::json;
use uuid::Uuid;

use super::model::*;
use super::service::*;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::concurrency;
use crate::kernel::reads::read_as;
use crate::kernel::validate::{self};
use crate::kernel::{Actor, DomainError, Origin, Refusal, Role};
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

pub(super) fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&concurrency::etag(version)).expect("digits are a valid header")
}

pub(super) fn with_etag(mut response: HttpResponse, version: i32) -> HttpResponse {
    response.headers_mut().insert(header::ETAG, etag(version));
    response
}

pub fn created(contract: &ContractView) -> HttpResponse {
    let mut response = HttpResponse::Created().json(contract);
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/contracts/{}", contract.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    with_etag(response, contract.version)
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts",
    tag = "contracts",
    request_body = CreateContract,
    responses(
        (status = 201, description = "Created (ETag: its version)", body = ContractView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts")]
pub async fn create_contract(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    body: Json<CreateContract>,
) -> Result<HttpResponse, DomainError> {
    let tx = db.begin().await?;
    let contract = insert_contract(&tx, &user.principal(), &origin, body.into_inner()).await?;
    tx.commit().await.map_err(DomainError::database)?;
    Ok(created(&contract))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "The contract (ETag: its version)", body = ContractView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}")]
pub async fn get_contract(
    user: AuthUser,
    db: TenantDb,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, DomainError> {
    let id = id.into_inner();
    let sql = format!("select {CONTRACT_COLUMNS} from contracts where id = $1");
    let (_, results) = read_as(&db, &user.principal(), Role::Viewer, &[(&sql, &[&id])]).await?;
    let row = results[0].first().ok_or(DomainError::Missing("contract"))?;
    let contract = ContractView::from_row(row)?;
    Ok(with_etag(
        HttpResponse::Ok().json(&contract),
        contract.version,
    ))
}

/// The version a change is based on, from `If-Match` or the body (see
/// `kernel::concurrency`).
fn expected_version(req: &HttpRequest, in_body: Option<i32>) -> Result<i32, DomainError> {
    let if_match = match req.headers().get(header::IF_MATCH) {
        None => None,
        Some(value) => Some(value.to_str().map_err(|_| {
            DomainError::BadRequest("If-Match must be an ETag such as \"3\"".into())
        })?),
    };
    concurrency::expected_version(if_match, in_body)
}

#[utoipa::path(
    patch,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = UpdateContract,
    responses(
        (status = 200, description = "Updated (ETag: the new version)", body = ContractView),
        (status = 409, description = "version_conflict or contract_locked", body = ErrorBody),
        (status = 428, description = "version_required", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/contracts/{id}")]
pub async fn update_contract(
    req: HttpRequest,
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<UpdateContract>,
) -> Result<HttpResponse, DomainError> {
    let patch = body.into_inner();
    let expected = expected_version(&req, patch.version)?;
    let tx = db.begin().await?;
    let (old, actor) = lock_editable_contract(&tx, &user.principal(), id.into_inner()).await?;
    let caller = actor.user_id();
    concurrency::check_version("contract", expected, old.version)?;
    if patch.touches_terms() && !old.status.terms_editable() {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "contract_locked",
            format!(
                "the terms of a contract that is {} no longer change; only tags, metadata, owner and renewal settings do",
                old.status.as_str()
            ),
            json!({ "status": old.status }),
        ));
    }
    if let Some(owner) = patch.owner_id {
        if owner != old.owner_id && actor.role() < Role::Manager {
            return Err(DomainError::Forbidden(
                "handing a contract to another owner needs the manager role".into(),
            ));
        }
    }
    let old_body = old.body.clone().unwrap_or_default();
    let terms = Terms {
        title: match &patch.title {
            Some(t) => validate::text("title", t, MAX_TITLE_CHARS)?,
            None => old.title.clone(),
        },
        contract_type: patch
            .contract_type
            .as_deref()
            .map_or_else(|| old.contract_type.clone(), |t| t.trim().to_owned()),
        value: match &patch.value {
            Some(Some(v)) => Some(validate::decimal("value", v)?),
            Some(None) => None,
            None => old.value.clone(),
        },
        currency: match &patch.currency {
            Some(Some(c)) => Some(validate::currency(c)?),
            Some(None) => None,
            None => old.currency.clone(),
        },
        counterparty_id: patch.counterparty_id.unwrap_or(old.counterparty_id),
        owner_id: patch.owner_id.unwrap_or(old.owner_id),
        start_date: patch.start_date.map_or(old.start_date, |d| d.map(|d| d.0)),
        end_date: patch.end_date.map_or(old.end_date, |d| d.map(|d| d.0)),
        auto_renew: patch.auto_renew.unwrap_or(old.auto_renew),
        renewal_notice_days: patch.renewal_notice_days.unwrap_or(old.renewal_notice_days),
        tags: match &patch.tags {
            Some(tags) => validate::tags(tags)?,
            None => old.tags.clone(),
        },
        metadata: match &patch.metadata {
            Some(m) => validate::metadata(m)?,
            None => old.metadata.clone(),
        },
        body: match &patch.body {
            Some(b) => validate::body("body", b, MAX_BODY_CHARS)?,
            None => old_body.clone(),
        },
    };
    terms.check()?;
    let new_owner = (terms.owner_id != old.owner_id).then_some(terms.owner_id);
    let new_type =
        (terms.contract_type != old.contract_type).then_some(terms.contract_type.as_str());
    let new_counterparty = terms
        .counterparty_id
        .filter(|_| terms.counterparty_id != old.counterparty_id);
    if new_owner.is_some() || new_type.is_some() || new_counterparty.is_some() {
        check_references(&tx, new_owner, new_type, new_counterparty).await?;
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set title = $2, contract_type = $3, value = $4::text::numeric, currency = $5, \
                 counterparty_id = $6, owner_id = $7, start_date = $8, end_date = $9, auto_renew = $10, \
                 renewal_notice_days = $11, tags = $12, metadata = $13, body = $14, \
                 version = version + 1, updated_by = $15, updated_at = now() \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[
                &old.id,
                &terms.title,
                &terms.contract_type,
                &terms.value,
                &terms.currency,
                &terms.counterparty_id,
                &terms.owner_id,
                &terms.start_date,
                &terms.end_date,
                &terms.auto_renew,
                &terms.renewal_notice_days,
                &terms.tags,
                &terms.metadata,
                &terms.body,
                &caller,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let new = ContractView::from_row(&row)?;
    if terms.body != old_body || terms.title != old.title {
        tx.execute(
            "insert into contract_versions (contract_id, version, title, body, created_by) values ($1, $2, $3, $4, $5)",
            &[&new.id, &new.version, &new.title, &terms.body, &caller],
        )
        .await
        .map_err(DomainError::database)?;
    }
    let mut changes = changed_fields(
        &old.audit_json(),
        &new.audit_json(),
        &["version", "updated_at", "updated_by"],
    );
    if terms.body != old_body {
        changes["body"] = json!({"old_version": old.version, "new_version": new.version});
    }
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "update",
            entity: "contract",
            entity_id: Some(new.id),
            changes,
        },
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok().json(&new), new.version))
}

#[utoipa::path(
    delete,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "contract_locked: only drafts are deleted", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contracts/{id}")]
pub async fn delete_contract(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, DomainError> {
    let tx = db.begin().await?;
    let (old, actor) = lock_editable_contract(&tx, &user.principal(), id.into_inner()).await?;
    if old.status != Status::Draft {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "contract_locked",
            "only drafts are deleted; end other contracts with a transition",
            json!({ "status": old.status }),
        ));
    }
    tx.execute("delete from contracts where id = $1", &[&old.id])
        .await
        .map_err(DomainError::write)?;
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "delete",
            entity: "contract",
            entity_id: Some(old.id),
            changes: old.audit_json(),
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/transition",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = Transition,
    responses(
        (status = 200, description = "Moved (ETag: the new version)", body = ContractView),
        (status = 409, description = "invalid_transition (details.allowed lists the ones that are) or version_conflict", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/transition")]
pub async fn transition_contract(
    req: HttpRequest,
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    id: web::Path<Uuid>,
    body: Json<Transition>,
) -> Result<HttpResponse, DomainError> {
    let Transition { to, version } = body.into_inner();
    let expected = match (req.headers().contains_key(header::IF_MATCH), version) {
        (false, None) => None,
        _ => Some(expected_version(&req, version)?),
    };
    let to = Status::parse(&to).ok_or_else(|| {
        DomainError::Validation(format!(
            "unknown status {:?}; statuses are {}",
            validate::truncate(&to, 30),
            Status::ALL.map(Status::as_str).join(", ")
        ))
    })?;
    let tx = db.begin().await?;
    let actor = Actor::acting(&tx, &user.principal(), Role::Member).await?;
    let caller = actor.user_id();
    let old = lock_contract(&tx, id.into_inner()).await?;
    if let Some(expected) = expected {
        concurrency::check_version("contract", expected, old.version)?;
    }
    let allowed = old.status.next();
    if !allowed.contains(&to) {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "invalid_transition",
            format!(
                "a contract that is {} cannot become {}; allowed: {}",
                old.status.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "none (final status)".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            json!({ "from": old.status, "to": to, "allowed": allowed }),
        ));
    }
    let permitted = if Status::needs_manager(to) {
        actor.role() >= Role::Manager
    } else {
        actor.may_edit(Some(old.owner_id))
    };
    if !permitted {
        return Err(DomainError::Forbidden(format!(
            "moving a contract to {} needs the manager role{}",
            to.as_str(),
            if Status::needs_manager(to) {
                ""
            } else {
                " or ownership"
            }
        )));
    }
    let row = tx
        .query_one(
            &format!(
                "update contracts set status = $2, version = version + 1, updated_by = $3, updated_at = now() \
                 where id = $1 returning {CONTRACT_COLUMNS}"
            ),
            &[&old.id, &to.as_str(), &caller],
        )
        .await
        .map_err(DomainError::write)?;
    let new = ContractView::from_row(&row)?;
    audit::record_and_commit(
        tx,
        &actor,
        &origin,
        Entry {
            action: "transition",
            entity: "contract",
            entity_id: Some(new.id),
            changes: json!({"status": {"old": old.status, "new": new.status}}),
        },
    )
    .await?;
    Ok(with_etag(HttpResponse::Ok().json(&new), new.version))
}
