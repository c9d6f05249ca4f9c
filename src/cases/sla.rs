//! A case's two SLA clocks on the SLA engine ([`crate::sla`]): deadlines counted in the
//! tenant's business calendar from the case's opening, standing still while the case
//! waits on its customer (`pending`), a durable timer per clock, and
//! what a breach does: the case marked, `case.sla_breached` recorded (its assignee is
//! told), and, the first time, the case escalated to its policy's team
//! (`case.escalated`, every active member told), and with the policy's `reassign`
//! given to the member with the fewest active cases.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::{CaseView, Clock, SlaPolicy, COLUMNS};
use super::policies;
use crate::kernel::audit::{self, Entry};
use crate::kernel::business_time::CalendarError;
use crate::kernel::jobs::{cancel_pending, enqueue, BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::{unit, Actor, DomainError, Origin};
use crate::sla::{run_timer, Deadlines, Timer};
use crate::tenancy::scoped::TenantTx;

pub const CASE_SLA: JobKind = JobKind {
    name: "cases.sla_due",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

pub const CASE_SLA_WARNING: JobKind = JobKind {
    name: "cases.sla_warning",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

/// The deadline of one of a case's clocks, as scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSlaDue {
    pub case_id: Uuid,
    pub clock: Clock,
    pub due_at: DateTime<Utc>,
}

impl Timer for CaseSlaDue {
    fn not_before(&self) -> Option<DateTime<Utc>> {
        Some(self.due_at)
    }

    async fn fire(&self, tx: &TenantTx, origin: &Origin) -> Result<bool, DomainError> {
        breach(tx, origin, self.case_id, self.clock, self.due_at).await
    }
}

impl BackgroundJob for CaseSlaDue {
    const KIND: JobKind = CASE_SLA;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        run_timer(self, ctx).await
    }
}

/// A warning, at `warn_at`, that one of a case's clocks is due at `due_at`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSlaWarning {
    pub case_id: Uuid,
    pub clock: Clock,
    pub due_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
}

impl Timer for CaseSlaWarning {
    fn not_before(&self) -> Option<DateTime<Utc>> {
        Some(self.warn_at)
    }

    async fn fire(&self, tx: &TenantTx, origin: &Origin) -> Result<bool, DomainError> {
        warn(tx, origin, self.case_id, self.clock, self.due_at).await
    }
}

impl BackgroundJob for CaseSlaWarning {
    const KIND: JobKind = CASE_SLA_WARNING;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        run_timer(self, ctx).await
    }
}

/// The policy of `priority`.
pub async fn policy(tx: &TenantTx, priority: &str) -> Result<SlaPolicy, DomainError> {
    let row = tx
        .query_one(
            &format!(
                "select {} from case_sla_policies where priority = $1",
                policies::COLUMNS
            ),
            &[&priority],
        )
        .await?;
    Ok(policies::view(&row))
}

/// The deadlines of both clocks for a case of `priority` opened at `opened`, moved
/// later by the business time its clocks stood still (`paused`).
pub async fn deadlines(
    tx: &TenantTx,
    priority: &str,
    opened: DateTime<Utc>,
    paused: chrono::Duration,
) -> Result<(DateTime<Utc>, DateTime<Utc>), DomainError> {
    let policy = policy(tx, priority).await?;
    let business = Deadlines::load(tx).await?;
    let after = |hours: f64| {
        business
            .after(opened, hours)
            .and_then(|due| business.later(due, paused))
            .map_err(|e| unreachable_deadline(priority, &e))
    };
    Ok((
        after(policy.first_response_hours)?,
        after(policy.resolution_hours)?,
    ))
}

fn unreachable_deadline(priority: &str, error: &CalendarError) -> DomainError {
    DomainError::conflict(
        "sla_unreachable",
        format!("the business calendar gives no deadline for a {priority} case ({error}); widen the calendar"),
        json!({"priority": priority}),
    )
}

/// A case leaves `pending`: the business time it waited since `since`, and each of
/// the given deadlines (those of clocks still running) moved later by it.
pub async fn resume(
    tx: &TenantTx,
    priority: &str,
    since: DateTime<Utc>,
    deadlines: [Option<DateTime<Utc>>; 2],
) -> Result<(chrono::Duration, [Option<DateTime<Utc>>; 2]), DomainError> {
    let business = Deadlines::load(tx).await?;
    let waited = business.between(since, unit::now(tx));
    let mut moved = [None, None];
    for (slot, due) in moved.iter_mut().zip(deadlines) {
        if let Some(due) = due {
            *slot = Some(
                business
                    .later(due, waited)
                    .map_err(|e| unreachable_deadline(priority, &e))?,
            );
        }
    }
    Ok((waited, moved))
}

