//! SLA deadlines and reminders as durable timers: a job per deadline and per reminder,
//! enqueued in the transaction that starts the stage, run when the clock passes it.
//! The job carries the deadline it was made for, so a stage that moved on (decided,
//! voided, given a new deadline) turns it into a no-op.

use super::model::{StageDue, StageReminder};
use super::sla;
use crate::kernel::jobs::{BackgroundJob, JobContext, JobError, JobKind};

pub use super::model::{STAGE_DUE, STAGE_REMINDER};

impl BackgroundJob for StageDue {
    const KIND: JobKind = STAGE_DUE;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let Self { stage_id, due_at } = self;
        // The runner claims only due jobs, by its clock; the deadline is checked here
        // too, because it is what the stage's overdue mark says, and a job could be
        // moved.
        let now = ctx.clock.now();
        if now < due_at {
            let wait = (due_at - now).to_std().unwrap_or_default();
            return Err(JobError::RetryIn(wait, format!("not due until {due_at}")));
        }
        let tx = ctx.db.begin().await?;
        sla::stage_due(&tx, &ctx.origin(), stage_id, due_at).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl BackgroundJob for StageReminder {
    const KIND: JobKind = STAGE_REMINDER;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let tx = ctx.db.begin().await?;
        sla::stage_reminder(
            &tx,
            &ctx.origin(),
            self.stage_id,
            self.due_at,
            self.hours_before,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
