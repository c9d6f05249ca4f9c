//! Reminders of obligation tasks as timers: each open task gets one job per day count
//! of the tenant's `obligation_reminder_days` (7 days before and on the day unless
//! set), at 09:00 in the tenant's time zone; every change of the task cancels them and
//! schedules what applies then. When one fires it checks that it still applies (the
//! task open with the same date, the contract not over), then records
//! `obligation.due`, which the notifier turns into a notification to the assignee. A
//! change of the days or of the tenant's zone works out the reminders of every open
//! task again, in the background ([`ObligationReminders`], walked by
//! [`Walking`](crate::kernel::jobs::Walking)).

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::walk::{self, Walk};
use crate::kernel::jobs::{
    cancel_pending_any, enqueue, BackgroundJob, JobContext, JobError, JobKind,
};
use crate::kernel::{unit, Actor, DomainError};
use crate::notifications::reminders::{at_local_morning, zone_and_defaults};
use crate::tenancy::scoped::TenantTx;

pub const REMIND_OBLIGATION: JobKind = JobKind {
    name: "intelligence.obligation_reminder",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

/// One reminder of a task's due date, as scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindObligation {
    pub task_id: Uuid,
    pub days_before: i32,
    pub due_date: NaiveDate,
}

impl BackgroundJob for RemindObligation {
    const KIND: JobKind = REMIND_OBLIGATION;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        fire(ctx, self).await
    }
}

/// Statuses whose contracts are over: nothing to remind of.
const ENDED: &[&str] = &["expired", "terminated", "rejected"];

/// A task as its reminders need it: whether it is open on a contract still running,
/// its date, who is told (its assignee while active, else the contract's owner), and
/// whether the contract shows a redacted copy in place of its original.
const TASK_SQL: &str = "select t.status = 'open' and c.status <> all($2), t.due_date, \
     coalesce((select u.id from users u where u.id = t.assignee_id and u.active), c.owner_id), \
     c.id, c.title, t.party, t.action, c.shown_redaction is not null \
     from obligation_tasks t join contracts c on c.id = t.contract_id where t.id = $1";

/// Which of the tasks `$1` are open on a contract still running, and their dates.
const DUE_SQL: &str = "select t.id, t.due_date from obligation_tasks t \
     join contracts c on c.id = t.contract_id \
     where t.id = any($1) and t.status = 'open' and c.status <> all($2)";

/// The walk's batch of open tasks on running contracts: ids after `$2`, at most `$3`,
/// the contracts' ended statuses `$1` ([`Walk::IDS_SQL`]).
const OPEN_SQL: &str = "select t.id from obligation_tasks t \
     join contracts c on c.id = t.contract_id \
     where t.status = 'open' and c.status <> all($1) \
     and t.id > $2 order by t.id limit $3";

fn key_prefix(task: Uuid) -> String {
    format!("obligation:{task}:")
}

/// Cancels the pending reminders of `tasks` and schedules those that apply now: a
/// few statements, however many tasks (a series makes a dozen at once).
pub async fn reschedule(tx: &TenantTx, tasks: &[Uuid]) -> Result<(), DomainError> {
    if tasks.is_empty() {
        return Ok(());
    }
    cancel(tx, tasks).await?;
    let (zone, defaults) = zone_and_defaults(tx).await?;
    let now = unit::now(tx);
    let ended: Vec<&str> = ENDED.to_vec();
    let mut jobs = Vec::new();
    for row in tx.query(DUE_SQL, &[&tasks, &ended]).await? {
        let (task, due): (Uuid, NaiveDate) = (row.get(0), row.get(1));
        for days in &defaults.obligation_reminder_days {
            let Some(day) = due.checked_sub_days(chrono::Days::new(u64::from(days.unsigned_abs())))
            else {
                continue;
            };
            let fire_at = at_local_morning(zone, day);
            if fire_at <= now {
                continue;
            }
            jobs.push(
                RemindObligation {
                    task_id: task,
                    days_before: *days,
                    due_date: due,
                }
                .at(fire_at)
                .unique(format!("{}{days}", key_prefix(task))),
            );
        }
    }
    enqueue(tx, jobs).await?;
    Ok(())
}

/// The tenant's open obligation tasks, whose reminders follow its
/// `obligation_reminder_days` and its time zone (its own, else its business
/// calendar's): a change of either works out the reminders of every open task on a
/// running contract again, in the background.
pub struct ObligationReminders;

impl Walk for ObligationReminders {
    const KIND: JobKind = JobKind {
        name: "intelligence.obligation_reminders_rescheduled",
        queue: "default",
        priority: 1,
        max_attempts: 10,
        timeout: Duration::from_secs(60),
    };

    const SETTINGS: &'static [(&'static str, &'static [&'static str])] = &[
        (
            "notification_defaults.updated",
            &["obligation_reminder_days", "time_zone"],
        ),
        ("business_calendar.updated", &["timezone"]),
    ];

    const IDS_SQL: &'static str = OPEN_SQL;
    const STATUSES: &'static [&'static str] = ENDED;

    async fn redo(tx: &TenantTx, ids: &[Uuid]) -> Result<(), DomainError> {
        reschedule(tx, ids).await
    }
}

/// Starts the walk of [`ObligationReminders`] when a setting they follow changes.
pub fn react_to(reactions: &mut crate::kernel::unit::Reactions) {
    walk::react_to::<ObligationReminders>(reactions);
}

/// Cancels the pending reminders of `tasks`.
pub async fn cancel(tx: &TenantTx, tasks: &[Uuid]) -> Result<(), DomainError> {
    let prefixes: Vec<String> = tasks.iter().map(|t| key_prefix(*t)).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    cancel_pending_any(tx, REMIND_OBLIGATION, &prefixes).await?;
    Ok(())
}

/// A reminder's time has come: if it still applies, record the event.
async fn fire(ctx: JobContext, job: RemindObligation) -> Result<(), JobError> {
    let tx = ctx.db.begin().await?;
    let ended: Vec<&str> = ENDED.to_vec();
    let Some(row) = tx.query_opt(TASK_SQL, &[&job.task_id, &ended]).await? else {
        return Ok(());
    };
    let (_, defaults) = zone_and_defaults(&tx).await?;
    let still = row.get::<_, bool>(0)
        && row.get::<_, NaiveDate>(1) == job.due_date
        && defaults.obligation_reminder_days.contains(&job.days_before);
    if !still {
        return Ok(());
    }
    let (assignee, contract, title): (Uuid, Uuid, String) = (row.get(2), row.get(3), row.get(4));
    // The sentence's words come from the original: a contract that shows a redacted
    // copy in its place is reminded of by its title and date alone, since the
    // notification reaches whoever holds the task, whatever the original's role.
    let (party, action): (String, String) = if row.get::<_, bool>(7) {
        (String::new(), String::new())
    } else {
        (row.get(5), row.get(6))
    };
    audit::record(
        &tx,
        &Actor::system("obligation reminders"),
        &ctx.origin(),
        Entry {
            action: "due",
            entity: "obligation",
            entity_id: Some(job.task_id),
            changes: json!({
                "contract_id": contract,
                "title": title,
                "party": party,
                "action": action,
                "due_date": job.due_date,
                "days_before": job.days_before,
                "assignee_id": assignee,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
