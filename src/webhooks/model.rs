//! Webhook endpoints and deliveries: inputs, views, pure validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::kernel::destination;
use crate::kernel::events::EventTypePattern;
use crate::kernel::DomainError;

pub const COLUMNS: &str = "id, url, description, event_types, enabled, disabled_reason, \
    consecutive_failures, created_at, updated_at, version, failing_since, last_delivered_at, \
    last_failed_at";

/// Endpoints a tenant may have.
pub const MAX_ENDPOINTS: i64 = 50;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// `https://` (or `http://`) URL that receives a POST per event.
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// Exact types (`contract.created`), `<entity>.*`, or `*` for every event.
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// A Standard Webhooks secret (`whsec_` and base64 of 24 to 64 bytes); generated
    /// when absent.
    #[schema(max_length = 100)]
    pub secret: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    #[schema(min_length = 1, max_length = 2000)]
    pub url: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `true` enables a disabled endpoint and sends every message kept for it while it
    /// was disabled; `false` disables it (its messages are kept).
    pub enabled: Option<bool>,
    /// A new secret; deliveries from now on are signed with it.
    #[schema(max_length = 100)]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled, when it was.
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success (for people; disabling depends on how
    /// long failures last, not on how many there were).
    pub consecutive_failures: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
    /// The first failure since the last success; null while deliveries succeed. When
    /// failures have lasted the operator's period (5 days by default), the endpoint is
    /// disabled; its messages wait and are sent when it is enabled again.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_delivered_at: Option<DateTime<Utc>>,
    pub last_failed_at: Option<DateTime<Utc>>,
}

impl From<&Row> for WebhookView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            url: row.get(1),
            description: row.get(2),
            event_types: row.get(3),
            enabled: row.get(4),
            disabled_reason: row.get(5),
            consecutive_failures: row.get(6),
            created_at: row.get(7),
            updated_at: row.get(8),
            version: row.get(9),
            failing_since: row.get(10),
            last_delivered_at: row.get(11),
            last_failed_at: row.get(12),
        }
    }
}

/// The endpoint as created, with its secret: the only time the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    pub secret: String,
}

pub const DELIVERY_COLUMNS: &str = "id, event_id, event_type, message_id, attempt, outcome, \
    response_status, response_body, error, duration_ms, at";

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The event delivered (null for a test send).
    pub event_id: Option<i64>,
    pub event_type: String,
    /// The `webhook-id` header: the same on every retry of one event to one endpoint.
    pub message_id: String,
    pub attempt: i32,
    /// `delivered` (2xx), `failed` (another status, a timeout, a refused connection)
    /// or `refused` (the destination is not allowed).
    pub outcome: String,
    pub response_status: Option<i32>,
    /// The start of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i32,
    pub at: DateTime<Utc>,
}

impl From<&Row> for DeliveryView {
    fn from(row: &Row) -> Self {
        Self {
            id: row.get(0),
            event_id: row.get(1),
            event_type: row.get(2),
            message_id: row.get(3),
            attempt: row.get(4),
            outcome: row.get(5),
            response_status: row.get(6),
            response_body: row.get(7),
            error: row.get(8),
            duration_ms: row.get(9),
            at: row.get(10),
        }
    }
}

/// Message states, as stored.
pub const MESSAGE_STATES: [&str; 3] = ["pending", "delivered", "failed"];

pub const MESSAGE_COLUMNS: &str = "m.event_id, e.event_type, m.state, m.attempts, m.created_at, \
    m.last_attempt_at, m.next_attempt_at, m.delivered_at";

/// One event for one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub event_id: i64,
    pub event_type: String,
    /// `pending` (on its way, or kept while the endpoint is disabled), `delivered`, or
    /// `failed` (every attempt failed; the recover API sends it again).
    pub state: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When the next attempt is due (null while none is scheduled).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&Row> for MessageView {
    fn from(row: &Row) -> Self {
        Self {
            event_id: row.get(0),
            event_type: row.get(1),
            state: row.get(2),
            attempts: row.get(3),
            created_at: row.get(4),
            last_attempt_at: row.get(5),
            next_attempt_at: row.get(6),
            delivered_at: row.get(7),
        }
    }
}

/// What to send again.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverWebhook {
    /// Every message made at or after this time that was not delivered is sent again.
    pub since: crate::kernel::validate::Timestamp,
}

/// What a recovery or an enabling queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct Resent {
    /// Messages to be sent again: the first 1,000 are queued at once, the rest by a
    /// background walk, 1,000 to a transaction.
    pub queued: i64,
}

/// An absolute http(s) URL with a host and no credentials in it, not at a literal
/// internal address (unless the operator allows those).
pub fn url(value: &str, allow_internal: bool) -> Result<reqwest::Url, DomainError> {
    destination::parse_url(value, false, allow_internal)
        .map_err(|why| DomainError::Validation(format!("url: {why}")))
}

/// Refuses a URL whose name resolves only to internal addresses (at save; every
/// delivery checks again).
pub async fn check_resolved(url: &reqwest::Url, allow_internal: bool) -> Result<(), DomainError> {
    destination::check_resolved(url, allow_internal)
        .await
        .map_err(|why| DomainError::Validation(format!("url: {why}")))
}

pub fn event_types(values: &[String]) -> Result<Vec<String>, DomainError> {
    if values.is_empty() || values.len() > 50 {
        return Err(DomainError::Validation(
            "event_types: between 1 and 50 entries".into(),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let Some(pattern) = EventTypePattern::parse(value) else {
            return Err(DomainError::Validation(format!(
                "event_types: {value:?} is not an event type, `<entity>.*` or `*`"
            )));
        };
        let pattern = pattern.as_string();
        if !out.contains(&pattern) {
            out.push(pattern);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(url("https://hooks.example.com/pactum", false).is_ok());
        assert!(url("http://127.0.0.1:9000/x", true).is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "https://user:pw@example.com/",
            "javascript:alert(1)",
            "http://127.0.0.1:9000/x",
            "http://[::1]/x",
        ] {
            assert!(url(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn event_types_are_checked_and_deduplicated() {
        let types = event_types(&["contract.*".into(), "contract.*".into(), "*".into()]).unwrap();
        assert_eq!(types, vec!["contract.*", "*"]);
        assert!(event_types(&[]).is_err());
        assert!(event_types(&["DROP TABLE".into()]).is_err());
    }
}
