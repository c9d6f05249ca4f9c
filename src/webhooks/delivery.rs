//! Delivering events: the `webhook.deliver` job handler and the HTTP client it uses.
//! The job reads the endpoint and the event from the tenant's schema (its args carry
//! only ids), sends outside any transaction, then records the attempt and the
//! endpoint's failure count in a short transaction of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use uuid::Uuid;

use super::model::{DeliveryView, DELIVERY_COLUMNS};
use super::signature;
use crate::kernel::destination::{self, GuardedResolver};
use crate::kernel::events::{EventView, EVENT_COLUMNS};
use crate::kernel::jobs::{JobContext, JobError};
use crate::tenancy::scoped::TenantTx;

/// The start of a response body kept in the delivery log.
const KEPT_RESPONSE_BYTES: usize = 2000;

/// Sends webhook requests: no redirects, a timeout, destinations checked after
/// resolution.
#[derive(Clone)]
pub struct Deliverer(Arc<Inner>);

struct Inner {
    client: reqwest::Client,
    allow_internal: bool,
    disable_after: i32,
}

/// Installs the process-wide TLS provider (ring) that reqwest's rustls needs; a second
/// call is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What one attempt came to.
#[derive(Debug)]
pub struct Attempt {
    pub outcome: &'static str,
    pub status: Option<i32>,
    pub body: Option<String>,
    pub error: Option<String>,
    pub duration: Duration,
}

impl Deliverer {
    /// `allow_internal` lets webhooks reach loopback and private addresses (tests, or
    /// an operator who wants it); `disable_after` failures in a row disable an endpoint.
    pub fn new(allow_internal: bool, disable_after: i32) -> anyhow::Result<Self> {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Pactum-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow_internal }))
            .build()?;
        Ok(Self(Arc::new(Inner {
            client,
            allow_internal,
            disable_after: disable_after.max(1),
        })))
    }

    pub fn allows_internal(&self) -> bool {
        self.0.allow_internal
    }

    /// One signed POST.
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        message_id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Attempt {
        let started = Instant::now();
        let refused = |why: String| Attempt {
            outcome: "refused",
            status: None,
            body: None,
            error: Some(why),
            duration: started.elapsed(),
        };
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return refused("the URL no longer parses".into());
        };
        if let Err(why) = destination::check_literal(&parsed, self.0.allow_internal) {
            return refused(why.to_string());
        }
        let Some(key) = signature::key_of(secret) else {
            return refused("the endpoint's secret is malformed".into());
        };
        let signature = signature::sign(&key, message_id, timestamp, &body);
        let sent = self
            .0
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Err(error) => match destination::refusal_in(&error) {
                Some(why) => refused(why),
                None => Attempt {
                    outcome: "failed",
                    status: None,
                    body: None,
                    error: Some(describe(&error)),
                    duration: started.elapsed(),
                },
            },
            Ok(response) => {
                let status = response.status();
                let mut kept = Vec::new();
                let mut response = response;
                // Read only the start: a receiver cannot make us hold a huge body.
                while kept.len() < KEPT_RESPONSE_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                        _ => break,
                    }
                }
                kept.truncate(KEPT_RESPONSE_BYTES);
                let text = String::from_utf8_lossy(&kept).replace('\0', "");
                Attempt {
                    outcome: if status.is_success() {
                        "delivered"
                    } else {
                        "failed"
                    },
                    status: Some(i32::from(status.as_u16())),
                    body: Some(text),
                    error: (!status.is_success()).then(|| format!("HTTP {status}")),
                    duration: started.elapsed(),
                }
            }
        }
    }
}

fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// The body receivers get: the Standard Webhooks envelope around the event.
pub fn payload(event_type: &str, at: chrono::DateTime<chrono::Utc>, data: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"type": event_type, "timestamp": at, "data": data}))
        .unwrap_or_default()
}

/// `webhook-id`: one per event and tenant, the same on every retry, so a receiver can
/// drop duplicates.
pub fn message_id(tenant: Uuid, event_id: i64) -> String {
    format!("msg_{}_{event_id}", tenant.simple())
}

