//! Invoices mailed to their customers. A request writes the email and its job in one
//! transaction (a draft is sent in the same one), so nothing is lost to a crash or to
//! the mail server being down. The job prints the PDF as the invoice stands, mails it
//! through the notifier's mailer (`SMTP_URL`, or the outbox folder) as the tenant's
//! brand, with replies going to whoever asked, and records the outcome address by
//! address: `sent` once it reached any, `failed` when the mail server refused every one
//! for good or the attempts ran out; each refused address is told to the requester, and
//! one refused address does not keep it from the others. A retry goes only to the
//! addresses not yet reached and sends the same Message-ID, so a receiver that keeps
//! one copy per Message-ID sees one message however often a send was cut off.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::*;
use super::{pdf, service};
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::page::{Page, PageRequest};
use crate::kernel::reads::read_as;
use crate::kernel::unit::{ReactionFuture, Reactions, Recorded};
use crate::kernel::validate;
use crate::kernel::{unit, Actor, DomainError, Origin, Principal, Refusal, Role};
use crate::notifications::mail::{self, Delivery, Enclosure, Letter, MailError, Templates};
use crate::notifications::outlets::{tenant_brand, tenant_sender, Outlets};
use crate::tenancy::scoped::{TenantDb, TenantTx};

pub const EMAIL: JobKind = JobKind {
    name: "invoices.email",
    queue: "default",
    priority: 1,
    // With the queue's backoff, about a day of a mail server being down.
    max_attempts: 12,
    timeout: Duration::from_secs(60),
};

/// Emails one invoice may be sent in a day: enough for every real correction, too few
/// for a member to turn the tenant's mail server into a relay.
pub const DAILY_LIMIT: i64 = 10;

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    Templates::new(
        "invoices",
        &[
            ("email.html", include_str!("templates/email.html")),
            ("email.txt", include_str!("templates/email.txt")),
        ],
    )
});

/// Mails an invoice (its creator or a manager): to the given addresses, else the
/// account's email. A draft is sent first. Audited as `email_requested`; the job does
/// the rest.
pub async fn request(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    invoice_id: Uuid,
    input: NewInvoiceEmail,
) -> Result<InvoiceEmailView, DomainError> {
    let to = input
        .to
        .as_deref()
        .map(|to| mail_addresses("to", to))
        .transpose()?;
    if to.as_ref().is_some_and(Vec::is_empty) {
        return Err(DomainError::invalid("to: at least one address"));
    }
    let cc = mail_addresses("cc", &input.cc)?;
    let subject = validate::optional_text("subject", input.subject.as_deref(), 300)?;
    if subject.as_deref().is_some_and(|s| s.contains(['\r', '\n'])) {
        return Err(DomainError::invalid("subject must be one line"));
    }
    let message = input
        .message
        .as_deref()
        .map(|m| validate::body("message", m, 5000))
        .transpose()?
        .filter(|m| !m.is_empty());
    let invoice = service::to_mail(tx, actor, origin, invoice_id).await?;
    let to = match to {
        Some(to) => to,
        None => account_address(tx, invoice.account_id).await?,
    };
    let now = unit::now(tx);
    let recent: i64 = tx
        .query_one(
            "select count(*) from invoice_emails where invoice_id = $1 and created_at > $2",
            &[&invoice.id, &(now - chrono::Duration::days(1))],
        )
        .await
        .map_err(DomainError::database)?
        .get(0);
    if recent >= DAILY_LIMIT {
        return Err(DomainError::refused(
            Refusal::Conflict,
            "too_many_emails",
            format!(
                "invoice {} was emailed {recent} times in the last day",
                invoice.number
            ),
            json!({"limit": DAILY_LIMIT, "window_hours": 24}),
        ));
    }
    let subject = match subject {
        Some(subject) => subject,
        None => {
            let brand = tenant_brand(tx).await?;
            validate::truncate(
                &format!("Invoice {} from {}", invoice.number, brand.name),
                300,
            )
        }
    };
    let email = queue(
        tx,
        actor,
        origin,
        &invoice.number,
        Queued {
            invoice: invoice.id,
            to,
            cc,
            subject,
            message,
            requested_by: actor.user_id(),
        },
    )
    .await?;
    Ok(email)
}

