//! Events: every mutation's audit row is also an event of its tenant's stream, with a
//! monotonic id within the tenant and a type derived from entity and action
//! (`contract.created`, `contract.status_changed`; the derivation lives in the
//! migration, as a generated column). Areas answer events through reactions
//! ([`super::unit`]) in the recording transaction, and act on them outside it through
//! the jobs those reactions enqueue (a webhook delivery per endpoint, the notifier).

use serde_json::Value;
use uuid::Uuid;

/// An event type pattern a subscriber (a webhook endpoint, the events API's filter)
/// may use: `*`, `<entity>.*`, or `<entity>.<what>`, lower case. Checked once by
/// [`EventTypePattern::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTypePattern {
    /// `*`: every event.
    Every,
    /// `contract.*`: every event of an entity.
    Entity(String),
    /// `contract.created`: one type.
    Exact(String),
}

impl EventTypePattern {
    pub fn parse(pattern: &str) -> Option<Self> {
        if pattern == "*" {
            return Some(Self::Every);
        }
        let (entity, what) = pattern.split_once('.')?;
        let word = |s: &str| {
            !s.is_empty() && s.len() <= 50 && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        };
        if !word(entity) {
            return None;
        }
        match what {
            "*" => Some(Self::Entity(entity.to_owned())),
            what if word(what) => Some(Self::Exact(pattern.to_owned())),
            _ => None,
        }
    }

    /// The pattern as written (and stored).
    pub fn as_string(&self) -> String {
        match self {
            Self::Every => "*".to_owned(),
            Self::Entity(entity) => format!("{entity}.*"),
            Self::Exact(event_type) => event_type.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns_are_exact_types_entity_wildcards_or_everything() {
        assert_eq!(
            EventTypePattern::parse("contract.*"),
            Some(EventTypePattern::Entity("contract".into()))
        );
        assert_eq!(EventTypePattern::parse("*"), Some(EventTypePattern::Every));
        for good in [
            "*",
            "contract.*",
            "contract.created",
            "contract.status_changed",
        ] {
            let pattern = EventTypePattern::parse(good).expect(good);
            assert_eq!(pattern.as_string(), good);
        }
        for bad in [
            "",
            "contract",
            "Contract.created",
            "contract.",
            ".created",
            "a.b.c",
            "contract.cre ated",
            "*.created",
        ] {
            assert!(EventTypePattern::parse(bad).is_none(), "{bad}");
        }
    }
}

/// An event as clients and webhook receivers see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// Monotonic within the tenant; page and replay by it.
    pub id: i64,
    /// `contract.created`, `contract.status_changed`, `comment.deleted`, ...
    #[serde(rename = "type")]
    pub event_type: String,
    pub entity: String,
    pub entity_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// `user`, or `system` for what Pactum did by itself.
    pub actor_kind: String,
    /// The changed fields before the change (null for a creation).
    #[schema(value_type = Option<Object>)]
    pub previous: Option<Value>,
    /// The changed fields after the change (null for a deletion).
    #[schema(value_type = Option<Object>)]
    pub current: Option<Value>,
    pub request_id: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The columns [`EventView::from_row`] reads, in order.
pub const EVENT_COLUMNS: &str =
    "id, event_type, entity, entity_id, actor_id, actor_kind, action, changes, request_id, at";

impl EventView {
    pub fn from_row(row: &tokio_postgres::Row) -> Self {
        let action: &str = row.get(6);
        let (previous, current) = split_changes(action, row.get(7));
        Self {
            id: row.get(0),
            event_type: row.get(1),
            entity: row.get(2),
            entity_id: row.get(3),
            actor_id: row.get(4),
            actor_kind: row.get(5),
            previous,
            current,
            request_id: row.get(8),
            at: row.get(9),
        }
    }
}

/// The audit row keeps `{"field": {"old": .., "new": ..}}` for a change (or
/// `{"old_version": .., "new_version": ..}` where a field's content lives elsewhere, as
/// a contract's body does in its versions), the new state for a creation and the old
/// one for a deletion; an event shows previous and current state side by side.
pub fn split_changes(action: &str, changes: Value) -> (Option<Value>, Option<Value>) {
    match action {
        "create" | "generate" => (None, Some(changes)),
        "delete" => (Some(changes), None),
        _ => {
            let Value::Object(fields) = &changes else {
                return (None, Some(changes));
            };
            let mut previous = serde_json::Map::new();
            let mut current = serde_json::Map::new();
            for (field, diff) in fields {
                let Some((old, new)) = diff.as_object().and_then(sides) else {
                    return (None, Some(changes));
                };
                previous.insert(field.clone(), old);
                current.insert(field.clone(), new);
            }
            (Some(Value::Object(previous)), Some(Value::Object(current)))
        }
    }
}

/// `{"old": a, "new": b}` -> `(a, b)`; `{"old_x": a, "new_x": b}` -> `({"x": a}, {"x": b})`.
fn sides(diff: &serde_json::Map<String, Value>) -> Option<(Value, Value)> {
    if let (Some(old), Some(new), 2) = (diff.get("old"), diff.get("new"), diff.len()) {
        return Some((old.clone(), new.clone()));
    }
    let mut old = serde_json::Map::new();
    let mut new = serde_json::Map::new();
    for (key, value) in diff {
        if let Some(name) = key.strip_prefix("old_") {
            old.insert(name.to_owned(), value.clone());
        } else if let Some(name) = key.strip_prefix("new_") {
            new.insert(name.to_owned(), value.clone());
        } else {
            return None;
        }
    }
    (!old.is_empty() && !new.is_empty()).then_some((Value::Object(old), Value::Object(new)))
}

#[cfg(test)]
mod split_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_diff_becomes_previous_and_current() {
        let (previous, current) = split_changes(
            "transition",
            json!({"status": {"old": "draft", "new": "under_review"}}),
        );
        assert_eq!(previous, Some(json!({"status": "draft"})));
        assert_eq!(current, Some(json!({"status": "under_review"})));
    }

    #[test]
    fn a_new_text_version_shows_as_version_numbers() {
        let (previous, current) = split_changes(
            "update",
            json!({"body": {"old_version": 1, "new_version": 2}, "title": {"old": "A", "new": "B"}}),
        );
        assert_eq!(
            previous,
            Some(json!({"body": {"version": 1}, "title": "A"}))
        );
        assert_eq!(current, Some(json!({"body": {"version": 2}, "title": "B"})));
    }

    #[test]
    fn anything_else_is_shown_as_recorded() {
        let odd = json!({"note": "free text"});
        assert_eq!(split_changes("update", odd.clone()), (None, Some(odd)));
    }

    #[test]
    fn creations_and_deletions_have_one_side() {
        assert_eq!(
            split_changes("create", json!({"title": "A"})),
            (None, Some(json!({"title": "A"})))
        );
        assert_eq!(
            split_changes("delete", json!({"title": "A"})),
            (Some(json!({"title": "A"})), None)
        );
    }
}
