//! Background jobs: a queue in `public.jobs`, enqueued inside the tenant's own
//! transaction (so a job exists only if its cause committed), claimed with
//! `FOR UPDATE SKIP LOCKED`, run by a [`Runner`] that hands each handler the job's
//! tenant as a scoped database handle.
//!
//! What the queue guarantees, and what it does not:
//!
//! - **At least once.** A job that was claimed runs again if its worker dies before
//!   marking it finished (after its lease: its timeout plus a grace period), so
//!   handlers must be idempotent. While its worker is healthy, a job is never run twice
//!   at the same time: a claim is a row lock plus a state change, and finishing checks
//!   the worker and the attempt.
//! - **Fair across tenants.** Within a priority, a tenant's new job is placed behind
//!   that tenant's own backlog (`fair_at`), not behind every job enqueued before it.
//! - **Timers are jobs.** A job with a run-at time in the future waits as `scheduled`
//!   and is made available when the clock passes it; no scan over tenant schemas.
//! - **Not exactly once, not ordered.** Two jobs of one tenant may run in either order
//!   or side by side; a handler that needs order takes a lock or uses a unique key.

pub mod admin;
pub mod backoff;
pub mod editions;
pub mod enqueue;
pub mod handler;
pub mod metrics;
pub mod periodic;
pub mod places;
pub mod runner;
mod shares;
pub mod sql;
pub mod together;
pub mod typed;
pub mod walk;

pub use enqueue::{
    cancel_pending, cancel_pending_any, enqueue, enqueue_collecting, enqueue_with, NewJob,
};
pub use handler::{HandlerFn, Handlers, Job, JobContext, JobError};
pub use runner::{Runner, RunnerConfig, RunnerHandle};
pub use shares::Claimed;
pub use together::{Sibling, MOST_TOGETHER};
pub use typed::BackgroundJob;
pub use walk::{Walk, Walking};

/// The notification channel workers listen on.
pub const JOBS_CHANNEL: &str = "pactum_jobs";

/// Job states, as stored. `held` is an available job of a paused or inactive tenant,
/// set aside until the tenant is resumed or active again.
pub const STATES: [&str; 8] = [
    "scheduled",
    "available",
    "held",
    "running",
    "retryable",
    "completed",
    "cancelled",
    "discarded",
];

/// States in which a job has not finished: what a unique key guards and what
/// deleting a tenant cancels.
pub const PENDING_STATES: &str = "('scheduled', 'available', 'held', 'running', 'retryable')";

/// A kind of job and its defaults: enqueuers name one of these, so a kind's queue,
/// attempts and timeout are written once, beside its handler.
#[derive(Debug, Clone, Copy)]
pub struct JobKind {
    pub name: &'static str,
    pub queue: &'static str,
    pub priority: i16,
    pub max_attempts: i32,
    pub timeout: std::time::Duration,
}

/// The kind that does nothing: for benchmarks, smoke tests and periodic-job tests.
pub const NOOP: JobKind = JobKind {
    name: "pactum.noop",
    queue: "default",
    priority: 0,
    max_attempts: 3,
    timeout: std::time::Duration::from_secs(10),
};

/// A queue's name: 1 to 50 of a-z, 0-9, `_`, `.` and `-`, starting with a letter (what
/// the table's check accepts). Checked once by [`QueueName::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName(String);

impl QueueName {
    pub fn parse(value: &str) -> Option<Self> {
        super::validate::is_key(value, 50, "_.-").then(|| Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::QueueName;

    #[test]
    fn queue_names_are_keys() {
        for good in ["default", "webhooks", "a", "mail.out-2"] {
            assert_eq!(QueueName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "Default", "1st", "with space", &"q".repeat(51), "é"] {
            assert!(QueueName::parse(bad).is_none(), "{bad}");
        }
    }
}