fn key(case: Uuid, clock: Clock) -> String {
    format!("case:{case}:{}", clock.name())
}

/// Cancels a case's pending timers and sets one for each clock still running: not
/// met, not breached, the case not resolved nor waiting on its customer. A deadline
/// already past fires at once (a reopened case whose resolution is late breaches
/// then). Each clock also gets its policy's warning ahead of the deadline, unless that
/// time has passed (an edit never repeats a warning).
pub async fn schedule(tx: &TenantTx, case: &CaseView) -> Result<(), DomainError> {
    cancel(tx, case.id).await?;
    if !case.is_active() || case.sla_paused_at.is_some() {
        return Ok(());
    }
    let now = unit::now(tx);
    let warning = policy(tx, &case.priority)
        .await?
        .warn_before_hours
        .map(|hours| chrono::Duration::seconds((hours * 3600.0).round() as i64));
    let business = match warning {
        Some(_) => Some(Deadlines::load(tx).await?),
        None => None,
    };
    let mut jobs = Vec::new();
    for (clock, due, met, breached) in [
        (
            Clock::FirstResponse,
            case.first_response_due_at,
            case.first_responded_at,
            case.first_response_breached_at,
        ),
        (
            Clock::Resolution,
            case.resolution_due_at,
            case.resolved_at,
            case.resolution_breached_at,
        ),
    ] {
        if met.is_some() || breached.is_some() {
            continue;
        }
        let job = CaseSlaDue {
            case_id: case.id,
            clock,
            due_at: due,
        };
        jobs.push(job.at(due.max(now)).unique(key(case.id, clock)));
        if let (Some(ahead), Some(business)) = (warning, &business) {
            if let Some(warn_at) = business
                .before(due, ahead, case.created_at)
                .filter(|at| *at > now)
            {
                let job = CaseSlaWarning {
                    case_id: case.id,
                    clock,
                    due_at: due,
                    warn_at,
                };
                jobs.push(job.at(warn_at).unique(key(case.id, clock)));
            }
        }
    }
    enqueue(tx, jobs).await?;
    Ok(())
}

/// Cancels a case's pending timers and warnings.
pub async fn cancel(tx: &TenantTx, case: Uuid) -> Result<(), DomainError> {
    cancel_pending(tx, CASE_SLA, &format!("case:{case}:")).await?;
    cancel_pending(tx, CASE_SLA_WARNING, &format!("case:{case}:")).await?;
    Ok(())
}

/// A clock's deadline is near: if the case still runs it with that deadline (not met,
/// not breached, not paused, not done), records `case.sla_at_risk`, which tells its
/// assignee. Returns whether it warned.
async fn warn(
    tx: &TenantTx,
    origin: &Origin,
    case_id: Uuid,
    clock: Clock,
    due_at: DateTime<Utc>,
) -> Result<bool, DomainError> {
    let (due_column, met_column, breached_column) = clock.columns();
    let Some(row) = tx
        .query_opt(
            &format!(
                "select {COLUMNS} from cases where id = $1 and {due_column} = $2 \
                   and {met_column} is null and {breached_column} is null \
                   and status not in ('resolved', 'closed') and sla_paused_at is null \
                 for update"
            ),
            &[&case_id, &due_at],
        )
        .await?
    else {
        return Ok(false);
    };
    let case = CaseView::from(&row);
    audit::record(
        tx,
        &Actor::system("case SLA"),
        origin,
        Entry {
            action: "sla_at_risk",
            entity: "case",
            entity_id: Some(case.id),
            changes: json!({"number": case.number, "subject": case.subject,
                "priority": case.priority, "assignee_id": case.assignee_id,
                "created_by": case.created_by, "clock": clock.name(), "due_at": due_at}),
        },
    )
    .await?;
    Ok(true)
}

