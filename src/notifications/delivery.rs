//! Email and chat: a delivery row per notification and channel, planned in the
//! notifier's transaction from the recipient's preferences (at once, after quiet hours,
//! or held for a digest), and sent by a job. Sending happens between two short
//! transactions (read, then mark sent), so a crash in between sends the same message
//! again with the same `Message-ID`; a server that deduplicates by it shows one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::mail::{self, Brand, Email, MailError, Mailer};
use super::preferences::{self, Resolved, TenantDefaults};
use crate::kernel::destination;
use crate::kernel::jobs::{enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::{unit, DomainError};
use crate::tenancy::scoped::TenantTx;

pub const DELIVER: JobKind = JobKind {
    name: "notifications.deliver",
    queue: "default",
    priority: 2,
    max_attempts: 12,
    timeout: Duration::from_secs(60),
};

pub const DIGEST: JobKind = JobKind {
    name: "notifications.digest",
    queue: "default",
    priority: 2,
    max_attempts: 12,
    timeout: Duration::from_secs(120),
};

/// Sending one pending delivery (an email, in a batch with the tenant's other due
/// ones, or a chat message).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deliver {
    pub delivery_id: i64,
}

impl BackgroundJob for Deliver {
    const KIND: JobKind = DELIVER;
    type Env = Outlets;

    async fn run(self, ctx: JobContext, outlets: Outlets) -> Result<(), JobError> {
        deliver(ctx, outlets, self.delivery_id).await
    }
}

/// Sending a user's digest for the window that ends at `window`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Digest {
    pub recipient_id: Uuid,
    pub window: DateTime<Utc>,
}

impl BackgroundJob for Digest {
    const KIND: JobKind = DIGEST;
    type Env = Outlets;

    async fn run(self, ctx: JobContext, outlets: Outlets) -> Result<(), JobError> {
        digest(ctx, outlets, self.recipient_id, self.window).await
    }
}

/// Where notifications leave the server: the mailer, the chat client, and how links in
/// them are made. Cheap to clone.
#[derive(Clone)]
pub struct Outlets(Arc<OutletsInner>);

struct OutletsInner {
    mailer: Mailer,
    chat: reqwest::Client,
    allow_internal: bool,
    link_scheme: &'static str,
    link_port: Option<u16>,
}

impl Outlets {
    pub fn new(
        mailer: Mailer,
        allow_internal: bool,
        link_scheme: &'static str,
        link_port: Option<u16>,
    ) -> anyhow::Result<Self> {
        let chat = destination::client(
            allow_internal,
            concat!("Pactum-Notifications/", env!("CARGO_PKG_VERSION")),
            Duration::from_secs(5),
        )?;
        Ok(Self(Arc::new(OutletsInner {
            mailer,
            chat,
            allow_internal,
            link_scheme,
            link_port,
        })))
    }

    pub fn allows_internal(&self) -> bool {
        self.0.allow_internal
    }

    pub fn mailer(&self) -> &Mailer {
        &self.0.mailer
    }
}

/// A notification just made, as delivery planning needs it.
pub struct Made {
    pub id: i64,
    pub recipient: Uuid,
    pub kind: String,
}

