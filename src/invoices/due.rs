//! An invoice's due date as timers: when it is sent, a reminder waits for the tenant's
//! `reminder_days` before the due date (09:00), the overdue mark for the start of the
//! day after it, and a dunning reminder for each of its `dunning_days` after it
//! (09:00), all in the tenant's time zone (its notification default, else its business
//! calendar's, else UTC). Each job carries the due date it was made for and checks it
//! when it fires, so an invoice paid, voided or given another date meanwhile turns it
//! into a no-op; a job that fires early (a clock ahead of ours) waits again. A change
//! of the tenant's `reminder_days`, `dunning_days` or zone works out the timers of
//! every invoice still unpaid again ([`InvoiceTimers`]), those whose time has passed
//! left out; a due date is reminded of once before it and once at each step after it,
//! however the timers moved.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::walk::Walk;
use crate::kernel::jobs::{
    cancel_pending, cancel_pending_any, enqueue, BackgroundJob, JobContext, JobError, JobKind,
};
use crate::kernel::{unit, Actor, DomainError};
use crate::notifications::reminders::{at_local_morning, zone_and_defaults};
use crate::tenancy::scoped::TenantTx;

pub const DUE: JobKind = JobKind {
    name: "invoices.due",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

/// `reminder`, `overdue` or `dunning`, for the invoice's due date as it was when
/// scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoiceDue {
    pub invoice_id: Uuid,
    pub kind: String,
    pub due_date: NaiveDate,
    /// The step of the dunning schedule a `dunning` timer is for: days after the due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_overdue: Option<i32>,
    /// When it was scheduled for (the tenant's zone applied); absent in timers made
    /// before it was recorded, which count in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl BackgroundJob for InvoiceDue {
    const KIND: JobKind = DUE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let fire_at = match self.kind.as_str() {
            "overdue" => self.at.or_else(|| overdue_at(Tz::UTC, self.due_date)),
            "dunning" => self.at,
            _ => None,
        };
        let now = ctx.clock.now();
        if let Some(at) = fire_at.filter(|at| now < *at) {
            let wait = (at - now).to_std().unwrap_or_default();
            return Err(JobError::RetryIn(wait, format!("not overdue until {at}")));
        }
        let tx = ctx.db.begin().await?;
        fire(&tx, &ctx.origin(), &self, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The start of the day after the due date in `zone` (its first instant, should
/// midnight fall in a gap).
pub fn overdue_at(zone: Tz, due: NaiveDate) -> Option<DateTime<Utc>> {
    let day = due.succ_opt()?.and_time(NaiveTime::MIN);
    Some(
        zone.from_local_datetime(&day)
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&(day + chrono::Duration::hours(1)))
                    .earliest()
            })
            .map_or_else(|| day.and_utc(), |at| at.with_timezone(&Utc)),
    )
}

fn key_prefix(invoice: Uuid) -> String {
    format!("invoice:{invoice}:")
}

/// Cancels an invoice's waiting timers.
pub async fn cancel(tx: &TenantTx, invoice: Uuid) -> Result<(), DomainError> {
    cancel_pending(tx, DUE, &key_prefix(invoice)).await?;
    Ok(())
}

/// Schedules the reminder (unless its time has passed or the tenant wants none), the
/// overdue mark and the dunning steps still to come of a sent invoice.
pub async fn schedule(
    tx: &TenantTx,
    invoice: Uuid,
    due: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    schedule_many(tx, &[(invoice, due, false)], now).await
}

/// [`schedule`] for each of `invoices` (id, due date, whether marked overdue already):
/// a few statements however many.
async fn schedule_many(
    tx: &TenantTx,
    invoices: &[(Uuid, NaiveDate, bool)],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if invoices.is_empty() {
        return Ok(());
    }
    let prefixes: Vec<String> = invoices.iter().map(|(id, ..)| key_prefix(*id)).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    cancel_pending_any(tx, DUE, &prefixes).await?;
    let settings = tx
        .query_one(
            "select reminder_days, dunning_days from invoice_settings",
            &[],
        )
        .await
        .map_err(DomainError::database)?;
    let (days, dunning_days): (i32, Vec<i32>) = (settings.get(0), settings.get(1));
    let (zone, _) = zone_and_defaults(tx).await?;
    let mut jobs = Vec::new();
    for &(invoice, due, marked_overdue) in invoices {
        let remind_at = at_local_morning(zone, due - chrono::Duration::days(i64::from(days)));
        if days > 0 && remind_at > now {
            jobs.push(timer(invoice, "reminder", due, None, remind_at));
        }
        if let Some(at) = overdue_at(zone, due).filter(|_| !marked_overdue) {
            jobs.push(timer(invoice, "overdue", due, None, at));
        }
        for &step in &dunning_days {
            let dun_at = at_local_morning(zone, due + chrono::Duration::days(i64::from(step)));
            if dun_at > now {
                jobs.push(timer(invoice, "dunning", due, Some(step), dun_at));
            }
        }
    }
    enqueue(tx, jobs).await?;
    Ok(())
}

