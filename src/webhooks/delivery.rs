//! Delivering events: the `webhook.deliver` job handler and the HTTP client it uses.
//! The job reads the endpoint and the event from the tenant's schema (its args carry
//! only ids), sends outside any transaction, then records the attempt, the message's
//! state and the endpoint's health in a short transaction of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::model::{DeliveryView, DELIVERY_COLUMNS};
use super::signature;
use crate::kernel::destination;
use crate::kernel::events::{EventView, EVENT_COLUMNS};
use crate::kernel::jobs::places::Places;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind, NewJob};
use crate::tenancy::scoped::TenantTx;

/// Delivering one event to one webhook endpoint. Eight attempts spread over about a
/// day (see [`retry_delay`]).
pub const WEBHOOK_DELIVERY: JobKind = JobKind {
    name: "webhook.deliver",
    queue: "webhooks",
    priority: 1,
    max_attempts: 8,
    timeout: Duration::from_secs(30),
};

/// One event for one endpoint: a delivery's arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub endpoint_id: Uuid,
    pub event_id: i64,
}

impl BackgroundJob for WebhookDelivery {
    const KIND: JobKind = WEBHOOK_DELIVERY;
    type Env = Deliverer;

    async fn run(self, ctx: JobContext, deliverer: Deliverer) -> Result<(), JobError> {
        deliver(ctx, deliverer, self).await
    }
}

/// The delivery of one event to one endpoint, keyed so that resending (an endpoint
/// enabled again, a recovery) never queues the same message twice.
pub fn delivery_job(endpoint_id: Uuid, event_id: i64) -> NewJob {
    WebhookDelivery {
        endpoint_id,
        event_id,
    }
    .now()
    .unique(format!("wh:{}:{event_id}", endpoint_id.simple()))
}

/// How long a receiver has to answer. Short, as Standard Webhooks' services keep it: a
/// receiver that hangs holds a worker for at most this long, and a slow one should
/// answer at once and work afterwards.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The start of a response body kept in the delivery log.
const KEPT_RESPONSE_BYTES: usize = 2000;

/// Sends webhook requests: no redirects, a timeout, destinations checked after
/// resolution.
#[derive(Clone)]
pub struct Deliverer(Arc<Inner>);

struct Inner {
    client: reqwest::Client,
    allow_internal: bool,
    /// How long an endpoint may keep failing before it is disabled.
    disable_after: Duration,
    /// How long attempts, and messages once settled, are kept.
    keep_log: Duration,
    /// Deliveries this process has in flight per destination (scheme, host, port), and
    /// how many one destination may have: a receiver that hangs then holds at most
    /// that many workers, and the rest serve everyone else.
    in_flight: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    per_destination: usize,
    /// How many deliveries one destination may have in flight from every process
    /// together, held in `public.job_places`; `None` leaves each process its own.
    fleet_per_destination: Option<usize>,
}

/// How long a delivery holds its place across the fleet at most: well past the
/// request's timeout, so only a process that died leaves a place held that long.
const FLEET_HOLD_LEASE: Duration = Duration::from_secs(60);

/// One delivery in flight to a destination; its place is given back when dropped, and
/// a delivery this process deferred behind it is brought forward.
struct Slot {
    deliverer: Deliverer,
    destination: String,
    places: Option<Places>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        {
            let mut in_flight = self.deliverer.0.in_flight.lock().expect("webhook slots");
            if let Some(count) = in_flight.get_mut(&self.destination) {
                *count -= 1;
                if *count == 0 {
                    in_flight.remove(&self.destination);
                }
            }
        }
        if let Some(places) = &self.places {
            places.given_back(&place_of(&self.destination));
        }
    }
}

/// The place deliveries to `destination` are deferred behind.
fn place_of(destination: &str) -> String {
    format!("webhook destination {destination}")
}

/// A delivery whose destination already holds its share of the workers (a receiver
/// that is slow or hangs): tried again as soon as a delivery there ends in this
/// process, or once one could have timed out, without spending an attempt, so the
/// other workers serve other destinations.
fn put_off(destination: &str) -> JobError {
    let jitter = DELIVERY_TIMEOUT.mul_f64(rand::random::<f64>());
    JobError::DeferBehind {
        place: place_of(destination),
        at_most: DELIVERY_TIMEOUT / 2 + jitter,
        reason: "its destination has its share of deliveries in flight".into(),
    }
}