/// Plans the email and chat deliveries of `made` and enqueues their jobs, in the
/// notifier's transaction.
pub async fn plan(
    tx: &TenantTx,
    made: &[Made],
    preferences: &BTreeMap<Uuid, Resolved>,
) -> Result<(), DomainError> {
    let now = unit::now(tx);
    let tenant = tx.tenant_id().0;
    let (
        mut ids,
        mut recipients,
        mut channels,
        mut states,
        mut send_afters,
        mut digest_ats,
        mut message_ids,
    ) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for notification in made {
        let Some(resolved) = preferences.get(&notification.recipient) else {
            continue;
        };
        for channel in ["email", "chat"] {
            if !resolved.wants(channel, &notification.kind) {
                continue;
            }
            let (state, send_after, digest_at) =
                match resolved.schedule(channel, &notification.kind, now) {
                    Ok(at) => ("pending", at, None),
                    Err(window) => ("digest", window, Some(window)),
                };
            ids.push(notification.id);
            recipients.push(notification.recipient);
            channels.push(channel);
            states.push(state);
            send_afters.push(send_after);
            digest_ats.push(digest_at);
            message_ids.push(format!("n{}.{channel}.{tenant}", notification.id));
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    let rows = tx
        .query(
            "insert into notification_deliveries (notification_id, recipient_id, channel, state, send_after, digest_at, message_id) \
             select * from unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[]) \
             on conflict (notification_id, channel) do nothing \
             returning id, recipient_id, state, send_after",
            &[&ids, &recipients, &channels, &states, &send_afters, &digest_ats, &message_ids],
        )
        .await?;
    let jobs = rows
        .iter()
        .map(|row| {
            let (id, recipient, state, at): (i64, Uuid, &str, DateTime<Utc>) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            if state == "digest" {
                Digest {
                    recipient_id: recipient,
                    window: at,
                }
                .at(at)
                .unique(format!("digest:{recipient}:{}", at.timestamp()))
            } else {
                Deliver { delivery_id: id }
                    .at(at)
                    .unique(format!("delivery:{id}"))
            }
        })
        .collect();
    enqueue(tx, jobs).await?;
    Ok(())
}

/// The tenant's name, brand and the base of links in its messages.
struct Sender {
    brand: Brand,
    base_url: Option<String>,
    folder: String,
}

async fn sender(
    tx: &TenantTx,
    outlets: &Outlets,
    defaults: TenantDefaults,
) -> Result<Sender, DomainError> {
    let row = tx
        .query_one(
            "select t.name, t.slug, d.host from public.tenants t \
             left join public.domains d on d.tenant_id = t.id and d.is_primary where t.id = $1",
            &[&tx.tenant_id().0],
        )
        .await?;
    let (name, slug, host): (String, String, Option<String>) = (row.get(0), row.get(1), row.get(2));
    Ok(Sender {
        brand: Brand {
            name: defaults.brand_name.unwrap_or(name),
            color: defaults.brand_color.unwrap_or_else(|| "#1f4e79".into()),
        },
        base_url: host.map(|host| match outlets.0.link_port {
            Some(port) => format!("{}://{host}:{port}", outlets.0.link_scheme),
            None => format!("{}://{host}", outlets.0.link_scheme),
        }),
        folder: slug,
    })
}

fn link_url(sender: &Sender, link: Option<&str>) -> Option<String> {
    Some(format!("{}{}", sender.base_url.as_deref()?, link?))
}

/// Records what sending deliveries `ids` came to, and what that means for the job: a
/// permanent failure cancels it, a transient one retries it (or, on its last attempt,
/// fails the deliveries for good).
async fn mark(ctx: &JobContext, ids: &[i64], sent: Result<(), MailError>) -> Result<(), JobError> {
    let (outcome, permanent) = match sent {
        Ok(()) => (Ok(()), false),
        Err(MailError::Permanent(error)) => (Err(error), true),
        Err(MailError::Transient(error)) => (Err(error), false),
    };
    let tx = ctx.db.begin().await?;
    let now = unit::now(&tx);
    let last = ctx.job.attempt >= ctx.job.max_attempts;
    match &outcome {
        Ok(()) => {
            tx.execute(
                "update notification_deliveries set state = 'sent', sent_at = $2, attempts = attempts + 1, last_error = null \
                 where id = any($1) and state in ('pending', 'digest')",
                &[&ids, &now],
            )
            .await?;
        }
        Err(error) => {
            let state = if permanent || last {
                "failed"
            } else {
                "pending"
            };
            tx.execute(
                "update notification_deliveries set attempts = attempts + 1, last_error = $2, \
                 state = case when $3 = 'failed' then 'failed' else state end \
                 where id = any($1) and state in ('pending', 'digest')",
                &[&ids, &error, &state],
            )
            .await?;
        }
    }
    tx.commit().await?;
    match outcome {
        Ok(()) => Ok(()),
        Err(error) if permanent => Err(JobError::Cancel(error)),
        Err(error) => Err(JobError::Retry(error)),
    }
}

/// Emails one delivery job sends over one connection at most.
const MAIL_BATCH: i64 = 50;
/// How long a delivery job waits for another job's batch to send its email before it
/// tries again later.
const WAIT_FOR_BATCH: Duration = Duration::from_secs(15);

/// How long a batch holds its emails: beyond the job's own timeout, so a batch still
/// sending can never lose an email to a second one.
fn mail_hold() -> chrono::Duration {
    chrono::Duration::from_std(DELIVER.timeout).expect("a short timeout")
        + chrono::Duration::seconds(30)
}

/// Sends one pending delivery: a chat message on its own, an email in a batch with
/// every other due email of the tenant that no live batch holds.
async fn deliver(ctx: JobContext, outlets: Outlets, id: i64) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    let row = tx
        .query_opt(
            "select state, channel from notification_deliveries where id = $1",
            &[&id],
        )
        .await?;
    tx.commit().await?;
    match row
        .as_ref()
        .map(|row| (row.get::<_, &str>(0), row.get::<_, &str>(1)))
    {
        Some(("pending", "chat")) => deliver_chat(&ctx, &outlets, id).await,
        Some(("pending", _)) => deliver_email(&ctx, &outlets, id).await,
        _ => Ok(()),
    }
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
async fn deliver_email(ctx: &JobContext, outlets: &Outlets, own: i64) -> Result<(), JobError> {
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
    let until = now + mail_hold();
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
            // The ids as an array, not `in (select ... limit)`: see `jobs::runner::CLAIM_SQL`.
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
            "link_url": link_url(sender, email.link.as_deref()),
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

/// Sends one chat message.
async fn deliver_chat(ctx: &JobContext, outlets: &Outlets, id: i64) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    let Some(row) = tx
        .query_opt(
            "select d.state, d.message_id, n.title, n.body, n.link, u.active, s.chat_webhook_url \
             from notification_deliveries d join notifications n on n.id = d.notification_id \
             join users u on u.id = d.recipient_id left join notification_settings s on s.user_id = d.recipient_id \
             where d.id = $1",
            &[&id],
        )
        .await?
    else {
        return Ok(());
    };
    let (state, message_id): (String, String) = (row.get(0), row.get(1));
    if state != "pending" {
        return Ok(());
    }
    let (title, body, link): (String, String, Option<String>) =
        (row.get(2), row.get(3), row.get(4));
    let (active, chat_url): (bool, Option<String>) = (row.get(5), row.get(6));
    let sender = sender(&tx, outlets, preferences::defaults(&tx).await?).await?;
    tx.commit().await?;
    if !active {
        skip(ctx, id, "the recipient was deactivated").await?;
        return Ok(());
    }
    let Some(url) = chat_url else {
        skip(ctx, id, "the recipient removed their chat webhook").await?;
        return Ok(());
    };
    let context = json!({
        "brand": sender.brand,
        "title": mail::slack_escape(&title),
        "body": mail::slack_escape(&body),
        "link_url": link_url(&sender, link.as_deref()),
    });
    let sent = post_chat(
        outlets,
        &url,
        &message_id,
        mail::render("chat.txt", &context),
    )
    .await;
    mark(ctx, &[id], sent).await
}

async fn skip(ctx: &JobContext, id: i64, why: &str) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    tx.execute(
        "update notification_deliveries set state = 'skipped', last_error = $2 where id = $1 and state = 'pending'",
        &[&id, &why],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A Slack-compatible incoming webhook: `{"text": ...}`.
async fn post_chat(
    outlets: &Outlets,
    url: &str,
    message_id: &str,
    text: String,
) -> Result<(), MailError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| MailError::Permanent(e.to_string()))?;
    destination::check_literal(&parsed, outlets.0.allow_internal)
        .map_err(|why| MailError::Permanent(why.to_string()))?;
    let sent = outlets
        .0
        .chat
        .post(parsed)
        .header("idempotency-key", message_id)
        .json(&json!({"text": text}))
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) if response.status().is_client_error() && response.status() != 429 => Err(
            MailError::Permanent(format!("the chat webhook answered {}", response.status())),
        ),
        Ok(response) => Err(MailError::Transient(format!(
            "the chat webhook answered {}",
            response.status()
        ))),
        Err(error) => match destination::refusal_in(&error) {
            Some(why) => Err(MailError::Permanent(why)),
            None => Err(MailError::Transient(error.to_string())),
        },
    }
}

