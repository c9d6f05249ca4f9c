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
use pactum::kernel::jobs::periodic::{self, PeriodicJob};
use pactum::kernel::jobs::runner::{JobMetrics, CLAIM_SQL, PROMOTE_SQL, PRUNE_SQL, RESCUE_SQL};
use pactum::kernel::jobs::BackgroundJob;
use pactum::kernel::jobs::{
    enqueue, enqueue_with, Handlers, JobError, JobKind, NewJob, Runner, RunnerConfig, RunnerHandle,
};
use pactum::kernel::{Actor, Origin};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::scoped::TenantDb;
use pactum::tenancy::{SchemaName, TenantId, TenantSlug};
use serde_json::json;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::app::{tenant_with_admin, PASSWORD};
use crate::support::TestDb;

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
    for kind in [RECORD, OTHER_QUEUE] {
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
}

impl Queue {
    async fn with_tenants(slugs: &[&'static str]) -> Self {
        if std::env::var_os("TEST_LOG").is_some() {
            pactum::telemetry::init(pactum::config::LogFormat::Text);
        }
        let db = TestDb::migrated().await;
        let mut tenants = HashMap::new();
        for slug in slugs {
            tenant_with_admin(&db, slug, PASSWORD).await;
        }
        let client = db.client().await;
        for slug in slugs {
            let id: Uuid = client
                .query_one("select id from public.tenants where slug = $1", &[slug])
                .await
                .unwrap()
                .get(0);
            tenants.insert(*slug, TenantId(id));
        }
        Self {
            db,
            client,
            tenants,
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

#[tokio::test]
async fn a_rolled_back_change_leaves_no_event_and_no_job() {
    let queue = Queue::with_tenants(&["acme"]).await;
    // The unit of work the server and the runner attach: the webhooks' fan-out is a
    // reaction to every event.
    let db =
        pactum::kernel::unit::Unit::new(pactum::kernel::clock::system(), pactum::app::reactions())
            .attach(queue.tenant_db("acme"));
    // An endpoint that wants everything: each event becomes a delivery job.
    queue
        .client
        .execute(
            "insert into t_acme.webhook_endpoints (url, event_types, secret) \
             values ('http://127.0.0.1:9/', '{*}', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')",
            &[],
        )
        .await
        .unwrap();
    let events_before: i64 = count(&queue.client, "select count(*) from t_acme.audit_logs").await;
    let system = Actor::system("test");
    let origin = Origin::job(1, "test");
    let change = async |db: &TenantDb| {
        let tx = db.begin().await.unwrap();
        tx.execute("insert into counterparties (name) values ('Globex')", &[])
            .await
            .unwrap();
        audit::record(
            &tx,
            &system,
            &origin,
            Entry {
                action: "create",
                entity: "counterparty",
                entity_id: None,
                changes: json!({"name": "Globex"}),
            },
        )
        .await
        .unwrap();
        tx
    };

    change(&db).await.rollback().await.unwrap();
    assert_eq!(
        count(&queue.client, "select count(*) from t_acme.counterparties").await,
        0
    );
    assert_eq!(
        count(&queue.client, "select count(*) from t_acme.audit_logs").await,
        events_before
    );
    assert_eq!(
        count(&queue.client, "select count(*) from public.jobs").await,
        0
    );

    change(&db).await.commit().await.unwrap();
    assert_eq!(
        count(&queue.client, "select count(*) from t_acme.audit_logs").await,
        events_before + 1
    );
    let row = queue
        .client
        .query_one("select kind, queue, state, args from public.jobs", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "webhook.deliver");
    assert_eq!(row.get::<_, &str>(1), "webhooks");
    assert_eq!(row.get::<_, &str>(2), "available");
    let event: i64 = queue
        .client
        .query_one("select max(id) from t_acme.audit_logs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(row.get::<_, serde_json::Value>(3)["event_id"], event);

    // A job enqueued in a tenant transaction is visible only once it commits.
    let tx = db.begin().await.unwrap();
    let ids = enqueue(&tx, vec![NewJob::now(RECORD, json!({}))])
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    let seen: i64 = count(
        &queue.client,
        &format!("select count(*) from public.jobs where id = {}", ids[0]),
    )
    .await;
    assert_eq!(seen, 0, "not visible before commit");
    tx.rollback().await.unwrap();
    let seen: i64 = count(
        &queue.client,
        &format!("select count(*) from public.jobs where id = {}", ids[0]),
    )
    .await;
    assert_eq!(seen, 0, "gone with the rollback");
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_job_cannot_be_written_without_an_existing_tenant() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let error = enqueue_with(
        &queue.client,
        TenantId(Uuid::new_v4()),
        Utc::now(),
        vec![NewJob::now(RECORD, json!({}))],
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
    );
    let error = queue
        .client
        .execute(
            "insert into public.jobs (kind, state, run_at, fair_at, created_at) \
             values ('x', 'available', now(), now(), now())",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::NOT_NULL_VIOLATION)
    );
}

#[tokio::test]
async fn many_workers_over_thousands_of_jobs_run_each_exactly_once() {
    let queue = Queue::with_tenants(&["acme", "globex", "initech"]).await;
    let ran = Ran::default();
    let mut ids = Vec::new();
    for slug in ["acme", "globex", "initech"] {
        ids.extend(queue.enqueue_numbered(slug, RECORD, 1000).await);
    }
    assert_eq!(ids.len(), 3000);
    // Three instances, six workers each, all claiming at once.
    let mut handles: Vec<RunnerHandle> = Vec::new();
    for _ in 0..3 {
        let runner = queue.runner(&ran, clock::system(), |c| c.workers = 6);
        handles.push(runner.start().await);
    }
    wait_until("all 3,000 jobs ran", Duration::from_secs(120), || {
        ran.distinct() == 3000
    })
    .await;
    for handle in handles {
        handle.shutdown().await;
    }
    assert_eq!(ran.total(), 3000, "no job ran twice");
    assert!(ids.iter().all(|id| ran.times(*id) == 1));
    assert_eq!(
        count(
            &queue.client,
            "select count(*) from public.jobs where state = 'completed' and attempt = 1"
        )
        .await,
        3000
    );
}

#[tokio::test]
async fn failures_back_off_exponentially_and_are_discarded_after_the_last_attempt() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let manual = ManualClock::starting_at(Utc::now());
    let clock: SharedClock = manual.clone();
    let runner = queue.runner(&Ran::default(), clock.clone(), |c| {
        c.poll_interval = Duration::from_secs(3600);
    });
    let handle = runner.start().await;
    let id = queue
        .enqueue_at(
            "acme",
            manual.now(),
            vec![NewJob::now(ALWAYS_FAILS, json!({}))],
        )
        .await[0];
    runner.wake();
    // Attempt n waits BASE * 2^(n-1), between half and all of it (jitter).
    for (attempt, (low, high)) in [(1, (1_000, 2_000)), (2, (2_000, 4_000))] {
        queue
            .wait_for_state(id, "retryable", Duration::from_secs(10))
            .await;
        let row = queue
            .client
            .query_one(
                "select attempt, (extract(epoch from run_at - attempted_at) * 1000)::float8, errors \
                 from public.jobs where id = $1",
                &[&id],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), attempt);
        let delay: f64 = row.get(1);
        assert!(
            (low as f64..=high as f64).contains(&delay),
            "attempt {attempt} retries after {delay} ms"
        );
        let errors: serde_json::Value = row.get(2);
        assert_eq!(errors.as_array().unwrap().len(), attempt as usize);
        assert_eq!(errors[attempt as usize - 1]["error"], "nope");
        // Not before its time...
        runner.maintain_once(false).await.unwrap();
        assert_eq!(queue.state(id).await, "retryable");
        // ...and once the clock passes it.
        manual.advance(chrono::Duration::milliseconds(high + 1));
        let (done, _) = runner.maintain_once(false).await.unwrap();
        assert_eq!(done.made_available, 1);
    }
    queue
        .wait_for_state(id, "discarded", Duration::from_secs(10))
        .await;
    let row = queue
        .client
        .query_one(
            "select attempt, finished_at is not null, jsonb_array_length(errors) from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 3);
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i32>(2), 3);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_tenant_whose_jobs_hang_leaves_a_quarter_of_the_workers_to_others_by_default() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let ran = Ran::default();
    let stuck = queue.enqueue_numbered("acme", STUCK, 8).await;
    let runner = queue.runner(&ran, clock::system(), |c| {
        c.shutdown_grace = Duration::from_millis(100);
    });
    let handle = runner.start().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while queue.running_of("acme").await < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let globex = queue.enqueue_numbered("globex", RECORD, 5).await;
    for id in &globex {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(10))
            .await;
    }
    assert_eq!(
        queue.running_of("acme").await,
        3,
        "the stuck tenant holds 3 of 4 workers"
    );
    // What a claim took beyond the share went back untried.
    let spent: i64 = queue
        .client
        .query_one(
            "select coalesce(sum(attempt), 0) from public.jobs where id = any($1) and state <> 'running'",
            &[&stuck],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(spent, 0, "a job handed back spent an attempt");
    handle.shutdown().await;
}

#[tokio::test]
async fn a_panicking_or_hanging_handler_is_a_failed_attempt_not_a_dead_worker() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ran = Ran::default();
    let runner = queue.runner(&ran, clock::system(), |c| c.workers = 1);
    let handle = runner.start().await;
    let panics = queue
        .enqueue("acme", vec![NewJob::now(PANICS, json!({}))])
        .await[0];
    let hangs = queue
        .enqueue("acme", vec![NewJob::now(HANGS, json!({}))])
        .await[0];
    queue
        .wait_for_state(panics, "retryable", Duration::from_secs(10))
        .await;
    queue
        .wait_for_state(hangs, "retryable", Duration::from_secs(10))
        .await;
    let error_of = async |id: i64| -> String {
        queue
            .client
            .query_one(
                "select errors->0->>'error' from public.jobs where id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get(0)
    };
    assert_eq!(error_of(panics).await, "panicked: the handler blew up");
    assert_eq!(error_of(hangs).await, "timed out after 200 ms");
    // The one worker is still there.
    let fine = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    queue
        .wait_for_state(fine, "completed", Duration::from_secs(10))
        .await;
    assert_eq!(runner.running(), 0);
    handle.shutdown().await;
}

#[tokio::test]
async fn unique_keys_suppress_duplicates_only_while_pending() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let job = || NewJob::now(RECORD, json!({})).unique("contract-42-reminder");
    let first = queue.enqueue("acme", vec![job()]).await;
    assert_eq!(first.len(), 1);
    assert!(
        queue.enqueue("acme", vec![job()]).await.is_empty(),
        "a duplicate is suppressed"
    );
    assert_eq!(
        queue.enqueue("globex", vec![job()]).await.len(),
        1,
        "keys are per tenant"
    );
    let ran = Ran::default();
    let handle = queue.runner(&ran, clock::system(), |_| {}).start().await;
    queue
        .wait_for_state(first[0], "completed", Duration::from_secs(10))
        .await;
    handle.shutdown().await;
    assert_eq!(
        queue.enqueue("acme", vec![job()]).await.len(),
        1,
        "a finished job frees its key"
    );
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_the_retention_period() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ids = queue
        .enqueue(
            "acme",
            vec![
                NewJob::now(RECORD, json!({})),
                NewJob::now(RECORD, json!({})),
                NewJob::now(RECORD, json!({})),
            ],
        )
        .await;
    queue
        .client
        .execute(
            "update public.jobs set state = 'completed', finished_at = now() - interval '25 hours' where id = $1",
            &[&ids[0]],
        )
        .await
        .unwrap();
    queue
        .client
        .execute(
            "update public.jobs set state = 'discarded', finished_at = now() - interval '23 hours' where id = $1",
            &[&ids[1]],
        )
        .await
        .unwrap();
    let runner = queue.runner(&Ran::default(), clock::system(), |c| {
        c.retention = Duration::from_secs(24 * 3600);
        c.queues = vec!["nothing".into()];
    });
    let (done, _) = runner.maintain_once(true).await.unwrap();
    assert_eq!(done.pruned, 1);
    let left: Vec<i64> = queue
        .client
        .query("select id from public.jobs order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        left,
        ids[1..].to_vec(),
        "the young finished job and the pending one stay"
    );
}

/// The runner's statements that change a bounded set of jobs reach them, and their
/// tenants, through an index however large the tables, planned generically as a cached
/// statement is: a `limit`ed `with` query joined back (the promotion, the rescue, the
/// claim) or an `in (select ... limit)` (the pruning) was estimated at its limit and
/// hashed the whole of `public.jobs` on every call, and the claim's join hashed the
/// whole registry.
#[tokio::test]
async fn queue_statements_reach_their_rows_through_an_index_on_a_large_table() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let acme = queue.tenants["acme"].0;
    queue
        .client
        .execute(
            "insert into public.jobs (tenant_id, kind, queue, args, state, run_at, fair_at, \
                 created_at, finished_at, lease_until) \
             select $1, 'test.record', 'default', '{}', \
                 case i % 20 when 0 then 'scheduled' when 1 then 'running' \
                     when 2 then 'available' else 'completed' end, \
                 now() - interval '1 minute', now() - interval '1 minute', now(), \
                 case when i % 20 > 2 then now() - interval '2 days' end, \
                 case when i % 20 = 1 then now() - interval '1 minute' end \
             from generate_series(1, 40000) i",
            &[&acme],
        )
        .await
        .unwrap();
    // Registry rows alone (no schemas): a registry of thousands, as the planner sees it.
    queue
        .client
        .batch_execute(
            "insert into public.tenants (slug, name, schema_name, status) \
                 select 'x' || i, 'X', 't_x' || i, 'active' from generate_series(1, 3000) i; \
             analyze public.jobs; analyze public.tenants",
        )
        .await
        .unwrap();
    let statements = [
        ("claim", CLAIM_SQL, "'default', 10, now(), '{}', 'w', 1000"),
        ("promotion", PROMOTE_SQL, "now()"),
        ("rescue", RESCUE_SQL, "now()"),
        ("pruning", PRUNE_SQL, "now()"),
    ];
    for (name, sql, args) in statements {
        queue
            .client
            .batch_execute(&format!(
                "set plan_cache_mode = force_generic_plan; prepare checked as {sql}"
            ))
            .await
            .unwrap();
        let plan: Vec<String> = queue
            .client
            .query(&format!("explain execute checked({args})"), &[])
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        queue
            .client
            .batch_execute("deallocate checked; reset plan_cache_mode")
            .await
            .unwrap();
        let plan = plan.join("\n");
        for table in ["jobs", "tenants"] {
            assert!(
                !plan.contains(&format!("Seq Scan on {table}")),
                "the {name} reads the whole of {table}:\n{plan}"
            );
        }
    }
}

