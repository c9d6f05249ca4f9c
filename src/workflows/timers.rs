//! SLA deadlines and reminders as durable timers on the SLA engine ([`crate::sla`]): a
//! job per deadline and per reminder, enqueued in the transaction that starts the
//! stage, run when the clock passes it (a tenant's due ones together). The job carries
//! the deadline it was made for, so a stage that moved on (decided, voided, given a new
//! deadline) turns it into a no-op.

use chrono::{DateTime, Utc};

use super::model::{StageDue, StageReminder};
use super::sla;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::kernel::{DomainError, Origin};
use crate::sla::{run_timer, Timer};
use crate::tenancy::scoped::TenantTx;

pub use super::model::{STAGE_DUE, STAGE_REMINDER};

impl Timer for StageDue {
    fn not_before(&self) -> Option<DateTime<Utc>> {
        Some(self.due_at)
    }

    async fn fire(&self, tx: &TenantTx, origin: &Origin) -> Result<bool, DomainError> {
        sla::stage_due(tx, origin, self.stage_id, self.due_at).await
    }
}

impl BackgroundJob for StageDue {
    const KIND: JobKind = STAGE_DUE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        run_timer(self, ctx).await
    }
}

impl Timer for StageReminder {
    fn not_before(&self) -> Option<DateTime<Utc>> {
        None
    }

    async fn fire(&self, tx: &TenantTx, origin: &Origin) -> Result<bool, DomainError> {
        sla::stage_reminder(tx, origin, self.stage_id, self.due_at, self.hours_before).await
    }
}

impl BackgroundJob for StageReminder {
    const KIND: JobKind = STAGE_REMINDER;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        run_timer(self, ctx).await
    }
}
