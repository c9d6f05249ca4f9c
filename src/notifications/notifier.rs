//! The notifier: turns events into notifications. Areas never call it: a reaction to
//! each event type that may concern someone adds the event to its transaction's one
//! `notifications.from_event` job (one job per unit of work, however many events it
//! records), and the job decides who is told, on which channels, and when. Each insert
//! is keyed by (event, recipient, type), so a job that runs twice makes nothing twice.
//! The one who caused the event is never told about it, except of how a generative
//! summary they asked for in the background turned out. Who is told of what is
//! planned in `plan`. As it makes new notifications it forgets a few of those older
//! than the inbox's period (`PACTUM_INBOX_DAYS`), read or not, so an inbox does not grow
//! for as long as its tenant exists.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::delivery::{self, Made};
use super::inbox::{NotificationView, COLUMNS};
use super::preferences;
use super::stream::{Fanout, Published};
use crate::attachments::originals;
use crate::kernel::jobs::{enqueue_collecting, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

mod plan;
use self::plan::plan;

pub const FROM_EVENT: JobKind = JobKind {
    name: "notifications.from_event",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: std::time::Duration::from_secs(30),
};

/// The event types that may concern someone.
pub const EVENT_TYPES: &[&str] = &[
    "approval.requested",
    "approval.approved",
    "approval.rejected",
    "approval.overdue",
    "workflow_stage.escalated",
    "workflow_run.approved",
    "workflow_run.rejected",
    "contract.updated",
    "comment.created",
    "contract.expiring",
    "contract.renewal_notice_due",
    "attachment.text_extracted",
    "attachment.text_failed",
    "obligation.due",
    "task.assigned",
    "task.reminder",
    "task.overdue",
    "case.assigned",
    "case.sla_breached",
    "case.sla_at_risk",
    "case.escalated",
    "invoice.payment_due",
    "invoice.overdue",
    "invoice.dunning",
    "invoice.email_failed",
    "contract.generative_summary",
];

/// The events whose actor is told too: how a generative summary asked for in the
/// background turned out is recorded as the act of the member who asked.
const TOLD_TO_THEIR_ACTOR: &[&str] = &["contract.generative_summary"];

pub fn react_to(reactions: &mut Reactions) {
    for event_type in EVENT_TYPES {
        reactions.on(event_type, enqueue_for);
    }
}

fn enqueue_for<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    enqueue_collecting(tx, FROM_EVENT, json!(event.id));
    Box::pin(std::future::ready(Ok(())))
}

/// Makes the notifications of one event, once, with their deliveries; returns the
/// messages to publish to open streams.
pub async fn from_event(
    tx: &TenantTx,
    event_id: i64,
    fanout: Option<&Fanout>,
) -> Result<Vec<String>, DomainError> {
    let Some(event) = tx
        .query_opt(
            "select event_type, entity_id, actor_id, changes from audit_logs where id = $1",
            &[&event_id],
        )
        .await?
    else {
        return Ok(Vec::new());
    };
    let (event_type, entity_id, actor, changes): (String, Option<Uuid>, Option<Uuid>, Value) =
        (event.get(0), event.get(1), event.get(2), event.get(3));
    let Some(planned) = plan(tx, &event_type, entity_id, &changes).await? else {
        return Ok(Vec::new());
    };
    let mut recipients = planned.recipients;
    recipients.sort();
    recipients.dedup();
    if !TOLD_TO_THEIR_ACTOR.contains(&event_type.as_str()) {
        recipients.retain(|r| Some(*r) != actor);
    }
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let choices = preferences::resolve_many(tx, &recipients).await?;
    let wanted = |user: &Uuid, channel: &str| {
        choices
            .get(user)
            .is_some_and(|r| r.wants(channel, planned.kind))
    };
    // Told somewhere at all; a muted inbox still keeps the record, archived on arrival,
    // for the email or chat message that refers to it.
    recipients.retain(|r| wanted(r, "in_app") || wanted(r, "email") || wanted(r, "chat"));
    let archived: Vec<bool> = recipients.iter().map(|r| !wanted(r, "in_app")).collect();
    // A title that quotes what hangs off a redacted contract (a task's) is masked for a
    // recipient its original is kept from, as their reads of it are.
    let titles = match planned.contract {
        Some(contract) => {
            originals::mask_for_each(tx, contract, &recipients, &planned.title).await?
        }
        None => vec![planned.title.clone(); recipients.len()],
    };
    let now = crate::kernel::unit::now(tx);
    let rows = tx
        .query(
            &format!(
                "insert into notifications (recipient_id, type, title, entity, entity_id, link, metadata, event_id, created_at, archived_at) \
                 select r.id, $2, r.title, $4, $5, $6, $7, $8, $9::timestamptz, case when r.archived then $9::timestamptz end \
                 from unnest($1::uuid[], $10::bool[], $3::text[]) as r(id, archived, title) \
                 join users u on u.id = r.id and u.active \
                 on conflict (event_id, recipient_id, type) do nothing \
                 returning {COLUMNS}, recipient_id"
            ),
            &[
                &recipients,
                &planned.kind,
                &titles,
                &planned.entity,
                &planned.entity_id,
                &planned.link,
                &json!({"event_type": event_type, "actor_id": actor, "contract_id": planned.contract}),
                &event_id,
                &now,
                &archived,
            ],
        )
        .await?;
    let tenant = tx.tenant_id().0;
    let mut made = Vec::with_capacity(rows.len());
    let mut messages = Vec::new();
    for row in &rows {
        let view = NotificationView::from(row);
        let recipient: Uuid = row.get(12);
        if view.archived_at.is_none() {
            let data = serde_json::to_string(&view).unwrap_or_default();
            let published = Published {
                tenant,
                recipient,
                id: view.id,
                data: serde_json::value::RawValue::from_string(data)
                    .map_err(|e| DomainError::Internal(e.into()))?,
            };
            messages.push(serde_json::to_string(&published).unwrap_or_default());
        }
        made.push(Made {
            id: view.id,
            recipient,
            kind: view.kind,
        });
    }
    delivery::plan(tx, &made, &choices).await?;
    if let Some(fanout) = fanout {
        fanout.publish_in(tx, &messages).await?;
    }
    Ok(messages)
}