#[tokio::test]
async fn a_tenant_with_100000_jobs_delays_another_tenants_job_by_under_a_second() {
    let queue = Queue::with_tenants(&["hog", "small"]).await;
    for _ in 0..10 {
        let batch = (0..10_000)
            .map(|i| NewJob::now(RECORD, json!({"i": i})))
            .collect();
        queue.enqueue("hog", batch).await;
    }
    let ran = Ran::default();
    let handle = queue
        .runner(&ran, clock::system(), |c| c.workers = 4)
        .start()
        .await;
    wait_until(
        "the hog's jobs are running",
        Duration::from_secs(30),
        || ran.total() >= 500,
    )
    .await;
    let enqueued = Instant::now();
    let small = queue
        .enqueue("small", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    wait_until(
        "the small tenant's job ran",
        Duration::from_secs(30),
        || ran.times(small) == 1,
    )
    .await;
    let delay = ran.first_start(small).unwrap() - enqueued;
    let hog_left = count(
        &queue.client,
        "select count(*) from public.jobs where state = 'available'",
    )
    .await;
    handle.shutdown().await;
    assert!(
        hog_left > 90_000,
        "the hog still had {hog_left} jobs waiting"
    );
    assert!(
        delay < Duration::from_secs(1),
        "the small tenant's job waited {delay:?} behind the hog"
    );
}

#[tokio::test]
async fn pause_and_resume_everything_one_queue_or_one_tenant() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let ran = Ran::default();
    let handle = queue.runner(&ran, clock::system(), |_| {}).start().await;
    let now = Utc::now();
    let quiet = Duration::from_millis(400);
    let scopes = [
        (
            PauseScope::Tenant("acme".into()),
            ("acme", RECORD),
            ("globex", RECORD),
        ),
        (
            PauseScope::Queue("default".into()),
            ("acme", RECORD),
            ("acme", OTHER_QUEUE),
        ),
    ];
    for (scope, (paused_tenant, paused_kind), (free_tenant, free_kind)) in scopes {
        assert!(admin::pause(&queue.client, &scope, now).await.unwrap());
        assert!(
            !admin::pause(&queue.client, &scope, now).await.unwrap(),
            "pausing twice is a no-op"
        );
        let paused = queue
            .enqueue(paused_tenant, vec![NewJob::now(paused_kind, json!({}))])
            .await[0];
        let free = queue
            .enqueue(free_tenant, vec![NewJob::now(free_kind, json!({}))])
            .await[0];
        queue
            .wait_for_state(free, "completed", Duration::from_secs(10))
            .await;
        tokio::time::sleep(quiet).await;
        assert_eq!(
            queue.state(paused).await,
            "available",
            "{scope:?} holds its job"
        );
        assert!(admin::resume(&queue.client, &scope).await.unwrap());
        queue
            .wait_for_state(paused, "completed", Duration::from_secs(5))
            .await;
    }
    let all = PauseScope::All;
    admin::pause(&queue.client, &all, now).await.unwrap();
    let held: Vec<i64> = vec![
        queue
            .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
            .await[0],
        queue
            .enqueue("globex", vec![NewJob::now(OTHER_QUEUE, json!({}))])
            .await[0],
    ];
    tokio::time::sleep(quiet).await;
    for id in &held {
        assert_eq!(queue.state(*id).await, "available");
    }
    let stats = admin::stats(&queue.client, None, Utc::now()).await.unwrap();
    assert_eq!(stats.paused.len(), 1);
    assert!(admin::resume(&queue.client, &all).await.unwrap());
    for id in held {
        queue
            .wait_for_state(id, "completed", Duration::from_secs(5))
            .await;
    }
    assert!(matches!(
        admin::pause(&queue.client, &PauseScope::Tenant("nobody".into()), now).await,
        Err(admin::AdminError::UnknownTenant(_))
    ));
    handle.shutdown().await;
}

