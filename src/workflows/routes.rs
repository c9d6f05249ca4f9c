//! `/api/v1/business-calendar`: thin handlers over [`super::calendar`].

use actix_web::{get, put};

use super::calendar::{self, CalendarBody, CalendarView};
use crate::kernel::reads::as_actor;
use crate::kernel::Origin;
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_business_calendar)
        .service(put_business_calendar);
}

#[utoipa::path(
    get,
    path = "/api/v1/business-calendar",
    tag = "workflows",
    responses(
        (status = 200, description = "The calendar SLA deadlines are counted in (Monday to Friday, 09:00-17:00 UTC until an admin sets one)", body = CalendarView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/business-calendar")]
pub async fn get_business_calendar(
    user: AuthUser,
    db: TenantDb,
) -> Result<Json<CalendarView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        calendar::get(tx, actor).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    put,
    path = "/api/v1/business-calendar",
    tag = "workflows",
    request_body = CalendarBody,
    responses(
        (status = 200, description = "Set (admins)", body = CalendarView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[put("/api/v1/business-calendar")]
pub async fn put_business_calendar(
    user: AuthUser,
    db: TenantDb,
    origin: Origin,
    body: Json<CalendarBody>,
) -> Result<Json<CalendarView>, DomainError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        calendar::put(tx, actor, &origin, body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}