/// A clock's deadline passed: marks the breach (only if the case still runs that clock
/// with that deadline), records it, and escalates the case the first time. Returns
/// whether it was a breach.
pub async fn breach(
    tx: &TenantTx,
    origin: &Origin,
    case_id: Uuid,
    clock: Clock,
    due_at: DateTime<Utc>,
) -> Result<bool, DomainError> {
    let (due_column, met_column, breached_column) = clock.columns();
    let now = unit::now(tx);
    let Some(row) = tx
        .query_opt(
            &format!(
                "update cases set {breached_column} = $3 \
                 where id = $1 and {due_column} = $2 and {met_column} is null and {breached_column} is null \
                   and status not in ('resolved', 'closed') and sla_paused_at is null \
                 returning {COLUMNS}"
            ),
            &[&case_id, &due_at, &now],
        )
        .await?
    else {
        return Ok(false);
    };
    let case = CaseView::from(&row);
    let actor = Actor::system("case SLA");
    let about = json!({"number": case.number, "subject": case.subject, "priority": case.priority,
        "assignee_id": case.assignee_id, "created_by": case.created_by, "clock": clock.name(),
        "due_at": due_at, "account_id": case.account_id, "contract_id": case.contract_id});
    audit::record(
        tx,
        &actor,
        origin,
        Entry {
            action: "sla_breached",
            entity: "case",
            entity_id: Some(case.id),
            changes: about.clone(),
        },
    )
    .await?;
    if case.escalated_at.is_none() {
        escalate(tx, &actor, origin, &case, about).await?;
    }
    Ok(true)
}

/// Escalates a case to the policy's team, once: the team's active members are told
/// and, when the policy says `reassign`, the case goes to the one of them with the
/// fewest active cases (its assignee aside; ties by id), who is told it is theirs. With
/// nobody to take it, it stays with its assignee.
async fn escalate(
    tx: &TenantTx,
    actor: &Actor,
    origin: &Origin,
    case: &CaseView,
    mut about: serde_json::Value,
) -> Result<(), DomainError> {
    let policy = policy(tx, &case.priority).await?;
    let Some(team) = policy.escalate_to_team else {
        return Ok(());
    };
    // The members, those most free first.
    let members: Vec<Uuid> = tx
        .query(
            "select m.user_id from teams t join team_members m on m.team_id = t.id \
             join users u on u.id = m.user_id and u.active where t.name = $1 \
             order by (select count(*) from cases c where c.assignee_id = m.user_id \
                       and c.status in ('new', 'open', 'pending')), m.user_id",
            &[&team],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let taker = (policy.escalation_action == "reassign")
        .then(|| {
            members
                .iter()
                .copied()
                .find(|m| Some(*m) != case.assignee_id)
        })
        .flatten();
    tx.execute(
        "update cases set escalated_at = $2, assignee_id = coalesce($3, assignee_id), \
         updated_at = case when $3::uuid is null then updated_at else $2 end where id = $1",
        &[&case.id, &unit::now(tx), &taker],
    )
    .await?;
    about["team"] = json!(team);
    about["members"] = json!(members);
    about["reassigned_to"] = json!(taker);
    audit::record(
        tx,
        actor,
        origin,
        Entry {
            action: "escalated",
            entity: "case",
            entity_id: Some(case.id),
            changes: about,
        },
    )
    .await?;
    if taker.is_some() {
        let about = json!({"number": case.number, "subject": case.subject,
            "priority": case.priority, "previous_assignee_id": case.assignee_id});
        audit::record_assignment(tx, actor, origin, "case", case.id, taker, about).await?;
    }
    Ok(())
}

/// Someone other than who opened the case answered on it (a comment, a logged call or
/// email): the first response, if it is the first. The case moves from `new` to
/// `open`. Returns whether it was the first.
pub async fn responded(
    tx: &TenantTx,
    case_id: Uuid,
    responder: Option<Uuid>,
) -> Result<bool, DomainError> {
    let now = unit::now(tx);
    let updated = tx
        .execute(
            "update cases set first_responded_at = $2, updated_at = $2, \
                 status = case when status = 'new' then 'open' else status end \
             where id = $1 and first_responded_at is null and created_by is distinct from $3",
            &[&case_id, &now, &responder],
        )
        .await?;
    if updated > 0 {
        cancel_pending(tx, CASE_SLA, &key(case_id, Clock::FirstResponse)).await?;
        cancel_pending(tx, CASE_SLA_WARNING, &key(case_id, Clock::FirstResponse)).await?;
    }
    Ok(updated > 0)
}