#[tokio::test]
async fn a_suspended_tenants_jobs_wait_and_a_deleted_tenants_are_cancelled() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let ran = Ran::default();
    let handle = queue.runner(&ran, clock::system(), |_| {}).start().await;
    let slug = TenantSlug::parse("acme").unwrap();
    pactum::tenancy::registry::change_status(
        &queue.client,
        &slug,
        &[pactum::tenancy::TenantStatus::Active],
        pactum::tenancy::TenantStatus::Suspended,
    )
    .await
    .unwrap();
    let waiting = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    let other = queue
        .enqueue("globex", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    queue
        .wait_for_state(other, "completed", Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(queue.state(waiting).await, "available");
    pactum::tenancy::registry::change_status(
        &queue.client,
        &slug,
        &[pactum::tenancy::TenantStatus::Suspended],
        pactum::tenancy::TenantStatus::Active,
    )
    .await
    .unwrap();
    queue
        .wait_for_state(waiting, "completed", Duration::from_secs(5))
        .await;

    // Deleting globex cancels what it had pending; its rows go with it.
    handle.shutdown().await;
    let pending = queue
        .enqueue(
            "globex",
            vec![
                NewJob::now(RECORD, json!({})),
                NewJob::at(RECORD, json!({}), Utc::now() + chrono::Duration::hours(1)),
            ],
        )
        .await;
    let mut client = queue.db.client().await;
    pactum::tenancy::provision::delete_tenant(&mut client, &TenantSlug::parse("globex").unwrap())
        .await
        .unwrap();
    assert_eq!(
        count(
            &queue.client,
            &format!(
                "select count(*) from public.jobs where id in ({}, {})",
                pending[0], pending[1]
            )
        )
        .await,
        0
    );
    assert_eq!(ran.times(pending[0]), 0);
}

#[tokio::test]
async fn a_tenant_being_deleted_has_its_pending_jobs_cancelled_first() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ids = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await;
    // A drop that cannot finish (something holds a lock on the schema) leaves the
    // tenant `deleting`, with its jobs already cancelled.
    let blocker = queue.db.client().await;
    blocker
        .batch_execute("begin; lock table t_acme.users in access share mode")
        .await
        .unwrap();
    let mut client = queue.db.client().await;
    client
        .batch_execute("set lock_timeout = '300ms'")
        .await
        .unwrap();
    let deleting =
        pactum::tenancy::provision::delete_tenant(&mut client, &TenantSlug::parse("acme").unwrap())
            .await;
    assert!(
        deleting.is_err(),
        "the drop waits for the lock and gives up"
    );
    assert_eq!(queue.state(ids[0]).await, "cancelled");
    blocker.batch_execute("rollback").await.unwrap();
}

