//! The job queue against a real PostgreSQL: enqueued in the tenant's transaction, run
//! once by many workers, retried with backoff, rescued after a worker dies, fair across
//! tenants, paused and resumed by scope, periodic across instances, stopped gracefully.
//! Runners here are the library's, in this process, with their own pools and
//! notification connections, as separate instances would have; the tests of killed
//! and stopped processes run the real `pactum worker` binary.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use pactum::kernel::audit::{self, Entry};
use pactum::kernel::clock::{self, Clock, ManualClock, SharedClock};
use pactum::kernel::jobs::admin::{self, PauseScope};
use pactum::kernel::jobs::enqueue::{after_prefix, CANCEL_SQL};
use pactum::kernel::jobs::metrics::JobMetrics;
use pactum::kernel::jobs::periodic::{self, PeriodicJob};
use pactum::kernel::jobs::sql::{
    CLAIM_CANDIDATES_SQL, CLAIM_SQL, FLEET_RUNNING_SQL, HOLD_SQL, PROMOTE_SQL, PRUNE_SQL,
    RELEASE_HELD_SQL, RESCUE_SQL,
};
use pactum::kernel::jobs::BackgroundJob;
use pactum::kernel::jobs::{
    enqueue, enqueue_collecting, enqueue_with, Handlers, JobError, JobKind, NewJob, Runner,
    RunnerConfig, RunnerHandle,
};
use pactum::kernel::{Actor, Origin};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::scoped::TenantDb;
use pactum::tenancy::{MigrationSet, SchemaName, TenantId, TenantSlug};
use serde_json::json;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

mod fairness;
mod pauses;
mod processes;
mod queue;
mod timers;
mod together;

const RECORD: JobKind = JobKind {
    name: "test.record",
    queue: "default",
    priority: 0,
    max_attempts: 3,
    timeout: Duration::from_secs(10),
};

const OTHER_QUEUE: JobKind = JobKind {
    queue: "other",
    name: "test.other",
    ..RECORD
};

const ALWAYS_FAILS: JobKind = JobKind {
    name: "test.fails",
    max_attempts: 3,
    ..RECORD
};

const PANICS: JobKind = JobKind {
    name: "test.panics",
    max_attempts: 2,
    ..RECORD
};

/// Runs far longer than a test waits for it.
const STUCK: JobKind = JobKind {
    name: "test.stuck",
    timeout: Duration::from_secs(120),
    ..RECORD
};

/// Records its start, then runs far longer than a test waits for it.
const HELD_UP: JobKind = JobKind {
    name: "test.held_up",
    ..STUCK
};

const HANGS: JobKind = JobKind {
    name: "test.hangs",
    max_attempts: 2,
    timeout: Duration::from_millis(200),
    ..RECORD
};

/// What ran: job id -> how many times, and when each started.
#[derive(Clone, Default)]
struct Ran(Arc<Mutex<HashMap<i64, Vec<Instant>>>>);

impl Ran {
    fn times(&self, id: i64) -> usize {
        self.0.lock().unwrap().get(&id).map_or(0, Vec::len)
    }