/// Installs the process-wide TLS provider (ring) that reqwest's rustls needs; a second
/// call is harmless.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What one attempt came to.
#[derive(Debug)]
pub struct Attempt {
    /// When it was sent, by the server's clock.
    pub at: DateTime<Utc>,
    pub outcome: &'static str,
    pub status: Option<i32>,
    pub body: Option<String>,
    pub error: Option<String>,
    pub duration: Duration,
}

impl Deliverer {
    /// `allow_internal` lets webhooks reach loopback and private addresses (tests, or
    /// an operator who wants it); an endpoint failing for `disable_after` (since its
    /// last success) is disabled; its attempts, and its messages once delivered or
    /// failed, are kept for `keep_log`; one destination has at most `per_destination`
    /// deliveries in flight from this process, and `fleet_per_destination` (when set)
    /// from every process together.
    pub fn new(
        allow_internal: bool,
        disable_after: Duration,
        keep_log: Duration,
        (per_destination, fleet_per_destination): (usize, Option<usize>),
    ) -> anyhow::Result<Self> {
        install_tls_provider();
        let client = destination::client(
            allow_internal,
            concat!("Pactum-Webhooks/", env!("CARGO_PKG_VERSION")),
            DELIVERY_TIMEOUT,
        )?;
        Ok(Self(Arc::new(Inner {
            client,
            allow_internal,
            disable_after,
            keep_log,
            in_flight: Default::default(),
            per_destination: per_destination.max(1),
            fleet_per_destination: fleet_per_destination.map(|cap| cap.max(1)),
        })))
    }

    /// A place for one delivery to `url`'s destination, given back through `places`
    /// when dropped, or the destination (scheme, host, port) if it already has its
    /// share in flight.
    fn slot(&self, url: &str, places: Option<Places>) -> Result<Slot, String> {
        let destination = reqwest::Url::parse(url)
            .map(|u| {
                format!(
                    "{}://{}:{}",
                    u.scheme(),
                    u.host_str().unwrap_or_default(),
                    u.port_or_known_default().unwrap_or_default()
                )
            })
            .unwrap_or_else(|_| url.to_owned());
        let mut in_flight = self.0.in_flight.lock().expect("webhook slots");
        let count = in_flight.entry(destination.clone()).or_default();
        if *count >= self.0.per_destination {
            return Err(destination);
        }
        *count += 1;
        Ok(Slot {
            deliverer: self.clone(),
            destination,
            places,
        })
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
        at: DateTime<Utc>,
        body: Vec<u8>,
    ) -> Attempt {
        let started = Instant::now();
        let timestamp = at.timestamp();
        let refused = |why: String| Attempt {
            at,
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
                    at,
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
                    at,
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
pub fn payload(event_type: &str, at: DateTime<Utc>, data: Value) -> Vec<u8> {
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
                     attempt, outcome, response_status, response_body, error, duration_ms, at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 returning {DELIVERY_COLUMNS}"
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
                &attempt.at,
            ],
        )
        .await?;
    Ok(DeliveryView::from(&row))
}

/// The endpoint's oldest rows looked at per delivery: each delivery adds one attempt
/// and at most one message, so removing up to this many expired ones of each keeps
/// the log within its period, and catches up after the period is shortened, without
/// a sweep.
const FORGOTTEN_PER_DELIVERY: i64 = 4;

/// Removes the endpoint's attempts made before `cutoff`, and its messages delivered or
/// failed before it, among the oldest [`FORGOTTEN_PER_DELIVERY`] of each, read in the
/// order of each table's index. A message still to send (pending) is kept however old
/// and passed over: the read walks past the endpoint's oldest pending ones, which an
/// endpoint that is delivering sends soon.
async fn forget_expired(
    tx: &TenantTx,
    endpoint: Uuid,
    cutoff: DateTime<Utc>,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "with attempts as (delete from webhook_deliveries where id = any(array( \
                 select id from (select id, at from webhook_deliveries \
                                 where endpoint_id = $1 order by id limit $3) oldest \
                 where at < $2))), \
             messages as (delete from webhook_messages \
                 where endpoint_id = $1 and event_id = any(array( \
                     select event_id from (select event_id, \
                             coalesce(delivered_at, last_attempt_at, created_at) as settled_at \
                         from webhook_messages where endpoint_id = $1 and state <> 'pending' \
                         order by event_id limit $3) oldest \
                     where settled_at < $2))) \
         select 1",
        &[&endpoint, &cutoff, &FORGOTTEN_PER_DELIVERY],
    )
    .await?;
    Ok(())
}