#[tokio::test]
async fn timers_wait_as_scheduled_until_the_clock_passes_them() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let manual = ManualClock::starting_at(Utc::now());
    let clock: SharedClock = manual.clone();
    let ran = Ran::default();
    let runner = queue.runner(&ran, clock.clone(), |_| {});
    let due = clock.now() + chrono::Duration::hours(48);
    let id = enqueue_with(
        &queue.client,
        queue.tenants["acme"],
        clock.now(),
        vec![NewJob::at(RECORD, json!({}), due)],
    )
    .await
    .unwrap()[0];
    assert_eq!(queue.state(id).await, "scheduled");
    let handle = runner.start().await;
    manual.advance(chrono::Duration::hours(47));
    runner.maintain_once(false).await.unwrap();
    assert_eq!(queue.state(id).await, "scheduled");
    manual.advance(chrono::Duration::hours(1));
    // The runner's own maintenance notices within its poll interval.
    queue
        .wait_for_state(id, "completed", Duration::from_secs(5))
        .await;
    handle.shutdown().await;
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

#[tokio::test]
async fn workers_recover_when_their_notification_connection_drops() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ran = Ran::default();
    let (runner, handle) = only_woken_by_notifications(&queue, &ran).await;
    let first = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    wait_until("woken by NOTIFY", Duration::from_secs(5), || {
        ran.times(first) == 1
    })
    .await;
    let killed: i64 = count(
        &queue.client,
        &format!(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity \
             where application_name = 'pactum-jobs-listener' and datname = '{}'",
            queue.db.name
        ),
    )
    .await;
    assert_eq!(killed, 1);
    wait_until("the listener noticed", Duration::from_secs(5), || {
        !runner.is_listening()
    })
    .await;
    wait_until("the listener is back", Duration::from_secs(10), || {
        runner.is_listening()
    })
    .await;
    let second = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    wait_until("woken by NOTIFY again", Duration::from_secs(5), || {
        ran.times(second) == 1
    })
    .await;
    handle.shutdown().await;
}

