//! The contract read routes: the list and its facets, the versions and diffs, the
//! calendar. The reads live in [`super::search`], [`super::versions`] and
//! [`super::calendar`].

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::calendar::{self as dates, CalendarEvent, MAX_EVENTS_PER_PAGE};
use super::model::ContractView;
use super::search::{self, ContractFilter, Facets};
use super::versions::{self, DiffView, VersionSummary, VersionView};
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::validate::IsoDate;
use crate::web::error::ApiError;
use crate::web::error::AuthedRouteErrors;
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::tenant::{AuthUser, RequestDb};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// First day, `YYYY-MM-DD`, inclusive.
    from: IsoDate,
    /// Last day, `YYYY-MM-DD`, inclusive; at most three years after `from`.
    to: IsoDate,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    from: i32,
    to: i32,
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts",
    tag = "contracts",
    params(ContractFilter, PageQuery),
    responses(
        (status = 200, description = "A page of contracts, without their bodies (fetch one contract for its text)", body = Page<ContractView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts")]
pub async fn list_contracts(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<ContractFilter>,
) -> Result<Json<Page<ContractView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        search::list(&db, &user.principal(), &query.filters, &page).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/export",
    tag = "contracts",
    params(ContractFilter),
    responses(
        (status = 200, description = "The contracts the list shows with the same filters, in its order, as text/csv (at most 100,000; no bodies)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/export")]
pub async fn export_contracts(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ContractFilter>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let all = search::list(&db, &user.principal(), &query, &PageRequest::export())
        .await?
        .into_export()?;
    response(
        "contracts.csv",
        &[
            "id",
            "title",
            "contract_type",
            "status",
            "value",
            "currency",
            "counterparty_id",
            "owner_id",
            "start_date",
            "end_date",
            "auto_renew",
            "renewal_notice_days",
            "tags",
            "version",
            "created_at",
            "updated_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.title),
                cell(&v.contract_type),
                v.status.as_str().to_owned(),
                opt(&v.value),
                opt(&v.currency),
                opt(&v.counterparty_id),
                v.owner_id.to_string(),
                opt(&v.start_date),
                opt(&v.end_date),
                v.auto_renew.to_string(),
                opt(&v.renewal_notice_days),
                cell(&v.tags.join(";")),
                v.version.to_string(),
                v.created_at.to_rfc3339(),
                v.updated_at.to_rfc3339(),
            ]
        }),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/facets",
    tag = "contracts",
    params(ContractFilter),
    responses(
        (status = 200, description = "Counts by status and type for the filters", body = Facets),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/facets")]
pub async fn contract_facets(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<ContractFilter>,
) -> Result<Json<Facets>, ApiError> {
    Ok(Json(search::facets(&db, &user.principal(), &query).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/versions",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id"), PageQuery),
    responses(
        (status = 200, description = "Every text the contract has had, oldest first", body = Page<VersionSummary>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/versions")]
pub async fn list_versions(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<Json<Page<VersionSummary>>, ApiError> {
    Ok(Json(
        versions::list(&db, &user.principal(), id.into_inner(), &query.parse()?).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/versions/{version}",
    tag = "contracts",
    params(
        ("id" = Uuid, Path, description = "Contract id"),
        ("version" = i32, Path, description = "Contract version")
    ),
    responses(
        (status = 200, description = "That version's text", body = VersionView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/versions/{version}")]
pub async fn get_version(
    user: AuthUser,
    db: RequestDb,
    path: web::Path<(Uuid, i32)>,
) -> Result<Json<VersionView>, ApiError> {
    let (id, version) = path.into_inner();
    Ok(Json(
        versions::get(&db, &user.principal(), id, version).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/diff",
    tag = "contracts",
    params(("id" = Uuid, Path, description = "Contract id"), DiffQuery),
    responses(
        (status = 200, description = "Line diff between two versions", body = DiffView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/contracts/{id}/diff")]
pub async fn diff_versions(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<DiffQuery>,
) -> Result<Json<DiffView>, ApiError> {
    Ok(Json(
        versions::diff(
            &db,
            &user.principal(),
            id.into_inner(),
            query.from,
            query.to,
        )
        .await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/calendar",
    tag = "contracts",
    params(CalendarQuery),
    responses(
        (status = 200, description = "Dated events by day, then kind", body = Page<CalendarEvent>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/calendar")]
pub async fn calendar(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<CalendarQuery>,
) -> Result<Json<Page<CalendarEvent>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_EVENTS_PER_PAGE)?;
    Ok(Json(
        dates::events(&db, &user.principal(), *query.from, *query.to, &page).await?,
    ))
}
