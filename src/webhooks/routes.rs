//! `/api/v1/webhooks`: thin handlers over [`super::service`], admins only.

use actix_web::{delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::delivery::{self, Deliverer};
use super::model::{
    CreateWebhook, CreatedWebhook, DeliveryView, MessageView, RecoverWebhook, Resent,
    UpdateWebhook, WebhookView,
};
use super::service;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::as_actor;
use crate::kernel::Actor;
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, DomainError, ErrorBody};
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::{Created, NoContent};
use crate::web::tenant::{AuthUser, RequestDb};
use crate::web::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_webhooks)
        .service(create_webhook)
        .service(get_webhook)
        .service(update_webhook)
        .service(delete_webhook)
        .service(list_deliveries)
        .service(list_messages)
        .service(recover_webhook)
        .service(test_webhook);
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "Every endpoint of the tenant (secrets are never shown again)", body = Page<WebhookView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks")]
pub async fn list_webhooks(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<Page<WebhookView>>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::list(tx, actor).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Registered; the secret is shown this once", body = CreatedWebhook),
        (status = 409, description = "too_many_webhooks", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/webhooks")]
pub async fn create_webhook(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<CreateWebhook>,
    deliverer: web::Data<Deliverer>,
) -> Result<Created<CreatedWebhook>, ApiError> {
    let allow_internal = deliverer.allows_internal();
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::create(tx, actor, &origin, body.into_inner(), allow_internal).await
    })
    .await?;
    let location = format!("/api/v1/webhooks/{}", out.webhook.id);
    Ok(Created::new(out).at(location))
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}")]
pub async fn get_webhook(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
) -> Result<Json<WebhookView>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::get(tx, actor, id.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "Updated; `enabled: true` re-enables a disabled endpoint", body = WebhookView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[patch("/api/v1/webhooks/{id}")]
pub async fn update_webhook(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<UpdateWebhook>,
    deliverer: web::Data<Deliverer>,
) -> Result<Json<WebhookView>, ApiError> {
    let allow_internal = deliverer.allows_internal();
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        let id = id.into_inner();
        service::update(tx, actor, &origin, id, body.into_inner(), allow_internal).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted with its delivery log; pending deliveries are cancelled when they run"),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[delete("/api/v1/webhooks/{id}")]
pub async fn delete_webhook(
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
pub struct DeliveryQuery {
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), DeliveryQuery),
    responses(
        (status = 200, description = "Delivery attempts, newest first, for as long as the log keeps them (PACTUM_WEBHOOK_LOG_DAYS, 90 days by default)", body = Page<DeliveryView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<DeliveryQuery>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::deliveries(tx, actor, id.into_inner(), &page).await
    })
    .await?;
    Ok(Json(out))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Only messages in this state: `pending`, `delivered` or `failed`.
    state: Option<String>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the page before.
    cursor: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/messages",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), MessageQuery),
    responses(
        (status = 200, description = "The messages of the endpoint, one per event it wants, newest first, with their state and attempts; a pending message is kept until it is settled, a delivered or failed one for the log's period (PACTUM_WEBHOOK_LOG_DAYS, 90 days by default)", body = Page<MessageView>),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/webhooks/{id}/messages")]
pub async fn list_messages(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    query: web::Query<MessageQuery>,
) -> Result<Json<Page<MessageView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref(), 200)?;
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::messages(tx, actor, id.into_inner(), query.state.as_deref(), &page).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/recover",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body = RecoverWebhook,
    responses(
        (status = 200, description = "Every message made since the given time that was not delivered is sent again, each at most once: the first 1,000 queued at once, the rest by a background walk", body = Resent),
        (status = 409, description = "webhook_disabled: enable the endpoint instead, which sends what was kept for it", body = ErrorBody),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/recover")]
pub async fn recover_webhook(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    id: web::Path<Uuid>,
    body: Json<RecoverWebhook>,
) -> Result<Json<Resent>, ApiError> {
    let out = as_actor(&db, &user.principal(), async |tx, actor| {
        service::recover(tx, actor, &origin, id.into_inner(), body.into_inner()).await
    })
    .await?;
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "A `webhook.test` event was sent now; the attempt, whatever its outcome, is in the log (test sends never disable an endpoint)", body = DeliveryView),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[post("/api/v1/webhooks/{id}/test")]
pub async fn test_webhook(
    user: AuthUser,
    db: RequestDb,
    id: web::Path<Uuid>,
    deliverer: web::Data<Deliverer>,
    state: web::Data<AppState>,
) -> Result<Json<DeliveryView>, ApiError> {
    let id = id.into_inner();
    let (url, secret) = as_actor(&db, &user.principal(), async |tx, actor| {
        service::target(tx, actor, id).await
    })
    .await?;
    let now = state.clock.now();
    let message_id = format!("msg_test_{}", Uuid::new_v4().simple());
    let body = delivery::payload(
        "webhook.test",
        now,
        serde_json::json!({"endpoint_id": id, "message": "a test event from Pactum"}),
    );
    let attempt = deliverer.send(&url, &secret, &message_id, now, body).await;
    let tx = db.begin().await?;
    // The actor was checked above; recording needs no role.
    let _ = Actor::resolve(&tx, &user.principal()).await?;
    let view = delivery::record(&tx, id, None, "webhook.test", &message_id, 1, &attempt)
        .await
        .map_err(DomainError::write)?;
    tx.commit().await?;
    Ok(Json(view))
}