#[tokio::test]
async fn a_job_enqueued_in_a_unit_of_work_wakes_listeners_once_it_commits() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ran = Ran::default();
    let (_runner, handle) = only_woken_by_notifications(&queue, &ran).await;
    // No trigger notifies from inside the enqueueing transaction, where it would make
    // every such transaction commit one after another.
    let triggers = count(
        &queue.client,
        "select count(*) from pg_trigger where tgrelid = 'public.jobs'::regclass and not tgisinternal",
    )
    .await;
    assert_eq!(triggers, 0, "a trigger on public.jobs");
    let db =
        pactum::kernel::unit::Unit::new(clock::system(), Default::default()).attach(TenantDb::new(
            queue.pool(1),
            queue.tenants["acme"],
            &SchemaName::from_stored("t_acme").unwrap(),
        ));
    let tx = db.begin().await.unwrap();
    let id = enqueue(&tx, vec![NewJob::now(RECORD, json!({}))])
        .await
        .unwrap()[0];
    tx.commit().await.unwrap();
    wait_until("woken after the commit", Duration::from_secs(5), || {
        ran.times(id) == 1
    })
    .await;
    // A unit of work that rolls back wakes nobody and leaves nothing.
    let tx = db.begin().await.unwrap();
    let gone = enqueue(&tx, vec![NewJob::now(RECORD, json!({}))])
        .await
        .unwrap()[0];
    tx.rollback().await.unwrap();
    let left = count(
        &queue.client,
        &format!("select count(*) from public.jobs where id = {gone}"),
    )
    .await;
    assert_eq!(left, 0);
    handle.shutdown().await;
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

#[tokio::test]
async fn a_period_missed_while_everything_was_down_runs_once_on_start() {
    let (queue, manual, runner, start, next) = acme_with_an_hourly_digest().await;
    assert_eq!(
        next,
        "2026-11-30T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    // Down from 09:10 to 14:30: five periods missed.
    manual.advance(chrono::Duration::minutes(320));
    let (done, _) = runner.maintain_once(false).await.unwrap();
    assert_eq!(
        done.periodic_enqueued, 1,
        "missed periods collapse into one run"
    );
    let (done, _) = runner.maintain_once(false).await.unwrap();
    assert_eq!(done.periodic_enqueued, 0);
    let key: String = queue
        .client
        .query_one("select unique_key from public.jobs", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, "periodic:hourly-digest:2026-11-30T14:00:00Z");
    let next = next_run_of_the_digest(&queue).await;
    assert_eq!(
        next,
        "2026-11-30T15:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(matches!(
        periodic::define(
            &queue.client,
            start,
            PeriodicJob {
                tenant: queue.tenants["acme"],
                name: "bad",
                schedule: "every tuesday",
                timezone: "UTC",
                kind: RECORD,
                args: json!({}),
            },
        )
        .await,
        Err(periodic::DefineError::Schedule(_))
    ));
}

/// A stored schedule that no longer parses (changed by hand, or written by a newer
/// build) is parked, not left due: the maintenance pass would otherwise find a timer in
/// the past every time and come back every 5 ms.
#[tokio::test]
async fn a_periodic_job_whose_schedule_no_longer_parses_is_parked_not_spun_on() {
    let (queue, manual, runner, start, _) = acme_with_an_hourly_digest().await;
    queue
        .client
        .execute(
            "update public.periodic_jobs set cron = 'every tuesday'",
            &[],
        )
        .await
        .unwrap();
    manual.advance(chrono::Duration::hours(2));
    let (done, sleep) = runner.maintain_once(false).await.unwrap();
    assert_eq!(done.periodic_enqueued, 0);
    assert!(
        sleep > Duration::from_millis(50),
        "the next pass waits for the poll interval, not {sleep:?}"
    );
    let next = next_run_of_the_digest(&queue).await;
    assert!(
        next > start + chrono::Duration::days(365 * 50),
        "parked: {next}"
    );
}

#[tokio::test]
async fn a_periodic_job_runs_once_per_period_with_two_server_instances() {
    let queue = Queue::with_tenants(&["acme"]).await;
    periodic::define(
        &queue.client,
        Utc::now(),
        PeriodicJob {
            tenant: queue.tenants["acme"],
            name: "every-second",
            schedule: "* * * * * *",
            timezone: "UTC",
            kind: pactum::kernel::jobs::NOOP,
            args: json!({}),
        },
    )
    .await
    .unwrap();
    let settings = [("PACTUM_JOB_POLL_MS", "50")];
    let first = crate::app::spawn_app(&queue.db, &settings).await;
    let second = crate::app::spawn_app(&queue.db, &settings).await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    drop((first, second));
    let rows = queue
        .client
        .query(
            "select unique_key, count(*) from public.jobs where unique_key like 'periodic:%' group by 1 order by 1",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 3,
        "one job a second for 3.5 s: {}",
        rows.len()
    );
    for row in &rows {
        assert_eq!(
            row.get::<_, i64>(1),
            1,
            "{} ran once",
            row.get::<_, &str>(0)
        );
    }
    let workers: i64 = count(
        &queue.client,
        "select count(distinct attempted_by) from public.jobs where unique_key like 'periodic:%'",
    )
    .await;
    assert!(workers >= 1);
}