/// How long after failed attempt `attempt` (1-based) the next one is made, given a
/// random fraction in `[0, 1)`: the schedule of Standard Webhooks' reference services
/// (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours),
/// each within ±20% so that messages failing together do not retry together.
pub fn retry_delay(attempt: i32, random: f64) -> Duration {
    const SCHEDULE: [u64; 7] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];
    let index = usize::try_from(attempt.max(1) - 1)
        .unwrap_or(0)
        .min(SCHEDULE.len() - 1);
    Duration::from_secs(SCHEDULE[index]).mul_f64(0.8 + 0.4 * random.clamp(0.0, 1.0))
}

/// Marks the message and the endpoint after a successful attempt.
const DELIVERED_SQL: &str = "\
    with message as (update webhook_messages set state = 'delivered', attempts = attempts + 1, \
            last_attempt_at = $3, delivered_at = $3, next_attempt_at = null \
        where endpoint_id = $1 and event_id = $2) \
    update webhook_endpoints set consecutive_failures = 0, failing_since = null, \
        last_delivered_at = $3 \
    where id = $1";

/// Marks the endpoint after a failed attempt, disabling it once its failures have
/// lasted `$3`; returns whether it is still enabled.
const ENDPOINT_FAILED_SQL: &str = "\
    update webhook_endpoints set consecutive_failures = consecutive_failures + 1, \
        failing_since = coalesce(failing_since, $2), last_failed_at = $2, \
        enabled = enabled and coalesce(failing_since, $2) > $2 - $3::float8 * interval '1 second', \
        disabled_reason = case when enabled and coalesce(failing_since, $2) <= $2 - $3::float8 * interval '1 second' \
                               then $4 else disabled_reason end \
    where id = $1 \
    returning enabled";

/// Marks the message after a failed attempt: `failed` when no attempt is left,
/// else pending with the time of the next one (null while its endpoint is disabled).
const MESSAGE_FAILED_SQL: &str = "\
    update webhook_messages set attempts = attempts + 1, last_attempt_at = $3, \
        state = case when $4 then 'failed' else 'pending' end, next_attempt_at = $5 \
    where endpoint_id = $1 and event_id = $2";

/// The `webhook.deliver` handler: one message (an event for an endpoint).
///
/// A message whose endpoint is disabled waits (`pending`) and is sent when the endpoint
/// is enabled again; one already delivered is not sent again. A failure is retried on
/// [`retry_delay`]'s schedule; the endpoint is disabled only when its failures have
/// lasted the operator's period, and then the message waits for it like any other.
async fn deliver(
    ctx: JobContext,
    deliverer: Deliverer,
    job: WebhookDelivery,
) -> Result<(), JobError> {
    let WebhookDelivery {
        endpoint_id,
        event_id,
    } = job;
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
    let Some(event) = tx
        .query_opt(
            &format!("select {EVENT_COLUMNS} from audit_logs where id = $1"),
            &[&event_id],
        )
        .await?
    else {
        return Err(JobError::Cancel(format!("no event {event_id}")));
    };
    let event = EventView::from_row(&event);
    // A message made before messages were recorded has no row yet.
    let state: String = tx
        .query_one(
            "with made as (insert into webhook_messages (endpoint_id, event_id, created_at) \
                 values ($1, $2, $3) on conflict (endpoint_id, event_id) do nothing \
                 returning state) \
             select state from made \
             union all select state from webhook_messages where endpoint_id = $1 and event_id = $2",
            &[&endpoint_id, &event_id, &event.at],
        )
        .await?
        .get(0);
    tx.commit().await?;
    if state == "delivered" {
        return Ok(());
    }
    if !endpoint.get::<_, bool>(2) {
        // Kept, not lost: enabling the endpoint sends it.
        return Ok(());
    }
    let (url, secret): (String, String) = (endpoint.get(0), endpoint.get(1));
    // With a cap for the whole fleet, the fleet's hold gives the place back once its
    // row is gone, so that the delivery it brings forward finds it free; the process's
    // own place then gives back nothing, or a delivery refused by the fleet would bring
    // forward another to be refused in turn.
    let fleet_cap = deliverer.0.fleet_per_destination;
    let slot = match deliverer.slot(&url, fleet_cap.is_none().then(|| ctx.places.clone())) {
        Ok(slot) => slot,
        Err(destination) => return Err(put_off(&destination)),
    };
    let _held_in_fleet = match fleet_cap {
        None => None,
        Some(cap) => {
            let place = place_of(&slot.destination);
            match ctx
                .places
                .hold_in_fleet(&place, ctx.job.id, cap, FLEET_HOLD_LEASE)
                .await?
            {
                Some(hold) => Some(hold),
                None => return Err(put_off(&slot.destination)),
            }
        }
    };
    let message_id = message_id(ctx.job.tenant.0, event.id);
    let body = payload(
        &event.event_type,
        event.at,
        serde_json::to_value(&event).unwrap_or_default(),
    );
    let attempt = deliverer
        .send(&url, &secret, &message_id, ctx.clock.now(), body)
        .await;

    let now = ctx.clock.now();
    let tx = ctx.db.begin().await?;
    // Pipelined: the attempt and the forgetting go out in one round trip.
    tokio::try_join!(
        record(
            &tx,
            endpoint_id,
            Some(event.id),
            &event.event_type,
            &message_id,
            ctx.job.attempt,
            &attempt,
        ),
        forget_expired(&tx, endpoint_id, now - deliverer.0.keep_log),
    )?;
    if attempt.outcome == "delivered" {
        tx.execute(DELIVERED_SQL, &[&endpoint_id, &event_id, &now])
            .await?;
        tx.commit().await?;
        return Ok(());
    }
    let period = deliverer.0.disable_after;
    let reason = format!(
        "disabled after failing for {} (since the last success)",
        describe_period(period)
    );
    let still_enabled: bool = tx
        .query_opt(
            ENDPOINT_FAILED_SQL,
            &[&endpoint_id, &now, &period.as_secs_f64(), &reason],
        )
        .await?
        .is_some_and(|row| row.get(0));
    let why = attempt.error.unwrap_or_else(|| "failed".into());
    let refused = attempt.outcome == "refused";
    let last = refused || ctx.job.attempt >= ctx.job.max_attempts;
    let delay = retry_delay(ctx.job.attempt, rand::random::<f64>());
    let next = (still_enabled && !last)
        .then(|| now + chrono::Duration::from_std(delay).unwrap_or_default());
    tx.execute(
        MESSAGE_FAILED_SQL,
        &[
            &endpoint_id,
            &event_id,
            &now,
            &(last && still_enabled),
            &next,
        ],
    )
    .await?;
    tx.commit().await?;
    if !still_enabled {
        // Disabled now: the message waits with the others for the endpoint.
        return Ok(());
    }
    if refused {
        // The same destination will be refused again; an admin must change the URL.
        return Err(JobError::Cancel(why));
    }
    Err(JobError::RetryIn(delay, why))
}

