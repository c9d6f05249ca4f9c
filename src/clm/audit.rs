//! The audit log: one row per mutation, written in the mutation's own transaction, so a
//! change and its record commit or vanish together. `GET /api/v1/audit-logs` is for
//! admins; nothing changes or deletes a row (the database refuses it too).

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::validate;
use super::{read_as, RequestMeta};
use crate::auth::users::Role;
use crate::http::error::{ApiError, AuthedRouteErrors};
use crate::http::tenant::AuthUser;
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_audit_logs);
}

/// One mutation to record.
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub changes: Value,
}

pub async fn record(
    tx: &TenantTx,
    actor: Uuid,
    meta: &RequestMeta,
    entry: Entry<'_>,
) -> Result<(), ApiError> {
    tx.execute(
        "insert into audit_logs (actor_id, action, entity, entity_id, changes, ip, user_agent, request_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &actor,
            &entry.action,
            &entry.entity,
            &entry.entity_id,
            &entry.changes,
            &meta.ip,
            &meta.user_agent,
            &meta.request_id,
        ],
    )
    .await
    .map_err(ApiError::database)?;
    Ok(())
}

/// Records the mutation and commits it with its transaction.
pub async fn record_and_commit(
    tx: TenantTx,
    actor: Uuid,
    meta: &RequestMeta,
    entry: Entry<'_>,
) -> Result<(), ApiError> {
    record(&tx, actor, meta, entry).await?;
    tx.commit().await.map_err(ApiError::database)
}

/// `{"field": {"old": ..., "new": ...}}` for every top-level field that differs between
/// two JSON objects, leaving out `ignored` ones (timestamps, versions).
pub fn changed_fields(old: &Value, new: &Value, ignored: &[&str]) -> Value {
    let empty = Map::new();
    let (old, new) = (
        old.as_object().unwrap_or(&empty),
        new.as_object().unwrap_or(&empty),
    );
    let mut changes = Map::new();
    for (key, new_value) in new {
        if ignored.contains(&key.as_str()) {
            continue;
        }
        let old_value = old.get(key).unwrap_or(&Value::Null);
        if old_value != new_value {
            changes.insert(
                key.clone(),
                serde_json::json!({"old": old_value, "new": new_value}),
            );
        }
    }
    Value::Object(changes)
}

#[derive(Serialize, ToSchema)]
pub struct AuditLogView {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<Uuid>,
    action: String,
    entity: String,
    entity_id: Option<Uuid>,
    #[schema(value_type = Object)]
    changes: Value,
    ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditLogPage {
    entries: Vec<AuditLogView>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    next_before: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's actions.
    actor: Option<Uuid>,
    /// `contract`, `counterparty`, `clause`, `template`, `comment`, `attachment`, ...
    entity: Option<String>,
    entity_id: Option<Uuid>,
    /// `create`, `update`, `delete`, `transition`, ...
    action: Option<String>,
    /// RFC 3339 lower bound (inclusive).
    from: Option<DateTime<Utc>>,
    /// RFC 3339 upper bound (exclusive).
    to: Option<DateTime<Utc>>,
    /// Entries older than this id (keyset paging, newest first).
    before: Option<i64>,
    /// 1 to 200, default 50.
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/audit-logs",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries, newest first", body = AuditLogPage),
        AuthedRouteErrors
    ),
    security(("bearer" = []))
)]
#[get("/api/v1/audit-logs")]
pub async fn list_audit_logs(
    user: AuthUser,
    db: TenantDb,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let (limit, _) = validate::page(query.limit, None, 200)?;
    for (field, value) in [("entity", &query.entity), ("action", &query.action)] {
        if value.as_ref().is_some_and(|v| v.len() > 50) {
            return Err(ApiError::Validation(format!("{field} is too long")));
        }
    }
    let fetch = limit + 1;
    let results = read_as(&db, &user, Role::Admin, &[(
                "select id, at, actor_id, action, entity, entity_id, changes, ip, user_agent, request_id \
                 from audit_logs \
                 where ($1::uuid is null or actor_id = $1) \
                   and ($2::text is null or entity = $2) \
                   and ($3::uuid is null or entity_id = $3) \
                   and ($4::text is null or action = $4) \
                   and ($5::timestamptz is null or at >= $5) \
                   and ($6::timestamptz is null or at < $6) \
                   and ($7::bigint is null or id < $7) \
                 order by id desc limit $8",
                &[
                    &query.actor,
                    &query.entity,
                    &query.entity_id,
                    &query.action,
                    &query.from,
                    &query.to,
                    &query.before,
                    &fetch,
                ],
            )]).await?;
    let mut entries: Vec<AuditLogView> = results[0]
        .iter()
        .map(|row| AuditLogView {
            id: row.get(0),
            at: row.get(1),
            actor_id: row.get(2),
            action: row.get(3),
            entity: row.get(4),
            entity_id: row.get(5),
            changes: row.get(6),
            ip: row.get(7),
            user_agent: row.get(8),
            request_id: row.get(9),
        })
        .collect();
    let next_before = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AuditLogPage {
        entries,
        next_before,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_fields_are_recorded_with_old_and_new() {
        let old = json!({"title": "A", "value": "1.00", "version": 1, "tags": []});
        let new = json!({"title": "B", "value": "1.00", "version": 2, "tags": ["x"]});
        assert_eq!(
            changed_fields(&old, &new, &["version"]),
            json!({"title": {"old": "A", "new": "B"}, "tags": {"old": [], "new": ["x"]}})
        );
    }
}