/// A webhook receiver that hangs while told to, else answers 204.
struct Receiver {
    port: u16,
    hang: Arc<std::sync::atomic::AtomicBool>,
    answered: Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    async fn start() -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hang = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (h, a) = (hang.clone(), answered.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let (h, a) = (h.clone(), a.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 65536];
                    let _ = socket.read(&mut buffer).await;
                    if h.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_secs(600)).await;
                        return;
                    }
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
    webhook_runner_with(queue, clock, RunnerConfig::new(workers), per_destination).await
}

/// [`webhook_runner`] with its settings (the queue and poll interval are set here) and
/// how many deliveries one destination may have in flight.
async fn webhook_runner_with(
    queue: &Queue,
    clock: SharedClock,
    settings: RunnerConfig,
    per_destination: usize,
) -> Runner {
    let workers = settings.workers;
    let config = pactum::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(queue.db.url.clone()),
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret-00".into()),
        "PACTUM_WEBHOOK_ALLOW_PRIVATE" => Some("true".into()),
        "PACTUM_WEBHOOK_MAX_PER_DESTINATION" => Some(per_destination.to_string()),
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

#[tokio::test]
async fn a_proxy_in_the_environment_cannot_carry_a_webhook_to_an_internal_address() {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    receiver.hang.store(false, Ordering::SeqCst);
    // A proxy that would carry anything anywhere: it answers every request with 204.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://127.0.0.1:{}", proxy.local_addr().unwrap().port());
    let proxied = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = proxied.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = proxy.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0u8; 65536];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    let id = delivery_job_to(&queue, &format!("http://localhost:{}/hook", receiver.port)).await;
    let proxy_env: Vec<(&str, &str)> = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .into_iter()
    .map(|name| (name, proxy_url.as_str()))
    .collect();
    let _worker = spawn_worker_with(&queue, &proxy_env);
    queue
        .wait_for_state(id, "cancelled", Duration::from_secs(30))
        .await;
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 0);
    let outcome: String = queue
        .client
        .query_one("select outcome from t_acme.webhook_deliveries", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(outcome, "refused");
}

#[tokio::test]
async fn a_job_whose_worker_was_killed_is_rescued_after_its_lease_and_completes() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    let id = delivery_job(&queue, &receiver).await;
    let mut worker = spawn_worker(&queue);
    queue
        .wait_for_state(id, "running", Duration::from_secs(30))
        .await;
    worker.0.kill().unwrap(); // SIGKILL: nothing is cleaned up.
    worker.0.wait().unwrap();
    assert_eq!(
        queue.state(id).await,
        "running",
        "a dead worker leaves its job running"
    );

    // Another instance, its clock past the lease (the 30 s timeout plus 30 s grace).
    let manual = ManualClock::starting_at(Utc::now() + chrono::Duration::seconds(61));
    let runner = webhook_runner(&queue, manual.clone(), 2).await;
    receiver
        .hang
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let (done, _) = runner.maintain_once(false).await.unwrap();
    assert_eq!(done.rescued, 1);
    let handle = runner.start().await;
    queue
        .wait_for_state(id, "completed", Duration::from_secs(20))
        .await;
    handle.shutdown().await;
    assert_eq!(
        receiver.answered.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    let row = queue
        .client
        .query_one(
            "select attempt, errors->0->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
    assert!(row
        .get::<_, String>(1)
        .starts_with("rescued: the lease expired"));
}

#[tokio::test]
async fn sigterm_stops_claiming_and_releases_what_is_still_running() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    let id = delivery_job(&queue, &receiver).await;
    let mut worker = spawn_worker(&queue);
    queue
        .wait_for_state(id, "running", Duration::from_secs(30))
        .await;
    let asked = Instant::now();
    crate::support::terminate(&worker.0);
    let exit = worker.0.wait().unwrap();
    assert!(
        exit.success(),
        "a worker stopped by SIGTERM exits 0: {exit:?}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "within the 1 s grace period and some"
    );
    let row = queue
        .client
        .query_one(
            "select state, attempt, attempted_by is null, errors->-1->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, &str>(0),
        "available",
        "released for another worker"
    );
    assert_eq!(
        row.get::<_, i32>(1),
        0,
        "a released run is not counted as an attempt"
    );
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, &str>(3), "released: its worker shut down");
}

#[tokio::test]
async fn jobs_run_behind_pgbouncer_and_show_in_the_metrics() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let bouncer = crate::support::PgBouncer::start(1);
    let pooled = bouncer.url_for(&queue.db);
    // Every statement of the runner and of the handlers goes through the pooler (one
    // server connection for all); only LISTEN uses the direct URL.
    let app = crate::app::spawn_app(
        &queue.db,
        &[
            ("DATABASE_URL", pooled.as_str()),
            ("PACTUM_DB_POOLER", "transaction"),
            ("PACTUM_DIRECT_DATABASE_URL", queue.db.url.as_str()),
            ("PACTUM_JOB_WORKERS", "4"),
        ],
    )
    .await;
    let ids = queue
        .enqueue_numbered("acme", pactum::kernel::jobs::NOOP, 200)
        .await;
    for id in &ids {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(30))
            .await;
    }
    let metrics = app.get("localhost", "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"pactum_jobs{kind="pactum.noop",state="completed"} 200"#),
        "{metrics}"
    );
    assert!(metrics
        .contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 200"#));
    assert!(metrics.contains("pactum_job_queue_wait_seconds_bucket"));
    assert!(metrics.contains("pactum_job_run_seconds_count{kind=\"pactum.noop\"} 200"));
}

