//! The pipeline over HTTP: thin handlers that parse, call the service as the caller,
//! and answer.

use actix_web::{delete, get, patch, post, put, web};
use chrono::Datelike;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::service;
use crate::kernel::page::{Page, PageQuery, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::DomainError;
use crate::web::error::{ApiError, AuthedRouteErrors, ErrorBody};
use crate::web::json::Json;
use crate::web::list_query::ListQuery;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/pipeline/stages",
    tag = "pipeline",
    responses(
        (status = 200, description = "The tenant's pipeline, in order", body = Vec<Stage>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/pipeline/stages")]
pub async fn list_stages(user: AuthUser, db: RequestDb) -> Result<Json<Vec<Stage>>, ApiError> {
    Ok(Json(service::stages(&db, &user.principal()).await?))
}

#[utoipa::path(
    put,
    path = "/api/v1/pipeline/stages",
    tag = "pipeline",
    request_body = Pipeline,
    responses(
        (status = 200, description = "The pipeline as replaced, in order", body = Vec<Stage>),
        (status = 409, description = "stage_in_use: a stage left out still holds opportunities (details count them)", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/pipeline/stages")]
pub async fn replace_stages(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<Pipeline>,
) -> Result<Json<Vec<Stage>>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::replace_stages(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

/// Which opportunities a list (or its export) shows.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OpportunityFilters {
    /// Part of the name, case-insensitive.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Only the opportunities at this stage.
    #[param(max_length = 50)]
    stage: Option<String>,
    /// Only those at an `open`, `won` or `lost` stage.
    #[param(pattern = "^(open|won|lost)$")]
    outcome: Option<String>,
    owner_id: Option<Uuid>,
    account_id: Option<Uuid>,
}

impl OpportunityFilters {
    fn filter(&self) -> service::OpportunityFilter<'_> {
        service::OpportunityFilter {
            q: self.q.as_deref(),
            stage: self.stage.as_deref(),
            owner_id: self.owner_id,
            account_id: self.account_id,
            outcome: self.outcome.as_deref(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/opportunities",
    tag = "pipeline",
    params(OpportunityFilters, PageQuery),
    responses(
        (status = 200, description = "Opportunities by name", body = Page<OpportunityView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities")]
pub async fn list_opportunities(
    user: AuthUser,
    db: RequestDb,
    query: ListQuery<OpportunityFilters>,
) -> Result<Json<Page<OpportunityView>>, ApiError> {
    let page = query.page.parse()?;
    Ok(Json(
        service::list(&db, &user.principal(), &query.filters.filter(), &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/opportunities",
    tag = "pipeline",
    request_body = NewOpportunity,
    responses(
        (status = 201, description = "Created", body = OpportunityView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/opportunities")]
pub async fn create_opportunity(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<NewOpportunity>,
) -> Result<Created<OpportunityView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/opportunities/board",
    tag = "pipeline",
    responses(
        (status = 200, description = "Every stage in order with its count, totals per currency (and weighted) and its 50 largest opportunities", body = Vec<BoardColumn>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities/board")]
pub async fn board(user: AuthUser, db: RequestDb) -> Result<Json<Vec<BoardColumn>>, ApiError> {
    Ok(Json(super::reports::board(&db, &user.principal()).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ForecastQuery {
    /// The first month, `YYYY-MM` (default: this month).
    #[param(pattern = "^[0-9]{4}-[0-9]{2}$")]
    from: Option<String>,
    /// How many months (default 12).
    #[param(minimum = 1, maximum = 36)]
    months: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/opportunities/forecast",
    tag = "pipeline",
    params(ForecastQuery),
    responses(
        (status = 200, description = "Per month and currency: the open and won opportunities expected to close, their amount, the amount weighted by their stages' probabilities, and what is won", body = Vec<ForecastMonth>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities/forecast")]
pub async fn forecast(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<ForecastQuery>,
) -> Result<Json<Vec<ForecastMonth>>, ApiError> {
    let from = match query.from.as_deref() {
        None => state.clock.now().date_naive().with_day(1),
        Some(month) => crate::kernel::validate::IsoDate::parse(&format!("{month}-01")).map(|d| d.0),
    }
    .ok_or_else(|| DomainError::invalid("from must be a month written YYYY-MM"))?;
    let months = query.months.unwrap_or(12);
    if !(1..=36).contains(&months) {
        return Err(DomainError::invalid("months must be 1 to 36").into());
    }
    Ok(Json(
        super::reports::forecast(&db, &user.principal(), from, months).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/opportunities/{id}",
    tag = "pipeline",
    params(("id" = Uuid, Path, description = "Opportunity id")),
    responses(
        (status = 200, description = "The opportunity", body = OpportunityView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities/{id}")]
pub async fn get_opportunity(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<OpportunityView>, ApiError> {
    Ok(Json(
        service::get(&db, &user.principal(), id.into_inner()).await?,
    ))
}

#[utoipa::path(
    patch,
    path = "/api/v1/opportunities/{id}",
    tag = "pipeline",
    params(("id" = Uuid, Path, description = "Opportunity id")),
    request_body = UpdateOpportunity,
    responses(
        (status = 200, description = "Updated", body = OpportunityView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/opportunities/{id}")]
pub async fn update_opportunity(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateOpportunity>,
) -> Result<Json<OpportunityView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::update(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/opportunities/{id}/win",
    tag = "pipeline",
    params(("id" = Uuid, Path, description = "Opportunity id")),
    request_body = WinOpportunity,
    responses(
        (status = 200, description = "Won, with the contract drafted from the template when one was asked for", body = Won),
        (status = 409, description = "already_won: the opportunity has its contract", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/opportunities/{id}/win")]
pub async fn win_opportunity(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<WinOpportunity>,
) -> Result<Json<Won>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::win(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/opportunities/{id}",
    tag = "pipeline",
    params(("id" = Uuid, Path, description = "Opportunity id")),
    responses(
        (status = 204, description = "Deleted"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/opportunities/{id}")]
pub async fn delete_opportunity(
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
    get,
    path = "/api/v1/opportunities/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Opportunity id"), crate::kernel::page::PageQuery),
    responses(
        (status = 200, description = "Comments, oldest first", body = Page<crate::comments::CommentView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities/{id}/comments")]
pub async fn list_opportunity_comments(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<crate::kernel::page::PageQuery>,
) -> Result<Json<Page<crate::comments::CommentView>>, ApiError> {
    let page = query.parse()?;
    let target = crate::kernel::target::Target::new(&OPPORTUNITY_TARGET, id.into_inner());
    Ok(Json(
        crate::comments::service::list(&db, &user.principal(), target, &page).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/opportunities/{id}/comments",
    tag = "comments",
    params(("id" = Uuid, Path, description = "Opportunity id")),
    request_body = crate::comments::NewComment,
    responses(
        (status = 201, description = "Posted, with the mentioned users' ids", body = crate::comments::CommentView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/opportunities/{id}/comments")]
pub async fn create_opportunity_comment(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<crate::comments::NewComment>,
) -> Result<Created<crate::comments::CommentView>, ApiError> {
    let target = crate::kernel::target::Target::new(&OPPORTUNITY_TARGET, id.into_inner());
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        crate::comments::service::create(tx, actor, &origin, target, body.into_inner()).await
    })
    .await?;
    Ok(Created::new(out))
}

#[utoipa::path(
    get,
    path = "/api/v1/opportunities/export",
    tag = "pipeline",
    params(OpportunityFilters),
    responses(
        (status = 200, description = "The opportunities the list shows with the same filters, by name, as text/csv (at most 100,000)"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/opportunities/export")]
pub async fn export_opportunities(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<OpportunityFilters>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use crate::web::csv::{cell, opt, response};
    let all = service::list(
        &db,
        &user.principal(),
        &query.filter(),
        &PageRequest::export(),
    )
    .await?
    .into_export()?;
    response(
        "opportunities.csv",
        &[
            "id",
            "name",
            "account_id",
            "stage",
            "amount",
            "currency",
            "expected_close_date",
            "owner_id",
            "next_step",
            "lost_reason",
            "contract_id",
            "closed_at",
            "created_at",
        ],
        all.iter().map(|v| {
            vec![
                v.id.to_string(),
                cell(&v.name),
                v.account_id.to_string(),
                v.stage.clone(),
                v.amount.clone(),
                v.currency.clone(),
                opt(&v.expected_close_date),
                opt(&v.owner_id),
                opt(&v.next_step),
                opt(&v.lost_reason),
                opt(&v.contract_id),
                opt(&v.closed_at.map(|t| t.to_rfc3339())),
                v.created_at.to_rfc3339(),
            ]
        }),
    )
}
