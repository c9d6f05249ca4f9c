//! Recording the audit log, which is also the tenant's event stream: one row per
//! mutation, written in the mutation's own transaction, so a change and its event
//! commit or vanish together. Every area records through here; the `audit` area lists
//! rows as audit entries and as events.
//!
//! Then the event's reactions run, in the same transaction (see [`super::unit`]):
//! that is how webhooks fan an event out to the endpoints that want it, and how
//! workflows and notifications answer other areas' changes, without the kernel or the
//! recording area knowing who listens.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::actor::{Actor, Origin};
use super::error::DomainError;
use super::unit::{self, Recorded};
use crate::tenancy::scoped::TenantTx;

/// One mutation to record.
pub struct Entry<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub changes: Value,
}

/// The event itself; its id and type come back for the reactions.
const INSERT_SQL: &str = "insert into audit_logs \
        (actor_id, actor_kind, action, entity, entity_id, changes, ip, user_agent, request_id) \
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id, event_type, at";

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
    let recorded = Recorded {
        id: row.get(0),
        event_type: row.get(1),
        at: row.get(2),
        entity_id: entry.entity_id,
        changes: &entry.changes,
    };
    unit::react(tx, actor, origin, &recorded).await
}

/// Records an `update` of `entity` with the fields that changed between the two
/// views, timestamps of the change itself (`updated_at`) left out.
pub async fn record_update<T: serde::Serialize>(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    entity: &str,
    id: Uuid,
    old: &T,
    new: &T,
) -> Result<(), DomainError> {
    record(tx, actor, origin, update_entry(entity, Some(id), old, new)).await
}

/// [`record_update`] for a tenant's one row of settings (its defaults, its calendar),
/// which has no id: what reacts to a setting reads which fields changed.
pub async fn record_settings_update<T: serde::Serialize>(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    entity: &str,
    old: &T,
    new: &T,
) -> Result<(), DomainError> {
    record(tx, actor, origin, update_entry(entity, None, old, new)).await
}

fn update_entry<'a, T: serde::Serialize>(
    entity: &'a str,
    id: Option<Uuid>,
    old: &T,
    new: &T,
) -> Entry<'a> {
    let json = |view: &T| serde_json::to_value(view).unwrap_or_default();
    Entry {
        action: "update",
        entity,
        entity_id: id,
        changes: changed_fields(&json(old), &json(new), &["updated_at"]),
    }
}

/// Records `action` (`create`, `delete`) of `entity` with the record's whole view: what
/// was made, or what was removed.
pub async fn record_whole<T: serde::Serialize>(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    action: &str,
    entity: &str,
    id: Uuid,
    view: &T,
) -> Result<(), DomainError> {
    let entry = Entry {
        action,
        entity,
        entity_id: Some(id),
        changes: serde_json::to_value(view).unwrap_or_default(),
    };
    record(tx, actor, origin, entry).await
}

/// Records that `entity` was given to `assignee` (`<entity>.assigned`, which the
/// notifier turns into a notification), with `about` describing it; nothing when
/// nobody is assigned or the actor assigned themselves.
pub async fn record_assignment(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    entity: &str,
    id: Uuid,
    assignee: Option<Uuid>,
    mut about: Value,
) -> Result<(), DomainError> {
    if assignee.is_none() || assignee == actor.user_id() {
        return Ok(());
    }
    about["assignee_id"] = serde_json::json!(assignee);
    let entry = Entry {
        action: "assigned",
        entity,
        entity_id: Some(id),
        changes: about,
    };
    record(tx, actor, origin, entry).await
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
