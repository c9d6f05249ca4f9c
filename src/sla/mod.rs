//! The SLA engine every area with deadlines uses (approval stages, support cases): the
//! tenant's business calendar ([`calendar`]), deadlines counted in its business hours
//! ([`Deadlines`]), and the discipline of a deadline timer ([`Timer`], [`run_timer`]): a
//! durable job written in the transaction that set the deadline, which runs no earlier
//! than the deadline by the server's clock and hands its subject's handler a
//! transaction in which to check, under the subject's lock, that the deadline it
//! carries still holds; a tenant's timers that are due together run in one. What
//! passing a deadline does (mark a stage overdue and reassign it, mark a case breached
//! and escalate it) is the subject's own.

pub mod calendar;

use std::future::Future;

use chrono::{DateTime, SubsecRound, Utc};

use crate::kernel::business_time::{BusinessCalendar, CalendarError};
use crate::kernel::jobs::typed::parse;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError};
use crate::kernel::{DomainError, Origin};
use crate::tenancy::scoped::TenantTx;

/// The tenant's business calendar, read once for the several deadlines of one change.
pub struct Deadlines(BusinessCalendar);

impl Deadlines {
    pub async fn load(tx: &TenantTx) -> Result<Self, DomainError> {
        Ok(Self(calendar::load(tx).await?))
    }

    /// The instant `hours` business hours after `from`, at PostgreSQL's precision (a
    /// timer finds its subject by the stored deadline), or why the calendar has none.
    pub fn after(&self, from: DateTime<Utc>, hours: f64) -> Result<DateTime<Utc>, CalendarError> {
        calendar::deadline(&self.0, from, hours).map(|at| at.trunc_subsecs(6))
    }

    /// The business time between two instants (a pause, say).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> chrono::Duration {
        self.0.between(from, to)
    }

    /// The instant `business` time before `due` (to the second), when that is after
    /// `floor`: a warning ahead of a deadline.
    pub fn before(
        &self,
        due: DateTime<Utc>,
        business: chrono::Duration,
        floor: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.0.between(floor, due) <= business {
            return None;
        }
        // The business time left until `due` only shrinks as the instant moves on, so
        // the first instant with no more than `business` left is found by halving.
        let (mut early, mut late) = (floor, due);
        while late - early > chrono::Duration::seconds(1) {
            let middle = early + (late - early) / 2;
            if self.0.between(middle, due) > business {
                early = middle;
            } else {
                late = middle;
            }
        }
        Some(late.trunc_subsecs(0))
    }

    /// A deadline moved later by `business` time (a clock that stood still that long),
    /// at PostgreSQL's precision.
    pub fn later(
        &self,
        due: DateTime<Utc>,
        business: chrono::Duration,
    ) -> Result<DateTime<Utc>, CalendarError> {
        self.0.add(due, business).map(|at| at.trunc_subsecs(6))
    }
}

/// A deadline timer: a durable job that does what passing its deadline does, once the
/// server's clock has passed it, re-checking under its subject's lock that the deadline
/// it carries still holds (a subject that moved on makes it a no-op). Run by
/// [`run_timer`].
pub trait Timer: BackgroundJob + Sync {
    /// Not before this instant by the server's clock: a job may be claimed early when
    /// its scheduled time was moved, or by a worker whose clock runs ahead. `None` for
    /// a timer that need not wait for its own time (a reminder).
    fn not_before(&self) -> Option<DateTime<Utc>>;

    /// What passing the deadline does, in `tx`; answers whether it acted.
    fn fire(
        &self,
        tx: &TenantTx,
        origin: &Origin,
    ) -> impl Future<Output = Result<bool, DomainError>> + Send;
}

/// Runs timer `first` (the claimed job of `ctx`): in one transaction that commits when
/// its work succeeds, together with its tenant's other timers of its kind that are due
/// ([`JobContext::take_due_siblings`]), so a backlog of deadlines costs a transaction
/// per tenant rather than per deadline. Each sibling runs in a savepoint: one that
/// fails is rolled back alone and retried on its own schedule, and the others keep
/// their work. Every timer re-checks its deadline, so the commit need not wait for the
/// WAL flush ([`JobContext::begin_redoable`]): a crash that loses it loses nothing the
/// jobs' next runs do not redo.
pub async fn run_timer<T: Timer>(first: T, ctx: JobContext) -> Result<(), JobError> {
    let now = ctx.clock.now();
    if let Some(at) = first.not_before().filter(|at| now < *at) {
        let wait = (at - now).to_std().unwrap_or_default();
        return Err(JobError::RetryIn(wait, format!("not due until {at}")));
    }
    let tx = ctx.begin_redoable().await?;
    first.fire(&tx, &ctx.origin()).await?;
    let siblings = ctx.take_due_siblings(&tx).await?;
    let mut done = 0;
    for sibling in &siblings {
        let timer = match parse::<T>(&sibling.args) {
            Ok(timer) if timer.not_before().is_none_or(|at| at <= now) => timer,
            // Not due by its own deadline, or unreadable: it runs alone, which says why.
            _ => {
                sibling.put_back(&tx).await?;
                continue;
            }
        };
        tx.execute("savepoint timer", &[])
            .await
            .map_err(DomainError::database)?;
        match timer.fire(&tx, &sibling.origin()).await {
            Ok(_) => {
                tx.execute("release savepoint timer", &[])
                    .await
                    .map_err(DomainError::database)?;
                done += 1;
            }
            Err(error) => {
                // A rollback that fails means the transaction is gone: the whole unit
                // fails, and every sibling goes back untouched.
                if tx
                    .execute("rollback to savepoint timer", &[])
                    .await
                    .is_err()
                {
                    return Err(error.into());
                }
                tracing::warn!(job = sibling.id, %error, "a timer done together failed; it is retried alone");
                sibling.fail(&tx, now, &error.to_string()).await?;
            }
        }
    }
    tx.commit().await?;
    ctx.count_done_together(done);
    Ok(())
}
