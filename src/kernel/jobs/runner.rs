//! Running jobs. A [`Runner`] claims available jobs in claim order, runs each in its
//! own task under its kind's timeout, and records the outcome; a maintenance loop
//! makes due timers and retries available, rescues jobs whose worker died, fires
//! periodic jobs and prunes finished ones. Every instance runs the same loops: each
//! step is a single statement with `SKIP LOCKED` or a compare-and-set, so no leader is
//! needed and two instances never do one step twice.
//!
//! Workers are woken by `LISTEN pactum_jobs` on a connection of their own to the direct
//! URL (a session, never a pooled connection), and poll as well, so a lost
//! notification connection delays a job by one poll interval at worst while it
//! reconnects.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use serde_json::Value;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{backoff, periodic, JobKind, JOBS_CHANNEL};
use crate::kernel::actor::Origin;
use crate::kernel::clock::SharedClock;
use crate::kernel::error::DomainError;
use crate::kernel::unit::{Reactions, Unit};
use crate::tenancy::connection::{RequestPool, Scope};
use crate::tenancy::pool::{connection_lost, DatabaseUrl};
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::{describe_error, SchemaName, TenancyError, TenantId};

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
}

/// A job claimed by a runner, holding its place in its tenant's share of the
/// runner's workers until dropped.
#[derive(Debug)]
pub struct Claimed {
    pub job: Job,
    _slot: ShareSlot,
}

impl std::ops::Deref for Claimed {
    type Target = Job;

    fn deref(&self) -> &Job {
        &self.job
    }
}

/// How many of a runner's claimed jobs each tenant holds, kept in memory: the share
/// is the runner's own (per process), so its count needs no query, and the claim
/// stays the plain one with a list of tenants to pass over.
#[derive(Debug, Clone)]
struct TenantShares {
    share: usize,
    held: Arc<Mutex<HashMap<TenantId, usize>>>,
}

impl TenantShares {
    fn new(share: usize) -> Self {
        Self {
            share: share.max(1),
            held: Arc::default(),
        }
    }

    /// The tenants holding their whole share.
    fn full(&self) -> Vec<uuid::Uuid> {
        let held = self.held.lock().expect("tenant shares");
        held.iter()
            .filter(|(_, n)| **n >= self.share)
            .map(|(tenant, _)| tenant.0)
            .collect()
    }

    /// A place in `tenant`'s share, if it has one left.
    fn take(&self, tenant: TenantId) -> Option<ShareSlot> {
        let mut held = self.held.lock().expect("tenant shares");
        let n = held.entry(tenant).or_default();
        if *n >= self.share {
            return None;
        }
        *n += 1;
        Some(ShareSlot {
            shares: self.clone(),
            tenant,
        })
    }
}

#[derive(Debug)]
struct ShareSlot {
    shares: TenantShares,
    tenant: TenantId,
}

impl Drop for ShareSlot {
    fn drop(&mut self) {
        let mut held = self.shares.held.lock().expect("tenant shares");
        if let Some(n) = held.get_mut(&self.tenant) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.tenant);
            }
        }
    }
}

/// What a handler gets: its job, the job's tenant as a scoped database handle (never
/// an ambient one), and the clock.
pub struct JobContext {
    pub job: Job,
    pub db: TenantDb,
    pub clock: SharedClock,
}

impl JobContext {
    /// The origin to audit what this job does under.
    pub fn origin(&self) -> Origin {
        Origin::job(self.job.id, self.job.kind.clone())
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

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.0.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }
}

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Jobs run at the same time by this process.
    pub workers: usize,
    /// Queues this runner claims from, in turn.
    pub queues: Vec<String>,
    /// How often to look for work without a notification, and to run maintenance.
    pub poll_interval: Duration,
    /// Finished jobs older than this are deleted.
    pub retention: Duration,
    /// On shutdown, how long running jobs may take before they are released.
    pub shutdown_grace: Duration,
    /// Added to a job's timeout to make its lease.
    pub lease_grace: Duration,
    /// Written into `attempted_by`, for operators.
    pub worker_id: String,
    /// The most of this runner's jobs running at once that may belong to one tenant;
    /// `None`, [`default_tenant_share`] of the workers.
    pub tenant_share: Option<usize>,
}

impl RunnerConfig {
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            queues: vec!["default".into(), "webhooks".into()],
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 3600),
            shutdown_grace: Duration::from_secs(25),
            lease_grace: Duration::from_secs(30),
            worker_id: default_worker_id(),
            tenant_share: None,
        }
    }
}

