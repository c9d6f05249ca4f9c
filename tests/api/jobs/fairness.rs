//! Fairness: no tenant or destination holds every worker, claims stay indexed on a
//! large table.

use super::*;

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
    assert_eq!(
        queue.attempts_of_waiting(&stuck).await,
        0,
        "a job handed back spent an attempt"
    );
    handle.shutdown().await;
}

/// Two runners on one database, as two processes are, each with its own share of 3 of
/// its 4 workers: one tenant whose jobs hang would hold 6 at once, and with a fleet cap
/// of 2 it holds 2 between them, while another tenant's jobs run.
#[tokio::test]
async fn a_fleet_cap_holds_a_tenant_to_it_across_every_runner() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let ran = Ran::default();
    let held_up = queue.enqueue_numbered("acme", HELD_UP, 10).await;
    let runners: Vec<Runner> = (0..2)
        .map(|n| {
            queue.runner(&ran, clock::system(), |c| {
                c.worker_id = format!("runner-{n}");
                c.tenant_fleet_cap = Some(2);
                c.shutdown_grace = Duration::from_millis(100);
            })
        })
        .collect();
    let mut handles = Vec::new();
    for runner in runners {
        handles.push(runner.start().await);
    }
    let started = |ids: &[i64]| ids.iter().filter(|id| ran.times(**id) > 0).count();
    let deadline = Instant::now() + Duration::from_secs(10);
    while started(&held_up) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let globex = queue.enqueue_numbered("globex", RECORD, 5).await;
    for id in &globex {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(10))
            .await;
    }
    // Several polls of both runners, each a chance to claim past the cap.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A held-up job never finishes here, so how many ever started is the most that ran
    // at once.
    assert_eq!(started(&held_up), 2, "the fleet ran only 2 of acme's jobs");
    // A claim past the cap holds its jobs for a moment before handing them back.
    let mut running = queue.running_of("acme").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while running != 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        running = queue.running_of("acme").await;
    }
    assert_eq!(running, 2, "what went past the cap went back");
    assert_eq!(
        queue.attempts_of_waiting(&held_up).await,
        0,
        "a job handed back spent an attempt"
    );
    for handle in handles {
        handle.shutdown().await;
    }
}

/// A tenant at the fleet cap runs its jobs back to back as the fleet's finish: a
/// runner learns that the tenant is free again from its next claim's count, not after
/// a time. Here the poll interval is a minute, so nothing but that can start the next
/// job: when a tenant found at the cap was passed over for about a poll interval, two
/// runners ran two jobs a minute, and 60 took half an hour.
#[tokio::test]
async fn a_tenant_at_the_fleet_cap_runs_its_jobs_back_to_back() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let ran = Ran::default();
    let jobs = queue.enqueue_numbered("acme", RECORD, 60).await;
    let mut handles = Vec::new();
    for n in 0..2 {
        let runner = queue.runner(&ran, clock::system(), |c| {
            c.worker_id = format!("runner-{n}");
            c.tenant_fleet_cap = Some(2);
            c.poll_interval = Duration::from_secs(60);
        });
        handles.push(runner.start().await);
    }
    for id in &jobs {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(20))
            .await;
    }
    assert!(
        jobs.iter().all(|id| ran.times(*id) == 1),
        "a job handed back at the cap had started"
    );
    for handle in handles {
        handle.shutdown().await;
    }
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
    let claim_args = format!(
        "'default', 10, now(), '{{}}', 'w', 1000, 'off', {}",
        version()
    );
    let statements = [
        ("claim", CLAIM_SQL, claim_args.as_str()),
        ("promotion", PROMOTE_SQL, "now(), 'off'"),
        ("rescue", RESCUE_SQL, "now(), 'off'"),
        ("pruning", PRUNE_SQL, "now(), 'off'"),
        ("setting aside", HOLD_SQL, "10000, 'off'"),
        ("giving back", RELEASE_HELD_SQL, "10000, 'off'"),
        ("the fleet's count", FLEET_RUNNING_SQL, "'{}'"),
    ];
    for (name, sql, args) in statements {
        let plan = crate::support::prepared_plan(
            &queue.client,
            "set plan_cache_mode = force_generic_plan;",
            sql,
            args,
            "reset plan_cache_mode",
        )
        .await;
        for table in ["jobs", "tenants"] {
            assert!(
                !plan.contains(&format!("Seq Scan on {table}")),
                "the {name} reads the whole of {table}:\n{plan}"
            );
        }
    }
}