fn describe_period(period: Duration) -> String {
    let hours = period.as_secs() / 3600;
    if hours >= 48 && hours.is_multiple_of(24) {
        format!("{} days", hours / 24)
    } else if hours == 1 {
        "1 hour".to_owned()
    } else if hours > 1 {
        format!("{hours} hours")
    } else {
        format!("{} seconds", period.as_secs())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_destination_holds_at_most_its_share_and_gets_its_places_back() {
        let deliverer = Deliverer::new(
            true,
            Duration::from_secs(3600),
            Duration::from_secs(86_400),
            (2, None),
        )
        .unwrap();
        let slot = |url: &str| deliverer.slot(url, None);
        let first = slot("https://hooks.example/a").unwrap();
        let second = slot("https://hooks.example:443/b?x=1").unwrap();
        assert_eq!(
            slot("https://hooks.example/c").err().as_deref(),
            Some("https://hooks.example:443"),
            "the same scheme, host and port"
        );
        let elsewhere = slot("http://hooks.example/a").unwrap();
        let other_port = slot("https://hooks.example:8443/a").unwrap();
        drop(first);
        let again = slot("https://hooks.example/c").unwrap();
        drop((second, again, elsewhere, other_port));
        assert!(deliverer.0.in_flight.lock().unwrap().is_empty());
    }

    use super::*;

    #[test]
    fn retries_follow_the_standard_schedule_over_about_a_day_with_jitter() {
        let middle: Vec<u64> = (1..=7).map(|a| retry_delay(a, 0.5).as_secs()).collect();
        assert_eq!(middle, [5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
        let total: u64 = middle.iter().sum();
        assert!(
            (86_400..=36 * 3600).contains(&total),
            "spans about a day: {total} s"
        );
        assert_eq!(retry_delay(1, 0.0), Duration::from_secs(4));
        assert_eq!(retry_delay(1, 1.0), Duration::from_secs(6));
        assert_eq!(retry_delay(99, 0.5), Duration::from_secs(36_000));
        assert_eq!(retry_delay(-3, 0.5), Duration::from_secs(5));
    }

    #[test]
    fn periods_read_as_people_say_them() {
        assert_eq!(describe_period(Duration::from_secs(5 * 86_400)), "5 days");
        assert_eq!(describe_period(Duration::from_secs(3600)), "1 hour");
        assert_eq!(describe_period(Duration::from_secs(30)), "30 seconds");
    }
}
