//! The intelligence routes: contracts and clauses by meaning and words, contracts and
//! clauses like one. The logic
//! is in [`super::search`].

use actix_web::{get, web};
use uuid::Uuid;

use super::clauses::{self, ClauseResults};
use super::engine::Engine;
use super::search::{self, SearchQuery, SearchResults, SimilarQuery};
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::tenant::{AuthUser, CurrentTenant, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/search/contracts",
    tag = "intelligence",
    params(SearchQuery),
    responses(
        (status = 200, description = "The contracts that best match the query, best first, each with its passages closest to it: by meaning with the embedding model run on this server, by words with full-text search, or both fused by reciprocal rank. A reader a redacted original is kept from never matches its passages", body = SearchResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model; mode=text still works", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/search/contracts")]
pub async fn search_contracts(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    query: web::Query<SearchQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(
        search::search(&db, tenant.0.id, &engine, &user.principal(), &query).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/similar",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Contract id"), SimilarQuery),
    responses(
        (status = 200, description = "The contracts most like this one in meaning, most alike first, each with its passages closest to it; empty until the contract's text has been read by the model", body = SearchResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/similar")]
pub async fn similar_contracts(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<SearchResults>, ApiError> {
    Ok(Json(
        search::similar(
            &db,
            tenant.0.id,
            &engine,
            &user.principal(),
            id.into_inner(),
            query.limit,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/search/clauses",
    tag = "intelligence",
    params(SearchQuery),
    responses(
        (status = 200, description = "The library's clauses that best match the query, best first: by meaning with the embedding model run on this server, by words with trigram similarity, or both fused by reciprocal rank", body = ClauseResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model; mode=text still works", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/search/clauses")]
pub async fn search_clauses(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    query: web::Query<SearchQuery>,
) -> Result<Json<ClauseResults>, ApiError> {
    Ok(Json(
        clauses::search(&db, tenant.0.id, &engine, &user.principal(), &query).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/clauses/{id}/similar-in-meaning",
    tag = "intelligence",
    params(("id" = Uuid, Path, description = "Clause id"), SimilarQuery),
    responses(
        (status = 200, description = "The library's clauses closest in meaning to this one, most alike first, beside the trigram similarity of /clauses/{id}/similar; empty until the clause has been read by the model", body = ClauseResults),
        (status = 409, description = "`model_unavailable`: this server has no embedding model", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/clauses/{id}/similar-in-meaning")]
pub async fn similar_clauses(
    user: AuthUser,
    tenant: CurrentTenant,
    db: RequestDb,
    engine: web::Data<Engine>,
    id: web::Path<Uuid>,
    query: web::Query<SimilarQuery>,
) -> Result<Json<ClauseResults>, ApiError> {
    Ok(Json(
        clauses::similar(
            &db,
            tenant.0.id,
            &engine,
            &user.principal(),
            id.into_inner(),
            query.limit,
        )
        .await?,
    ))
}
