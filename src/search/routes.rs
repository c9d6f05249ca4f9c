//! One search over HTTP: a thin handler that parses and calls the service as the
//! caller.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::service;
use crate::kernel::DomainError;
use crate::web::error::{ApiError, AuthedRouteErrors};
use crate::web::json::Json;
use crate::web::tenant::{AuthUser, RequestDb};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of a name, title or number, case aside; 2 to 200 characters.
    #[param(min_length = 2, max_length = 200)]
    q: String,
    /// Comma-separated kinds (`account,contact,lead,opportunity,invoice,contract`);
    /// all by default.
    #[param(max_length = 100)]
    types: Option<String>,
    /// How many results (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/search",
    tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, description = "Records of every kind asked for whose name holds the query, best first", body = Vec<Found>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/search")]
pub async fn search(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<SearchQuery>,
) -> Result<Json<Vec<Found>>, ApiError> {
    let kinds = kinds(query.types.as_deref()).ok_or_else(|| {
        DomainError::invalid(
            "types lists kinds among account, contact, lead, opportunity, invoice, contract",
        )
    })?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(DomainError::invalid("limit must be 1 to 100").into());
    }
    Ok(Json(
        service::search(&db, &user.principal(), &query.q, &kinds, limit).await?,
    ))
}
