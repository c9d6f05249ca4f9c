//! The dashboards over HTTP: thin handlers that parse, call the service as the caller,
//! and answer. "Today" is the server's clock.

use actix_web::{get, web};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::*;
use super::service;
use crate::kernel::validate::IsoDate;
use crate::kernel::DomainError;
use crate::web::error::{ApiError, AuthedRouteErrors};
use crate::web::json::Json;
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/pipeline",
    tag = "dashboards",
    responses(
        (status = 200, description = "Pipeline value by stage and currency, stages in order", body = Vec<StageValue>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/pipeline")]
pub async fn pipeline(user: AuthUser, db: RequestDb) -> Result<Json<Vec<StageValue>>, ApiError> {
    Ok(Json(service::pipeline(&db, &user.principal()).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day (default: a year before today).
    from: Option<IsoDate>,
    /// The day after the last (default: tomorrow).
    to: Option<IsoDate>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/win-rate",
    tag = "dashboards",
    params(RangeQuery),
    responses(
        (status = 200, description = "Per owner and currency, deals won and lost in the range, the win rate and the amount won", body = Vec<OwnerWinRate>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/win-rate")]
pub async fn win_rate(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<RangeQuery>,
) -> Result<Json<Vec<OwnerWinRate>>, ApiError> {
    let today = state.clock.now().date_naive();
    let from = query.from.map_or(today - Duration::days(365), |d| d.0);
    let to = query.to.map_or(today + Duration::days(1), |d| d.0);
    if to <= from || to - from > Duration::days(3660) {
        return Err(DomainError::invalid("to must be after from, at most ten years on").into());
    }
    Ok(Json(
        service::win_rate(&db, &user.principal(), from, to).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/account-value",
    tag = "dashboards",
    responses(
        (status = 200, description = "The 50 accounts whose approved or executed contracts are worth most, per currency", body = Vec<AccountValue>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/account-value")]
pub async fn account_value(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<Vec<AccountValue>>, ApiError> {
    Ok(Json(service::account_value(&db, &user.principal()).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RenewalsQuery {
    /// How many days ahead (default 90).
    #[param(minimum = 1, maximum = 365)]
    days: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/renewals",
    tag = "dashboards",
    params(RenewalsQuery),
    responses(
        (status = 200, description = "Executed contracts ending within the window, soonest first, with their notice dates", body = Vec<Renewal>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/renewals")]
pub async fn renewals(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<RenewalsQuery>,
) -> Result<Json<Vec<Renewal>>, ApiError> {
    let days = query.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(DomainError::invalid("days must be 1 to 365").into());
    }
    let today: NaiveDate = state.clock.now().date_naive();
    Ok(Json(
        service::renewals(&db, &user.principal(), today, days).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/overdue-invoices",
    tag = "dashboards",
    responses(
        (status = 200, description = "Overdue invoices per currency: count, balance, and the balance by days past due", body = Vec<OverdueInvoices>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/overdue-invoices")]
pub async fn overdue_invoices(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
) -> Result<Json<Vec<OverdueInvoices>>, ApiError> {
    let today = state.clock.now().date_naive();
    Ok(Json(
        service::overdue_invoices(&db, &user.principal(), today).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseSlaQuery {
    /// Cases opened in the last this many days (default 90).
    #[param(minimum = 1, maximum = 365)]
    days: Option<i32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/dashboards/case-sla",
    tag = "dashboards",
    params(CaseSlaQuery),
    responses(
        (status = 200, description = "SLA compliance of the cases opened in the window per priority: each clock met or breached or running", body = Vec<CaseSlaCompliance>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/dashboards/case-sla")]
pub async fn case_sla(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    query: web::Query<CaseSlaQuery>,
) -> Result<Json<Vec<CaseSlaCompliance>>, ApiError> {
    let days = query.days.unwrap_or(90);
    if !(1..=365).contains(&days) {
        return Err(DomainError::invalid("days must be 1 to 365").into());
    }
    let since = state.clock.now() - Duration::days(i64::from(days));
    Ok(Json(
        service::case_sla(&db, &user.principal(), since).await?,
    ))
}
