//! Contract reminders as timers: when a contract gets or changes its end date, notice
//! period or status, its pending reminders are cancelled and the ones that now apply are
//! scheduled (N days before the end, for each N of the tenant's `reminder_days`; the
//! tenant's lead before the renewal-notice date), at 09:00 in the tenant's time zone.
//! No scan of every tenant's contracts: a reminder is a job that waits for its time.
//! When it fires it checks again that it still applies, then records an event
//! (`contract.expiring`, `contract.renewal_notice_due`) that the notifier turns into
//! notifications. When a setting they are worked out with changes, a job walks
//! the tenant's running contracts and works theirs out again ([`ContractReminders`]).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::preferences::{self, TenantDefaults};
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::walk::{self, Walk};
use crate::kernel::jobs::{
    cancel_pending_any, enqueue, BackgroundJob, JobContext, JobError, JobKind,
};
use crate::kernel::unit::{self, ReactionFuture, Reactions, Recorded};
use crate::kernel::{Actor, DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

pub const REMIND: JobKind = JobKind {
    name: "notifications.contract_reminder",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

/// One reminder of a contract's date, as scheduled: when it fires it checks that it
/// still applies (the dates may have moved since).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Remind {
    pub contract_id: Uuid,
    pub kind: String,
    pub days_before: i32,
    pub date: NaiveDate,
}

impl BackgroundJob for Remind {
    const KIND: JobKind = REMIND;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        remind(ctx, self).await
    }
}

/// Reminders go out at this local time.
const REMIND_AT: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(time) => time,
    None => panic!("a valid time"),
};

/// Statuses whose contracts are over: nothing to remind of.
const ENDED: &[&str] = &["expired", "terminated", "rejected"];

/// The dates of a contract that reminders depend on.
#[derive(Debug, Clone)]
pub struct Dates {
    pub status: String,
    pub end_date: Option<NaiveDate>,
    pub renewal_notice_days: Option<i32>,
}

/// One reminder that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// `expiring` or `renewal_notice`.
    pub kind: &'static str,
    pub days_before: i32,
    /// The date reminded of: the end date, or the renewal-notice date.
    pub date: NaiveDate,
    pub fire_at: DateTime<Utc>,
}

impl Reminder {
    fn key(&self, contract: Uuid) -> String {
        format!("{}{}:{}", key_prefix(contract), self.kind, self.days_before)
    }
}

fn key_prefix(contract: Uuid) -> String {
    format!("reminder:{contract}:")
}

/// 09:00 on `date` in `zone`, when reminders go out.
pub fn at_local_morning(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    zone.from_local_datetime(&date.and_time(REMIND_AT))
        .earliest()
        .map_or_else(
            || Utc.from_utc_datetime(&date.and_time(REMIND_AT)),
            |t| t.with_timezone(&Utc),
        )
}

/// The reminders of a contract still ahead of `now`.
pub fn due(
    dates: &Dates,
    defaults: &TenantDefaults,
    zone: Tz,
    now: DateTime<Utc>,
) -> Vec<Reminder> {
    let mut reminders = all(dates, defaults, zone);
    reminders.retain(|r| r.fire_at > now);
    reminders
}

/// Every reminder of a contract, past ones too.
fn all(dates: &Dates, defaults: &TenantDefaults, zone: Tz) -> Vec<Reminder> {
    let Some(end) = dates.end_date else {
        return Vec::new();
    };
    if ENDED.contains(&dates.status.as_str()) {
        return Vec::new();
    }
    let mut reminders = Vec::new();
    for days in &defaults.reminder_days {
        let fire = end - chrono::Duration::days(i64::from(*days));
        reminders.push(Reminder {
            kind: "expiring",
            days_before: *days,
            date: end,
            fire_at: at_local_morning(zone, fire),
        });
    }
    if let Some(notice) = dates.renewal_notice_days {
        let notice_date = end - chrono::Duration::days(i64::from(notice));
        let lead = defaults.renewal_notice_lead_days;
        reminders.push(Reminder {
            kind: "renewal_notice",
            days_before: lead,
            date: notice_date,
            fire_at: at_local_morning(zone, notice_date - chrono::Duration::days(i64::from(lead))),
        });
    }
    reminders
}

