//! Templates over HTTP: thin handlers that parse, call the service as the caller, and
//! answer.

use actix_web::{delete, get, patch, post, web};
use uuid::Uuid;

use super::model::*;
use super::service;
use crate::contracts::ContractView;
use crate::kernel::page::{Page, PageQuery};
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/templates",
    tag = "templates",
    params(PageQuery),
    responses(
        (status = 200, description = "Templates by name", body = Page<TemplateView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/templates")]
pub async fn list_templates(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<TemplateView>>, ApiError> {
    Ok(Json(
        service::list(&db, &user.principal(), &query.parse()?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/templates",
    tag = "templates",
    request_body = NewTemplate,
    responses(
        (status = 201, description = "Created (managers)", body = TemplateView),
        (status = 409, description = "duplicate name", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/templates")]
pub async fn create_template(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewTemplate>,
) -> Result<Created<TemplateView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 200, description = "The template", body = TemplateView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/templates/{id}")]
pub async fn get_template(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<TemplateView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = UpdateTemplate,
    responses(
        (status = 409, description = "duplicate name", body = ErrorBody),
        (status = 200, description = "Updated (managers)", body = TemplateView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/templates/{id}")]
pub async fn update_template(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateTemplate>,
) -> Result<Json<TemplateView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 204, description = "Deleted (managers)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/templates/{id}")]
pub async fn delete_template(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::delete(tx, actor, &origin, id.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    post,
    path = "/api/v1/templates/{id}/generate",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = GenerateRequest,
    responses(
        (status = 201, description = "The generated contract", body = ContractView),
        (status = 400, description = "template_variables: details.missing and details.unknown", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/templates/{id}/generate")]
pub async fn generate_contract(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<GenerateRequest>,
) -> Result<Created<ContractView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::generate(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    let (location, etag) = (out.location(), out.etag());
    Ok(Created::new(out).at(location).tagged(etag))
}