/// The share a runner keeps by default: all workers but a quarter (at least one) kept
/// for other tenants, 3 of 4, 12 of 16. One tenant's backlog alone still runs on most
/// of them, and a tenant whose jobs hang cannot hold them all. A single worker has no
/// share to keep.
pub fn default_tenant_share(workers: usize) -> usize {
    let workers = workers.max(1);
    (workers - (workers / 4).max(1)).max(1)
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &nonce[..8])
}

/// Counters and histograms of what this process's runner did; registered into the
/// server's `/metrics` registry.
#[derive(Clone)]
pub struct JobMetrics {
    pub finished: IntCounterVec,
    pub rescued: IntCounterVec,
    pub queue_wait: HistogramVec,
    pub run_time: HistogramVec,
}

impl JobMetrics {
    pub fn new() -> Self {
        let buckets = vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
        ];
        Self {
            finished: IntCounterVec::new(
                Opts::new(
                    "pactum_jobs_finished_total",
                    "Job attempts by kind and outcome (completed, retried, discarded, cancelled)",
                ),
                &["kind", "outcome"],
            )
            .expect("valid metric"),
            rescued: IntCounterVec::new(
                Opts::new(
                    "pactum_jobs_rescued_total",
                    "Running jobs whose lease expired (their worker died), by kind",
                ),
                &["kind"],
            )
            .expect("valid metric"),
            queue_wait: HistogramVec::new(
                HistogramOpts::new(
                    "pactum_job_queue_wait_seconds",
                    "From when a job was due to when a worker started it",
                )
                .buckets(buckets.clone()),
                &["kind"],
            )
            .expect("valid metric"),
            run_time: HistogramVec::new(
                HistogramOpts::new("pactum_job_run_seconds", "How long a job attempt ran")
                    .buckets(buckets),
                &["kind"],
            )
            .expect("valid metric"),
        }
    }

    pub fn register(&self, registry: &Registry) -> Result<(), prometheus::Error> {
        registry.register(Box::new(self.finished.clone()))?;
        registry.register(Box::new(self.rescued.clone()))?;
        registry.register(Box::new(self.queue_wait.clone()))?;
        registry.register(Box::new(self.run_time.clone()))?;
        Ok(())
    }
}

impl Default for JobMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs jobs until shut down.
#[derive(Clone)]
pub struct Runner(Arc<Inner>);

struct Inner {
    /// For the runner's own statements on `public.jobs`.
    queue_pool: RequestPool,
    /// What handlers' tenant handles use (the server's request pool).
    tenant_pool: RequestPool,
    /// For `LISTEN`, which needs a session.
    direct: Option<DatabaseUrl>,
    clock: SharedClock,
    /// Attached to every handler's tenant handle: the clock and the event reactions.
    unit: Arc<Unit>,
    handlers: Handlers,
    config: RunnerConfig,
    metrics: JobMetrics,
    wake: Notify,
    slots: Arc<Semaphore>,
    /// Handlers started and not finished, to abort at the end of a shutdown.
    running: Mutex<HashMap<i64, AbortHandle>>,
    /// Jobs claimed and not yet finished, counted from the claim (a job is in
    /// `running` only once its handler has started).
    in_flight: std::sync::atomic::AtomicUsize,
    /// Each tenant's part of the claimed jobs, against the share.
    shares: TenantShares,
    completions: mpsc::UnboundedSender<Completion>,
    /// Taken by the completer task when it starts.
    completions_rx: Mutex<Option<mpsc::UnboundedReceiver<Completion>>>,
    listening: AtomicBool,
    stop: CancellationToken,
}