/// An email to write, with its job.
struct Queued {
    invoice: Uuid,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    message: Option<String>,
    /// Whom replies reach and a failure is told to.
    requested_by: Option<Uuid>,
}

/// Writes an email and its job; audited as `email_requested`.
async fn queue(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    number: &str,
    email: Queued,
) -> Result<InvoiceEmailView, DomainError> {
    let row = tx
        .query_one(
            &format!(
                "insert into invoice_emails (invoice_id, recipients, cc, subject, message, requested_by, created_at) \
                 values ($1, $2, $3, $4, $5, $6, $7) returning {EMAIL_COLUMNS}"
            ),
            &[
                &email.invoice,
                &email.to,
                &email.cc,
                &email.subject,
                &email.message,
                &email.requested_by,
                &unit::now(tx),
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let email = InvoiceEmailView::from(&row);
    enqueue(tx, vec![MailInvoice { email_id: email.id }.now()]).await?;
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "email_requested",
            entity: "invoice",
            entity_id: Some(email.invoice_id),
            changes: json!({"number": number, "email_id": email.id, "to": email.to, "cc": email.cc}),
        },
    )
    .await?;
    Ok(email)
}

/// Reminders to the customer, when the tenant wants them: the payment-due reminder, the
/// overdue mark and each step of the dunning schedule mail the invoice again to whoever
/// its last sent email reached (the addresses it was refused for left out).
pub fn react_to(reactions: &mut Reactions) {
    reactions.on("invoice.payment_due", remind_customer);
    reactions.on("invoice.overdue", remind_customer);
    reactions.on("invoice.dunning", remind_customer);
}

fn remind_customer<'a>(
    tx: &'a TenantTx,
    actor: &'a Actor,
    origin: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(invoice) = event.entity_id else {
            return Ok(());
        };
        let wanted: bool = tx
            .query_one("select email_reminders from invoice_settings", &[])
            .await?
            .get(0);
        if !wanted {
            return Ok(());
        }
        let Some(last) = tx
            .query_opt(
                "select e.recipients, e.cc, e.requested_by, i.currency, e.refused \
                 from invoice_emails e join invoices i on i.id = e.invoice_id \
                 where e.invoice_id = $1 and e.status = 'sent' order by e.sent_at desc, e.id desc limit 1",
                &[&invoice],
            )
            .await?
        else {
            return Ok(());
        };
        // Whom the last email reached: an address refused then would be refused again.
        let refused: Vec<String> = last.get(4);
        let reachable = |addresses: Vec<String>| -> Vec<String> {
            addresses
                .into_iter()
                .filter(|a| !refused.contains(a))
                .collect()
        };
        let (mut to, mut cc) = (reachable(last.get(0)), reachable(last.get(1)));
        if to.is_empty() {
            std::mem::swap(&mut to, &mut cc);
        }
        if to.is_empty() {
            return Ok(());
        }
        let text = |key: &str| event.changes[key].as_str().unwrap_or_default().to_owned();
        let currency: String = last.get(3);
        let (number, due) = (text("number"), text("due_date"));
        let balance = format!("{} {currency}", text("balance"));
        let days_overdue = event.changes["days_overdue"].as_i64();
        let (subject, message) = if let (true, Some(days)) =
            (event.event_type == "invoice.dunning", days_overdue)
        {
            (
                format!("Reminder: invoice {number} is {days} days overdue"),
                format!("Invoice {number} was due on {due}, {days} days ago, and {balance} is still open. Please arrange payment, or let us know if it is already on its way."),
            )
        } else if event.event_type == "invoice.overdue" {
            (
                format!("Overdue: invoice {number} was due {due}"),
                format!("Invoice {number} was due on {due} and {balance} is still open. Please arrange payment, or let us know if it is already on its way."),
            )
        } else {
            (
                format!("Reminder: invoice {number} is due {due}"),
                format!(
                    "A friendly reminder that invoice {number}, {balance} in all, is due on {due}."
                ),
            )
        };
        queue(
            tx,
            actor,
            origin,
            &number,
            Queued {
                invoice,
                to,
                cc,
                subject,
                message: Some(message),
                requested_by: last.get(2),
            },
        )
        .await?;
        Ok(())
    })
}

