//! SLA deadlines and reminders as durable timers on the SLA engine ([`crate::sla`]): a
//! job per deadline and per reminder, enqueued in the transaction that starts the
//! stage, run when the clock passes it. The job carries the deadline it was made for,
//! so a stage that moved on (decided, voided, given a new deadline) turns it into a
//! no-op.

use super::model::{StageDue, StageReminder};
use super::sla;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};
use crate::sla::when_due;

pub use super::model::{STAGE_DUE, STAGE_REMINDER};

impl BackgroundJob for StageDue {
    const KIND: JobKind = STAGE_DUE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let Self { stage_id, due_at } = self;
        when_due(ctx, Some(due_at), async |tx, origin| {
            sla::stage_due(tx, origin, stage_id, due_at).await
        })
        .await?;
        Ok(())
    }
}

impl BackgroundJob for StageReminder {
    const KIND: JobKind = STAGE_REMINDER;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        when_due(ctx, None, async |tx, origin| {
            sla::stage_reminder(tx, origin, self.stage_id, self.due_at, self.hours_before).await
        })
        .await?;
        Ok(())
    }
}