/// Records an attempt; returns the view.
pub async fn record(
    tx: &TenantTx,
    endpoint: Uuid,
    event_id: Option<i64>,
    event_type: &str,
    message_id: &str,
    attempt_number: i32,
    attempt: &Attempt,
) -> Result<DeliveryView, tokio_postgres::Error> {
    let duration = i32::try_from(attempt.duration.as_millis()).unwrap_or(i32::MAX);
    let row = tx
        .query_one(
            &format!(
                "insert into webhook_deliveries (endpoint_id, event_id, event_type, message_id, \
                     attempt, outcome, response_status, response_body, error, duration_ms) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning {DELIVERY_COLUMNS}"
            ),
            &[
                &endpoint,
                &event_id,
                &event_type,
                &message_id,
                &attempt_number,
                &attempt.outcome,
                &attempt.status,
                &attempt.body,
                &attempt.error,
                &duration,
            ],
        )
        .await?;
    Ok(DeliveryView::from(&row))
}

/// The `webhook.deliver` handler.
pub async fn deliver_job(ctx: JobContext, deliverer: Deliverer) -> Result<(), JobError> {
    let args = &ctx.job.args;
    let (Some(endpoint_id), Some(event_id)) = (
        args["endpoint_id"]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok()),
        args["event_id"].as_i64(),
    ) else {
        return Err(JobError::Cancel(format!("malformed arguments: {args}")));
    };
    let tx = ctx.db.begin().await?;
    let endpoint = tx
        .query_opt(
            "select url, secret, enabled from webhook_endpoints where id = $1",
            &[&endpoint_id],
        )
        .await?;
    let Some(endpoint) = endpoint else {
        return Err(JobError::Cancel("the endpoint was deleted".into()));
    };
    if !endpoint.get::<_, bool>(2) {
        return Err(JobError::Cancel("the endpoint is disabled".into()));
    }
    let Some(event) = tx
        .query_opt(
            &format!("select {EVENT_COLUMNS} from audit_logs where id = $1"),
            &[&event_id],
        )
        .await?
    else {
        return Err(JobError::Cancel(format!("no event {event_id}")));
    };
    tx.commit().await?;
    let (url, secret): (String, String) = (endpoint.get(0), endpoint.get(1));
    let event = EventView::from_row(&event);
    let message_id = message_id(ctx.job.tenant.0, event.id);
    let body = payload(
        &event.event_type,
        event.at,
        serde_json::to_value(&event).unwrap_or_default(),
    );
    let attempt = deliverer
        .send(
            &url,
            &secret,
            &message_id,
            ctx.clock.now().timestamp(),
            body,
        )
        .await;

    let tx = ctx.db.begin().await?;
    record(
        &tx,
        endpoint_id,
        Some(event.id),
        &event.event_type,
        &message_id,
        ctx.job.attempt,
        &attempt,
    )
    .await?;
    if attempt.outcome == "delivered" {
        tx.execute(
            "update webhook_endpoints set consecutive_failures = 0 where id = $1 \
               and consecutive_failures <> 0",
            &[&endpoint_id],
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let reason = format!(
        "disabled after {} failed deliveries in a row",
        deliverer.0.disable_after
    );
    tx.execute(
        "update webhook_endpoints set consecutive_failures = consecutive_failures + 1, \
             enabled = enabled and consecutive_failures + 1 < $2, \
             disabled_reason = case when enabled and consecutive_failures + 1 >= $2 \
                                    then $3 else disabled_reason end \
         where id = $1",
        &[&endpoint_id, &deliverer.0.disable_after, &reason],
    )
    .await?;
    tx.commit().await?;
    let why = attempt.error.unwrap_or_else(|| "failed".into());
    if attempt.outcome == "refused" {
        // The same destination will be refused again; an admin must change the URL.
        return Err(JobError::Cancel(why));
    }
    Err(JobError::Retry(why))
}