async fn account_address(tx: &TenantTx, account: Uuid) -> Result<Vec<String>, DomainError> {
    let email: Option<String> = tx
        .query_opt(
            "select email from counterparties where id = $1",
            &[&account],
        )
        .await
        .map_err(DomainError::database)?
        .and_then(|row| row.get(0));
    match email {
        Some(email) => mail_addresses("to", &[email]),
        None => Err(DomainError::invalid(
            "to: the invoice's account has no email address; name the recipients",
        )),
    }
}

/// The invoice's emails, newest first.
pub async fn list(
    db: &TenantDb,
    principal: &Principal,
    invoice_id: Uuid,
    page: &PageRequest,
) -> Result<Page<InvoiceEmailView>, DomainError> {
    let (after_at, after_id) = page.after::<(DateTime<Utc>, Uuid)>()?.unzip();
    let sql = format!(
        "select {EMAIL_COLUMNS} from invoice_emails where invoice_id = $1 \
         and (created_at, id) < (coalesce($2::timestamptz, 'infinity'), coalesce($3::uuid, '00000000-0000-0000-0000-000000000000')) \
         order by created_at desc, id desc limit $4"
    );
    let exists = "select 1 from invoices where id = $1";
    let (_, results) = read_as(
        db,
        principal,
        Role::Viewer,
        &[
            (exists, &[&invoice_id]),
            (&sql, &[&invoice_id, &after_at, &after_id, &page.fetch()]),
        ],
    )
    .await?;
    if results[0].is_empty() {
        return Err(DomainError::Missing("invoice"));
    }
    let rows: Vec<InvoiceEmailView> = results[1].iter().map(InvoiceEmailView::from).collect();
    Ok(Page::keyset(rows, page, |email| {
        (email.created_at, email.id)
    }))
}

/// Mails one requested invoice email.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailInvoice {
    pub email_id: Uuid,
}

impl BackgroundJob for MailInvoice {
    const KIND: JobKind = EMAIL;
    type Env = Outlets;

    async fn run(self, ctx: JobContext, outlets: Outlets) -> Result<(), JobError> {
        let tx = ctx.db.begin().await?;
        let Some(queued) = letter(&tx, &outlets, &ctx, self.email_id).await? else {
            return Ok(());
        };
        tx.commit().await?;
        let sent = outlets
            .mailer()
            .send_letter_each(&queued.folder, &queued.letter, &queued.pending)
            .await;
        let last = ctx.job.attempt >= ctx.job.max_attempts;
        let attempt = Attempt::of(sent, &queued, last);
        let tx = ctx.db.begin().await?;
        settle(&tx, &ctx.origin(), self.email_id, &attempt, ctx.clock.now()).await?;
        tx.commit().await?;
        match attempt.retry {
            Some(error) => Err(JobError::Retry(error)),
            None => Ok(()),
        }
    }
}

/// A queued email as its job sends it: the letter (naming every recipient), the outbox
/// folder it goes to, the addresses not yet reached nor refused, and whether an earlier
/// attempt reached any.
struct QueuedLetter {
    folder: String,
    letter: Letter,
    pending: Vec<String>,
    reached_before: bool,
}

