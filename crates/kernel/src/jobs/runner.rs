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
//!
//! Why this file is long: the claim, run, complete, maintenance and shutdown loops
//! share the runner's state, and the queue's guarantees (a job finished once, released
//! without spending an attempt on shutdown, never claimed past its tenant's share) live
//! in the order of their steps, which reads best in one place. What a handler sees
//! (`handler`), the tenant shares (`shares`), the metrics (`metrics`) and the
//! statements (`sql`) are beside it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::handler::{Handlers, Job, JobContext, JobError};
use super::metrics::JobMetrics;
use super::places::Places;
use super::shares::{AtFleetCap, Claimed, TenantShares};
use super::sql::*;
use super::together::MOST_TOGETHER;
use super::{backoff, periodic, JOBS_CHANNEL};
use crate::clock::SharedClock;
use crate::tenancy::connection::{Connection, RequestPool, Scope};
use crate::tenancy::migrations::MigrationSet;
use crate::tenancy::pool::DatabaseUrl;
use crate::tenancy::roles::RoleName;
use crate::tenancy::scoped::TenantDb;
use crate::tenancy::{describe_error, SchemaName, TenancyError, TenantId};
use crate::unit::{Reactions, Unit};

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
    /// The most jobs of one tenant running at once in the whole fleet, every process
    /// on this queue database counted; `None`, no limit beyond each runner's share.
    /// Counted in `public.jobs` after each claim that takes jobs, which the claim loop
    /// waits for: measured, no-op jobs run at a third to a half of the rate.
    pub tenant_fleet_cap: Option<usize>,
    /// Whether the runner's own changes to the queue, and the work of handlers that
    /// their next run redoes ([`JobContext::begin_redoable`]), wait for the WAL flush
    /// at commit as the server's setting says. `false` (the default) commits them
    /// without waiting: a crash can lose the last few, which are made again (see
    /// `sql`).
    pub durable_bookkeeping: bool,
    /// The most due siblings a handler's unit of work takes with it
    /// ([`JobContext::take_due_siblings`]): [`MOST_TOGETHER`] by default, 0 for none.
    pub together: usize,
    /// The tenant schema version this binary's handlers are written for: the last
    /// migration compiled in, by default. Jobs of a tenant whose schema is at another
    /// version (a migration not yet run, or a newer release's) are not claimed: they
    /// wait, no attempt spent, as that tenant's requests answer `tenant_migrating`.
    pub tenant_schema_version: i32,
}

impl RunnerConfig {
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            queues: vec!["default".into(), "webhooks".into(), "documents".into()],
            poll_interval: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 3600),
            shutdown_grace: Duration::from_secs(25),
            lease_grace: Duration::from_secs(30),
            worker_id: default_worker_id(),
            tenant_share: None,
            tenant_fleet_cap: None,
            durable_bookkeeping: false,
            together: MOST_TOGETHER,
            tenant_schema_version: MigrationSet::tenant().latest_version(),
        }
    }

    /// The `synchronous_commit` of the runner's own statements: `NULL` keeps the
    /// server's.
    fn commit_mode(&self) -> Option<&'static str> {
        (!self.durable_bookkeeping).then_some("off")
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

/// How long a runner with a backlog waits for more workers to free up before claiming.
const CLAIM_COOLDOWN: Duration = Duration::from_millis(2);

/// Most completions one statement records.
const COMPLETION_BATCH: usize = 1000;

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
    wake: Arc<Notify>,
    /// Jobs deferred behind a place, brought forward when it is given back.
    places: Places,
    slots: Arc<Semaphore>,
    /// Handlers started and not finished, to abort at the end of a shutdown.
    running: Mutex<HashMap<i64, AbortHandle>>,
    /// Jobs claimed and not yet finished, counted from the claim (a job is in
    /// `running` only once its handler has started).
    in_flight: std::sync::atomic::AtomicUsize,
    /// Claims sent and not yet answered: a shutdown waits for them, since what they
    /// claim is this process's to run or to give back.
    claiming: std::sync::atomic::AtomicUsize,
    /// Each tenant's part of the claimed jobs, against the share.
    shares: TenantShares,
    /// The tenants the last counts found at the fleet cap, when there is one.
    at_fleet_cap: AtFleetCap,
    completions: mpsc::UnboundedSender<Completion>,
    /// Taken by the completer task when it starts.
    completions_rx: Mutex<Option<mpsc::UnboundedReceiver<Completion>>>,
    listening: AtomicBool,
    stop: CancellationToken,
    /// When this runner last set aside and gave back held jobs: at most once a poll
    /// interval, since passes come every few milliseconds while timers fall due.
    last_set_aside: Mutex<Option<std::time::Instant>>,
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