#[test]
fn pactum_refuses_bad_usage_and_an_empty_worker_with_exit_2_and_explains_itself() {
    let run = |args: &[&str], workers: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .args(args)
            .env_clear()
            .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env("PACTUM_JOB_WORKERS", workers)
            .output()
            .unwrap()
    };
    let extra = run(&["worker", "--now"], "2");
    assert_eq!(extra.status.code(), Some(2));
    let said = String::from_utf8_lossy(&extra.stderr);
    assert!(
        said.contains("'--now'") && said.contains("Usage: pactum worker"),
        "{said}"
    );
    let unknown = run(&["serv"], "2");
    assert_eq!(unknown.status.code(), Some(2));
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("'serv'") && said.contains("serve"), "{said}");
    let help = run(&["--help"], "2");
    assert_eq!(help.status.code(), Some(0));
    let said = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "worker", "openapi"] {
        assert!(said.contains(command), "{command} in {said}");
    }
    let empty = run(&["worker"], "0");
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("PACTUM_JOB_WORKERS"));
    let bad = run(&["worker"], "lots");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("PACTUM_JOB_WORKERS"));
}

#[tokio::test]
async fn the_server_on_sigterm_releases_its_jobs_stops_listening_and_exits_0() {
    pactum::webhooks::delivery::install_tls_provider();
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    let id = delivery_job(&queue, &receiver).await;
    let port = crate::support::free_port();
    let mut server = Worker(
        std::process::Command::new(env!("CARGO_BIN_EXE_pactum"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &queue.db.url)
            .env("JWT_SECRET", crate::app::TEST_JWT_SECRET)
            .env("PACTUM_BIND", format!("127.0.0.1:{port}"))
            .env("PACTUM_WEBHOOK_ALLOW_PRIVATE", "1")
            .env("PACTUM_JOB_POLL_MS", "100")
            .env("PACTUM_JOB_SHUTDOWN_SECS", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the pactum binary starts"),
    );
    queue
        .wait_for_state(id, "running", Duration::from_secs(30))
        .await;
    let healthz = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(healthz.status(), reqwest::StatusCode::OK);
    let asked = Instant::now();
    crate::support::terminate(&server.0);
    let exit = server.0.wait().unwrap();
    assert!(
        exit.success(),
        "the server stopped by SIGTERM exits 0: {exit:?}"
    );
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert_eq!(
        queue.state(id).await,
        "available",
        "its running job was released"
    );
    let refused = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(refused.is_err(), "no longer listening");
}

#[tokio::test]
async fn a_job_cut_off_by_its_own_shutdown_is_released_without_spending_an_attempt() {
    const HOLDS_A_QUERY: JobKind = JobKind {
        name: "test.holds_a_query",
        ..RECORD
    };
    let queue = Queue::with_tenants(&["acme"]).await;
    let (pid_tx, mut pid_rx) = tokio::sync::mpsc::unbounded_channel::<i32>();
    let go_on = Arc::new(tokio::sync::Notify::new());
    let mut handlers = Handlers::default();
    let resume = go_on.clone();
    handlers.register(HOLDS_A_QUERY, move |ctx| {
        let (pid_tx, resume) = (pid_tx.clone(), resume.clone());
        async move {
            let tx = ctx.db.begin().await?;
            let pid: i32 = tx.query_one("select pg_backend_pid()", &[]).await?.get(0);
            let _ = pid_tx.send(pid);
            resume.notified().await;
            // The connection is gone by now: this fails as an interruption.
            tx.query_one("select 1", &[]).await?;
            tx.commit().await?;
            Ok(())
        }
    });
    let runner = Runner::new(
        queue.pool(2),
        queue.pool(2),
        Some(queue.db.database_url()),
        clock::system(),
        handlers,
        RunnerConfig {
            poll_interval: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(10),
            ..RunnerConfig::new(2)
        },
        JobMetrics::new(),
    );
    let handle = runner.start().await;
    let id = queue
        .enqueue("acme", vec![NewJob::now(HOLDS_A_QUERY, json!({}))])
        .await[0];
    let pid = tokio::time::timeout(Duration::from_secs(20), pid_rx.recv())
        .await
        .expect("the job started")
        .unwrap();
    let stopping = tokio::spawn(handle.shutdown());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The process is stopping and the job's connection goes (as an HTTP worker's
    // runtime ending takes the connections it drives).
    let terminated: bool = queue
        .client
        .query_one("select pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap()
        .get(0);
    assert!(terminated);
    go_on.notify_one();
    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .expect("shutdown ends")
        .unwrap();
    let row = queue
        .client
        .query_one(
            "select state, attempt, errors->-1->>'error' from public.jobs where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, &str>(0),
        "available",
        "released for another worker"
    );
    assert_eq!(row.get::<_, i32>(1), 0, "not counted as an attempt");
    assert_eq!(row.get::<_, &str>(2), "released: its worker shut down");
}

#[tokio::test]
async fn timers_follow_the_clock_that_set_them_not_the_databases() {
    const TIMER: JobKind = JobKind {
        name: "test.timer",
        ..RECORD
    };
    let queue = Queue::with_tenants(&["acme"]).await;
    // This instance's clock is ten days behind PostgreSQL's.
    let behind = ManualClock::starting_at(Utc::now() - chrono::Duration::days(10));
    let clock: SharedClock = behind.clone();
    let db =
        pactum::kernel::unit::Unit::new(clock.clone(), Default::default()).attach(TenantDb::new(
            queue.pool(1),
            queue.tenants["acme"],
            &SchemaName::from_stored("t_acme").unwrap(),
        ));
    let due = behind.now() + chrono::Duration::hours(1);
    let tx = db.begin().await.unwrap();
    let id = enqueue(&tx, vec![NewJob::at(TIMER, json!({}), due)])
        .await
        .unwrap()[0];
    tx.commit().await.unwrap();
    assert_eq!(
        queue.state(id).await,
        "scheduled",
        "due in an hour by the clock that set it, though long past by the database's"
    );
    // An instance whose clock runs ahead made it available; this one does not run it
    // before its time.
    queue
        .client
        .execute(
            "update public.jobs set state = 'available' where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let runner = queue.runner(&Ran::default(), clock.clone(), |_| {});
    assert!(runner.claim("default", 10).await.unwrap().is_empty());
    behind.advance(chrono::Duration::minutes(61));
    let claimed = runner.claim("default", 10).await.unwrap();
    assert_eq!(
        claimed.iter().map(|job| job.id).collect::<Vec<_>>(),
        vec![id]
    );
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

#[tokio::test]
async fn a_tenant_whose_receiver_hangs_cannot_hold_every_worker_by_default() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let (_hanging, answering, globex) = one_hanging_receiver(&queue).await;
    // The default tenant share (3 of 4 workers), and no cap per destination to hide
    // behind.
    let runner = webhook_runner_with(&queue, clock::system(), RunnerConfig::new(4), 4).await;
    let handle = runner.start().await;
    let running = globex_went_first(&queue, &globex, &answering).await;
    assert_eq!(
        running, 3,
        "the hanging tenant holds three of the four workers"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn a_destination_that_hangs_holds_only_its_share_of_the_workers_by_default() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let (_hanging, answering, globex) = one_hanging_receiver(&queue).await;
    // The default settings: no tenant share, half the workers per destination.
    let runner = webhook_runner(&queue, clock::system(), 4).await;
    let handle = runner.start().await;
    let running = globex_went_first(&queue, &globex, &answering).await;
    assert_eq!(
        running, 2,
        "the hanging destination holds two of four workers"
    );
    // The rest were put off without spending an attempt: waiting for a destination
    // says nothing about the delivery.
    let spent: i64 = count(
        &queue.client,
        "select coalesce(sum(j.attempt), 0) from public.jobs j join public.tenants t on t.id = j.tenant_id \
         where t.slug = 'acme' and j.state <> 'running'",
    )
    .await;
    assert_eq!(spent, 0, "a deferred delivery spent an attempt");
    handle.shutdown().await;
}

#[tokio::test]
async fn pactum_worker_serves_its_own_metrics() {
    pactum::webhooks::delivery::install_tls_provider();
    let queue = Queue::with_tenants(&["acme"]).await;
    let port = crate::support::free_port();
    let bind = format!("127.0.0.1:{port}");
    let _worker = spawn_worker_with(&queue, &[("PACTUM_METRICS_BIND", bind.as_str())]);
    let ids = queue
        .enqueue_numbered("acme", pactum::kernel::jobs::NOOP, 5)
        .await;
    for id in &ids {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(30))
            .await;
    }
    // A client that connects and says nothing holds nothing up.
    let _silent = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = http
            .get(url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 5"#)
            || Instant::now() > deadline
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        text.contains(r#"pactum_jobs_finished_total{kind="pactum.noop",outcome="completed"} 5"#),
        "{text}"
    );
    assert!(
        text.contains(r#"pactum_jobs{kind="pactum.noop",state="completed"} 5"#),
        "{text}"
    );
    assert!(text.contains("pactum_job_run_seconds_count"), "{text}");
    let other = http.get(url("/api/v1/contracts")).send().await.unwrap();
    assert_eq!(other.status(), reqwest::StatusCode::NOT_FOUND);
    let posted = http.post(url("/metrics")).send().await.unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
}

/// Every typed job, handed a payload that is not its arguments (as a row written by
/// hand or by another build would be), ends cancelled with a reason that names its
/// kind, after one attempt, and the worker goes on to the next job.
#[tokio::test]
async fn a_malformed_payload_ends_its_job_with_a_clear_reason_for_every_kind() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let config = pactum::config::Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(queue.db.url.clone()),
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret-00".into()),
        _ => None,
    })
    .unwrap();
    let outbound = pactum::app::Outbound::new(&config).await.unwrap();
    let handlers = pactum::app::job_handlers(&outbound);
    let kinds: Vec<&str> = handlers
        .kinds()
        .into_iter()
        .filter(|kind| *kind != pactum::kernel::jobs::NOOP.name)
        .collect();
    assert!(kinds.len() >= 8, "{kinds:?}");
    let mut jobs = Vec::new();
    for (n, kind) in kinds.iter().enumerate() {
        // An array, a wrong type, a missing field, in turn.
        let args = match n % 3 {
            0 => json!(["not", "an", "object"]),
            1 => json!({"stage_id": 7, "delivery_id": "x", "grant_id": true, "items": "y"}),
            _ => json!({}),
        };
        let id: i64 = queue
            .client
            .query_one(
                "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, \
                     fair_at, max_attempts, timeout_ms, created_at) \
                 select id, $1, $2, $3, 0, 'available', $4, $4, 5, 10000, $4 \
                 from public.tenants where slug = 'acme' returning id",
                &[kind, &"default", &args, &Utc::now()],
            )
            .await
            .unwrap()
            .get(0);
        jobs.push((id, *kind));
    }
    let runner = Runner::new(
        queue.pool(2),
        queue.pool(2),
        Some(queue.db.database_url()),
        pactum::kernel::clock::system(),
        handlers,
        RunnerConfig {
            queues: vec!["default".into()],
            poll_interval: Duration::from_millis(100),
            ..RunnerConfig::new(2)
        },
        JobMetrics::new(),
    );
    let handle = runner.start().await;
    for (id, kind) in &jobs {
        queue
            .wait_for_state(*id, "cancelled", Duration::from_secs(30))
            .await;
        let row = queue
            .client
            .query_one(
                "select attempt, errors::text from public.jobs where id = $1",
                &[id],
            )
            .await
            .unwrap();
        let (attempt, errors): (i32, String) = (row.get(0), row.get(1));
        assert_eq!(attempt, 1, "{kind}");
        assert!(
            errors.contains(&format!("malformed arguments for {kind}")),
            "{kind}: {errors}"
        );
    }
    handle.shutdown().await;
}
