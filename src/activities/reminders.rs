//! A task's timers: a reminder at its `remind_at` and a notice when it falls due, each a
//! job enqueued in the transaction that set the time. Every change of the task cancels
//! them and schedules what applies then; when one fires it checks, under the task's
//! lock, that the task is still open with the same time (and that the time has come,
//! by the server's clock), then records `task.reminder` or `task.overdue`, which the
//! notifier turns into a notification to the assignee.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::model::{TaskView, TASK_COLUMNS};
use crate::kernel::audit::{self, Entry};
use crate::kernel::jobs::{
    cancel_pending_any, enqueue, BackgroundJob, JobContext, JobError, JobKind,
};
use crate::kernel::{unit, Actor, DomainError};
use crate::tenancy::scoped::TenantTx;

pub const TASK_TIMER: JobKind = JobKind {
    name: "tasks.timer",
    queue: "default",
    priority: 1,
    max_attempts: 10,
    timeout: Duration::from_secs(30),
};

/// Which of a task's times a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// `remind_at`: records `task.reminder`.
    Reminder,
    /// `due_at`: records `task.overdue`.
    Due,
}

/// One of a task's timers, as scheduled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskTimer {
    pub task_id: Uuid,
    pub moment: Moment,
    /// The time it was scheduled for: a task whose time moved since makes it a no-op.
    pub at: DateTime<Utc>,
}

impl BackgroundJob for TaskTimer {
    const KIND: JobKind = TASK_TIMER;
    type Env = ();

    async fn run(self, ctx: JobContext, (): ()) -> Result<(), JobError> {
        let now = ctx.clock.now();
        if now < self.at {
            let wait = (self.at - now).to_std().unwrap_or_default();
            return Err(JobError::RetryIn(
                wait,
                format!("not due until {}", self.at),
            ));
        }
        let tx = ctx.db.begin().await?;
        fire(&tx, &ctx.origin(), &self).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn key_prefix(task: Uuid) -> String {
    format!("task:{task}:")
}

/// Cancels a task's pending timers and schedules those its times and status call for
/// now (none for a task that is done or cancelled, or whose times have passed).
pub async fn schedule(tx: &TenantTx, task: &TaskView) -> Result<(), DomainError> {
    cancel(tx, &[task.id]).await?;
    if !task.is_active() {
        return Ok(());
    }
    let now = unit::now(tx);
    let jobs: Vec<_> = [
        (Moment::Reminder, task.remind_at, "remind"),
        (Moment::Due, task.due_at, "due"),
    ]
    .into_iter()
    .filter_map(|(moment, at, name)| {
        let at = at.filter(|at| *at > now)?;
        Some(
            TaskTimer {
                task_id: task.id,
                moment,
                at,
            }
            .at(at)
            .unique(format!("{}{name}", key_prefix(task.id))),
        )
    })
    .collect();
    enqueue(tx, jobs).await?;
    Ok(())
}

/// Cancels the pending timers of `tasks`.
pub async fn cancel(tx: &TenantTx, tasks: &[Uuid]) -> Result<(), DomainError> {
    let prefixes: Vec<String> = tasks.iter().map(|t| key_prefix(*t)).collect();
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    cancel_pending_any(tx, TASK_TIMER, &prefixes).await?;
    Ok(())
}

/// A timer's time has come: if the task is still open with that time, record the event.
/// Returns whether it did.
pub async fn fire(
    tx: &TenantTx,
    origin: &crate::kernel::Origin,
    timer: &TaskTimer,
) -> Result<bool, DomainError> {
    let Some(row) = tx
        .query_opt(
            &format!("select {TASK_COLUMNS} from tasks where id = $1 for update"),
            &[&timer.task_id],
        )
        .await?
    else {
        return Ok(false);
    };
    let task = TaskView::from(&row);
    let scheduled = match timer.moment {
        Moment::Reminder => task.remind_at,
        Moment::Due => task.due_at,
    };
    if !task.is_active() || scheduled != Some(timer.at) {
        return Ok(false);
    }
    let action = match timer.moment {
        Moment::Reminder => "reminder",
        Moment::Due => "overdue",
    };
    audit::record(
        tx,
        &Actor::system("task timers"),
        origin,
        Entry {
            action,
            entity: "task",
            entity_id: Some(task.id),
            changes: json!({
                "title": task.title, "target_kind": task.target_kind, "target_id": task.target_id,
                "assignee_id": task.assignee_id, "created_by": task.created_by,
                "due_at": task.due_at, "priority": task.priority,
            }),
        },
    )
    .await?;
    Ok(true)
}
