//! Email in batches: a delivery job takes its own email and every other due email of
//! the tenant that no live batch holds, sends them over one SMTP connection, and
//! records each outcome. A job finishes only once its own email is settled, so an
//! email whose batch died is never left without a job.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::mail::{self, Email, MailError};
use super::outlets::{sender, Outlets, Sender};
use super::preferences;
use crate::kernel::jobs::{JobContext, JobError};
use crate::kernel::unit;

/// Emails one delivery job sends over one connection at most.
const MAIL_BATCH: i64 = 50;
/// How long a delivery job waits for another job's batch to send its email before it
/// tries again later.
const WAIT_FOR_BATCH: Duration = Duration::from_secs(15);

/// How long a batch holds its emails: beyond the job's own timeout, so a batch still
/// sending can never lose an email to a second one.
fn mail_hold(job_timeout: Duration) -> chrono::Duration {
    chrono::Duration::from_std(job_timeout).unwrap_or(chrono::Duration::MAX)
        + chrono::Duration::seconds(30)
}

/// Where a job's own email stands when it takes a batch.
enum Own {
    /// In this job's batch, first.
    Taken,
    /// Sent, failed or skipped already.
    Settled,
    /// In another live batch until then.
    HeldUntil(DateTime<Utc>),
}

/// What became of one email of a batch.
enum Outcome {
    Sent,
    Skipped(String),
    Failed(String),
    /// Worth another try: free for the next batch, an attempt spent.
    Retry(String),
    /// Not tried (the batch stopped before it): free for the next batch.
    Released,
}

/// A job's email is its own to settle: it finishes only once that email is sent,
/// failed or skipped, so an email whose batch died is never left without a job. Other
/// due emails ride along in its batch, which is where the speed comes from: one
/// connection and two short transactions for up to [`MAIL_BATCH`] messages.
pub(super) async fn deliver_email(
    ctx: &JobContext,
    outlets: &Outlets,
    own: i64,
) -> Result<(), JobError> {
    let started = std::time::Instant::now();
    // This run's hold: never the job's id, since a run the queue gave up on (its lease
    // ran out) may still be sending while the job's next attempt starts.
    let hold = Uuid::new_v4();
    loop {
        let (state, batch) = take_batch(ctx, outlets, own, hold).await?;
        let mut own_outcome = None;
        if !batch.emails.is_empty() {
            let outcomes = send_batch(outlets, &batch).await;
            let last = ctx.job.attempt >= ctx.job.max_attempts;
            let outcomes: Vec<(i64, Outcome)> = outcomes
                .into_iter()
                .map(|(id, outcome)| match outcome {
                    // The job of this email has no attempt left: it fails here.
                    Outcome::Retry(error) if id == own && last => (id, Outcome::Failed(error)),
                    outcome => (id, outcome),
                })
                .collect();
            record(ctx, &outcomes, hold).await?;
            own_outcome = outcomes
                .into_iter()
                .find(|(id, _)| *id == own)
                .map(|(_, o)| o);
        }
        match (state, own_outcome) {
            (Own::Taken, Some(Outcome::Sent | Outcome::Skipped(_))) | (Own::Settled, _) => {
                return Ok(())
            }
            (Own::Taken, Some(Outcome::Failed(error))) => {
                return Err(if ctx.job.attempt >= ctx.job.max_attempts {
                    JobError::Retry(error)
                } else {
                    JobError::Cancel(error)
                })
            }
            (Own::Taken, Some(Outcome::Retry(error))) => return Err(JobError::Retry(error)),
            (Own::Taken, _) => {
                return Err(JobError::Retry(
                    "the batch stopped before this email".into(),
                ))
            }
            (Own::HeldUntil(until), _) => {
                // Another job's batch is sending it: wait for that, within reason.
                if wait_for_batch(ctx, own, started).await? {
                    continue;
                }
                let left = (until - ctx.clock.now())
                    .to_std()
                    .unwrap_or_default()
                    .max(Duration::from_secs(1));
                return Err(JobError::RetryIn(
                    left,
                    "another batch still holds this email".into(),
                ));
            }
        }
    }
}