/// The generic plan of the cancellation for two starts of `tenant`'s keys, as its own
/// role (whose row security adds a condition on the tenant) when it has one.
async fn cancel_plan(
    client: &Client,
    tenant: uuid::Uuid,
    role: Option<&pactum::tenancy::roles::RoleName>,
) -> String {
    let set_role = role.map_or(String::new(), |r| format!("set role \"{r}\"; "));
    crate::support::prepared_plan(
        client,
        &format!("{set_role}set plan_cache_mode = force_generic_plan;"),
        CANCEL_SQL,
        &format!(
            "'{tenant}', 'test.timer', '{{timer:1:,timer:20:}}', now(), '{{timer:1;,timer:20;}}'"
        ),
        "reset plan_cache_mode; reset role",
    )
    .await
}

/// Cancelling timers by the start of their key reaches each start as a range of an
/// index, and the jobs found by id, in the generic plan a cached statement gets (here
/// on statistics that say the tenant has no jobs, as they did in the benchmark that
/// found it): joined on the start of every pending key instead, it read all of the
/// tenant's pending jobs of the kind once per start, and a walk over 50,000 contracts
/// slowed from 0.07 s to 22 s a batch of 500.
#[tokio::test]
async fn cancelling_timers_by_key_reaches_them_through_an_index_and_exactly() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let acme = queue.tenants["acme"].0;
    let timers = "insert into public.jobs (tenant_id, kind, queue, args, state, run_at, \
             fair_at, created_at, unique_key) \
         select $1, 'test.timer', 'default', '{}', 'scheduled', now() + interval '1 day', \
             now(), now(), 'timer:' || (i / 4) || ':' || (i % 4) \
         from generate_series(0, 39999) i";
    // Planned on statistics taken before the timers (the tenant has no jobs, as far as
    // they say), then on statistics that know the 10,000 subjects with four timers each
    // (`timer:<n>:<k>`).
    for analyze_first in [true, false] {
        queue
            .client
            .batch_execute("delete from public.jobs")
            .await
            .unwrap();
        if analyze_first {
            queue
                .client
                .batch_execute("analyze public.jobs")
                .await
                .unwrap();
        }
        queue.client.execute(timers, &[&acme]).await.unwrap();
        if !analyze_first {
            queue
                .client
                .batch_execute("analyze public.jobs")
                .await
                .unwrap();
        }
        let plan = cancel_plan(&queue.client, acme, queue.roles["acme"].as_ref()).await;
        assert!(
            plan.contains("jobs_unique_key_prefix") && !plan.contains("Seq Scan on jobs"),
            "{plan}"
        );
        // The starts are the index's range; the jobs found are then reached by id.
        assert!(
            plan.lines()
                .any(|l| l.contains("Index Cond") && l.contains("unique_key ~>=~ p.low")),
            "{plan}"
        );
        assert!(plan.contains("jobs_pkey"), "{plan}");
    }

    // Exactly the timers of subjects 1 and 20: not 10's, 100's or 200's, whose keys
    // start with the same characters.
    let prefixes = vec!["timer:1:", "timer:20:"];
    let ends: Vec<String> = prefixes.iter().map(|p| after_prefix(p)).collect();
    let cancelled = queue
        .client
        .execute(
            CANCEL_SQL,
            &[&acme, &"test.timer", &prefixes, &Utc::now(), &ends],
        )
        .await
        .unwrap();
    assert_eq!(cancelled, 8);
    let gone: Vec<String> = queue
        .client
        .query(
            "select unique_key from public.jobs where state = 'cancelled' order by unique_key",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let expected: Vec<String> = ["1", "20"]
        .iter()
        .flat_map(|n| (0..4).map(move |k| format!("timer:{n}:{k}")))
        .collect();
    assert_eq!(gone, expected);
}