/// The tenant's contracts, whose reminders follow its reminder days, its lead before a
/// renewal-notice date and its time zone: a change of any of them works out the
/// reminders of every running contract again, in the background
/// ([`Walking<ContractReminders>`](crate::kernel::jobs::Walking)).
pub struct ContractReminders;

impl Walk for ContractReminders {
    const KIND: JobKind = JobKind {
        name: "notifications.reminders_rescheduled",
        queue: "default",
        priority: 1,
        max_attempts: 10,
        timeout: Duration::from_secs(60),
    };

    /// The tenant's defaults, and the business calendar's zone (which reminders follow
    /// when the defaults name none; its hours and holidays move none).
    const SETTINGS: &'static [(&'static str, &'static [&'static str])] = &[
        (
            "notification_defaults.updated",
            &["reminder_days", "renewal_notice_lead_days", "time_zone"],
        ),
        ("business_calendar.updated", &["timezone"]),
    ];

    const IDS_SQL: &'static str = "select id from contracts \
         where end_date is not null and status <> all($1) \
         and id > $2 order by id limit $3";
    const STATUSES: &'static [&'static str] = ENDED;

    async fn redo(tx: &TenantTx, ids: &[Uuid]) -> Result<(), DomainError> {
        reschedule_many(tx, ids).await
    }
}

/// Event types after which a contract's reminders are worked out again.
const EVENT_TYPES: &[&str] = &[
    "contract.created",
    "contract.updated",
    "contract.status_changed",
    "contract.deleted",
];

pub fn react_to(reactions: &mut Reactions) {
    for event_type in EVENT_TYPES {
        reactions.on(event_type, reschedule_on);
    }
    walk::react_to::<ContractReminders>(reactions);
}

fn reschedule_on<'a>(
    tx: &'a TenantTx,
    _: &'a Actor,
    _: &'a Origin,
    event: &'a Recorded<'a>,
) -> ReactionFuture<'a> {
    Box::pin(async move {
        let Some(contract) = event.entity_id else {
            return Ok(());
        };
        let relevant = match event.event_type {
            "contract.updated" => ["end_date", "renewal_notice_days"]
                .iter()
                .any(|field| event.changes.get(*field).is_some()),
            "contract.created" => !event.changes["end_date"].is_null(),
            _ => true,
        };
        if relevant {
            reschedule_many(tx, &[contract]).await?;
        }
        Ok(())
    })
}

/// The tenant's time zone (its own, else its business calendar's, else UTC) and its
/// notification defaults.
pub async fn zone_and_defaults(tx: &TenantTx) -> Result<(Tz, TenantDefaults), DomainError> {
    let defaults = preferences::defaults(tx).await?;
    let zone = match &defaults.time_zone {
        Some(zone) => Some(zone.clone()),
        None => tx
            .query_opt("select timezone from business_calendar", &[])
            .await?
            .map(|row| row.get(0)),
    };
    let zone = zone.and_then(|z| Tz::from_str(&z).ok()).unwrap_or(Tz::UTC);
    Ok((zone, defaults))
}

/// Cancels the pending reminders of `contracts` and schedules those that apply now: a
/// few statements, however many contracts.
async fn reschedule_many(tx: &TenantTx, contracts: &[Uuid]) -> Result<(), DomainError> {
    if contracts.is_empty() {
        return Ok(());
    }
    let prefixes: Vec<String> = contracts.iter().map(|c| key_prefix(*c)).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    cancel_pending_any(tx, REMIND, &prefixes).await?;
    let (zone, defaults) = zone_and_defaults(tx).await?;
    let now = unit::now(tx);
    let rows = tx
        .query(
            "select id, status, end_date, renewal_notice_days from contracts where id = any($1)",
            &[&contracts],
        )
        .await?;
    let mut jobs = Vec::new();
    for row in rows {
        let contract: Uuid = row.get(0);
        let dates = Dates {
            status: row.get(1),
            end_date: row.get(2),
            renewal_notice_days: row.get(3),
        };
        for r in due(&dates, &defaults, zone, now) {
            jobs.push(
                Remind {
                    contract_id: contract,
                    kind: r.kind.to_owned(),
                    days_before: r.days_before,
                    date: r.date,
                }
                .at(r.fire_at)
                .unique(r.key(contract)),
            );
        }
    }
    enqueue(tx, jobs).await?;
    Ok(())
}