/// What one attempt came to.
struct Attempt {
    reached: Vec<String>,
    /// Refused for good (or still failing on the last attempt), with what was said.
    refused: Vec<(String, String)>,
    /// Some address is worth another try: what went wrong.
    retry: Option<String>,
    reached_before: bool,
}

impl Attempt {
    fn of(sent: Result<Delivery, MailError>, queued: &QueuedLetter, last: bool) -> Self {
        let every = |error: String| -> Vec<(String, String)> {
            queued
                .pending
                .iter()
                .map(|a| (a.clone(), error.clone()))
                .collect()
        };
        let delivery = match sent {
            Ok(delivery) => delivery,
            Err(MailError::Permanent(error)) => Delivery {
                refused: every(error),
                ..Delivery::default()
            },
            Err(MailError::Transient(error)) => Delivery {
                deferred: every(error),
                ..Delivery::default()
            },
        };
        let Delivery {
            reached,
            mut refused,
            deferred,
        } = delivery;
        let retry = match deferred.first() {
            Some((_, error)) if !last => Some(error.clone()),
            _ => {
                refused.extend(deferred);
                None
            }
        };
        Self {
            reached,
            refused,
            retry,
            reached_before: queued.reached_before,
        }
    }

    /// `queued` while some address is worth another try, then `sent` when any address
    /// was reached, else `failed`.
    fn status(&self) -> &'static str {
        if self.retry.is_some() {
            "queued"
        } else if self.reached_before || !self.reached.is_empty() {
            "sent"
        } else {
            "failed"
        }
    }

    /// What the mail server said, for `last_error`: the retry's error, or each refusal.
    fn error(&self) -> Option<String> {
        let said = match &self.retry {
            Some(error) => error.clone(),
            None if self.refused.is_empty() => return None,
            None => self
                .refused
                .iter()
                .map(|(address, error)| format!("{address}: {error}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Some(validate::truncate(&said, 1000))
    }
}

/// A queued email as its job sends it; `None` once it is settled.
async fn letter(
    tx: &TenantTx,
    outlets: &Outlets,
    ctx: &JobContext,
    email_id: Uuid,
) -> Result<Option<QueuedLetter>, DomainError> {
    let row = tx
        .query_opt(
            &format!(
                "select {EMAIL_COLUMNS} from invoice_emails where id = $1 and status = 'queued'"
            ),
            &[&email_id],
        )
        .await
        .map_err(DomainError::database)?;
    let Some(email) = row.as_ref().map(InvoiceEmailView::from) else {
        return Ok(None);
    };
    let invoice = service::read(tx, email.invoice_id).await?;
    let requester = match email.requested_by {
        Some(user) => tx
            .query_opt(
                "select display_name, email from users where id = $1 and active",
                &[&user],
            )
            .await
            .map_err(DomainError::database)?
            .map(|row| (row.get::<_, String>(0), row.get::<_, String>(1))),
        None => None,
    };
    let sender = tenant_sender(tx, outlets).await?;
    let context = json!({
        "brand": sender.brand(),
        "message": email.message,
        "number": invoice.number,
        "currency": invoice.currency,
        "total": invoice.total,
        "balance": invoice.balance,
        "paid_in_full": invoice.status == "paid",
        "due_date": invoice.due_date,
        "issue_date": invoice.issue_date,
        "file_name": pdf::file_name(&invoice),
        "reply_to": requester.as_ref().map(|(name, _)| name),
    });
    let (text, html) = (
        TEMPLATES.render("email.txt", &context),
        TEMPLATES.render("email.html", &context),
    );
    let (file_name, bytes) = pdf::in_tx(tx, invoice).await?;
    let mailboxes = |addresses: &[String]| -> Vec<_> {
        addresses
            .iter()
            .filter_map(|a| mail::mailbox(None, a).ok())
            .collect()
    };
    let letter = Letter {
        sender_name: sender.brand().name.clone(),
        reply_to: requester.and_then(|(name, address)| mail::mailbox(Some(&name), &address).ok()),
        to: mailboxes(&email.to),
        cc: mailboxes(&email.cc),
        subject: email.subject,
        text,
        html,
        message_id: format!(
            "invoice-email.{}.{}@{}",
            email.id,
            ctx.job.tenant.0,
            outlets.mailer().domain()
        ),
        enclosures: vec![Enclosure {
            filename: file_name,
            content_type: mail::pdf_type(),
            bytes,
        }],
    };
    // Each address once (one can be in both `to` and `cc`), in the order given.
    let mut seen = std::collections::HashSet::new();
    let pending = email
        .to
        .iter()
        .chain(&email.cc)
        .filter(|a| !email.delivered.contains(a) && !email.refused.contains(a))
        .filter(|a| seen.insert(a.to_lowercase()))
        .cloned()
        .collect();
    Ok(Some(QueuedLetter {
        folder: sender.folder().to_owned(),
        letter,
        pending,
        reached_before: !email.delivered.is_empty(),
    }))
}

/// Records an attempt: the addresses it reached and those refused, and the email `sent`
/// (audited as `email_sent`) once any address is reached and none is left to try again,
/// `failed` when none was. Refused addresses are audited as `email_failed`, which tells
/// the requester, whether or not the others were reached. A retry keeps it queued with
/// the error. Only a queued email changes, so a late second run settles nothing twice.
async fn settle(
    tx: &TenantTx,
    origin: &Origin,
    email_id: Uuid,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let status = attempt.status();
    let refused: Vec<&String> = attempt.refused.iter().map(|(a, _)| a).collect();
    let row = tx
        .query_opt(
            "update invoice_emails e set attempts = attempts + 1, status = $2::text, \
             last_error = coalesce($3, last_error), \
             delivered = e.delivered || $5::text[], refused = e.refused || $6::text[], \
             sent_at = case when $2::text = 'sent' then $4::timestamptz end, \
             failed_at = case when $2::text = 'failed' then $4::timestamptz end \
             from invoices i where e.id = $1 and e.status = 'queued' and i.id = e.invoice_id \
             returning e.invoice_id, i.number, e.recipients, e.cc, e.requested_by, \
                 e.delivered, e.refused, e.last_error",
            &[
                &email_id,
                &status,
                &attempt.error(),
                &now,
                &attempt.reached,
                &refused,
            ],
        )
        .await
        .map_err(DomainError::write)?;
    let Some(row) = row else { return Ok(()) };
    if status == "queued" {
        return Ok(());
    }
    let (invoice, number, requested_by): (Uuid, String, Option<Uuid>) =
        (row.get(0), row.get(1), row.get(4));
    let [to, cc, delivered, refused]: [Vec<String>; 4] =
        [row.get(2), row.get(3), row.get(5), row.get(6)];
    let actor = Actor::system("invoices");
    if status == "sent" {
        audit::record(
            tx,
            &actor,
            origin,
            Entry {
                action: "email_sent",
                entity: "invoice",
                entity_id: Some(invoice),
                changes: json!({
                    "number": number, "email_id": email_id, "to": to, "cc": cc,
                    "requested_by": requested_by, "delivered": delivered, "refused": refused,
                }),
            },
        )
        .await?;
    }
    if refused.is_empty() {
        return Ok(());
    }
    // What the server said to this attempt's first refusal, else to an earlier one.
    let error = match attempt.refused.first() {
        Some((_, error)) => Some(validate::truncate(error, 1000)),
        None => row.get::<_, Option<String>>(7),
    };
    audit::record(
        tx,
        &actor,
        origin,
        Entry {
            action: "email_failed",
            entity: "invoice",
            entity_id: Some(invoice),
            changes: json!({
                "number": number, "email_id": email_id, "to": refused,
                "requested_by": requested_by, "error": error,
                "reached": delivered,
            }),
        },
    )
    .await
}
