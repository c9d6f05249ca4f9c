//! The audit log, read (admins). Rows are written by `kernel::audit` in each
//! mutation's own transaction; nothing changes or deletes a row (the database refuses
//! it too).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::kernel::page::{Page, PageRequest};
use crate::kernel::query::Filter;
use crate::kernel::reads::read_as;
use crate::kernel::DomainError;
use crate::kernel::Principal;
use crate::kernel::Role;
use crate::tenancy::scoped::TenantDb;

#[derive(Serialize, ToSchema)]
pub struct AuditLogView {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    /// `user`, or `system` for what Pactum did by itself (a job, a timer).
    actor_kind: String,
    action: String,
    entity: String,
    entity_id: Option<Uuid>,
    #[schema(value_type = Object)]
    changes: Value,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    // The filters; `limit` and `cursor` are the route's, read as a `PageRequest`.
    /// Only this user's actions.
    actor: Option<Uuid>,
    /// Only what users did (`user`) or what Pactum did by itself (`system`).
    #[param(pattern = "^(user|system)$")]
    actor_kind: Option<String>,
    /// `contract`, `counterparty`, `clause`, `template`, `comment`, `attachment`, ...
    #[param(max_length = 50)]
    entity: Option<String>,
    entity_id: Option<Uuid>,
    /// `create`, `update`, `delete`, `transition`, ...
    #[param(max_length = 50)]
    action: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    from: Option<DateTime<Utc>>,
    /// RFC 3339 upper bound (exclusive).
    #[serde(
        default,
        deserialize_with = "crate::kernel::validate::optional_rfc3339"
    )]
    to: Option<DateTime<Utc>>,
    /// Page size (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub(super) limit: Option<i64>,
    /// `next_cursor` of the page before (pages go from newest to oldest).
    pub(super) cursor: Option<String>,
}

/// The most entries on a page.
pub const MAX_ENTRIES_PER_PAGE: i64 = 200;

/// A page of the audit log, newest first (admins).
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    query: &AuditQuery,
    page: &PageRequest,
) -> Result<Page<AuditLogView>, DomainError> {
    let before: Option<i64> = page.after()?;
    for (field, value) in [("entity", &query.entity), ("action", &query.action)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 50) {
            return Err(DomainError::Validation(format!("{field} is too long")));
        }
    }
    if let Some(kind) = query.actor_kind.as_deref() {
        if !matches!(kind, "user" | "system") {
            return Err(DomainError::Validation(
                "actor_kind must be user or system".into(),
            ));
        }
    }
    let mut w = Filter::new();
    w.push_some(query.actor, |n| format!("actor_id = ${n}"));
    w.push_some(query.entity.clone(), |n| format!("entity = ${n}"));
    w.push_some(query.entity_id, |n| format!("entity_id = ${n}"));
    w.push_some(query.action.clone(), |n| format!("action = ${n}"));
    w.push_some(query.from, |n| format!("at >= ${n}"));
    w.push_some(query.to, |n| format!("at < ${n}"));
    w.push_some(query.actor_kind.clone(), |n| format!("actor_kind = ${n}"));
    w.push(
        |n| format!("id < coalesce(${n}::bigint, 9223372036854775807)"),
        before,
    );
    let limit = w.bind(page.fetch());
    let sql = format!(
        "select id, at, actor_id, actor_kind, action, entity, entity_id, changes, ip, \
         user_agent, request_id from audit_logs{} order by id desc limit ${limit}",
        w.where_clause()
    );
    let (_, results) = read_as(db, principal, Role::Admin, &[(&sql, &w.params())]).await?;
    let entries: Vec<AuditLogView> = results[0]
        .iter()
        .map(|row| AuditLogView {
            id: row.get(0),
            at: row.get(1),
            actor_id: row.get(2),
            actor_kind: row.get(3),
            action: row.get(4),
            entity: row.get(5),
            entity_id: row.get(6),
            changes: row.get(7),
            ip: row.get(8),
            user_agent: row.get(9),
            request_id: row.get(10),
        })
        .collect();
    Ok(Page::keyset(entries, page, |entry| entry.id))
}
