//! Timers and wake-ups: scheduled jobs, notifications that wake workers, periodic jobs
//! across instances and outages, one clock for the queue.

use super::*;

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
            queue.roles["acme"].as_ref(),
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
            queue.roles["acme"].as_ref(),
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
