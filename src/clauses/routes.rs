//! The clause library over HTTP: thin handlers that parse, call the service as the
//! caller, and answer.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::service;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClauseQuery {
    /// Only clauses of this category.
    category: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses",
    tag = "clauses",
    params(ClauseQuery),
    responses(
        (status = 200, description = "Clauses by category and title", body = Page<ClauseView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses")]
pub async fn list_clauses(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ClauseQuery>,
) -> Result<Json<Page<ClauseView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let category = query.category.as_deref();
    Ok(Json(
        service::list(&db, &user.principal(), category, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/clauses",
    tag = "clauses",
    request_body = NewClause,
    responses(
        (status = 201, description = "Added to the library", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/clauses")]
pub async fn create_clause(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewClause>,
) -> Result<Created<ClauseView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    responses(
        (status = 200, description = "The clause", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}")]
pub async fn get_clause(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ClauseView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    request_body = UpdateClause,
    responses(
        (status = 200, description = "Updated (its author, or a manager)", body = ClauseView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/clauses/{id}")]
pub async fn update_clause(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateClause>,
) -> Result<Json<ClauseView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/clauses/{id}",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id")),
    responses(
        (status = 204, description = "Removed from the library"),
        (status = 409, description = "in_use: attached to contracts", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/clauses/{id}")]
pub async fn delete_clause(
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// Lowest similarity to report (default 0.3).
    #[param(minimum = 0.1, maximum = 1.0)]
    threshold: Option<f32>,
    /// Page size (default 10).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}/similar",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Clause id"), SimilarQuery),
    responses(
        (status = 200, description = "Other clauses with similar text, most similar first", body = Page<SimilarClause>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}/similar")]
pub async fn similar_clauses(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<Page<SimilarClause>>, ApiError> {
    Ok(Json({
        // Ranked by similarity: paged by offset.
        let page = PageRequest::parse(query.limit.or(Some(10)), query.cursor.as_deref(), 50)?;
        service::similar(
            &db,
            &user.principal(),
            id.into_inner(),
            query.threshold,
            &page,
        )
        .await?
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "Clauses attached to the contract, in order", body = Page<ClauseView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/clauses")]
pub async fn contract_clauses(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<ClauseView>>, ApiError> {
    Ok(Json(
        service::on_contract(&db, &user.principal(), id.into_inner(), &query.parse()?).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id")),
    request_body = AttachClause,
    responses(
        (status = 204, description = "Attached (idempotent)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/clauses")]
pub async fn attach_clause(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<AttachClause>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::attach(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    delete,
    path = "/api/v1/contracts/{id}/clauses/{clause_id}",
    tag = "clauses",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("clause_id" = Uuid, Path, description = "Clause id")
    ),
    responses(
        (status = 204, description = "Detached"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/contracts/{id}/clauses/{clause_id}")]
pub async fn detach_clause(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<NoContent, ApiError> {
    as_actor(&db, &user.principal(), async |tx, actor| {
        service::detach(tx, actor, &origin, path.into_inner()).await
    })
    .await?;
    Ok(NoContent)
}

#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/validate-clauses",
    tag = "clauses",
    params(("id" = Uuid, Path, description = "Contract id")),
    responses(
        (status = 200, description = "Required clause categories and which are missing", body = ClauseValidation),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/contracts/{id}/validate-clauses")]
pub async fn validate_clauses(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<ClauseValidation>, ApiError> {
    Ok(Json(
        service::validate(&db, &user.principal(), id.into_inner()).await?,
    ))
}
