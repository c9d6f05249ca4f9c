//! `/api/v1/notifications` (the caller's inbox and its live stream) and
//! `/api/v1/notification-preferences`: thin handlers over the services beside them.

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::inbox::{self, Counts, InboxQuery, Mark, MarkAll, Marked, NotificationView};
use super::preferences::{self, PreferencesView, TenantDefaults, UserPreferences};
use super::stream::{self, Hub, StreamTicket};
use crate::kernel::page::Page;
use crate::kernel::reads::as_actor;
use crate::kernel::Actor;
use crate::tenancy::registry::TenantStatus;
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::{Host, TenantId};
use crate::web::error::ApiError;
use crate::web::error::{AuthedRouteErrors, DomainError};
use crate::web::head::came_as_head;
use crate::web::json::Json;
use crate::web::origin::RequestOrigin;
use crate::web::reply::Created;
use crate::web::tenant::{tenant_host, AuthUser, RequestDb};
use crate::web::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_notifications)
        .service(notification_counts)
        .service(stream_ticket)
        .service(notification_stream)
        .service(mark_all)
        .service(mark_one)
        .service(get_preferences)
        .service(put_preferences)
        .service(get_defaults)
        .service(put_defaults);
}

#[utoipa::path(get, path = "/api/v1/notification-preferences", tag = "notifications",
    responses((status = 200, description = "The caller's own choices, and per type what they add up to with the tenant's defaults", body = PreferencesView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notification-preferences")]
pub async fn get_preferences(
    user: AuthUser,
    db: RequestDb,
) -> Result<Json<PreferencesView>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            preferences::mine(tx, actor).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/notification-preferences", tag = "notifications", request_body = UserPreferences,
    responses((status = 200, description = "Replaced: what is left out falls back to the tenant's defaults. Muting a critical type is refused (`critical_notification_type`)", body = PreferencesView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/notification-preferences")]
pub async fn put_preferences(
    user: AuthUser,
    db: RequestDb,
    state: web::Data<AppState>,
    body: Json<UserPreferences>,
) -> Result<Json<PreferencesView>, ApiError> {
    let allow_internal = state.config.webhook_allow_internal;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            preferences::set_mine(tx, actor, body.into_inner(), allow_internal).await
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/notification-preferences/defaults", tag = "notifications",
    responses((status = 200, description = "The tenant's defaults: channels, digest, time zone, contract reminder days, branding", body = TenantDefaults), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notification-preferences/defaults")]
pub async fn get_defaults(user: AuthUser, db: RequestDb) -> Result<Json<TenantDefaults>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, _| {
            preferences::defaults(tx).await
        })
        .await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/notification-preferences/defaults", tag = "notifications", request_body = TenantDefaults,
    responses((status = 200, description = "Replaced (admins; audited). When the reminder days, the renewal-notice lead, the obligation reminder days or the time zone change, the timers already scheduled (every running contract's reminders, every open obligation task's, and with the zone every sent invoice's) are worked out again in the background", body = TenantDefaults), AuthedRouteErrors),
    security(("bearer" = [])))]
#[put("/api/v1/notification-preferences/defaults")]
pub async fn put_defaults(
    user: AuthUser,
    db: RequestDb,
    origin: RequestOrigin,
    body: Json<TenantDefaults>,
) -> Result<Json<TenantDefaults>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            preferences::set_defaults(tx, actor, &origin, body.into_inner()).await
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/notifications/stream-tickets", tag = "notifications",
    responses((status = 201, description = "A single-use ticket for `GET /api/v1/notifications/stream?ticket=`, valid for 60 seconds on this tenant's host only (browsers' EventSource cannot send an Authorization header)", body = StreamTicket), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/notifications/stream-tickets")]
pub async fn stream_ticket(
    user: AuthUser,
    db: RequestDb,
) -> Result<Created<StreamTicket>, ApiError> {
    let credential = stream::Credential::of(&user.claims);
    let ticket = as_actor(&db, &user.principal(), async |tx, actor| {
        stream::issue_ticket(tx, actor, credential).await
    })
    .await?;
    Ok(Created::new(ticket).secret())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// A ticket from `POST /api/v1/notifications/stream-tickets`, instead of the
    /// Authorization header.
    pub ticket: Option<String>,
    /// The last notification id received, for clients that cannot send the
    /// `Last-Event-ID` header; the header wins.
    pub last_event_id: Option<i64>,
}

fn last_event_id(req: &HttpRequest, query: &StreamQuery) -> Result<Option<i64>, DomainError> {
    match req.headers().get("last-event-id") {
        None => Ok(query.last_event_id),
        Some(value) => {
            let text = value.to_str().unwrap_or_default().trim();
            if text.is_empty() {
                return Ok(query.last_event_id);
            }
            text.parse::<i64>().map(Some).map_err(|_| {
                DomainError::BadRequest("Last-Event-ID: expected a notification id".into())
            })
        }
    }
}

/// How long a stream waits for this process to hear the channel again.
const SUBSCRIPTION_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The answer's head for an event stream: never cached or buffered on the way.
fn event_stream() -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache, no-transform"))
        .insert_header(("x-accel-buffering", "no"));
    response
}

/// A stream that ends at once, asking to be reopened in a second: `EventSource`
/// reconnects by itself (with its `Last-Event-ID`) after a stream ends, but gives up
/// for good on an error status.
fn come_back_later() -> HttpResponse {
    event_stream().body("retry: 1000\n: not live yet on this server; reconnect\n\n")
}

/// What a stream lives by: the credential it was opened with, the user's session behind
/// it, and its tenant being open on the host it was opened on.
struct Standing {
    credential: stream::Credential,
    db: TenantDb,
    host: Host,
    tenant: TenantId,
    state: web::Data<AppState>,
}

impl Standing {
    /// Why the stream may not go on, if it may not: checked before every notification
    /// and at every heartbeat.
    async fn lost(&self) -> Option<&'static str> {
        if let Some(reason) = stream::credential_expired(&self.credential, self.state.clock.now()) {
            return Some(reason);
        }
        match self.state.resolver.resolve(&self.host).await {
            Ok(Some(tenant))
                if tenant.id == self.tenant && tenant.status == TenantStatus::Active => {}
            Ok(_) => return Some("tenant_unavailable"),
            Err(error) => {
                tracing::warn!(%error, "stream: cannot check its tenant now; it goes on");
            }
        }
        stream::session_lost(&self.db, &self.credential).await
    }
}

/// An open stream: what is left of its replay, its subscription, its heartbeat, and
/// what it lives by.
struct OpenStream {
    first: std::vec::IntoIter<bytes::Bytes>,
    sub: stream::Subscription,
    ticks: tokio::time::Interval,
    sent: Sent,
    standing: Standing,
    /// Its standing was lost and the client was told: nothing more is sent.
    ended: bool,
}

impl OpenStream {
    /// The next frame to send, `None` once the stream is over. Its standing is checked
    /// before every notification and at every heartbeat, so a logout, the token's
    /// expiry, the end of the user's session or the tenant's suspension ends it within
    /// a heartbeat even when nothing is sent.
    async fn next_frame(&mut self) -> Option<bytes::Bytes> {
        if self.ended {
            return None;
        }
        if let Some(frame) = self.first.next() {
            return Some(frame);
        }
        loop {
            let closing = self.sub.closing.clone();
            let frame = tokio::select! {
                _ = closing.cancelled() => return None,
                live = self.sub.receiver.recv() => match live {
                    None => return None,
                    Some(live) if self.sent.has(live.id) => continue,
                    Some(live) => live.frame.clone(),
                },
                _ = self.ticks.tick() => bytes::Bytes::from_static(b": heartbeat\n\n"),
            };
            if let Some(reason) = self.standing.lost().await {
                self.ended = true;
                return Some(stream::reauthenticate_frame(reason));
            }
            return Some(frame);
        }
    }
}

/// What a stream's client already has when it goes live.
struct Sent {
    /// Its `Last-Event-ID`: notifications are numbered in commit order within a tenant
    /// (the notifier serialises its inserts), so it had every one up to here.
    after: i64,
    replayed: std::collections::HashSet<i64>,
}

impl Sent {
    fn has(&self, id: i64) -> bool {
        id <= self.after || self.replayed.contains(&id)
    }
}

#[utoipa::path(get, path = "/api/v1/notifications/stream", tag = "notifications", params(StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "Replays the caller's notifications after this id before going live")),
    responses((status = 200, description = "Server-Sent Events, `text/event-stream`: `event: notification` with the notification as `data` and its id as `id`; a comment line as heartbeat; `event: overflow` when more were missed than a replay holds (reload the inbox); `event: reauthenticate` as its last frame, with `{\"reason\": ...}`: `\"token_expired\"` or `\"token_revoked\"` when the access token it was opened with (or whose ticket opened it) expires or is logged out, `\"session_ended\"` when that token's session ends (the user's password changes, or the user is deactivated or deleted), `\"tenant_unavailable\"` when the tenant is suspended or no longer served on this host; checked before every notification and at every heartbeat (get a new token or ticket, then reconnect with `Last-Event-ID`). While this server is resubscribing to the notification channel the stream holds only `retry: 1000` and ends, and the client reconnects with its `Last-Event-ID`", content_type = "text/event-stream", body = String), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notifications/stream")]
pub async fn notification_stream(
    req: HttpRequest,
    user: Option<AuthUser>,
    db: RequestDb,
    state: web::Data<AppState>,
    hub: web::Data<Arc<Hub>>,
    query: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let after = last_event_id(&req, &query)?;
    // While this process does not hear the channel (it is resubscribing), a stream
    // waits a moment for it, and is otherwise told to come back.
    if !hub.wait_subscribed(SUBSCRIPTION_WAIT).await {
        return Ok(come_back_later());
    }
    let tx = db.begin().await?;
    let credential = match (&query.ticket, &user) {
        (Some(ticket), _) => stream::redeem_ticket(&tx, ticket).await?,
        (None, Some(user)) => stream::Credential::of(&user.claims),
        (None, None) => return Err(DomainError::InvalidToken.into()),
    };
    let user_id = credential.user();
    // A stream opens only on what it could go on with: a ticket outlives neither the
    // token that asked for it nor its logout, and a token is worth nothing once its
    // session has ended (read in this transaction, the tenant's standing having been
    // checked on the way in).
    if stream::credential_expired(&credential, state.clock.now()).is_some() {
        return Err(DomainError::InvalidToken.into());
    }
    Actor::resolve(&tx, &credential.principal).await?;
    if came_as_head(&req) {
        // What a GET would answer, without using the ticket up: the transaction that
        // marked it used is dropped, not committed.
        return Ok(
            event_stream().streaming(futures::stream::empty::<Result<bytes::Bytes, Infallible>>())
        );
    }
    let standing = Standing {
        credential,
        db: db.clone(),
        host: tenant_host(&req, &state)?,
        tenant: tx.tenant_id(),
        state: state.clone(),
    };
    // Subscribed before the replay is read: nothing falls between the two (a live one
    // the replay also had is skipped by its id).
    let Some(subscription) = hub.subscribe(tx.tenant_id().0, user_id) else {
        // Lost again since the wait; the ticket stays unused (not committed).
        return Ok(come_back_later());
    };
    let (replay, overflow) = match after {
        Some(after) => stream::missed(&tx, user_id, after).await?,
        None => (Vec::new(), false),
    };
    tx.commit().await?;
    let mut first: Vec<bytes::Bytes> =
        vec![bytes::Bytes::from_static(b"retry: 3000\n: connected\n\n")];
    if overflow {
        first.push(bytes::Bytes::from_static(b"event: overflow\ndata: {}\n\n"));
    }
    // What the client has: up to `after`, and the replay. Live messages may arrive out
    // of id order (Redis publishes after each notifier's commit), so a live one is
    // skipped only when it is one of these, never for being below the newest sent.
    let mut sent = Sent {
        after: after.unwrap_or(0),
        replayed: std::collections::HashSet::with_capacity(replay.len()),
    };
    for (id, frame) in replay {
        sent.replayed.insert(id);
        first.push(frame);
    }
    let every = state.config.notifications.sse_heartbeat;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let open = OpenStream {
        first: first.into_iter(),
        sub: subscription,
        ticks,
        sent,
        standing,
        ended: false,
    };
    let body = futures::stream::unfold(open, |mut open| async move {
        let frame = open.next_frame().await?;
        Some((Ok::<_, Infallible>(frame), open))
    });
    Ok(event_stream().streaming(body))
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(InboxQuery),
    responses((status = 200, description = "The caller's notifications, newest first, for as long as the inbox keeps them (PACTUM_INBOX_DAYS from when each was made, read or not; 365 days by default)", body = Page<NotificationView>), AuthedRouteErrors),
    security(("bearer" = [])))]
#[get("/api/v1/notifications")]
pub async fn list_notifications(
    user: AuthUser,
    db: RequestDb,
    query: web::Query<InboxQuery>,
) -> Result<Json<Page<NotificationView>>, ApiError> {
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
pub async fn notification_counts(user: AuthUser, db: RequestDb) -> Result<Json<Counts>, ApiError> {
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::counts(tx, actor).await
        })
        .await?,
    ))
}

fn mark_of(text: &str) -> Result<Mark, DomainError> {
    Mark::parse(text).ok_or(DomainError::Missing("route"))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/{mark}", tag = "notifications",
    params(("id" = i64, Path, description = "Notification id"),
           ("mark" = String, Path, description = "`read`, `unread`, `seen`, `archive` or `unarchive`")),
    responses((status = 200, description = "The notification, marked (marking twice keeps the first time)", body = NotificationView), AuthedRouteErrors),
    security(("bearer" = [])))]
#[post("/api/v1/notifications/{id}/{mark}")]
pub async fn mark_one(
    user: AuthUser,
    db: RequestDb,
    path: web::Path<(i64, String)>,
) -> Result<Json<NotificationView>, ApiError> {
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
    db: RequestDb,
    mark: web::Path<String>,
    body: Json<MarkAll>,
) -> Result<Json<Marked>, ApiError> {
    let mark = mark_of(&mark)?;
    let up_to = body.into_inner().up_to_id;
    Ok(Json(
        as_actor(&db, &user.principal(), async |tx, actor| {
            inbox::mark_all(tx, actor, up_to, mark).await
        })
        .await?,
    ))
}