/// Sends a user's digest: every email held for a window that has ended, one message,
/// grouped by contract.
async fn digest(
    ctx: JobContext,
    outlets: Outlets,
    recipient: Uuid,
    window: DateTime<Utc>,
) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    let rows = tx
        .query(
            "select d.id, n.title, n.created_at, n.link, coalesce(n.metadata ->> 'contract_id', '') \
             from notification_deliveries d join notifications n on n.id = d.notification_id \
             where d.recipient_id = $1 and d.state = 'digest' and d.digest_at <= $2 order by n.id",
            &[&recipient, &window],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let Some(user) = tx
        .query_opt(
            "select email, display_name, active from users where id = $1",
            &[&recipient],
        )
        .await?
    else {
        return Ok(());
    };
    let (address, name, active): (String, String, bool) = (user.get(0), user.get(1), user.get(2));
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let Some(resolved) = preferences::resolve_many(&tx, &[recipient])
        .await?
        .remove(&recipient)
    else {
        return Ok(());
    };
    let zone = resolved.zone();
    let contract_ids: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.get::<_, &str>(4).parse().ok())
        .collect();
    let titles: BTreeMap<Uuid, String> = tx
        .query(
            "select id, title from contracts where id = any($1)",
            &[&contract_ids],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let sender = sender(&tx, &outlets, resolved.defaults).await?;
    tx.commit().await?;
    if !active {
        return mark(
            &ctx,
            &ids,
            Err(MailError::Permanent("the recipient was deactivated".into())),
        )
        .await;
    }
    // Groups in the order their first item arrived.
    let mut groups: Vec<(String, Value)> = Vec::new();
    for row in &rows {
        let contract: Option<Uuid> = row.get::<_, &str>(4).parse().ok();
        let key = contract.map_or_else(String::new, |c| c.to_string());
        let at: DateTime<Utc> = row.get(2);
        let item = json!({"title": row.get::<_, String>(1), "at": at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string()});
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group["items"].as_array_mut().expect("items").push(item),
            None => groups.push((
                key,
                json!({
                    "title": contract.and_then(|c| titles.get(&c).cloned()).unwrap_or_else(|| "Other updates".into()),
                    "link_url": contract.and_then(|c| link_url(&sender, Some(&format!("/api/v1/contracts/{c}")))),
                    "items": [item],
                }),
            )),
        }
    }
    let count = rows.len();
    let context = json!({
        "brand": sender.brand,
        "recipient_name": name,
        "count": count,
        "groups": groups.into_iter().map(|(_, g)| g).collect::<Vec<_>>(),
    });
    let email = Email {
        to_name: name,
        to_address: address,
        subject: format!(
            "[{}] Your digest: {count} update{}",
            sender.brand.name,
            if count == 1 { "" } else { "s" }
        ),
        text: mail::render("digest.txt", &context),
        html: mail::render("digest.html", &context),
        message_id: format!(
            "digest.{recipient}.{}.{}@{}",
            window.timestamp(),
            ctx.job.tenant.0,
            outlets.mailer().domain()
        ),
    };
    let sent = outlets.mailer().send(&sender.folder, &email).await;
    mark(&ctx, &ids, sent).await
}
