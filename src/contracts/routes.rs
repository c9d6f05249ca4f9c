//! The contract routes: extract, call the service, shape the response (ETags,
//! `Location`, `If-Match`).

use actix_web::http::header::{self};
use actix_web::{delete, get, patch, post, web, HttpRequest};
use uuid::Uuid;

use super::model::*;
use super::service::{self, *};
use crate::attachments;
use crate::kernel::concurrency;
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::kernel::validate::{self};
use crate::kernel::DomainError;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent, Tagged};
use crate::web::tenant::CurrentTenant;
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

/// 201 with the contract, where it lives and its version.
pub fn created(contract: ContractView) -> Created<ContractView> {
    let (location, etag) = (contract.location(), contract.etag());
    Created::new(contract).at(location).tagged(etag)
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
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<CreateContract>,
) -> Result<Created<ContractView>, ApiError> {
    let tx = db.begin().await?;
    let contract = insert_contract(&tx, &user.principal(), &origin, body.into_inner()).await?;
    tx.commit().await?;
    Ok(created(contract))
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
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Tagged<ContractView>, ApiError> {
    let contract = get(&db, &user.principal(), id.into_inner()).await?;
    Ok(Tagged {
        etag: concurrency::etag(contract.version),
        body: contract,
    })
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
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateContract>,
) -> Result<Tagged<ContractView>, ApiError> {
    let patch = body.into_inner();
    let expected = expected_version(&req, patch.version)?;
    let new = as_actor(&db, &user.principal(), async |tx, actor| {
        update(tx, actor, &origin, id.into_inner(), expected, patch).await
    })
    .await?;
    Ok(Tagged {
        etag: concurrency::etag(new.version),
        body: new,
    })
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
    tenant: CurrentTenant,
    state: web::Data<AppState>,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    let files = as_actor(&db, &user.principal(), async |tx, actor| {
        delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    attachments::files::remove_files(&state.config.store, tenant.0.id, &files).await;
    Ok(NoContent)
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
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<Transition>,
) -> Result<Tagged<ContractView>, ApiError> {
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
    let new = as_actor(&db, &user.principal(), async |tx, actor| {
        transition(tx, actor, &origin, id.into_inner(), to, expected).await
    })
    .await?;
    Ok(Tagged {
        etag: concurrency::etag(new.version),
        body: new,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/contract-types",
    tag = "contracts",
    params(PageQuery),
    responses(
        (status = 200, description = "This tenant's contract types, by key", body = Page<ContractTypeView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contract-types")]
pub async fn list_contract_types(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<ContractTypeView>>, ApiError> {
    Ok(Json(
        service::list_contract_types(&db, &user.principal(), &query.parse()?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contract-types",
    tag = "contracts",
    request_body = NewContractType,
    responses(
        (status = 201, description = "Added (admins: a tenant setting)", body = ContractTypeView),
        (status = 409, description = "duplicate key", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contract-types")]
pub async fn create_contract_type(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewContractType>,
) -> Result<Created<ContractTypeView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create_contract_type(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}
