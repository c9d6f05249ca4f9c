//! Control: pauses by scope, suspended and deleted tenants, and a paused tenant's
//! backlog set aside out of every claim's way and given back whole.

use super::*;

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
        // A paused tenant's job is set aside (out of every claim's way) by the next
        // maintenance pass; a paused queue's stays available, found by no claim of it.
        let held_as = if matches!(scope, PauseScope::Tenant(_)) {
            "held"
        } else {
            "available"
        };
        queue
            .wait_for_state(paused, held_as, Duration::from_secs(5))
            .await;
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
    let waiting = queue.enqueue_one("acme").await;
    let other = queue.enqueue_one("globex").await;
    queue
        .wait_for_state(other, "completed", Duration::from_secs(10))
        .await;
    queue
        .wait_for_state(waiting, "held", Duration::from_secs(5))
        .await;
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

/// A release's handlers are written for its own tenant schema. While a fleet is being
/// migrated (or a newer release's runner shares the queue), a tenant whose schema is
/// at another version answers its requests `tenant_migrating`; its jobs wait the same
/// way, unclaimed, so none fails on a column its schema does not have yet and no
/// attempt is spent, and they run once the schema reaches the runner's version.
#[tokio::test]
async fn a_tenants_jobs_wait_without_spending_attempts_while_its_schema_is_at_another_version() {
    let queue = Queue::with_tenants(&["acme", "globex", "initech"]).await;
    let set_version = async |slug: &str, version: i32| {
        queue
            .client
            .execute(
                "update public.tenants set schema_version = $2 where slug = $1",
                &[&slug, &version],
            )
            .await
            .unwrap();
    };
    set_version("acme", version() - 1).await;
    set_version("globex", version() + 1).await;
    let ran = Ran::default();
    let handle = queue.runner(&ran, clock::system(), |_| {}).start().await;
    let behind = queue.enqueue_one("acme").await;
    let ahead = queue.enqueue_one("globex").await;
    // A tenant at the runner's version: its job runs while the others wait.
    let current = queue.enqueue_one("initech").await;
    queue
        .wait_for_state(current, "completed", Duration::from_secs(10))
        .await;
    // Several polls more (100 ms each), and the others are still untouched.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in [behind, ahead] {
        assert_eq!(queue.state(id).await, "available", "job {id}");
        assert_eq!(ran.times(id), 0, "job {id}");
    }
    assert_eq!(queue.attempts_of_waiting(&[behind, ahead]).await, 0);

    // The migration reaches acme: its job runs, on its first attempt.
    set_version("acme", version()).await;
    queue
        .wait_for_state(behind, "completed", Duration::from_secs(5))
        .await;
    assert_eq!(ran.times(behind), 1);
    // globex's schema is a newer release's: this runner leaves its job to one of those.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(queue.state(ahead).await, "available");
    assert_eq!(ran.times(ahead), 0);
    handle.shutdown().await;
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

/// The `Buffers: shared hit=` of the plan's first node: the pages the statement read.
fn pages_read(plan: &str) -> i64 {
    plan.lines()
        .find_map(|line| line.trim().strip_prefix("Buffers: shared hit="))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no buffers in\n{plan}"))
}

/// What a claim of `default` by a runner with no tenant at its share reads, run and
/// rolled back.
async fn claim_pages(client: &mut Client) -> (i64, String) {
    let tx = client.transaction().await.unwrap();
    let rows = tx
        .query(
            &format!(
                "explain (analyze, buffers, costs off) {}",
                CLAIM_CANDIDATES_SQL
                    .replace("$1", "'default'")
                    .replace("$2", "4")
                    .replace("$3::timestamptz", "now()")
                    .replace("$4::uuid[]", "'{}'::uuid[]")
                    .replace("$5::int4", &version().to_string())
            ),
            &[],
        )
        .await
        .unwrap();
    let plan: String = rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n");
    tx.rollback().await.unwrap();
    (pages_read(&plan), plan)
}

