//! The SLA engine every area with deadlines uses (approval stages, support cases): the
//! tenant's business calendar ([`calendar`]), deadlines counted in its business hours
//! ([`Deadlines`]), and the discipline of a deadline timer ([`when_due`]): a durable
//! job written in the transaction that set the deadline, which runs no earlier than
//! the deadline by the server's clock and hands its subject's handler one transaction
//! in which to check, under the subject's lock, that the deadline it carries still
//! holds. What passing a deadline does (mark a stage overdue and reassign it, mark a
//! case breached and escalate it) is the subject's own.

pub mod calendar;

use chrono::{DateTime, SubsecRound, Utc};

use crate::kernel::business_time::{BusinessCalendar, CalendarError};
use crate::kernel::jobs::{JobContext, JobError};
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

/// Runs a deadline timer's work: not before `not_before` by the server's clock (the job is
/// tried again then; a job may be claimed early when its scheduled time was moved, or
/// by a worker whose clock runs ahead), in one transaction that commits when `work`
/// succeeds (a reminder, which need not wait for its own time, passes no
/// `not_before`). `work` re-checks that its deadline still applies and answers whether it
/// acted; because it does, the commit need not wait for the WAL flush
/// ([`JobContext::begin_redoable`]).
pub async fn when_due(
    ctx: JobContext,
    not_before: Option<DateTime<Utc>>,
    work: impl AsyncFnOnce(&TenantTx, &Origin) -> Result<bool, DomainError>,
) -> Result<bool, JobError> {
    let now = ctx.clock.now();
    if let Some(at) = not_before.filter(|at| now < *at) {
        let wait = (at - now).to_std().unwrap_or_default();
        return Err(JobError::RetryIn(wait, format!("not due until {at}")));
    }
    // The work re-checks its deadline, so a crash that loses its commit loses nothing
    // the job's next run does not redo.
    let tx = ctx.begin_redoable().await?;
    let acted = work(&tx, &ctx.origin()).await?;
    tx.commit().await?;
    Ok(acted)
}