/// Statuses of an invoice whose timers may still be waiting: sent and unpaid (an
/// overdue one waits for its dunning steps).
const WAITING: &[&str] = &["sent", "partly_paid", "overdue"];

/// The tenant's sent invoices, whose timers follow its `reminder_days` and
/// `dunning_days` for invoices and its time zone (its own, else its business
/// calendar's): a change of any works out the timers of every invoice still unpaid
/// again, in the background.
pub struct InvoiceTimers;

impl Walk for InvoiceTimers {
    const KIND: JobKind = JobKind {
        name: "invoices.due_rescheduled",
        queue: "default",
        priority: 1,
        max_attempts: 10,
        timeout: Duration::from_secs(60),
    };

    const SETTINGS: &'static [(&'static str, &'static [&'static str])] = &[
        (
            "invoice_settings.updated",
            &["reminder_days", "dunning_days"],
        ),
        ("notification_defaults.updated", &["time_zone"]),
        ("business_calendar.updated", &["timezone"]),
    ];

    const IDS_SQL: &'static str =
        "select id from invoices where status = any($1) and id > $2 order by id limit $3";
    const STATUSES: &'static [&'static str] = WAITING;

    async fn redo(tx: &TenantTx, ids: &[Uuid]) -> Result<(), DomainError> {
        let waiting: Vec<&str> = WAITING.to_vec();
        let invoices: Vec<(Uuid, NaiveDate, bool)> = tx
            .query(
                "select id, due_date, status = 'overdue' from invoices \
                 where id = any($1) and status = any($2)",
                &[&ids, &waiting],
            )
            .await?
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect();
        schedule_many(tx, &invoices, unit::now(tx)).await
    }
}

fn timer(
    invoice: Uuid,
    kind: &str,
    due: NaiveDate,
    days_overdue: Option<i32>,
    at: DateTime<Utc>,
) -> crate::kernel::jobs::NewJob {
    let key = match days_overdue {
        Some(days) => format!("{}{kind}:{days}", key_prefix(invoice)),
        None => format!("{}{kind}", key_prefix(invoice)),
    };
    InvoiceDue {
        invoice_id: invoice,
        kind: kind.to_owned(),
        due_date: due,
        days_overdue,
        at: Some(at),
    }
    .at(at)
    .unique(key)
}

/// A timer's time has come: if the invoice is still unpaid with that due date, record
/// the reminder (`invoice.payment_due`), mark it overdue (`invoice.overdue`) or record
/// the dunning step (`invoice.dunning`).
async fn fire(
    tx: &TenantTx,
    origin: &crate::kernel::Origin,
    job: &InvoiceDue,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    // Whether the customer was already reminded of this due date (at this step): a
    // reminder moved by new settings after its first time came must not remind again.
    let (reminder, step) = match job.kind.as_str() {
        "dunning" => ("dunning", job.days_overdue.map(|d| d.to_string())),
        _ => ("payment_due", None),
    };
    let row = tx
        .query_opt(
            "select status, due_date, number, (total - paid)::text, \
                    exists (select 1 from audit_logs where entity = 'invoice' and entity_id = $1 \
                            and action = $3 and changes ->> 'due_date' = $2 \
                            and coalesce(changes ->> 'days_overdue', '') = coalesce($4, '')) \
             from invoices where id = $1 for update",
            &[&job.invoice_id, &job.due_date.to_string(), &reminder, &step],
        )
        .await
        .map_err(DomainError::database)?;
    let Some(row) = row else { return Ok(()) };
    let (status, due, number, balance): (String, NaiveDate, String, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let unpaid = matches!(status.as_str(), "sent" | "partly_paid" | "overdue");
    let reminded: bool = row.get(4);
    if !unpaid || due != job.due_date || (job.kind != "overdue" && reminded) {
        return Ok(());
    }
    let mut changes = json!({"number": number, "due_date": due, "balance": balance});
    let action = if job.kind == "dunning" {
        let Some(days) = job.days_overdue else {
            return Ok(());
        };
        changes["days_overdue"] = json!(days);
        "dunning"
    } else if job.kind == "overdue" {
        if status == "overdue" {
            return Ok(());
        }
        tx.execute(
            "update invoices set status = 'overdue', updated_at = $2 where id = $1",
            &[&job.invoice_id, &now],
        )
        .await
        .map_err(DomainError::write)?;
        "overdue"
    } else {
        "payment_due"
    };
    audit::record(
        tx,
        &Actor::system("invoices"),
        origin,
        Entry {
            action,
            entity: "invoice",
            entity_id: Some(job.invoice_id),
            changes,
        },
    )
    .await
}
