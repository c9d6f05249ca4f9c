//! Sending an endpoint's undelivered messages again, when it is enabled again or an
//! admin recovers it. A backlog can be days of events: the request queues the first
//! batch in its own transaction and a job walks the rest, a batch to a transaction,
//! so no request or transaction grows with the backlog (a request cut off by a proxy's
//! timeout would otherwise roll the whole of it back, every time it is tried).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::delivery::delivery_job;
use crate::kernel::jobs::{enqueue, BackgroundJob, JobContext, JobError, JobKind, NewJob};
use crate::kernel::DomainError;
use crate::tenancy::scoped::TenantTx;

/// Messages queued again in one transaction.
pub const BATCH: i64 = 1000;

/// The batches of a resend after the first, each in a transaction of its own.
pub const WEBHOOK_RESEND: JobKind = JobKind {
    name: "webhook.resend",
    queue: "webhooks",
    priority: 1,
    max_attempts: 25,
    timeout: Duration::from_secs(60),
};

/// One batch of a resend: the endpoint's undelivered messages after event `after`,
/// made at or after `since` when given. Each batch enqueues the next in its own
/// transaction, so a walk stopped half-way resumes where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResendBatch {
    pub endpoint_id: Uuid,
    pub since: Option<DateTime<Utc>>,
    pub after: i64,
}

impl BackgroundJob for ResendBatch {
    const KIND: JobKind = WEBHOOK_RESEND;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let tx = ctx.db.begin().await?;
        // An endpoint disabled (or deleted) meanwhile keeps its messages: enabling it
        // starts a resend of its own, from the first.
        let enabled = tx
            .query_opt(
                "select enabled from webhook_endpoints where id = $1 for share",
                &[&self.endpoint_id],
            )
            .await?
            .is_some_and(|row| row.get::<_, bool>(0));
        if enabled {
            queue_batch(&tx, self.endpoint_id, self.since, self.after).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Queues a delivery for every message of `endpoint` not delivered (made at or after
/// `since`, when given): the first [`BATCH`] in `tx`, the rest by [`ResendBatch`] jobs
/// that `tx` enqueues. A message already queued is not queued twice. Returns how many
/// messages are to be sent again, those queued later included.
pub async fn resend(
    tx: &TenantTx,
    endpoint: Uuid,
    since: Option<DateTime<Utc>>,
) -> Result<i64, DomainError> {
    // The undelivered messages' partial index, read once: counting is a fraction of
    // what queueing them costs.
    let total: i64 = tx
        .query_one(
            "select count(*) from webhook_messages where endpoint_id = $1 \
                 and state <> 'delivered' \
                 and created_at >= coalesce($2::timestamptz, '-infinity')",
            &[&endpoint, &since],
        )
        .await?
        .get(0);
    if total > 0 {
        queue_batch(tx, endpoint, since, -1).await?;
    }
    Ok(total)
}

/// Queues the batch after event `after` and, when it was full, enqueues the next.
async fn queue_batch(
    tx: &TenantTx,
    endpoint: Uuid,
    since: Option<DateTime<Utc>>,
    after: i64,
) -> Result<(), DomainError> {
    // Without `since`, a bound before every message: one statement, a range in any plan.
    let rows = tx
        .query(
            "update webhook_messages set state = 'pending', next_attempt_at = null \
             where endpoint_id = $1 and event_id = any(array( \
                 select event_id from webhook_messages \
                 where endpoint_id = $1 and state <> 'delivered' and event_id > $2 \
                   and created_at >= coalesce($4::timestamptz, '-infinity') \
                 order by event_id limit $3)) \
             returning event_id",
            &[&endpoint, &after, &BATCH, &since],
        )
        .await?;
    let mut events: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    events.sort_unstable();
    let full = events.len() as i64 == BATCH;
    let mut jobs: Vec<NewJob> = Vec::with_capacity(events.len() + 1);
    if let (true, Some(&last)) = (full, events.last()) {
        jobs.push(next_batch(endpoint, since, last));
    }
    jobs.extend(
        events
            .into_iter()
            .map(|event| delivery_job(endpoint, event)),
    );
    enqueue(tx, jobs).await?;
    Ok(())
}

/// The batch after event `after`, once: a batch retried after its commit was lost
/// enqueues the same next batch again, which the key drops.
fn next_batch(endpoint_id: Uuid, since: Option<DateTime<Utc>>, after: i64) -> NewJob {
    let key = format!(
        "wh-resend:{}:{}:{after}",
        endpoint_id.simple(),
        since.map_or(String::from("all"), |t| t.timestamp_micros().to_string())
    );
    ResendBatch {
        endpoint_id,
        since,
        after,
    }
    .now()
    .unique(key)
}