/// Waits while another batch holds `own`. True when it is this job's to take (settled
/// or free again); false when the wait ran out.
async fn wait_for_batch(
    ctx: &JobContext,
    own: i64,
    started: std::time::Instant,
) -> Result<bool, JobError> {
    while started.elapsed() < WAIT_FOR_BATCH {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tx = ctx.db.begin().await?;
        let now = unit::now(&tx);
        let row = tx
            .query_opt(
                "select state, held_until from notification_deliveries where id = $1",
                &[&own],
            )
            .await?;
        tx.commit().await?;
        let Some(row) = row else { return Ok(true) };
        let (state, until): (&str, Option<DateTime<Utc>>) = (row.get(0), row.get(1));
        if state != "pending" || until.is_none_or(|until| until <= now) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Emails taken for one connection, with what their messages need.
struct Batch {
    /// None when the batch is empty.
    sender: Option<Sender>,
    domain: String,
    /// In sending order, the job's own first.
    emails: Vec<BatchEmail>,
}

struct BatchEmail {
    id: i64,
    message_id: String,
    title: String,
    body: String,
    link: Option<String>,
    address: String,
    name: String,
    active: bool,
}

/// Takes the job's own email when no live batch holds it, and up to a batch of the
/// tenant's other due emails that none holds, in one short transaction.
async fn take_batch(
    ctx: &JobContext,
    outlets: &Outlets,
    own: i64,
    hold: Uuid,
) -> Result<(Own, Batch), JobError> {
    let tx = ctx.db.begin().await?;
    let now = unit::now(&tx);
    let until = now + mail_hold(ctx.job.timeout);
    let own_row = tx
        .query_opt(
            "select state, held_until from notification_deliveries where id = $1 for update",
            &[&own],
        )
        .await?;
    let state = match &own_row {
        None => Own::Settled,
        Some(row) if row.get::<_, &str>(0) != "pending" => Own::Settled,
        Some(row) => match row.get::<_, Option<DateTime<Utc>>>(1) {
            Some(held_until) if held_until > now => Own::HeldUntil(held_until),
            _ => Own::Taken,
        },
    };
    let mut ids: Vec<i64> = Vec::new();
    if matches!(state, Own::Taken) {
        ids.push(own);
    }
    let others = tx
        .query(
            // The ids as an array, not `in (select ... limit)`: see `jobs::sql::CLAIM_SQL`.
            "update notification_deliveries set held_by = $1, held_until = $3 where id = any(array( \
               select id from notification_deliveries \
               where state = 'pending' and channel = 'email' and send_after <= $2 and id <> $4 \
                 and (held_until is null or held_until <= $2) \
               order by send_after, id limit $5 for update skip locked)) \
             returning id",
            &[&hold, &now, &until, &own, &(MAIL_BATCH - 1)],
        )
        .await?;
    ids.extend(others.iter().map(|row| row.get::<_, i64>(0)));
    if matches!(state, Own::Taken) {
        tx.execute(
            "update notification_deliveries set held_by = $1, held_until = $2 where id = $3",
            &[&hold, &until, &own],
        )
        .await?;
    }
    let mut emails = Vec::with_capacity(ids.len());
    let mut sender_info = None;
    if !ids.is_empty() {
        let rows = tx
            .query(
                "select d.id, d.message_id, n.title, n.body, n.link, u.email, u.display_name, u.active \
                 from notification_deliveries d join notifications n on n.id = d.notification_id \
                 join users u on u.id = d.recipient_id where d.id = any($1)",
                &[&ids],
            )
            .await?;
        let mut by_id: BTreeMap<i64, BatchEmail> = rows
            .iter()
            .map(|row| {
                (
                    row.get(0),
                    BatchEmail {
                        id: row.get(0),
                        message_id: row.get(1),
                        title: row.get(2),
                        body: row.get(3),
                        link: row.get(4),
                        address: row.get(5),
                        name: row.get(6),
                        active: row.get(7),
                    },
                )
            })
            .collect();
        emails.extend(ids.iter().filter_map(|id| by_id.remove(id)));
        sender_info = Some(sender(&tx, outlets, preferences::defaults(&tx).await?).await?);
    }
    tx.commit().await?;
    Ok((
        state,
        Batch {
            sender: sender_info,
            domain: outlets.mailer().domain().to_owned(),
            emails,
        },
    ))
}

/// Sends a batch over one connection. A transient failure ends it: the rest are
/// released untried, so a server that is down costs one attempt per batch.
async fn send_batch(outlets: &Outlets, batch: &Batch) -> Vec<(i64, Outcome)> {
    let Some(sender) = &batch.sender else {
        return Vec::new();
    };
    let mut session = outlets.mailer().session();
    let mut outcomes = Vec::with_capacity(batch.emails.len());
    let mut stopped = false;
    for email in &batch.emails {
        if stopped {
            outcomes.push((email.id, Outcome::Released));
            continue;
        }
        if !email.active {
            outcomes.push((
                email.id,
                Outcome::Skipped("the recipient was deactivated".into()),
            ));
            continue;
        }
        let context = json!({
            "brand": sender.brand,
            "recipient_name": email.name,
            "title": email.title,
            "body": email.body,
            "link_url": sender.link_url(email.link.as_deref()),
        });
        let message = Email {
            to_name: email.name.clone(),
            to_address: email.address.clone(),
            subject: format!("[{}] {}", sender.brand.name, email.title),
            text: mail::render("email.txt", &context),
            html: mail::render("email.html", &context),
            message_id: format!("{}@{}", email.message_id, batch.domain),
        };
        let outcome = match session.send(&sender.folder, &message).await {
            Ok(()) => Outcome::Sent,
            Err(MailError::Permanent(error)) => Outcome::Failed(error),
            Err(MailError::Transient(error)) => {
                stopped = true;
                Outcome::Retry(error)
            }
        };
        outcomes.push((email.id, outcome));
    }
    outcomes
}

/// Records what became of a batch and frees its emails, in one transaction. A sent
/// email is recorded even if the batch lost its hold (it was sent); anything else only
/// where the batch still holds the email.
async fn record(ctx: &JobContext, outcomes: &[(i64, Outcome)], hold: Uuid) -> Result<(), JobError> {
    let mut ids = Vec::with_capacity(outcomes.len());
    let mut kinds = Vec::with_capacity(outcomes.len());
    let mut errors: Vec<Option<&str>> = Vec::with_capacity(outcomes.len());
    for (id, outcome) in outcomes {
        let (kind, error) = match outcome {
            Outcome::Sent => ("sent", None),
            Outcome::Skipped(error) => ("skipped", Some(error.as_str())),
            Outcome::Failed(error) => ("failed", Some(error.as_str())),
            Outcome::Retry(error) => ("retry", Some(error.as_str())),
            Outcome::Released => ("released", None),
        };
        ids.push(*id);
        kinds.push(kind);
        errors.push(error);
    }
    let tx = ctx.db.begin().await?;
    let now = unit::now(&tx);
    tx.execute(
        "update notification_deliveries d set \
           state = case when o.outcome in ('sent', 'failed', 'skipped') then o.outcome else d.state end, \
           sent_at = case when o.outcome = 'sent' then $4 else d.sent_at end, \
           attempts = d.attempts + case when o.outcome in ('sent', 'failed', 'retry') then 1 else 0 end, \
           last_error = case when o.outcome = 'sent' then null when o.outcome = 'released' then d.last_error else o.error end, \
           held_by = null, held_until = null \
         from unnest($1::int8[], $2::text[], $3::text[]) as o(id, outcome, error) \
         where d.id = o.id and d.state = 'pending' and (o.outcome = 'sent' or d.held_by = $5)",
        &[&ids, &kinds, &errors, &now, &hold],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
