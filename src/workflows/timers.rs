//! SLA deadlines and reminders as durable timers: a job per deadline and per reminder,
//! enqueued in the transaction that starts the stage, run when the clock passes it.
//! The job carries the deadline it was made for, so a stage that moved on (decided,
//! voided, given a new deadline) turns it into a no-op.

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::sla;
use crate::kernel::jobs::{JobContext, JobError};

pub use super::model::{timer_args as args, STAGE_DUE, STAGE_REMINDER};

fn parse(args: &Value) -> Result<(Uuid, DateTime<Utc>), JobError> {
    let stage = args["stage_id"].as_str().and_then(|s| s.parse().ok());
    let due = args["due_at"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    match (stage, due) {
        (Some(stage), Some(due)) => Ok((stage, due)),
        _ => Err(JobError::Cancel(format!("malformed arguments: {args}"))),
    }
}

pub async fn stage_due_job(ctx: JobContext) -> Result<(), JobError> {
    let (stage, due) = parse(&ctx.job.args)?;
    // The runner claims only due jobs, by its clock; the deadline is checked here too,
    // because it is what the stage's overdue mark says, and a job could be moved.
    let now = ctx.clock.now();
    if now < due {
        let wait = (due - now).to_std().unwrap_or_default();
        return Err(JobError::RetryIn(wait, format!("not due until {due}")));
    }
    let tx = ctx.db.begin().await?;
    sla::stage_due(&tx, &ctx.origin(), stage, due).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn stage_reminder_job(ctx: JobContext) -> Result<(), JobError> {
    let (stage, due) = parse(&ctx.job.args)?;
    let hours = ctx.job.args["hours_before"].as_f64().unwrap_or_default();
    let tx = ctx.db.begin().await?;
    sla::stage_reminder(&tx, &ctx.origin(), stage, due, hours).await?;
    tx.commit().await?;
    Ok(())
}
