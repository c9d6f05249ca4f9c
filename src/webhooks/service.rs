//! What admins do to webhook endpoints, without HTTP. Each function takes a tenant
//! transaction, who acts and where from, checks the role, audits, and leaves
//! committing to its caller.

use serde_json::json;
use uuid::Uuid;

use super::model::{
    self, CreateWebhook, CreatedWebhook, DeliveryView, UpdateWebhook, WebhookView, COLUMNS,
    DELIVERY_COLUMNS, MAX_ENDPOINTS,
};
use super::signature;
use crate::kernel::audit::{self, changed_fields, Entry};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::delete_row;
use crate::kernel::validate;
use crate::kernel::{Actor, DomainError, Origin, Role};
use crate::tenancy::scoped::TenantTx;

fn audit_json(view: &WebhookView) -> serde_json::Value {
    // Never the secret.
    serde_json::to_value(view).unwrap_or_default()
}

pub async fn create(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    input: CreateWebhook,
) -> Result<CreatedWebhook, DomainError> {
    let url = model::url(&input.url)?;
    let types = model::event_types(&input.event_types)?;
    let description = validate::optional_text("description", input.description.as_deref(), 500)?
        .unwrap_or_default();
    let secret = match input.secret.as_deref() {
        Some(secret) => signature::check_secret(secret)?,
        None => signature::generate_secret(),
    };
    actor.require(Role::Admin)?;
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

pub async fn update(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    id: Uuid,
    input: UpdateWebhook,
) -> Result<WebhookView, DomainError> {
    let url = input.url.as_deref().map(model::url).transpose()?;
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
                     disabled_reason = case when $6 then null \
                                            when $6 = false then 'disabled by an admin' \
                                            else disabled_reason end, \
                     updated_at = now(), version = version + 1 \
                 where id = $1 returning {COLUMNS}"
            ),
            &[
                &id,
                &url.as_ref().map(|u| u.as_str()),
                &types,
                &description,
                &secret,
                &input.enabled,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let view = WebhookView::from(&row);
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

/// An endpoint's deliveries, newest first.
pub async fn deliveries(
    tx: &TenantTx,
    actor: &Actor,
    id: Uuid,
    page: &PageRequest,
) -> Result<Page<DeliveryView>, DomainError> {
    actor.require(Role::Admin)?;
    let before: Option<i64> = page.after()?;
    let exists = tx
        .query_opt("select 1 from webhook_endpoints where id = $1", &[&id])
        .await?;
    if exists.is_none() {
        return Err(DomainError::Missing("webhook"));
    }
    let rows = tx
        .query(
            &format!(
                "select {DELIVERY_COLUMNS} from webhook_deliveries \
                 where endpoint_id = $1 and ($2::bigint is null or id < $2) \
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
