//! What admins do to webhook endpoints, without HTTP, and the fan-out of every event
//! to the endpoints that want it. Each function takes a tenant transaction, who acts
//! and where from, checks the role, audits, and leaves committing to its caller.

use serde_json::json;
use uuid::Uuid;

use super::delivery::delivery_job;
use super::model::{
    self, CreateWebhook, CreatedWebhook, DeliveryView, MessageView, RecoverWebhook, Resent,
    UpdateWebhook, WebhookView, COLUMNS, DELIVERY_COLUMNS, MAX_ENDPOINTS, MESSAGE_COLUMNS,
    MESSAGE_STATES,
};
use super::resend::resend;
use super::signature;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::jobs::enqueue;
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::delete_row;
use crate::kernel::unit::{self, ReactionFuture, Reactions, Recorded};
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

pub fn react_to(reactions: &mut Reactions) {
    reactions.on_every(fan_out);
}

/// A message for every endpoint that wants the event (enabled or not: a disabled
/// endpoint's messages wait for it to be enabled again), and the enabled ones to
/// enqueue a delivery for. One statement.
const FAN_OUT_SQL: &str = "with targets as (select id, enabled from webhook_endpoints \
        where $2::text = any(event_types) or '*' = any(event_types) \
            or split_part($2::text, '.', 1) || '.*' = any(event_types)), \
    messages as (insert into webhook_messages (endpoint_id, event_id, created_at) \
        select id, $1, $3 from targets) \
    select array(select id from targets where enabled)";

/// Every event, in the transaction that records it: an event that rolls back is never
/// delivered, and one that commits always is.
fn fan_out<'a>(
    tx: &'a TenantTx,
    _actor: &'a Actor,
    _origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let row = tx
            .query_one(FAN_OUT_SQL, &[&event.id, &event.event_type, &event.at])
            .await?;
        let endpoints: Vec<Uuid> = row.get(0);
        if !endpoints.is_empty() {
            let deliveries = endpoints
                .into_iter()
                .map(|endpoint| delivery_job(endpoint, event.id))
                .collect();
            enqueue(tx, deliveries).await?;
        }
        Ok(())
    })
}

fn audit_json(view: &WebhookView) -> serde_json::Value {
    // Never the secret.
    serde_json::to_value(view).unwrap_or_default()
}

/// `allow_internal`: the operator lets webhooks reach internal addresses.
pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: CreateWebhook,
    allow_internal: bool,
) -> Result<CreatedWebhook, DomainError> {
    let url = model::url(&input.url, allow_internal)?;
    let types = model::event_types(&input.event_types)?;
    let description = validate::optional_text("description", input.description.as_deref(), 500)?
        .unwrap_or_default();
    let secret = match input.secret.as_deref() {
        Some(secret) => signature::check_secret(secret)?,
        None => signature::generate_secret(),
    };
    actor.require(Role::Admin)?;
    // Last: it may wait for DNS.
    model::check_resolved(&url, allow_internal).await?;
    let count: i64 = tx
        .query_one("select count(*) from webhook_endpoints", &[])
        .await?
        .get(0);
    if count >= MAX_ENDPOINTS {
        return Err(DomainError::Conflict(
            "too_many_webhooks",
            format!("a tenant may have at most {MAX_ENDPOINTS} webhook endpoints"),
        ));
    }
    let row = tx
        .query_one(
            &format!(
                "insert into webhook_endpoints (url, description, event_types, secret, created_by) \
                 values ($1, $2, $3, $4, $5) returning {COLUMNS}"
            ),
            &[
                &url.as_str(),
                &description,
                &types,
                &secret,
                &actor.user_id(),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = WebhookView::from(&row);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "create",
            entity: "webhook",
            entity_id: Some(view.id),
            changes: audit_json(&view),
        },
    )
    .await?;
    Ok(CreatedWebhook {
        webhook: view,
        secret,
    })
}

pub async fn list(tx: &TenantTx, actor: &Actor) -> Result<Page<WebhookView>, DomainError> {
    actor.require(Role::Admin)?;
    let rows = tx
        .query(
            &format!("select {COLUMNS} from webhook_endpoints order by created_at, id"),
            &[],
        )
        .await?;
    Ok(Page::whole(rows.iter().map(WebhookView::from).collect()))
}

pub async fn get(tx: &TenantTx, actor: &Actor, id: Uuid) -> Result<WebhookView, DomainError> {
    actor.require(Role::Admin)?;
    tx.query_opt(
        &format!("select {COLUMNS} from webhook_endpoints where id = $1"),
        &[&id],
    )
    .await?
    .map(|row| WebhookView::from(&row))
    .ok_or(DomainError::Missing("webhook"))
}

