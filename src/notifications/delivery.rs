//! Email and chat: a delivery row per notification and channel, planned in the
//! notifier's transaction from the recipient's preferences (at once, after quiet hours,
//! or held for a digest), and sent by a job. Sending happens between two short
//! transactions (read, then mark sent), so a crash in between sends the same message
//! again with the same `Message-ID`; a server that deduplicates by it shows one.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::email_batch::deliver_email;
use super::mail::{self, Email, MailError};
use super::outlets::{sender, Outlets};
use super::preferences::{self, Resolved};
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
        "link_url": sender.link_url(link.as_deref()),
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
             where d.recipient_id = $1 and d.state = 'digest' and d.digest_at <= $2 order by n.event_id, n.id",
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
    // Groups in the order their first event happened: notifications are made by jobs
    // running side by side, so their own ids need not follow the events'.
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
                    "link_url": contract.and_then(|c| sender.link_url(Some(&format!("/api/v1/contracts/{c}")))),
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