/// What one pass of maintenance did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    pub made_available: u64,
    /// Available jobs of paused or inactive tenants set aside.
    pub held: u64,
    /// Held jobs of tenants resumed or active again made available.
    pub released: u64,
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
        let wake = Arc::new(Notify::new());
        let places = Places::new(
            queue_pool.clone(),
            clock.clone(),
            config.commit_mode(),
            (Arc::clone(&wake), config.worker_id.clone()),
        );
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
            at_fleet_cap: AtFleetCap::default(),
            shares: TenantShares::new(
                config
                    .tenant_share
                    .unwrap_or_else(|| default_tenant_share(config.workers)),
            ),
            config,
            metrics,
            wake,
            places,
            running: Mutex::new(HashMap::new()),
            in_flight: std::sync::atomic::AtomicUsize::new(0),
            claiming: std::sync::atomic::AtomicUsize::new(0),
            listening: AtomicBool::new(false),
            stop: CancellationToken::new(),
            last_set_aside: Mutex::new(None),
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
                    Some(payload) => match self.0.places.freed_elsewhere(&payload) {
                        None => self.wake(),
                        Some(Some(place)) => self.0.places.given_back(place),
                        Some(None) => {}
                    },
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
            // Counted before the claim is sent: a shutdown that starts while it is on
            // the wire waits for its answer rather than leave what it took claimed by
            // a process that is gone (until its lease expires).
            inner.claiming.fetch_add(1, Ordering::AcqRel);
            let mut claimed = Vec::new();
            let queues = &inner.config.queues;
            // A second round only when a claim passed over a tenant at the fleet cap
            // that its count then found free: no notification would say so.
            for _round in 0..2 {
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
                let freed = inner.at_fleet_cap.take_freed();
                if claimed.len() == permits.len() || !freed {
                    break;
                }
            }
            next_queue = next_queue.wrapping_add(1);
            if inner.stop.is_cancelled() {
                // Stopping: what was just claimed has not started; it goes back to the
                // queue at once, its attempt not spent.
                let ids: Vec<i64> = claimed.iter().map(|c| c.job.id).collect();
                if !ids.is_empty() {
                    tracing::info!(jobs = ?ids, "jobs claimed as shutdown began are released");
                    if let Err(error) = self.release(&ids).await {
                        tracing::warn!(error = %describe_error(&error), "releasing jobs failed; their leases will expire instead");
                    }
                }
                inner.claiming.fetch_sub(1, Ordering::AcqRel);
                return;
            }
            inner.in_flight.fetch_add(claimed.len(), Ordering::AcqRel);
            inner.claiming.fetch_sub(1, Ordering::AcqRel);
            backlog = claimed.len() == wanted;
            if claimed.is_empty() {
                drop(permits);
                // A tenant backed off after a collision at the fleet cap is looked at
                // again when its back-off ends: no notification will say so.
                let mut look_again = tokio::time::Instant::now() + inner.config.poll_interval;
                if let Some(back) = inner.at_fleet_cap.next_return() {
                    look_again = look_again.min(back.into());
                }
                tokio::select! {
                    _ = inner.stop.cancelled() => return,
                    _ = inner.wake.notified() => {}
                    _ = tokio::time::sleep_until(look_again) => {}
                }
                continue;
            }
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
        let mut passed_over = inner.shares.full();
        let fleet_cap = (inner.config.tenant_fleet_cap)
            .map(|cap| i64::try_from(cap.max(1)).unwrap_or(i64::MAX));
        let at_fleet_cap = match fleet_cap {
            Some(_) => inner.at_fleet_cap.passed_over(),
            None => Vec::new(),
        };
        passed_over.extend_from_slice(&at_fleet_cap);
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
                    &inner.config.commit_mode(),
                    &inner.config.tenant_schema_version,
                ],
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut beyond_share = Vec::new();
        let mut handed_back_of = Vec::new();
        for row in rows {
            let id: i64 = row.get(0);
            let tenant = TenantId(row.get(1));
            let Some(slot) = inner.shares.take(tenant) else {
                beyond_share.push(id);
                handed_back_of.push(tenant.0);
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
                    role: row
                        .get::<_, Option<&str>>(10)
                        .and_then(RoleName::from_stored),
                },
                _slot: slot,
            });
        }
        let counted = match fleet_cap {
            Some(cap) if !claimed.is_empty() || !at_fleet_cap.is_empty() => {
                let beyond = (&mut beyond_share, handed_back_of.as_slice());
                let known = (&inner.at_fleet_cap, at_fleet_cap.as_slice());
                Self::keep_within_fleet_cap(&conn, (cap, known), &mut claimed, beyond).await
            }
            _ => Ok(()),
        };
        if !beyond_share.is_empty() {
            // A failure here leaves them to their lease, then the rescue: late, not lost.
            if let Err(error) = conn
                .execute(
                    Scope::standalone(),
                    GIVE_BACK_SQL,
                    &[
                        &beyond_share,
                        &inner.config.worker_id,
                        &inner.config.commit_mode(),
                    ],
                )
                .await
            {
                tracing::warn!(jobs = beyond_share.len(), error = %describe_error(&error), "handing back jobs beyond a tenant's share failed");
            }
        }
        counted?;
        Ok(claimed)
    }

    /// Moves to `beyond` the claimed jobs that would take their tenant past `cap`
    /// running in the whole fleet, counted once the claim committed. A job runs only
    /// if its claim's count, which saw every job claimed before it, was within the
    /// cap, so those that run never exceed it; two runners that claimed a tenant's
    /// jobs at the same instant may both hand some back, and the next claim takes
    /// them. When the count cannot be read, every claimed job goes back untried.
    /// `beyond` comes with the tenants of the jobs already in it (beyond the runner's
    /// share), which are counted running until they are handed back.
    ///
    /// The tenants the claim passed over at the cap (`passed_over`, from `at_cap`) are
    /// counted too, and what the count finds at the cap becomes what `at_cap` knows; a
    /// tenant all of whose claimed jobs went back is backed off besides.
    async fn keep_within_fleet_cap(
        conn: &Connection,
        (cap, (at_cap, passed_over)): (i64, (&AtFleetCap, &[uuid::Uuid])),
        claimed: &mut Vec<Claimed>,
        (beyond, handed_back_of): (&mut Vec<i64>, &[uuid::Uuid]),
    ) -> Result<(), TenancyError> {
        let mut tenants: Vec<uuid::Uuid> = claimed.iter().map(|job| job.tenant.0).collect();
        tenants.extend_from_slice(passed_over);
        tenants.sort_unstable();
        tenants.dedup();
        let counted = conn
            .query(Scope::standalone(), FLEET_RUNNING_SQL, &[&tenants])
            .await;
        let rows = match counted {
            Ok(rows) => rows,
            Err(error) => {
                beyond.extend(claimed.drain(..).map(|job| job.id));
                return Err(error.into());
            }
        };
        let mut full = HashSet::new();
        let mut excess: HashMap<uuid::Uuid, i64> = HashMap::new();
        for row in &rows {
            let tenant: uuid::Uuid = row.get(0);
            let handed_back = handed_back_of.iter().filter(|t| **t == tenant).count();
            let running = row.get::<_, i64>(1) - handed_back as i64;
            if running >= cap {
                full.insert(tenant);
            }
            if running > cap {
                excess.insert(tenant, running - cap);
            }
        }
        at_cap.counted(full, passed_over);
        let (mut kept, mut returned) = (HashSet::new(), HashSet::new());
        // The batch's last jobs of a tenant (the least urgent) go back first.
        for index in (0..claimed.len()).rev() {
            let tenant = claimed[index].tenant.0;
            match excess.get_mut(&tenant) {
                Some(over) if *over > 0 => {
                    *over -= 1;
                    beyond.push(claimed.remove(index).id);
                    returned.insert(tenant);
                }
                _ => {
                    kept.insert(tenant);
                }
            }
        }
        for tenant in returned.difference(&kept) {
            at_cap.back_off(*tenant);
        }
        Ok(())
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
        let outcome = match inner.handlers.get(&job.kind) {
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
                        job.role.as_ref(),
                    )),
                    clock: inner.clock.clone(),
                    job: job.clone(),
                    places: inner.places.clone(),
                    durable_bookkeeping: inner.config.durable_bookkeeping,
                    worker_id: inner.config.worker_id.clone(),
                    together: inner.config.together,
                    metrics: inner.metrics.clone(),
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
                        &[
                            &ids,
                            &attempts,
                            &inner.clock.now(),
                            &inner.config.worker_id,
                            &inner.config.commit_mode(),
                        ],
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
                // A claim made as these jobs ended counted them still running: a tenant
                // it found at the fleet cap may be below it now.
                if inner.config.tenant_fleet_cap.is_some() {
                    self.wake();
                }
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
                    &[
                        &job.id,
                        &now,
                        me,
                        &job.attempt,
                        &truncate(&reason),
                        &inner.config.commit_mode(),
                    ],
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
                self.defer(&conn, job, now, delay, &reason).await?;
                "deferred"
            }
            JobError::DeferBehind {
                place,
                at_most,
                reason,
            } => {
                self.defer(&conn, job, now, at_most, &reason).await?;
                // Remembered once the deferral committed, so that giving the place
                // back finds the job waiting.
                inner.places.wait(place, job.id, job.attempt - 1);
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

    /// Puts `job` off for `delay` without spending its attempt.
    async fn defer(
        &self,
        conn: &Connection,
        job: &Job,
        now: DateTime<Utc>,
        delay: Duration,
        reason: &str,
    ) -> Result<(), TenancyError> {
        tracing::debug!(job = job.id, kind = %job.kind, %reason, "job deferred");
        let next =
            now + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1));
        conn.execute(
            Scope::standalone(),
            DEFER_SQL,
            &[
                &job.id,
                &self.0.config.worker_id,
                &job.attempt,
                &next,
                &self.0.config.commit_mode(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Records a failed attempt: retryable after `delay`, or discarded when it was the
    /// last. Returns the metric label.
    async fn retry_later(
        &self,
        conn: &Connection,
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
                    &self.0.config.commit_mode(),
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
    /// rescued, periodic jobs fired, jobs of paused or inactive tenants held and those
    /// of tenants resumed given back (at most once a poll interval), and (when `prune`)
    /// old finished jobs deleted.
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
                .execute(
                    Scope::standalone(),
                    PROMOTE_SQL,
                    &[&now, &inner.config.commit_mode()],
                )
                .await?,
            ..Maintenance::default()
        };
        let rescued = conn
            .query(
                Scope::standalone(),
                RESCUE_SQL,
                &[&now, &inner.config.commit_mode()],
            )
            .await?;
        for row in &rescued {
            let kind: &str = row.get(0);
            tracing::warn!(kind, "rescued a job whose worker stopped answering");
            inner.metrics.rescued.with_label_values(&[kind]).inc();
        }
        done.rescued = rescued.len() as u64;
        done.periodic_enqueued = periodic::fire_due(&conn, now).await?;
        // After what made jobs available. Until then, claims pass over a paused
        // tenant's new jobs row by row; a resume gives its jobs back itself.
        if self.set_aside_due() {
            done.held = set_aside(&conn, HOLD_SQL, inner.config.commit_mode()).await?;
            done.released = set_aside(&conn, RELEASE_HELD_SQL, inner.config.commit_mode()).await?;
        }
        if prune {
            let horizon = now
                - chrono::Duration::from_std(inner.config.retention)
                    .unwrap_or_else(|_| chrono::Duration::days(1));
            done.pruned = conn
                .execute(
                    Scope::standalone(),
                    PRUNE_SQL,
                    &[&horizon, &inner.config.commit_mode()],
                )
                .await?;
        }
        if done.made_available + done.released + done.rescued + done.periodic_enqueued > 0 {
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

    /// Whether a poll interval has passed since held jobs were last set aside and
    /// given back (or they never were); if so, counts this pass as the time they are.
    fn set_aside_due(&self) -> bool {
        let inner = &self.0;
        let mut last = inner.last_set_aside.lock().expect("last set-aside");
        let now = std::time::Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < inner.config.poll_interval) {
            return false;
        }
        *last = Some(now);
        true
    }

    /// Gives running jobs of this process back to the queue, not counted as attempts.
    async fn release(&self, ids: &[i64]) -> Result<(), TenancyError> {
        let inner = &self.0;
        let conn = inner.queue_pool.get(None).await?;
        conn.execute(
            Scope::standalone(),
            RELEASE_SQL,
            &[
                &ids,
                &inner.config.worker_id,
                &inner.clock.now(),
                &inner.config.commit_mode(),
            ],
        )
        .await?;
        Ok(())
    }

    /// Jobs this process has claimed and not finished.
    pub fn running(&self) -> usize {
        self.0.in_flight.load(Ordering::Acquire)
    }
}

/// Runs `sql`, [`HOLD_SQL`] or [`RELEASE_HELD_SQL`], batch after batch until a batch
/// is not full (a long pause can have hundreds of thousands to give back), at most
/// [`MOST_SET_ASIDE_BATCHES`] a pass; returns how many jobs it changed.
async fn set_aside(
    conn: &crate::tenancy::connection::Connection,
    sql: &str,
    commit_mode: Option<&'static str>,
) -> Result<u64, TenancyError> {
    let mut changed = 0;
    for _ in 0..MOST_SET_ASIDE_BATCHES {
        let batch = conn
            .execute(Scope::standalone(), sql, &[&SET_ASIDE_BATCH, &commit_mode])
            .await?;
        changed += batch;
        if batch < SET_ASIDE_BATCH.unsigned_abs() {
            break;
        }
    }
    Ok(changed)
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
        while (self.runner.running() > 0 || inner.claiming.load(Ordering::Acquire) > 0)
            && tokio::time::Instant::now() < deadline
        {
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
