//! The queue's promises: a job exists only if its cause committed, runs once per claim,
//! backs off, is discarded after its last attempt, and a malformed payload ends it with
//! a reason.

use super::*;

#[tokio::test]
async fn a_rolled_back_change_leaves_no_event_and_no_job() {
    let queue = Queue::with_tenants(&["acme"]).await;
    // The unit of work the server and the runner attach: the webhooks' fan-out is a
    // reaction to every event.
    let db = pactum::kernel::unit::Unit::new(
        pactum::kernel::clock::system(),
        pactum::app::reactions(false),
    )
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

/// What a unit of work collects (the notifier's events) is one job, written by one
/// statement at its commit, with every item, even those of a savepoint rolled back
/// (the handler skips what names nothing); a rollback writes nothing.
#[tokio::test]
async fn a_unit_of_works_collected_items_are_one_job_written_at_its_commit() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let db = queue.tenant_db("acme");
    let collected = async || {
        queue
            .client
            .query(
                "select args from public.jobs where kind = $1",
                &[&RECORD.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<_, serde_json::Value>(0))
            .collect::<Vec<_>>()
    };
    let tx = db.begin().await.unwrap();
    enqueue_collecting(&tx, RECORD, json!(1));
    tx.execute("savepoint one", &[]).await.unwrap();
    enqueue_collecting(&tx, RECORD, json!(2));
    tx.execute("rollback to savepoint one", &[]).await.unwrap();
    enqueue_collecting(&tx, RECORD, json!(3));
    assert!(collected().await.is_empty(), "nothing before the commit");
    tx.commit().await.unwrap();
    assert_eq!(collected().await, vec![json!({"items": [1, 2, 3]})]);

    let tx = db.begin().await.unwrap();
    enqueue_collecting(&tx, RECORD, json!(4));
    tx.rollback().await.unwrap();
    assert_eq!(collected().await.len(), 1, "a rollback writes nothing");
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
    // Each kind gets both: an array, and an object of wrong types that lacks the
    // fields a kind requires (an empty object would be a whole payload for a kind
    // whose fields are all optional, as a walk's first batch is).
    let malformed = [
        json!(["not", "an", "object"]),
        json!({"stage_id": 7, "delivery_id": "x", "grant_id": true, "items": "y", "after": 7}),
    ];
    for (kind, args) in kinds
        .iter()
        .flat_map(|kind| malformed.iter().map(move |args| (kind, args)))
    {
        let id: i64 = queue
            .client
            .query_one(
                "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, \
                     fair_at, max_attempts, timeout_ms, created_at) \
                 select id, $1, $2, $3, 0, 'available', $4, $4, 5, 10000, $4 \
                 from public.tenants where slug = 'acme' returning id",
                &[kind, &"default", args, &Utc::now()],
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

/// Every job type in the server's source (`impl BackgroundJob for X`) is registered in
/// `app::job_handlers`: one that is not is enqueued and then fails every attempt with
/// "no handler". Read from the sources, as the layer checks are.
#[test]
fn every_job_type_in_the_source_has_a_handler() {
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    crate::layers::sources(&src, &mut files);
    let registry = std::fs::read_to_string(src.join("app/mod.rs")).unwrap();
    let registered = |name: &str| {
        registry.contains(&format!("::{name}>(")) || registry.contains(&format!("<{name}>("))
    };
    let mut types = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("impl BackgroundJob for ") {
                types.push(rest.trim_end_matches(" {").trim().to_owned());
            }
        }
    }
    assert!(types.len() >= 10, "the scan finds the job types: {types:?}");
    let missing: Vec<&String> = types.iter().filter(|t| !registered(t)).collect();
    assert!(missing.is_empty(), "job types with no handler: {missing:?}");
}
