//! The audit and event routes (admins). The reads live in [`super::log`] and
//! [`super::events`].

use actix_web::{get, web};

use super::events::{self, EventQuery, MAX_EVENTS_PER_PAGE};
use super::log::{self, AuditLogView, AuditQuery, MAX_ENTRIES_PER_PAGE};
use crate::kernel::events::EventView;
use crate::kernel::page::{Page, PageRequest};
use crate::web::error::ApiError;
use crate::web::error::AuthedRouteErrors;
use crate::web::json::Json;
use crate::web::tenant::{AuthUser, RequestDb};

#[utoipa::path(
    get,
    path = "/api/v1/audit-logs",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries, newest first", body = Page<AuditLogView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit-logs")]
pub async fn list_audit_logs(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<AuditQuery>,
) -> Result<Json<Page<AuditLogView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_ENTRIES_PER_PAGE)?;
    Ok(Json(
        log::list(&db, &user.principal(), &query, &page).await?,
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/events",
    tag = "events",
    params(EventQuery),
    responses(
        (status = 200, description = "Events, oldest first", body = Page<EventView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/events")]
pub async fn list_events(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<EventQuery>,
) -> Result<Json<Page<EventView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), MAX_EVENTS_PER_PAGE)?;
    Ok(Json(
        events::list(&db, &user.principal(), &query, &page).await?,
    ))
}
