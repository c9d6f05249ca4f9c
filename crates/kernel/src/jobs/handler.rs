//! What a job handler sees: the claimed [`Job`], its [`JobContext`] (the job's tenant as
//! a scoped handle, the clock), the [`JobError`] that says what to do after a failed
//! attempt, and [`Handlers`], the registry of handlers by kind.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde_json::Value;

use super::JobKind;
use crate::actor::Origin;
use crate::clock::SharedClock;
use crate::error::DomainError;
use crate::tenancy::pool::connection_lost;
use crate::tenancy::roles::RoleName;
use crate::tenancy::scoped::{TenantDb, TenantTx};
use crate::tenancy::{SchemaName, TenancyError, TenantId};

/// A claimed job, as its handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub tenant: TenantId,
    pub schema: SchemaName,
    pub kind: String,
    pub queue: String,
    pub args: Value,
    /// 1 on the first run.
    pub attempt: i32,
    pub max_attempts: i32,
    pub timeout: Duration,
    pub run_at: DateTime<Utc>,
    /// The tenant's role, which the job's units of work run as.
    pub role: Option<RoleName>,
}

/// What a handler gets: its job, the job's tenant as a scoped database handle (never
/// an ambient one), and the clock.
pub struct JobContext {
    pub job: Job,
    pub db: TenantDb,
    pub clock: SharedClock,
    /// Whether the runner's commits wait for the WAL flush (see
    /// [`RunnerConfig::durable_bookkeeping`](super::RunnerConfig::durable_bookkeeping)).
    pub durable_bookkeeping: bool,
    /// Where the handler gives back a place that jobs may be deferred behind (see
    /// [`JobError::DeferBehind`]).
    pub places: super::places::Places,
    /// The runner's worker id, how many due siblings to take, and its metrics, for jobs
    /// done together with this one ([`JobContext::take_due_siblings`]).
    pub(super) worker_id: String,
    pub(super) together: usize,
    pub(super) metrics: super::metrics::JobMetrics,
}

impl JobContext {
    /// The origin to audit what this job does under.
    pub fn origin(&self) -> Origin {
        Origin::job(self.job.id, self.job.kind.clone())
    }

    /// A transaction on the job's tenant for work that running the job again redoes
    /// (a deadline timer re-checks its deadline under its subject's lock). Unless the
    /// runner's bookkeeping is durable, its commit does not wait for the WAL flush:
    /// the job's completion is committed after it, and the WAL is replayed in order,
    /// so a crash cannot keep the completion and lose this work; what it loses, the
    /// job does again when it runs again. On a machine whose disk flushes slowly this
    /// is most of a deadline's cost.
    pub async fn begin_redoable(&self) -> Result<TenantTx, TenancyError> {
        let tx = self.db.begin().await?;
        if !self.durable_bookkeeping {
            tx.execute("select set_config('synchronous_commit', 'off', true)", &[])
                .await?;
        }
        Ok(tx)
    }
}

/// A failed attempt.
#[derive(Debug)]
pub enum JobError {
    /// Try again later (after backoff), unless that was the last attempt.
    Retry(String),
    /// Try again after this long (a kind with its own schedule), unless that was the
    /// last attempt.
    RetryIn(Duration, String),
    /// The database connection under the job went away (a restart, a failover, or this
    /// process stopping). Retried like [`JobError::Retry`]; while this process is
    /// shutting down the job is released instead, without spending an attempt: being
    /// cut off by our own shutdown says nothing about the job.
    Interrupted(String),
    /// Stop: the job can never succeed (its subject is gone).
    Cancel(String),
    /// Not now, and nothing was tried: run again after this long without spending an
    /// attempt (a destination already at its share of the workers).
    Defer(Duration, String),
    /// As [`JobError::Defer`], behind a place that is taken (a destination with its
    /// share in flight): the job runs as soon as this process gives such a place back
    /// ([`Places::given_back`](super::places::Places::given_back)), after `at_most`
    /// otherwise.
    DeferBehind {
        place: String,
        at_most: Duration,
        reason: String,
    },
}

/// An error with its causes: "internal error" or "db error" alone tells an operator
/// nothing.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<DomainError> for JobError {
    fn from(error: DomainError) -> Self {
        match error {
            // A lost connection or an unreachable database.
            DomainError::Unavailable(_) => Self::Interrupted(with_causes(&error)),
            _ => Self::Retry(with_causes(&error)),
        }
    }
}

impl From<TenancyError> for JobError {
    fn from(error: TenancyError) -> Self {
        match &error {
            TenancyError::Unreachable { .. } | TenancyError::CommitOutcomeUnknown(_) => {
                Self::Interrupted(with_causes(&error))
            }
            TenancyError::Database(db) if connection_lost(db) => {
                Self::Interrupted(with_causes(&error))
            }
            _ => Self::Retry(with_causes(&error)),
        }
    }
}

impl From<tokio_postgres::Error> for JobError {
    fn from(error: tokio_postgres::Error) -> Self {
        if connection_lost(&error) {
            Self::Interrupted(with_causes(&error))
        } else {
            Self::Retry(with_causes(&error))
        }
    }
}

pub type HandlerFn =
    Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<(), JobError>> + Send + Sync>;

/// Handlers by kind. Built once at start by the top layer, which knows every area.
#[derive(Clone, Default)]
pub struct Handlers(HashMap<&'static str, HandlerFn>);

impl Handlers {
    pub fn register<F, Fut>(&mut self, kind: JobKind, handler: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.0
            .insert(kind.name, Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    /// The handler of `kind`, if one is registered.
    pub fn get(&self, kind: &str) -> Option<HandlerFn> {
        self.0.get(kind).cloned()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.0.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}