/// The runner's own statements set `synchronous_commit` for their own transaction and
/// nothing longer: off when asked (they then do not wait for the WAL flush), the
/// server's when not, and the connection's session as it was afterwards (a pooled
/// connection serves others next).
#[tokio::test]
async fn the_queues_own_changes_choose_their_commit_for_their_transaction_alone() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let client = &queue.client;
    let setting = async || -> String {
        client
            .query_one("show synchronous_commit", &[])
            .await
            .unwrap()
            .get(0)
    };
    let session = setting().await;
    let now = chrono::Utc::now();
    let no_tenants: Vec<uuid::Uuid> = Vec::new();
    let version = version();
    for mode in [Some("off"), None] {
        let statements: [(&str, &str, Vec<&(dyn tokio_postgres::types::ToSql + Sync)>); 4] = [
            (
                "claim",
                CLAIM_SQL,
                vec![
                    &"default",
                    &10i64,
                    &now,
                    &no_tenants,
                    &"w",
                    &1000i64,
                    &mode,
                    &version,
                ],
            ),
            ("promotion", PROMOTE_SQL, vec![&now, &mode]),
            ("rescue", RESCUE_SQL, vec![&now, &mode]),
            ("pruning", PRUNE_SQL, vec![&now, &mode]),
        ];
        for (name, sql, params) in statements {
            client.batch_execute("begin").await.unwrap();
            client.execute(sql, &params).await.unwrap();
            let inside = setting().await;
            client.batch_execute("commit").await.unwrap();
            let after = setting().await;
            assert_eq!(
                inside,
                mode.unwrap_or(&session),
                "the {name}, asked {mode:?}"
            );
            assert_eq!(after, session, "the {name} left its setting on the session");
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
async fn a_tenant_whose_receiver_hangs_cannot_hold_every_worker_by_default() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let (_hanging, answering, globex) = one_hanging_receiver(&queue).await;
    // The default tenant share (3 of 4 workers), and no cap per destination to hide
    // behind.
    let runner =
        webhook_runner_with(&queue, clock::system(), RunnerConfig::new(4), (4, None)).await;
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

/// Two runners on one database, as two processes are, each allowing a destination two
/// deliveries of its own: a receiver that hangs would hold four workers between them.
/// With a cap of 2 for the whole fleet it holds 2, the deliveries beyond wait without
/// spending an attempt, and another tenant's deliveries go through. Those are held to
/// 2 at once across both runners too, and run as places are given back in either (a
/// release announced to the other runner), well before a hanging delivery times out.
#[tokio::test]
async fn a_fleet_cap_per_destination_holds_a_hanging_receiver_to_it_across_every_runner() {
    let queue = Queue::with_tenants(&["acme", "globex"]).await;
    let (hanging, answering, globex) = one_hanging_receiver(&queue).await;
    let mut handles = Vec::new();
    for n in 0..2 {
        let settings = RunnerConfig {
            worker_id: format!("runner-{n}"),
            shutdown_grace: Duration::from_millis(100),
            ..RunnerConfig::new(4)
        };
        let runner = webhook_runner_with(&queue, clock::system(), settings, (2, Some(2))).await;
        handles.push(runner.start().await);
    }
    globex_went_first(&queue, &globex, &answering).await;
    // Claims, deferrals and their returns, each a chance to go past the cap, well
    // within the 5 s after which a hanging delivery times out.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        hanging.arrivals.lock().unwrap().len(),
        2,
        "the fleet sent the hanging receiver 2 deliveries at once"
    );
    let held = count(&queue.client, "select count(*) from public.job_places").await;
    assert_eq!(held, 2, "each held place is a row");
    let spent = count(
        &queue.client,
        "select coalesce(sum(j.attempt), 0) from public.jobs j join public.tenants t on t.id = j.tenant_id \
         where t.slug = 'acme' and j.state <> 'running'",
    )
    .await;
    assert_eq!(spent, 0, "a delivery put off spent an attempt");
    for handle in handles {
        handle.shutdown().await;
    }
}

/// Deliveries put off behind a destination's share run as soon as a delivery there
/// ends, not after the delay meant for a receiver that hangs: a receiver that takes
/// 100 ms an answer gets its twelve deliveries back to back, two at a time. Put off
/// for that delay alone (2.5 to 7.5 s), they left it idle for seconds between them
/// while the places they waited for stood free.
#[tokio::test]
async fn deliveries_put_off_behind_a_slow_destination_run_as_soon_as_it_has_room() {
    use std::sync::atomic::Ordering;
    let queue = Queue::with_tenants(&["acme"]).await;
    let receiver = Receiver::start().await;
    receiver.hang.store(false, Ordering::SeqCst);
    receiver.slow_ms.store(100, Ordering::SeqCst);
    let mut deliveries = Vec::new();
    for _ in 0..12 {
        deliveries.push(delivery_job(&queue, &receiver).await);
    }
    // Four workers, two deliveries per destination.
    let runner = webhook_runner(&queue, clock::system(), 4).await;
    let handle = runner.start().await;
    for id in &deliveries {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(60))
            .await;
    }
    let arrivals = receiver.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 12, "each delivered once");
    let longest_gap = arrivals
        .windows(2)
        .map(|pair| pair[1].saturating_duration_since(pair[0]))
        .max()
        .unwrap();
    assert!(
        longest_gap < Duration::from_millis(1500),
        "the receiver stood idle for {longest_gap:?} with deliveries waiting"
    );
    assert_eq!(
        queue.attempts_of_waiting(&deliveries).await,
        12,
        "a delivery put off spent an attempt"
    );
    handle.shutdown().await;
}