    fn first_start(&self, id: i64) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .get(&id)
            .and_then(|v| v.first().copied())
    }

    fn total(&self) -> usize {
        self.0.lock().unwrap().values().map(Vec::len).sum()
    }

    fn distinct(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

fn handlers(ran: &Ran) -> Handlers {
    let mut handlers = Handlers::default();
    for kind in [RECORD, OTHER_QUEUE, HELD_UP] {
        let ran = ran.clone();
        handlers.register(kind, move |ctx| {
            let ran = ran.clone();
            async move {
                ran.0
                    .lock()
                    .unwrap()
                    .entry(ctx.job.id)
                    .or_default()
                    .push(Instant::now());
                if ctx.job.kind == HELD_UP.name {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                Ok(())
            }
        });
    }
    handlers
        .register(ALWAYS_FAILS, |_| async {
            Err(JobError::Retry("nope".into()))
        })
        .register(PANICS, |_| async { panic!("the handler blew up") })
        .register(HANGS, |_| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        })
        .register(STUCK, |_| async {
            tokio::time::sleep(Duration::from_secs(120)).await;
            Ok(())
        });
    handlers
}

struct Queue {
    db: TestDb,
    client: Client,
    tenants: HashMap<&'static str, TenantId>,
    roles: HashMap<&'static str, Option<pactum::tenancy::roles::RoleName>>,
}

impl Queue {
    async fn with_tenants(slugs: &[&'static str]) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            pactum::telemetry::init(pactum::config::LogFormat::Text);
        }
        let db = TestDb::migrated().await;
        let (mut tenants, mut roles) = (HashMap::new(), HashMap::new());
        for slug in slugs {
            tenant_with_admin(&db, slug, PASSWORD).await;
        }
        let client = db.client().await;
        for slug in slugs {
            let tenant = pactum::tenancy::registry::get_by_slug(
                &client,
                &pactum::tenancy::TenantSlug::parse(slug).unwrap(),
            )
            .await
            .unwrap();
            tenants.insert(*slug, tenant.id);
            roles.insert(*slug, tenant.role);
        }
        Self {
            db,
            client,
            tenants,
            roles,
        }
    }

    fn pool(&self, size: usize) -> RequestPool {
        RequestPool::new(&self.db.database_url(), size, Pooler::None).unwrap()
    }

    fn runner(
        &self,
        ran: &Ran,
        clock: SharedClock,
        tweak: impl FnOnce(&mut RunnerConfig),
    ) -> Runner {
        let mut config = RunnerConfig::new(4);
        config.queues = vec!["default".into(), "other".into()];
        config.poll_interval = Duration::from_millis(100);
        tweak(&mut config);
        Runner::new(
            self.pool(2),
            self.pool(4),
            Some(self.db.database_url()),
            clock,
            handlers(ran),
            config,
            JobMetrics::new(),
        )
    }

    async fn enqueue(&self, slug: &str, jobs: Vec<NewJob>) -> Vec<i64> {
        self.enqueue_at(slug, Utc::now(), jobs).await
    }

    /// Enqueues by `now`, the clock of the runner that is to take the jobs.
    async fn enqueue_at(&self, slug: &str, now: DateTime<Utc>, jobs: Vec<NewJob>) -> Vec<i64> {
        enqueue_with(&self.client, self.tenants[slug], now, jobs)
            .await
            .unwrap()
    }

    /// Enqueues one job of `RECORD` for `slug`, due now.
    async fn enqueue_one(&self, slug: &str) -> i64 {
        self.enqueue(slug, vec![NewJob::now(RECORD, json!({}))])
            .await[0]
    }

    /// Enqueues `n` jobs of `kind` for `slug`, numbered in their arguments.
    async fn enqueue_numbered(&self, slug: &str, kind: JobKind, n: usize) -> Vec<i64> {
        let jobs = (0..n).map(|i| NewJob::now(kind, json!({"i": i}))).collect();
        self.enqueue(slug, jobs).await
    }

    /// How many of `slug`'s jobs are running.
    async fn running_of(&self, slug: &str) -> i64 {
        self.client
            .query_one(
                "select count(*) from public.jobs j join public.tenants t on t.id = j.tenant_id \
                 where t.slug = $1 and j.state = 'running'",
                &[&slug],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// The attempts spent by those of `ids` that are not running: none for jobs
    /// handed back untried.
    async fn attempts_of_waiting(&self, ids: &[i64]) -> i64 {
        self.client
            .query_one(
                "select coalesce(sum(attempt), 0) from public.jobs where id = any($1) and state <> 'running'",
                &[&ids],
            )
            .await
            .unwrap()
            .get(0)
    }

    async fn state(&self, id: i64) -> String {
        self.client
            .query_one("select state from public.jobs where id = $1", &[&id])
            .await
            .unwrap()
            .get(0)
    }

    async fn wait_for_state(&self, id: i64, wanted: &str, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let state = self.state(id).await;
            if state == wanted {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} is {state}, not {wanted}, after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn tenant_db(&self, slug: &str) -> TenantDb {
        TenantDb::new(
            self.pool(2),
            self.tenants[slug],
            &SchemaName::from_stored(&format!("t_{slug}")).unwrap(),
            self.roles[slug].as_ref(),
        )
    }
}

async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The tenant schema version this build's runners claim the jobs of.
fn version() -> i32 {
    MigrationSet::tenant().latest_version()
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A started runner that polls too seldom to matter: only a notification can wake it in
/// time.
async fn only_woken_by_notifications(queue: &Queue, ran: &Ran) -> (Runner, RunnerHandle) {
    let runner = queue.runner(ran, clock::system(), |c| {
        c.poll_interval = Duration::from_secs(60);
    });
    let handle = runner.start().await;
    assert!(runner.is_listening());
    (runner, handle)
}

/// Acme with an hourly digest (Paris time) defined at 09:10 UTC, and a runner on a
/// manual clock that runs no queue (only its maintenance passes are called): the queue,
/// the clock, the runner, the start and the digest's first run.
async fn acme_with_an_hourly_digest() -> (
    Queue,
    Arc<ManualClock>,
    Runner,
    DateTime<Utc>,
    DateTime<Utc>,
) {
    let queue = Queue::with_tenants(&["acme"]).await;
    let start: DateTime<Utc> = "2026-11-30T09:10:00Z".parse().unwrap();
    let manual = ManualClock::starting_at(start);
    let runner = queue.runner(&Ran::default(), manual.clone(), |c| {
        c.queues = vec!["nothing".into()];
    });
    let next = periodic::define(
        &queue.client,
        start,
        PeriodicJob {
            tenant: queue.tenants["acme"],
            name: "hourly-digest",
            schedule: "0 * * * *",
            timezone: "Europe/Paris",
            kind: RECORD,
            args: json!({}),
        },
    )
    .await
    .unwrap();
    (queue, manual, runner, start, next)
}

async fn next_run_of_the_digest(queue: &Queue) -> DateTime<Utc> {
    queue
        .client
        .query_one("select next_run_at from public.periodic_jobs", &[])
        .await
        .unwrap()
        .get(0)
}

/// A webhook receiver that hangs while told to, else answers 204.
struct Receiver {
    port: u16,
    hang: Arc<std::sync::atomic::AtomicBool>,
    answered: Arc<std::sync::atomic::AtomicUsize>,
    /// How long it takes over an answer when it does not hang.
    slow_ms: Arc<std::sync::atomic::AtomicU64>,
    /// When each request arrived.
    arrivals: Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl Receiver {
    async fn start() -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let slow_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (h, a, slow, arrived) = (
            hang.clone(),
            answered.clone(),
            slow_ms.clone(),
            arrivals.clone(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (h, a, slow, arrived) = (h.clone(), a.clone(), slow.clone(), arrived.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 65536];
                    let _ = socket.read(&mut buffer).await;
                    arrived.lock().unwrap().push(Instant::now());
                    if h.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
                    let slow = slow.load(Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(slow)).await;
                    let _ = socket
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                    a.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        Self {
            port,
            hang,
            answered,
            slow_ms,
            arrivals,
        }
    }
}

/// A webhook delivery job to `receiver`, which is a real job of the real binary.
async fn delivery_job(queue: &Queue, receiver: &Receiver) -> i64 {
    delivery_job_to(queue, &format!("http://127.0.0.1:{}/hook", receiver.port)).await
}

/// A webhook delivery job to `url`, stored as it is (as if its name had resolved
/// elsewhere when it was saved).
async fn delivery_job_to(queue: &Queue, url: &str) -> i64 {
    let endpoint: Uuid = queue
        .client
        .query_one(
            "insert into t_acme.webhook_endpoints (url, event_types, secret) \
             values ($1, '{*}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') returning id",
            &[&url],
        )
        .await
        .unwrap()
        .get(0);
    let event: i64 = queue
        .client
        .query_one(
            "insert into t_acme.audit_logs (action, entity, changes) \
             values ('create', 'contract', '{}') returning id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    queue
        .enqueue(
            "acme",
            vec![pactum::webhooks::WebhookDelivery {
                endpoint_id: endpoint,
                event_id: event,
            }
            .now()],
        )
        .await[0]
}

/// A runner of this process with the real handlers (webhooks allowed to reach this
/// machine), claiming from the `webhooks` queue with `workers` workers.
async fn webhook_runner(queue: &Queue, clock: SharedClock, workers: usize) -> Runner {
    let per_destination = (workers / 2).max(1);
    webhook_runner_with(
        queue,
        clock,
        RunnerConfig::new(workers),
        (per_destination, None),
    )
    .await
}

/// [`webhook_runner`] with its settings (the queue and poll interval are set here) and
/// how many deliveries one destination may have in flight, from this runner and (if
/// set) from every runner together.
async fn webhook_runner_with(
    queue: &Queue,
    clock: SharedClock,
    settings: RunnerConfig,
    (per_destination, in_the_fleet): (usize, Option<usize>),
) -> Runner {
    let workers = settings.workers;
    let config = pactum::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(queue.db.url.clone()),
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret-00".into()),
        "PACTUM_WEBHOOK_ALLOW_PRIVATE" => Some("true".into()),
        "PACTUM_WEBHOOK_MAX_PER_DESTINATION" => Some(per_destination.to_string()),
        "PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION" => in_the_fleet.map(|cap| cap.to_string()),
        _ => None,
    })
    .unwrap();
    let outbound = pactum::app::Outbound::new(&config).await.unwrap();
    Runner::new(
        queue.pool(2),
        queue.pool(workers),
        Some(queue.db.database_url()),
        clock,
        pactum::app::job_handlers(&outbound),
        RunnerConfig {
            queues: vec!["webhooks".into()],
            poll_interval: Duration::from_millis(100),
            ..settings
        },
        JobMetrics::new(),
    )
}

/// A `pactum worker` process, killed if a test fails before it ends it.
struct Worker(std::process::Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_worker(queue: &Queue) -> Worker {
    spawn_worker_with(queue, &[("PACTUM_WEBHOOK_ALLOW_PRIVATE", "1")])
}

fn spawn_worker_with(queue: &Queue, settings: &[(&str, &str)]) -> Worker {
    Worker(
        std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &queue.db.url)
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env("PACTUM_JOB_POLL_MS", "100")
            .env("PACTUM_JOB_SHUTDOWN_SECS", "1")
            .env("PACTUM_JOB_WORKERS", "2")
            // Tests run several workers at once: no shared default metrics port.
            .env("PACTUM_METRICS_BIND", "off")
            .envs(settings.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the pactum binary starts"),
    )
}

/// Acme's receiver hangs, Globex's answers; ten deliveries each, Acme's enqueued
/// first. Returns the receivers and Globex's jobs.
async fn one_hanging_receiver(queue: &Queue) -> (Receiver, Receiver, Vec<i64>) {
    use std::sync::atomic::Ordering;
    let hanging = Receiver::start().await;
    let answering = Receiver::start().await;
    answering.hang.store(false, Ordering::SeqCst);
    let endpoint = |schema: &'static str, port: u16| {
        let client = &queue.client;
        async move {
            client
                .query_one(
                    &format!(
                        "insert into {schema}.webhook_endpoints (url, event_types, secret) \
                         values ($1, '{{*}}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw') returning id"
                    ),
                    &[&format!("http://127.0.0.1:{port}/hook")],
                )
                .await
                .unwrap()
                .get::<_, Uuid>(0)
        }
    };
    let (acme_endpoint, globex_endpoint) = (
        endpoint("t_acme", hanging.port).await,
        endpoint("t_globex", answering.port).await,
    );
    let deliveries = |schema: &'static str, endpoint: Uuid| {
        let client = &queue.client;
        async move {
            let mut jobs = Vec::new();
            for _ in 0..10 {
                let event: i64 = client
                    .query_one(
                        &format!(
                            "insert into {schema}.audit_logs (action, entity, changes) \
                             values ('create', 'contract', '{{}}') returning id"
                        ),
                        &[],
                    )
                    .await
                    .unwrap()
                    .get(0);
                jobs.push(pactum::webhooks::delivery_job(endpoint, event));
            }
            jobs
        }
    };
    queue
        .enqueue("acme", deliveries("t_acme", acme_endpoint).await)
        .await;
    let globex = queue
        .enqueue("globex", deliveries("t_globex", globex_endpoint).await)
        .await;
    (hanging, answering, globex)
}

/// Waits for Globex's deliveries and checks that none of them waited for Acme's
/// hanging receiver to time out: a worker stayed free. Returns how many of Acme's
/// deliveries are running.
async fn globex_went_first(queue: &Queue, globex: &[i64], answering: &Receiver) -> i64 {
    for id in globex {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(30))
            .await;
    }
    let timed_out: i64 = count(
        &queue.client,
        "select count(*) from public.jobs j join public.tenants t on t.id = j.tenant_id \
         where t.slug = 'acme' and jsonb_array_length(j.errors) > 0",
    )
    .await;
    assert_eq!(timed_out, 0, "the other tenant waited for the hanging one");
    assert_eq!(
        answering.answered.load(std::sync::atomic::Ordering::SeqCst),
        10
    );
    queue.running_of("acme").await
}