/// The notifier's job: the events of one unit of work (`items`, collected by
/// `enqueue_collecting`; a job of an older build carries a single `event_id`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FromEvent {
    #[serde(default)]
    pub items: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
}

/// What the notifier works with besides its tenant's transaction.
#[derive(Clone)]
pub struct Notifier {
    /// The pub/sub that carries new notifications to open streams.
    pub fanout: Option<Fanout>,
    /// How long a notification is kept (`PACTUM_INBOX_DAYS`).
    pub inbox_kept: std::time::Duration,
}

/// The most expired notifications one notifier job forgets: its oldest, by id, of which
/// those older than the period go. Checking them costs about 50 us when none has
/// expired; a backlog (a shorter period set) goes over the next jobs.
const FORGOTTEN_PER_JOB: i64 = 100;

impl BackgroundJob for FromEvent {
    const KIND: JobKind = FROM_EVENT;
    type Env = Notifier;

    async fn run(self, ctx: JobContext, notifier: Notifier) -> Result<(), JobError> {
        let mut ids = self.items;
        ids.extend(self.event_id);
        if ids.is_empty() {
            return Err(JobError::Cancel(format!(
                "malformed arguments for {}: no events",
                FROM_EVENT.name
            )));
        }
        from_events(ctx, notifier, ids).await
    }
}

/// Forgets up to [`FORGOTTEN_PER_JOB`] notifications made before `cutoff`: of the
/// tenant's oldest by id (the order they were made in), those older than it. Their
/// deliveries' records go with them; one whose email or chat message is still to be
/// sent (held by quiet hours or a digest, or retrying) is kept until it has gone.
async fn forget_expired(
    tx: &TenantTx,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<u64, tokio_postgres::Error> {
    tx.execute(
        "delete from notifications where id = any(array( \
             select id from (select id, created_at from notifications \
                             order by id limit $2) oldest \
             where created_at < $1 and not exists (select 1 from notification_deliveries d \
                 where d.notification_id = oldest.id and d.state in ('pending', 'digest'))))",
        &[&cutoff, &FORGOTTEN_PER_JOB],
    )
    .await
}

/// Runs the notifier over the events of one unit of work, in one transaction.
async fn from_events(ctx: JobContext, notifier: Notifier, ids: Vec<i64>) -> Result<(), JobError> {
    let Notifier { fanout, inbox_kept } = notifier;
    let tx = ctx.db.begin().await?;
    // One notifier at a time per tenant, until commit: notification ids are then in
    // commit order, so a stream that reconnects with `Last-Event-ID` and replays what
    // came after it cannot miss one that committed late with a smaller id. A
    // transaction-level lock, so it holds behind a transaction pooler.
    let cutoff = chrono::Duration::from_std(inbox_kept)
        .ok()
        .and_then(|kept| crate::kernel::unit::now(&tx).checked_sub_signed(kept))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    // Pipelined: the lock and the forgetting go out in one round trip.
    let lock = format!("notifier:{}", ctx.job.tenant.0);
    let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&lock];
    tokio::try_join!(
        tx.execute(
            "select pg_advisory_xact_lock(hashtextextended($1, 14))",
            &lock_params,
        ),
        forget_expired(&tx, cutoff),
    )?;
    let mut messages = Vec::new();
    for id in ids {
        messages.extend(from_event(&tx, id, fanout.as_ref()).await?);
    }
    tx.commit().await?;
    if let Some(fanout) = fanout {
        fanout.publish_after(&messages).await;
    }
    Ok(())
}
