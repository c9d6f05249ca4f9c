//! Recording the audit log, which is also the tenant's event stream: one row per
//! mutation, written in the mutation's own transaction, so a change and its event
//! commit or vanish together. Every area records through here; the `audit` area lists
//! rows as audit entries and as events.
//!
//! The same statement writes a webhook message for every endpoint that wants the
//! event, and a delivery job for each enabled one is enqueued in the same transaction:
//! an event that rolls back is never delivered, and one that commits always is (a
//! disabled endpoint's messages are sent when it is enabled again). Then the event's reactions run, in the
//! same transaction (see [`super::unit`]).

use serde_json::{Map, Value};
use uuid::Uuid;

use super::actor::{Actor, Origin};
use super::error::DomainError;
use super::events;
use super::jobs::enqueue;
use super::unit::{self, Recorded};
use crate::tenancy::scoped::TenantTx;

/// One mutation to record.
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub changes: Value,
}

/// The event, a webhook message for every endpoint that wants it (enabled or not: a
/// disabled endpoint's messages wait for it), and the enabled ones to enqueue a
/// delivery for. One statement, one round trip.
const INSERT_SQL: &str = "with event as (insert into audit_logs \
        (actor_id, actor_kind, action, entity, entity_id, changes, ip, user_agent, request_id) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id, event_type, at), \
    targets as (select w.id, w.enabled from webhook_endpoints w, event \
        where event.event_type = any(w.event_types) \
            or '*' = any(w.event_types) \
            or split_part(event.event_type, '.', 1) || '.*' = any(w.event_types)), \
    messages as (insert into webhook_messages (endpoint_id, event_id, created_at) \
        select targets.id, event.id, event.at from targets, event) \
    select event.id, event.event_type, array(select id from targets where enabled) \
    from event";

pub async fn record(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    entry: Entry<'_>,
) -> Result<(), DomainError> {
    let row = tx
        .query_one(
            INSERT_SQL,
            &[
                &actor.user_id(),
                &actor.kind(),
                &entry.action,
                &entry.entity,
                &entry.entity_id,
                &entry.changes,
                &origin.ip(),
                &origin.user_agent(),
                &origin.trace_id(),
            ],
        )
        .await?;
    let event_id: i64 = row.get(0);
    let event_type: &str = row.get(1);
    let endpoints: Vec<Uuid> = row.get(2);
    if !endpoints.is_empty() {
        let deliveries = endpoints
            .into_iter()
            .map(|endpoint| events::delivery_job(endpoint, event_id))
            .collect();
        enqueue(tx, deliveries).await?;
    }
    let recorded = Recorded {
        id: event_id,
        event_type,
        entity_id: entry.entity_id,
        changes: &entry.changes,
    };
    unit::react(tx, actor, origin, &recorded).await
}

/// Records the mutation and commits it with its transaction.
pub async fn record_and_commit(
    tx: TenantTx,
    actor: &Actor,
    origin: &Origin,
    entry: Entry<'_>,
) -> Result<(), DomainError> {
    record(&tx, actor, origin, entry).await?;
    Ok(tx.commit().await?)
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