/// A paused tenant's backlog, older than everyone else's work and so first in claim
/// order, was read by every claim of every runner until the pause ended: 300,000 jobs
/// made each claim read 600,000 pages (0.66 s). Set aside as held, claims read none of
/// it, other tenants' jobs run, and a resume gives every one of them back to run once.
#[tokio::test]
async fn a_paused_tenants_backlog_is_set_aside_and_given_back_whole() {
    let mut queue = Queue::with_tenants(&["acme", "globex"]).await;
    let acme = queue.tenants["acme"].0;
    let backlog: Vec<i64> = queue
        .client
        .query(
            "insert into public.jobs (tenant_id, kind, queue, args, state, run_at, fair_at, \
                 created_at) \
             select $1, 'test.record', 'default', jsonb_build_object('i', i), 'available', \
                 now() - interval '1 day', now() - interval '1 day' + i * interval '1 ms', now() \
             from generate_series(1, 3000) i returning id",
            &[&acme],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let now = Utc::now();
    let acme_scope = PauseScope::Tenant("acme".into());
    // Paused without being set aside (as a job made available after the pause is
    // until the next pass), every claim reads the whole backlog.
    queue
        .client
        .execute(
            "insert into public.job_pauses (scope, tenant_id, paused_at) values ('tenant', $1, now())",
            &[&acme],
        )
        .await
        .unwrap();
    let (walked, plan) = claim_pages(&mut queue.client).await;
    assert!(
        walked > 3000,
        "the backlog is walked when not set aside:\n{plan}"
    );
    queue
        .client
        .execute("delete from public.job_pauses", &[])
        .await
        .unwrap();

    assert!(admin::pause(&queue.client, &acme_scope, now).await.unwrap());
    let held = count(
        &queue.client,
        "select count(*) from public.jobs where state = 'held'",
    )
    .await;
    assert_eq!(held, 3000, "the pause sets the backlog aside at once");
    // What is left to read is the set-aside rows' old entries in the claim index
    // until vacuum (fewer once a scan has marked them dead), not the backlog.
    let (read, plan) = claim_pages(&mut queue.client).await;
    assert!(
        read * 20 < walked,
        "a claim read {read} pages, {walked} before:\n{plan}"
    );

    let ran = Ran::default();
    let handle = queue.runner(&ran, clock::system(), |_| {}).start().await;
    let globex = queue.enqueue_numbered("globex", RECORD, 5).await;
    for id in &globex {
        queue
            .wait_for_state(*id, "completed", Duration::from_secs(10))
            .await;
    }
    // A job the paused tenant makes meanwhile is set aside by the runner's pass.
    let later = queue
        .enqueue("acme", vec![NewJob::now(RECORD, json!({}))])
        .await[0];
    queue
        .wait_for_state(later, "held", Duration::from_secs(5))
        .await;
    assert!(backlog.iter().all(|id| ran.times(*id) == 0));

    assert!(admin::resume(&queue.client, &acme_scope).await.unwrap());
    wait_until("the backlog ran", Duration::from_secs(60), || {
        backlog.iter().all(|id| ran.times(*id) == 1) && ran.times(later) == 1
    })
    .await;
    handle.shutdown().await;
    assert_eq!(
        count(
            &queue.client,
            "select count(*) from public.jobs where state <> 'completed'"
        )
        .await,
        0
    );
    assert!(
        backlog.iter().all(|id| ran.times(*id) == 1),
        "each ran exactly once"
    );
}

/// A tenant made active again, or resumed by another instance's pause table change
/// that no runner was told of, gets its held jobs back from the runners' own pass.
#[tokio::test]
async fn held_jobs_of_a_tenant_no_longer_paused_are_given_back_by_the_pass() {
    let queue = Queue::with_tenants(&["acme"]).await;
    let acme = queue.tenants["acme"].0;
    let ids = queue.enqueue_numbered("acme", RECORD, 3).await;
    // Held, with nothing holding them any more: as a pause removed behind the
    // runners' back, or a race between a pass and a resume, would leave them.
    queue
        .client
        .execute(
            "update public.jobs set state = 'held' where tenant_id = $1",
            &[&acme],
        )
        .await
        .unwrap();
    let ran = Ran::default();
    let runner = queue.runner(&ran, clock::system(), |_| {});
    let (done, _) = runner.maintain_once(false).await.unwrap();
    assert_eq!((done.held, done.released), (0, 3));
    let handle = runner.start().await;
    for id in ids {
        queue
            .wait_for_state(id, "completed", Duration::from_secs(10))
            .await;
    }
    handle.shutdown().await;
}
