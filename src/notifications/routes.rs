//! `/api/v1/notifications`: the caller's inbox, thin handlers over [`super::inbox`].

use actix_web::{get, post, web};

use super::inbox::{self, Counts, InboxQuery, Mark, MarkAll, Marked, NotificationView};
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::tenancy::scoped::TenantDb;
use crate::web::error::{AuthedRouteErrors, DomainError};
use crate::web::json::Json;
use crate::web::tenant::AuthUser;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_notifications)
        .service(notification_counts)
        .service(mark_all)
        .service(mark_one);
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(InboxQuery),
    responses((status = 200, description = "The caller's notifications, newest first", body = Page<NotificationView>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notifications")]
pub async fn list_notifications(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<InboxQuery>,
) -> Result<Json<Page<NotificationView>>, DomainError> {
    let query = query.into_inner();
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::list(tx, actor, query).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/notifications/counts", tag = "notifications",
    responses((status = 200, description = "Unread and unseen, archived ones left out", body = Counts), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notifications/counts")]
pub async fn notification_counts(
    user: AuthUser,
    db: TenantDb,
) -> Result<Json<Counts>, DomainError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::counts(tx, actor).await
        })
        .await?,
    ))
}

fn mark_of(text: &str) -> Result<Mark, DomainError> {
    Mark::parse(text).ok_or_else(|| DomainError::NotFound)
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/{mark}", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id"),
           ("mark" = String, Path, description = "`read`, `unread`, `seen`, `archive` or `unarchive`")),
    responses((status = 200, description = "The notification, marked (marking twice keeps the first time)", body = NotificationView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/notifications/{id}/{mark}")]
pub async fn mark_one(
    user: AuthUser,
    db: TenantDb,
    path: web::Path<(i64, String)>,
) -> Result<Json<NotificationView>, DomainError> {
    let (id, mark) = path.into_inner();
    let mark = mark_of(&mark)?;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::mark_one(tx, actor, id, mark).await
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/all/{mark}", tag = "notifications", request_body = MarkAll,
    params(("mark" = String, Path, description = "`read`, `unread`, `seen`, `archive` or `unarchive`")),
    responses((status = 200, description = "Every notification of the caller's up to `up_to_id`, marked; newer ones untouched", body = Marked), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/notifications/all/{mark}")]
pub async fn mark_all(
    user: AuthUser,
    db: TenantDb,
    mark: web::Path<String>,
    body: Json<MarkAll>,
) -> Result<Json<Marked>, DomainError> {
    let mark = mark_of(&mark)?;
    let up_to = body.into_inner().up_to_id;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::mark_all(tx, actor, up_to, mark).await
        })
        .await?,
    ))
}