async fn dates_of(tx: &TenantTx, contract: Uuid) -> Result<Option<(Dates, String)>, DomainError> {
    Ok(tx
        .query_opt(
            "select status, end_date, renewal_notice_days, title from contracts where id = $1",
            &[&contract],
        )
        .await?
        .map(|row| {
            (
                Dates {
                    status: row.get(0),
                    end_date: row.get(1),
                    renewal_notice_days: row.get(2),
                },
                row.get(3),
            )
        }))
}

/// A reminder's time has come: if it still applies, record the event.
async fn remind(ctx: JobContext, job: Remind) -> Result<(), JobError> {
    let Remind {
        contract_id: contract,
        kind,
        days_before,
        date,
    } = job;
    let kind = kind.as_str();
    let days_before = i64::from(days_before);
    let tx = ctx.db.begin().await?;
    let Some((dates, title)) = dates_of(&tx, contract).await? else {
        return Ok(());
    };
    let (zone, defaults) = zone_and_defaults(&tx).await?;
    // Still one of the contract's reminders (its dates may have moved since).
    let still = all(&dates, &defaults, zone)
        .into_iter()
        .any(|r| r.kind == kind && i64::from(r.days_before) == days_before && r.date == date);
    if !still {
        return Ok(());
    }
    let (action, changes) = if kind == "expiring" {
        (
            "expiring",
            json!({"title": title, "days_before": days_before, "end_date": date}),
        )
    } else {
        (
            "renewal_notice_due",
            json!({"title": title, "days_before": days_before, "notice_date": date, "end_date": dates.end_date}),
        )
    };
    audit::record(
        &tx,
        &Actor::system("reminders"),
        &ctx.origin(),
        Entry {
            action,
            entity: "contract",
            entity_id: Some(contract),
            changes,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn dates(status: &str, end: Option<&str>, notice: Option<i32>) -> Dates {
        Dates {
            status: status.into(),
            end_date: end.map(date),
            renewal_notice_days: notice,
        }
    }

    #[test]
    fn an_end_date_gives_one_reminder_per_configured_day_count_at_nine_local() {
        let reminders = due(
            &dates("executed", Some("2027-06-30"), None),
            &TenantDefaults::default(),
            Tz::Europe__Paris,
            at("2026-12-01T00:00:00Z"),
        );
        let fire: Vec<_> = reminders
            .iter()
            .map(|r| (r.days_before, r.fire_at))
            .collect();
        // Paris is UTC+2 in summer: 09:00 local is 07:00 UTC.
        assert_eq!(
            fire,
            vec![
                (90, at("2027-04-01T07:00:00Z")),
                (60, at("2027-05-01T07:00:00Z")),
                (30, at("2027-05-31T07:00:00Z")),
            ]
        );
    }

    #[test]
    fn the_renewal_notice_reminder_comes_its_lead_before_the_notice_date() {
        let reminders = due(
            &dates("executed", Some("2027-06-30"), Some(60)),
            &TenantDefaults::default(),
            Tz::UTC,
            at("2026-12-01T00:00:00Z"),
        );
        let notice = reminders
            .iter()
            .find(|r| r.kind == "renewal_notice")
            .unwrap();
        assert_eq!(notice.date, date("2027-05-01"));
        assert_eq!(notice.fire_at, at("2027-04-17T09:00:00Z"));
    }

    #[test]
    fn past_reminders_and_ended_contracts_give_none() {
        let defaults = TenantDefaults::default();
        let soon = due(
            &dates("executed", Some("2027-01-15"), None),
            &defaults,
            Tz::UTC,
            at("2026-12-01T00:00:00Z"),
        );
        assert_eq!(
            soon.iter().map(|r| r.days_before).collect::<Vec<_>>(),
            vec![30]
        );
        for status in ["terminated", "expired", "rejected"] {
            assert!(due(
                &dates(status, Some("2027-06-30"), Some(30)),
                &defaults,
                Tz::UTC,
                at("2026-12-01T00:00:00Z")
            )
            .is_empty());
        }
        assert!(due(
            &dates("executed", None, Some(30)),
            &defaults,
            Tz::UTC,
            at("2026-12-01T00:00:00Z")
        )
        .is_empty());
    }
}