/// Enabling a disabled endpoint sends every message kept for it meanwhile.
pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateWebhook,
    allow_internal: bool,
) -> Result<WebhookView, DomainError> {
    let url = input
        .url
        .as_deref()
        .map(|url| model::url(url, allow_internal))
        .transpose()?;
    let types = input
        .event_types
        .as_deref()
        .map(model::event_types)
        .transpose()?;
    let description = match input.description.as_deref() {
        Some(text) => {
            Some(validate::optional_text("description", Some(text), 500)?.unwrap_or_default())
        }
        None => None,
    };
    let secret = input
        .secret
        .as_deref()
        .map(signature::check_secret)
        .transpose()?;
    actor.require(Role::Admin)?;
    if let Some(url) = &url {
        model::check_resolved(url, allow_internal).await?;
    }
    let old = tx
        .query_opt(
            &format!("select {COLUMNS} from webhook_endpoints where id = $1 for update"),
            &[&id],
        )
        .await?
        .map(|row| WebhookView::from(&row))
        .ok_or(DomainError::Missing("webhook"))?;
    let row = tx
        .query_one(
            &format!(
                "update webhook_endpoints set \
                     url = coalesce($2, url), \
                     event_types = coalesce($3, event_types), \
                     description = coalesce($4, description), \
                     secret = coalesce($5, secret), \
                     enabled = coalesce($6, enabled), \
                     consecutive_failures = case when $6 then 0 else consecutive_failures end, \
                     failing_since = case when $6 then null else failing_since end, \
                     disabled_reason = case when $6 then null \
                                            when $6 = false then 'disabled by an admin' \
                                            else disabled_reason end, \
                     updated_at = $7, version = version + 1 \
                 where id = $1 returning {COLUMNS}"
            ),
            &[
                &id,
                &url.as_ref().map(|u| u.as_str()),
                &types,
                &description,
                &secret,
                &input.enabled,
                &unit::now(tx),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = WebhookView::from(&row);
    if view.enabled && !old.enabled {
        resend(tx, id, None).await?;
    }
    let mut changes = changed_fields(
        &audit_json(&old),
        &audit_json(&view),
        &["updated_at", "version"],
    );
    if secret.is_some() {
        changes["secret"] = json!({"old": "(hidden)", "new": "(rotated)"});
    }
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "update",
            entity: "webhook",
            entity_id: Some(id),
            changes,
        },
    )
    .await?;
    Ok(view)
}

pub async fn delete(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
) -> Result<(), DomainError> {
    actor.require(Role::Admin)?;
    let old = WebhookView::from(
        &delete_row(
            tx,
            &format!("delete from webhook_endpoints where id = $1 returning {COLUMNS}"),
            id,
            "webhook",
        )
        .await?,
    );
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "delete",
            entity: "webhook",
            entity_id: Some(id),
            changes: audit_json(&old),
        },
    )
    .await
}

/// 404 `not_found` for an endpoint that does not exist (a list of its records would
/// otherwise be an empty page).
async fn ensure_exists(tx: &TenantTx, id: Uuid) -> Result<(), DomainError> {
    tx.query_opt("select 1 from webhook_endpoints where id = $1", &[&id])
        .await?
        .map(|_| ())
        .ok_or(DomainError::Missing("webhook"))
}

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    page: &PageRequest,
) -> Result<Page<DeliveryView>, DomainError> {
    actor.require(Role::Admin)?;
    let before: Option<i64> = page.after()?;
    ensure_exists(tx, id).await?;
    let rows = tx
        .query(
            &format!(
                "select {DELIVERY_COLUMNS} from webhook_deliveries \
                 where endpoint_id = $1 and id < coalesce($2::bigint, 9223372036854775807) \
                 order by id desc limit $3"
            ),
            &[&id, &before, &page.fetch()],
        )
        .await?;
    let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
    Ok(Page::keyset(views, page, |view| view.id))
}

/// What a test send needs: the endpoint's URL and secret (admins only).
pub async fn target(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
) -> Result<(String, String), DomainError> {
    actor.require(Role::Admin)?;
    tx.query_opt(
        "select url, secret from webhook_endpoints where id = $1",
        &[&id],
    )
    .await?
    .map(|row| (row.get(0), row.get(1)))
    .ok_or(DomainError::Missing("webhook"))
}

/// Sends again every message of the endpoint made at or after `since` that was not
/// delivered: those whose attempts ran out, and any still waiting.
pub async fn recover(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: RecoverWebhook,
) -> Result<Resent, DomainError> {
    actor.require(Role::Admin)?;
    let enabled: bool = tx
        .query_opt(
            "select enabled from webhook_endpoints where id = $1 for update",
            &[&id],
        )
        .await?
        .map(|row| row.get(0))
        .ok_or(DomainError::Missing("webhook"))?;
    if !enabled {
        return Err(DomainError::Conflict(
            "webhook_disabled",
            "the endpoint is disabled: enabling it sends every message kept for it".into(),
        ));
    }
    let queued = resend(tx, id, Some(*input.since)).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "recover",
            entity: "webhook",
            entity_id: Some(id),
            changes: json!({"since": input.since, "queued": queued}),
        },
    )
    .await?;
    Ok(Resent { queued })
}

/// The endpoint's messages, newest event first, optionally in one state.
pub async fn messages(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    state: Option<&str>,
    page: &PageRequest,
) -> Result<Page<MessageView>, DomainError> {
    actor.require(Role::Admin)?;
    if let Some(state) = state {
        if !MESSAGE_STATES.contains(&state) {
            return Err(DomainError::Validation(format!(
                "state: one of {}",
                MESSAGE_STATES.join(", ")
            )));
        }
    }
    let before: Option<i64> = page.after()?;
    ensure_exists(tx, id).await?;
    let mut w = Filter::new();
    w.push(|n| format!("m.endpoint_id = ${n}"), id);
    w.push_some(state.map(str::to_owned), |n| format!("m.state = ${n}"));
    w.push(
        |n| format!("m.event_id < coalesce(${n}::bigint, 9223372036854775807)"),
        before,
    );
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select {MESSAGE_COLUMNS} from webhook_messages m \
         join audit_logs e on e.id = m.event_id{} \
         order by m.event_id desc limit ${limit}",
        w.where_clause()
    );
    let rows = tx.query(&sql, &w.params()).await?;
    let views: Vec<MessageView> = rows.iter().map(MessageView::from).collect();
    Ok(Page::keyset(views, page, |view| view.event_id))
}
