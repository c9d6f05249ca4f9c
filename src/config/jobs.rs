//! How a process runs background jobs: its workers, queues and the bounds that keep one
//! tenant from holding them, read from the environment with the other settings.

use std::time::Duration;

use super::{invalid, parse_bool, ranged, unless_word, ConfigError};

/// How this process runs background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `PACTUM_JOB_WORKERS`: jobs run at once by this process; 0 runs none (the server
    /// then only enqueues, and `pactum worker` processes run them).
    pub workers: usize,
    /// `PACTUM_JOB_QUEUES`: the queues claimed from, comma-separated.
    pub queues: Vec<String>,
    /// `PACTUM_JOB_POLL_MS`: how often to look for work without a notification.
    pub poll_interval: Duration,
    /// `PACTUM_JOB_RETENTION_HOURS`: finished jobs are deleted after this.
    pub retention: Duration,
    /// `PACTUM_JOB_SHUTDOWN_SECS`: on SIGTERM, how long running jobs may finish before
    /// they are released to other workers.
    pub shutdown_grace: Duration,
    /// `PACTUM_JOB_TENANT_SHARE`: the most of this process's workers one tenant's jobs
    /// may hold at once, so a tenant whose jobs hang (a receiver that never answers)
    /// cannot keep another tenant's jobs waiting. Unset or `auto` (`None` here): a
    /// quarter of the workers (at least one) is kept for other tenants.
    pub tenant_share: Option<usize>,
    /// `PACTUM_JOB_TENANT_FLEET_CAP`: the most jobs of one tenant running at once in
    /// the whole fleet, every server and `pactum worker` on the database counted.
    /// Unset or `off` (`None` here): each process keeps its own share only.
    pub tenant_fleet_cap: Option<usize>,
    /// `PACTUM_JOB_DURABLE_BOOKKEEPING`: the queue's own changes (claims, completions,
    /// promotions) and the deadline timers' transactions wait for the WAL flush like
    /// every other commit. Off by default: a crash can then lose the last few, which
    /// are made again (a job runs again).
    pub durable_bookkeeping: bool,
    /// `PACTUM_JOB_TOGETHER`: due timers of its tenant a timer's transaction takes too.
    pub together: usize,
}

pub const DEFAULT_JOB_WORKERS: usize = 4;
pub const DEFAULT_JOB_QUEUES: &str = "default,webhooks,documents";
/// The queue of the jobs that run the embedding model: claimed by default only by a
/// process that has the model (`PACTUM_MODEL_DIR`), so a worker without it never
/// takes, and fails, one.
pub const MODEL_QUEUE: &str = "intelligence";
/// Five days, as Standard Webhooks' reference services wait.
pub const DEFAULT_WEBHOOK_DISABLE_AFTER_HOURS: u64 = 120;
/// Ninety days, as Standard Webhooks' reference services keep their logs.
pub const DEFAULT_WEBHOOK_LOG_DAYS: u64 = 90;

impl JobSettings {
    pub(super) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let has_model = get("PACTUM_MODEL_DIR").is_some();
        let default_queues = if has_model {
            format!("{DEFAULT_JOB_QUEUES},{MODEL_QUEUE}")
        } else {
            DEFAULT_JOB_QUEUES.to_owned()
        };
        let queues: Vec<String> = get("PACTUM_JOB_QUEUES")
            .unwrap_or(default_queues)
            .split(',')
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty())
            .collect();
        if queues.is_empty()
            || queues
                .iter()
                .any(|q| crate::kernel::jobs::QueueName::parse(q).is_none())
        {
            return Err(invalid(
                "PACTUM_JOB_QUEUES",
                "expected comma-separated queue names (lower case letters, digits, _ and -)",
            ));
        }
        if !has_model && queues.iter().any(|q| q == MODEL_QUEUE) {
            return Err(invalid(
                "PACTUM_JOB_QUEUES",
                format!(
                    "the {MODEL_QUEUE} queue runs the embedding model: set PACTUM_MODEL_DIR too"
                ),
            ));
        }
        Ok(Self {
            workers: ranged(
                "PACTUM_JOB_WORKERS",
                get("PACTUM_JOB_WORKERS"),
                0..=1000,
                DEFAULT_JOB_WORKERS,
            )?,
            queues,
            poll_interval: Duration::from_millis(ranged(
                "PACTUM_JOB_POLL_MS",
                get("PACTUM_JOB_POLL_MS"),
                10..=60_000,
                1000,
            )?),
            retention: Duration::from_secs(
                3600 * ranged(
                    "PACTUM_JOB_RETENTION_HOURS",
                    get("PACTUM_JOB_RETENTION_HOURS"),
                    1..=24 * 365,
                    24,
                )?,
            ),
            shutdown_grace: Duration::from_secs(ranged(
                "PACTUM_JOB_SHUTDOWN_SECS",
                get("PACTUM_JOB_SHUTDOWN_SECS"),
                0..=3600,
                25,
            )?),
            tenant_share: unless_word(
                "PACTUM_JOB_TENANT_SHARE",
                get("PACTUM_JOB_TENANT_SHARE"),
                "auto",
                1..=1000,
            )?,
            tenant_fleet_cap: unless_word(
                "PACTUM_JOB_TENANT_FLEET_CAP",
                get("PACTUM_JOB_TENANT_FLEET_CAP"),
                "off",
                1..=100_000,
            )?,
            durable_bookkeeping: parse_bool(
                "PACTUM_JOB_DURABLE_BOOKKEEPING",
                get("PACTUM_JOB_DURABLE_BOOKKEEPING"),
            )?
            .unwrap_or(false),
            together: ranged(
                "PACTUM_JOB_TOGETHER",
                get("PACTUM_JOB_TOGETHER"),
                0..=1000,
                crate::kernel::jobs::MOST_TOGETHER,
            )?,
        })
    }
}