enum Completion {
    Done {
        id: i64,
        attempt: i32,
    },
    /// Answered once everything sent before it is recorded.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// A started runner; [`RunnerHandle::shutdown`] stops it gracefully.
pub struct RunnerHandle {
    runner: Runner,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Claims up to `$2` jobs of queue `$1` that are due by the claimer's clock `$3` (a job
/// made available by an instance whose clock runs ahead waits for this one's to catch
/// up, so no timer fires early), passing over the tenants in `$4`: those holding their
/// whole share of this runner's workers (usually none; the scan then walks past their
/// backlog, so a hanging tenant's jobs ahead cannot hide another tenant's). The
/// tenant's status is a per-row subquery, not a join: a join lets the planner start
/// from `tenants` (or sort every available job) when its statistics are stale, while
/// this keeps one plan, the claim index in order, stopping at the first `$2` rows
/// (measured in `scripts/bench-jobs.sh`).
macro_rules! claim_candidates {
    () => {
        "select j.id from public.jobs j \
         where j.state = 'available' and j.queue = $1 and j.run_at <= $3::timestamptz \
           and j.tenant_id <> all($4::uuid[]) \
           and not exists (select 1 from public.job_pauses p \
                           where p.scope = 'all' \
                              or (p.scope = 'queue' and p.queue = j.queue) \
                              or (p.scope = 'tenant' and p.tenant_id = j.tenant_id)) \
           and (select t.status = 'active' from public.tenants t where t.id = j.tenant_id) \
         order by j.priority, j.fair_at \
         limit $2 \
         for update of j skip locked"
    };
}

/// The jobs a claim of up to `$2` jobs of queue `$1` due at `$3`, passing over the
/// tenants `$4`, takes (locked).
pub const CLAIM_CANDIDATES_SQL: &str = claim_candidates!();

/// Claims the candidates for runner `$5`, with `$6` ms of lease beyond each job's
/// timeout.
///
/// Every statement here that changes a bounded set of rows names them as
/// `id = any(array(<the bounded select>))`, never as a join with a `limit`ed CTE or an
/// `in (select ... limit n)`: planned generically, those are estimated at their limit
/// (5,000 rows for the promotion) and joined by hashing the whole table, so each call
/// read every row of `public.jobs` to change a few (18.9 ms a promotion in the SLA
/// benchmark, 15% of its statement time). An array of ids always goes through the
/// primary key. The tenant's schema is a subquery per claimed job for the same reason:
/// joined, the registry was hashed whole on every claim. `tests/api/jobs.rs` checks the
/// plans on a large table.
pub const CLAIM_SQL: &str = concat!(
    "update public.jobs j \
       set state = 'running', attempt = j.attempt + 1, attempted_at = $3::timestamptz, \
           attempted_by = $5, \
           lease_until = $3::timestamptz + (j.timeout_ms + $6::int8) * interval '1 millisecond' \
     where j.id = any(array(",
    claim_candidates!(),
    ")) \
    returning j.id, j.tenant_id, \
              (select t.schema_name from public.tenants t where t.id = j.tenant_id), j.kind, j.queue, j.args, j.attempt, \
              j.max_attempts, j.timeout_ms, j.run_at"
);

/// Claimed beyond a tenant's share in one batch, handed back untried: not counted as
/// an attempt, available at once.
const GIVE_BACK_SQL: &str = "\
    update public.jobs set state = 'available', attempt = attempt - 1, lease_until = null, \
           attempted_by = null \
     where id = any($1) and state = 'running' and attempted_by = $2";

/// Completions are recorded in batches: one statement for every job that finished
/// since the last one.
const COMPLETE_SQL: &str = "\
    update public.jobs j set state = 'completed', finished_at = $3, lease_until = null \
      from unnest($1::int8[], $2::int4[]) as done(id, attempt) \
     where j.id = done.id and j.attempt = done.attempt and j.state = 'running' \
       and j.attempted_by = $4";

/// How long a runner with a backlog waits for more workers to free up before claiming.
const CLAIM_COOLDOWN: Duration = Duration::from_millis(2);

/// Most completions one statement records.
const COMPLETION_BATCH: usize = 1000;

const FAIL_SQL: &str = "\
    update public.jobs \
       set state = case when attempt >= max_attempts then 'discarded' else 'retryable' end, \
           run_at = case when attempt >= max_attempts then run_at else $5 end, \
           finished_at = case when attempt >= max_attempts then $2::timestamptz end, \
           lease_until = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $2::timestamptz, 'error', $6::text)) \
     where id = $1 and state = 'running' and attempted_by = $3 and attempt = $4 \
    returning state";

const CANCEL_SQL: &str = "\
    update public.jobs set state = 'cancelled', finished_at = $2, lease_until = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $2::timestamptz, 'error', $5::text)) \
     where id = $1 and state = 'running' and attempted_by = $3 and attempt = $4";

/// Put off by its handler before it tried anything: not counted as an attempt, due
/// again at `$4`.
const DEFER_SQL: &str = "\
    update public.jobs set state = 'retryable', attempt = attempt - 1, run_at = $4, \
           lease_until = null, attempted_by = null \
     where id = $1 and state = 'running' and attempted_by = $2 and attempt = $3";

/// Released at shutdown: not counted as an attempt, available to others at once.
const RELEASE_SQL: &str = "\
    update public.jobs set state = 'available', attempt = attempt - 1, lease_until = null, \
           attempted_by = null, \
           errors = errors || jsonb_build_array(jsonb_build_object( \
               'attempt', attempt, 'at', $3::timestamptz, 'error', 'released: its worker shut down')) \
     where id = any($1) and state = 'running' and attempted_by = $2";

pub const PROMOTE_SQL: &str = "\
    update public.jobs set state = 'available' \
     where id = any(array( \
        select id from public.jobs \
        where state in ('scheduled', 'retryable') and run_at <= $1 \
        order by run_at limit 5000 for update skip locked))";

pub const RESCUE_SQL: &str = "\
    update public.jobs j \
       set state = case when j.attempt >= j.max_attempts then 'discarded' else 'available' end, \
           finished_at = case when j.attempt >= j.max_attempts then $1::timestamptz end, \
           lease_until = null, \
           errors = j.errors || jsonb_build_array(jsonb_build_object( \
               'attempt', j.attempt, 'at', $1::timestamptz, \
               'error', 'rescued: the lease expired; worker ' || coalesce(j.attempted_by, '?') \
                        || ' stopped answering')) \
     where j.id = any(array( \
        select id from public.jobs \
        where state = 'running' and lease_until < $1 \
        order by lease_until limit 1000 for update skip locked)) \
    returning j.kind";

pub const PRUNE_SQL: &str = "\
    delete from public.jobs where id = any(array( \
        select id from public.jobs \
        where state in ('completed', 'cancelled', 'discarded') and finished_at < $1 \
        limit 10000))";

const NEXT_TIMER_SQL: &str = "\
    select least((select min(run_at) from public.jobs where state in ('scheduled', 'retryable')), \
                 (select min(next_run_at) from public.periodic_jobs))";

/// What one pass of maintenance did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    pub made_available: u64,
    pub rescued: u64,
    pub periodic_enqueued: u64,
    pub pruned: u64,
}

impl Runner {
    /// `queue_pool` runs the runner's own statements; `tenant_pool` is what handlers'
    /// tenant handles use; `direct` (a URL to PostgreSQL itself) is for `LISTEN`, and
    /// without it the runner only polls.
    pub fn new(
        queue_pool: RequestPool,
        tenant_pool: RequestPool,
        direct: Option<DatabaseUrl>,
        clock: SharedClock,
        handlers: Handlers,
        config: RunnerConfig,
        metrics: JobMetrics,
    ) -> Self {
        let (completions, completions_rx) = mpsc::unbounded_channel();
        Self(Arc::new(Inner {
            completions,
            completions_rx: Mutex::new(Some(completions_rx)),
            queue_pool,
            tenant_pool,
            direct,
            unit: Unit::new(clock.clone(), Reactions::default()),
            clock,
            handlers,
            slots: Arc::new(Semaphore::new(config.workers.max(1))),
            shares: TenantShares::new(
                config
                    .tenant_share
                    .unwrap_or_else(|| default_tenant_share(config.workers)),
            ),
            config,
            metrics,
            wake: Notify::new(),
            running: Mutex::new(HashMap::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            listening: AtomicBool::new(false),
            stop: CancellationToken::new(),
        }))
    }

    /// The event reactions that run when a handler records an event. Before `start`.
    pub fn with_reactions(mut self, reactions: Reactions) -> Self {
        let inner = Arc::get_mut(&mut self.0).expect("reactions are set before the runner starts");
        inner.unit = Unit::new(inner.clock.clone(), reactions);
        self
    }

    /// Whether the notification connection is up (tests wait for it).
    pub fn is_listening(&self) -> bool {
        self.0.listening.load(Ordering::Acquire)
    }

    /// Wakes the claim loop now, as a notification would.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Starts the loops: listener, claimer, maintenance. Returns once the listener has
    /// tried its first `LISTEN`, so a job enqueued afterwards wakes it.
    pub async fn start(&self) -> RunnerHandle {
        let mut tasks = Vec::new();
        if let Some(direct) = self.0.direct.clone() {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let runner = self.clone();
            tasks.push(tokio::spawn(async move {
                runner.listen_forever(direct, ready_tx).await;
            }));
            let _ = tokio::time::timeout(Duration::from_secs(5), ready_rx).await;
        }
        let receiver = self.0.completions_rx.lock().expect("completions").take();
        if let Some(receiver) = receiver {
            let runner = self.clone();
            tasks.push(tokio::spawn(
                async move { runner.complete_loop(receiver).await },
            ));
        }
        let runner = self.clone();
        tasks.push(tokio::spawn(async move { runner.claim_loop().await }));
        let runner = self.clone();
        tasks.push(tokio::spawn(async move { runner.maintenance_loop().await }));
        RunnerHandle {
            runner: self.clone(),
            tasks,
        }
    }

    async fn listen_forever(&self, direct: DatabaseUrl, ready: tokio::sync::oneshot::Sender<()>) {
        let mut ready = Some(ready);
        loop {
            if let Err(error) = self.listen_once(&direct, &mut ready).await {
                if !self.0.stop.is_cancelled() {
                    tracing::warn!(error = %describe_error(&error), "job listener lost; polling until it is back");
                }
            }
            self.0.listening.store(false, Ordering::Release);
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
            tokio::select! {
                _ = self.0.stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    async fn listen_once(
        &self,
        direct: &DatabaseUrl,
        ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    ) -> Result<(), TenancyError> {
        let mut listening =
            crate::tenancy::listen::listen(direct, Some("pactum-jobs-listener"), JOBS_CHANNEL)
                .await?;
        self.0.listening.store(true, Ordering::Release);
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        // Whatever was enqueued while nobody listened.
        self.wake();
        loop {
            tokio::select! {
                _ = self.0.stop.cancelled() => return Ok(()),
                got = listening.notifications.recv() => match got {
                    Some(_) => self.wake(),
                    None => break,
                }
            }
        }
        Err(TenancyError::Other(anyhow::anyhow!(
            "the job notification connection closed"
        )))
    }

    async fn claim_loop(&self) {
        let inner = &self.0;
        let mut next_queue = 0usize;
        // Whether the last claim got all it asked for (more is probably waiting).
        let mut backlog = false;
        loop {
            if inner.stop.is_cancelled() {
                return;
            }
            // Wait for a free slot before claiming: a job is never claimed that no
            // worker is free to run.
            let first = tokio::select! {
                _ = inner.stop.cancelled() => return,
                permit = inner.slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let mut permits = vec![first];
            while let Ok(permit) = inner.slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            // With a backlog, a claim as soon as one worker frees up would fetch one job
            // per round trip; waiting a moment (at most CLAIM_COOLDOWN) for the other
            // workers claims for them in bulk. An idle queue claims at once, so a new
            // job's start is not delayed.
            let all = inner.config.workers.max(1);
            if backlog && permits.len() < all {
                let deadline = tokio::time::Instant::now() + CLAIM_COOLDOWN;
                while permits.len() < all {
                    tokio::select! {
                        _ = inner.stop.cancelled() => return,
                        _ = tokio::time::sleep_until(deadline) => break,
                        permit = inner.slots.clone().acquire_owned() => match permit {
                            Ok(permit) => permits.push(permit),
                            Err(_) => return,
                        },
                    }
                }
            }
            let wanted = permits.len();
            let mut claimed = Vec::new();
            let queues = &inner.config.queues;
            for offset in 0..queues.len() {
                let want = permits.len() - claimed.len();
                if want == 0 {
                    break;
                }
                let queue = &queues[(next_queue + offset) % queues.len()];
                match self.claim(queue, want).await {
                    Ok(jobs) => claimed.extend(jobs),
                    Err(error) => {
                        tracing::warn!(error = %describe_error(&error), "claiming jobs failed; retrying after the poll interval");
                        break;
                    }
                }
            }
            next_queue = next_queue.wrapping_add(1);
            backlog = claimed.len() == wanted;
            if claimed.is_empty() {
                drop(permits);
                tokio::select! {
                    _ = inner.stop.cancelled() => return,
                    _ = inner.wake.notified() => {}
                    _ = tokio::time::sleep(inner.config.poll_interval) => {}
                }
                continue;
            }
            inner.in_flight.fetch_add(claimed.len(), Ordering::AcqRel);
            for Claimed { job, _slot: slot } in claimed {
                let permit = permits.pop().expect("one permit per claimed job");
                let runner = self.clone();
                tokio::spawn(async move {
                    runner.run(job).await;
                    runner.0.in_flight.fetch_sub(1, Ordering::AcqRel);
                    drop(slot);
                    drop(permit);
                    // A claim held back by a tenant's share may go ahead now.
                    runner.wake();
                });
            }
        }
    }

    /// Claims up to `limit` available jobs of `queue` for this runner, none of a tenant
    /// beyond its share of the workers: tenants at their share are passed over, and
    /// what one batch took beyond a tenant's share is handed back untried. Each job
    /// holds its place in the share until the [`Claimed`] is dropped.
    pub async fn claim(&self, queue: &str, limit: usize) -> Result<Vec<Claimed>, TenancyError> {
        let inner = &self.0;
        let conn = inner.queue_pool.get(None).await?;
        let now = inner.clock.now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let grace = i64::try_from(inner.config.lease_grace.as_millis()).unwrap_or(i64::MAX);
        let passed_over = inner.shares.full();
        let rows = conn
            .query(
                Scope::standalone(),
                CLAIM_SQL,
                &[
                    &queue,
                    &limit,
                    &now,
                    &passed_over,
                    &inner.config.worker_id,
                    &grace,
                ],
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut beyond_share = Vec::new();
        for row in rows {
            let id: i64 = row.get(0);
            let tenant = TenantId(row.get(1));
            let Some(slot) = inner.shares.take(tenant) else {
                beyond_share.push(id);
                continue;
            };
            let schema: String = row.get(2);
            let Some(schema) = SchemaName::from_stored(&schema) else {
                tracing::error!(%schema, "a tenant's schema name in the registry is invalid");
                continue;
            };
            let timeout_ms: i32 = row.get(8);
            claimed.push(Claimed {
                job: Job {
                    id,
                    tenant,
                    schema,
                    kind: row.get(3),
                    queue: row.get(4),
                    args: row.get(5),
                    attempt: row.get(6),
                    max_attempts: row.get(7),
                    timeout: Duration::from_millis(u64::try_from(timeout_ms).unwrap_or(1)),
                    run_at: row.get(9),
                },
                _slot: slot,
            });
        }
        if !beyond_share.is_empty() {
            // A failure here leaves them to their lease, then the rescue: late, not lost.
            if let Err(error) = conn
                .execute(
                    Scope::standalone(),
                    GIVE_BACK_SQL,
                    &[&beyond_share, &inner.config.worker_id],
                )
                .await
            {
                tracing::warn!(jobs = beyond_share.len(), error = %describe_error(&error), "handing back jobs beyond a tenant's share failed");
            }
        }
        Ok(claimed)
    }

    /// Runs one claimed job to its outcome and records it.
    async fn run(&self, job: Job) {
        let inner = &self.0;
        let started = inner.clock.now();
        let wait = (started - job.run_at).to_std().unwrap_or_default();
        inner
            .metrics
            .queue_wait
            .with_label_values(&[&job.kind])
            .observe(wait.as_secs_f64());
        let span = tracing::info_span!("job", id = job.id, kind = %job.kind, tenant = %job.tenant, attempt = job.attempt);
        let outcome = match inner.handlers.0.get(job.kind.as_str()).cloned() {
            None => Err(JobError::Retry(format!(
                "no handler for kind {:?} in this process",
                job.kind
            ))),
            Some(handler) => {
                let ctx = JobContext {
                    db: inner.unit.attach(TenantDb::new(
                        inner.tenant_pool.clone(),
                        job.tenant,
                        &job.schema,
                    )),
                    clock: inner.clock.clone(),
                    job: job.clone(),
                };
                let task = tokio::spawn(handler(ctx).instrument(span));
                inner
                    .running
                    .lock()
                    .expect("running jobs")
                    .insert(job.id, task.abort_handle());
                let abort = task.abort_handle();
                let timer = std::time::Instant::now();
                let result = tokio::time::timeout(job.timeout, task).await;
                inner
                    .metrics
                    .run_time
                    .with_label_values(&[&job.kind])
                    .observe(timer.elapsed().as_secs_f64());
                match result {
                    Ok(Ok(outcome)) => outcome,
                    Ok(Err(join)) if join.is_panic() => Err(JobError::Retry(format!(
                        "panicked: {}",
                        panic_message(join)
                    ))),
                    // Aborted by shutdown, which releases the job itself.
                    Ok(Err(_)) if inner.stop.is_cancelled() => return,
                    Ok(Err(_)) => Err(JobError::Retry("aborted".into())),
                    Err(_) => {
                        abort.abort();
                        Err(JobError::Retry(format!(
                            "timed out after {} ms",
                            job.timeout.as_millis()
                        )))
                    }
                }
            }
        };
        if let Err(JobError::Interrupted(why)) = &outcome {
            if inner.stop.is_cancelled() {
                tracing::info!(job = job.id, %why, "a job cut off by shutdown is released");
                if let Err(error) = self.release(&[job.id]).await {
                    tracing::warn!(job = job.id, error = %describe_error(&error), "releasing a job failed; its lease will expire instead");
                }
                inner.running.lock().expect("running jobs").remove(&job.id);
                return;
            }
        }
        if let Err(error) = self.finish(&job, outcome).await {
            // The lease will expire and the job will be rescued.
            tracing::warn!(job = job.id, error = %describe_error(&error), "recording a job's outcome failed");
        }
        inner.running.lock().expect("running jobs").remove(&job.id);
    }

    /// Records completions in batches: whatever finished while the previous statement
    /// ran goes in the next one, so a busy runner spends one round trip on many jobs
    /// and an idle one records each at once.
    async fn complete_loop(&self, mut receiver: mpsc::UnboundedReceiver<Completion>) {
        let inner = &self.0;
        let mut ids = Vec::with_capacity(COMPLETION_BATCH);
        let mut attempts = Vec::with_capacity(COMPLETION_BATCH);
        let mut flushes = Vec::new();
        while let Some(first) = receiver.recv().await {
            let mut next = Some(first);
            while let Some(completion) = next.take() {
                match completion {
                    Completion::Done { id, attempt } => {
                        ids.push(id);
                        attempts.push(attempt);
                    }
                    Completion::Flush(done) => flushes.push(done),
                }
                if ids.len() < COMPLETION_BATCH {
                    next = receiver.try_recv().ok();
                }
            }
            if !ids.is_empty() {
                let recorded = async {
                    let conn = inner.queue_pool.get(None).await?;
                    conn.execute(
                        Scope::standalone(),
                        COMPLETE_SQL,
                        &[&ids, &attempts, &inner.clock.now(), &inner.config.worker_id],
                    )
                    .await?;
                    Ok::<_, TenancyError>(())
                };
                if let Err(error) = recorded.await {
                    // Their leases will expire and they will run again: handlers are
                    // idempotent.
                    tracing::warn!(jobs = ids.len(), error = %describe_error(&error), "recording completed jobs failed");
                }
                ids.clear();
                attempts.clear();
            }
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }

    async fn finish(&self, job: &Job, outcome: Result<(), JobError>) -> Result<(), TenancyError> {
        let inner = &self.0;
        let failure = match outcome {
            Ok(()) => {
                let _ = inner.completions.send(Completion::Done {
                    id: job.id,
                    attempt: job.attempt,
                });
                inner
                    .metrics
                    .finished
                    .with_label_values(&[&job.kind, "completed"])
                    .inc();
                return Ok(());
            }
            Err(failure) => failure,
        };
        let conn = inner.queue_pool.get(None).await?;
        let now = inner.clock.now();
        let me = &inner.config.worker_id;
        let label = match failure {
            JobError::Cancel(reason) => {
                tracing::info!(job = job.id, kind = %job.kind, %reason, "job cancelled itself");
                conn.execute(
                    Scope::standalone(),
                    CANCEL_SQL,
                    &[&job.id, &now, me, &job.attempt, &truncate(&reason)],
                )
                .await?;
                "cancelled"
            }
            JobError::Retry(error) => {
                let delay = backoff::next_delay(job.attempt);
                self.retry_later(&conn, job, now, delay, &error).await?
            }
            JobError::RetryIn(delay, error) => {
                self.retry_later(&conn, job, now, delay, &error).await?
            }
            JobError::Interrupted(error) => {
                let delay = backoff::next_delay(job.attempt);
                self.retry_later(&conn, job, now, delay, &error).await?
            }
            JobError::Defer(delay, reason) => {
                tracing::debug!(job = job.id, kind = %job.kind, %reason, "job deferred");
                let next = now
                    + chrono::Duration::from_std(delay)
                        .unwrap_or_else(|_| chrono::Duration::hours(1));
                conn.execute(
                    Scope::standalone(),
                    DEFER_SQL,
                    &[&job.id, &inner.config.worker_id, &job.attempt, &next],
                )
                .await?;
                "deferred"
            }
        };
        inner
            .metrics
            .finished
            .with_label_values(&[&job.kind, label])
            .inc();
        Ok(())
    }

    /// Records a failed attempt: retryable after `delay`, or discarded when it was the
    /// last. Returns the metric label.
    async fn retry_later(
        &self,
        conn: &crate::tenancy::connection::Connection,
        job: &Job,
        now: DateTime<Utc>,
        delay: Duration,
        error: &str,
    ) -> Result<&'static str, TenancyError> {
        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempt, %error, "job attempt failed");
        let delay =
            chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(6));
        let next = now + delay;
        let state = conn
            .query_opt(
                Scope::standalone(),
                FAIL_SQL,
                &[
                    &job.id,
                    &now,
                    &self.0.config.worker_id,
                    &job.attempt,
                    &next,
                    &truncate(error),
                ],
            )
            .await?;
        Ok(match state.map(|row| row.get::<_, String>(0)).as_deref() {
            Some("discarded") => "discarded",
            _ => "retried",
        })
    }

    async fn maintenance_loop(&self) {
        let inner = &self.0;
        let mut passes: u64 = 0;
        loop {
            let sleep = match self.maintain_once(passes.is_multiple_of(60)).await {
                Ok((_, next)) => next,
                Err(error) => {
                    tracing::warn!(error = %describe_error(&error), "job maintenance failed");
                    inner.config.poll_interval
                }
            };
            passes += 1;
            tokio::select! {
                _ = inner.stop.cancelled() => return,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    /// One maintenance pass: due timers and retries made available, abandoned jobs
    /// rescued, periodic jobs fired, and (when `prune`) old finished jobs deleted.
    /// Returns what it did and how long to sleep before the next pass (until the next
    /// timer, at most the poll interval). Tests that move a manual clock call this.
    pub async fn maintain_once(
        &self,
        prune: bool,
    ) -> Result<(Maintenance, Duration), TenancyError> {
        let inner = &self.0;
        let conn = inner.queue_pool.get(None).await?;
        let now = inner.clock.now();
        let mut done = Maintenance {
            made_available: conn
                .execute(Scope::standalone(), PROMOTE_SQL, &[&now])
                .await?,
            ..Maintenance::default()
        };
        let rescued = conn.query(Scope::standalone(), RESCUE_SQL, &[&now]).await?;
        for row in &rescued {
            let kind: &str = row.get(0);
            tracing::warn!(kind, "rescued a job whose worker stopped answering");
            inner.metrics.rescued.with_label_values(&[kind]).inc();
        }
        done.rescued = rescued.len() as u64;
        done.periodic_enqueued = periodic::fire_due(&conn, now).await?;
        if prune {
            let horizon = now
                - chrono::Duration::from_std(inner.config.retention)
                    .unwrap_or_else(|_| chrono::Duration::days(1));
            done.pruned = conn
                .execute(Scope::standalone(), PRUNE_SQL, &[&horizon])
                .await?;
        }
        if done.made_available + done.rescued + done.periodic_enqueued > 0 {
            self.wake();
        }
        let next: Option<DateTime<Utc>> = conn
            .query_one(Scope::standalone(), NEXT_TIMER_SQL, &[])
            .await?
            .get(0);
        let poll = inner.config.poll_interval;
        let sleep = match next {
            Some(at) if at > now => (at - now).to_std().unwrap_or(poll).min(poll),
            Some(_) => Duration::from_millis(5).min(poll),
            None => poll,
        };
        Ok((done, sleep))
    }

    /// Gives running jobs of this process back to the queue, not counted as attempts.
    async fn release(&self, ids: &[i64]) -> Result<(), TenancyError> {
        let inner = &self.0;
        let conn = inner.queue_pool.get(None).await?;
        conn.execute(
            Scope::standalone(),
            RELEASE_SQL,
            &[&ids, &inner.config.worker_id, &inner.clock.now()],
        )
        .await?;
        Ok(())
    }

    /// Jobs this process has claimed and not finished.
    pub fn running(&self) -> usize {
        self.0.in_flight.load(Ordering::Acquire)
    }
}

impl RunnerHandle {
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// Stops claiming, lets running jobs finish within the grace period, then aborts
    /// the rest and releases them, so another worker takes them at once.
    pub async fn shutdown(self) {
        let inner = &self.runner.0;
        inner.stop.cancel();
        let deadline = tokio::time::Instant::now() + inner.config.shutdown_grace;
        while self.runner.running() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ids: Vec<i64> = {
            let running = inner.running.lock().expect("running jobs");
            running
                .iter()
                .map(|(id, abort)| {
                    abort.abort();
                    *id
                })
                .collect()
        };
        if !ids.is_empty() {
            tracing::warn!(jobs = ?ids, "releasing jobs still running at shutdown");
            if let Err(error) = self.runner.release(&ids).await {
                tracing::warn!(error = %describe_error(&error), "releasing jobs failed; their leases will expire instead");
            }
        }
        // What finished is recorded before the process goes.
        let (flushed, wait) = tokio::sync::oneshot::channel();
        if inner.completions.send(Completion::Flush(flushed)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

fn panic_message(join: tokio::task::JoinError) -> String {
    let payload = join.into_panic();
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic".into()
    }
}

/// Errors are kept, but not without bound.
fn truncate(text: &str) -> String {
    const MAX: usize = 2000;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::default_tenant_share;

    #[test]
    fn a_quarter_of_the_workers_is_kept_from_any_one_tenant() {
        let shares: Vec<usize> = [0, 1, 2, 3, 4, 8, 16]
            .into_iter()
            .map(default_tenant_share)
            .collect();
        assert_eq!(shares, [1, 1, 1, 2, 3, 6, 12]);
    }
}
