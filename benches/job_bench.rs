//! The job queue's benchmark, driven by `scripts/bench-jobs.sh` (which runs
//! graphile-worker's equivalent on the same PostgreSQL). DATABASE_URL must name a
//! database with the public migrations applied; tenants are registry rows only (a
//! no-op job never touches its schema).
//!
//!   job_bench throughput JOBS WORKERS BATCH TENANTS
//!       enqueue JOBS no-op jobs in batches of BATCH over TENANTS tenants, then run
//!       them all with WORKERS workers; prints enqueue and run rates
//!   job_bench latency SAMPLES idle|busy
//!       from just before an enqueuing commit to the handler starting, one job at a
//!       time; `busy` keeps a backlog of other tenants' jobs being worked meanwhile
//!   job_bench claim PENDING TENANTS SAMPLES
//!       PENDING available jobs over TENANTS tenants; the time of one claim (median,
//!       p99) and the buffers it touches

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use pactum::kernel::clock;
use pactum::kernel::jobs::metrics::JobMetrics;
use pactum::kernel::jobs::sql::CLAIM_CANDIDATES_SQL;
use pactum::kernel::jobs::{enqueue_with, Handlers, NewJob, Runner, RunnerConfig, NOOP};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::MigrationSet;
use pactum::tenancy::TenantId;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("argument {i}: {name}"))
}

async fn tenants(client: &tokio_postgres::Client, n: usize) -> Result<Vec<TenantId>, Error> {
    client
        .execute(
            "insert into public.tenants (slug, name, schema_name, status) \
             select 'bench' || i, 'Bench ' || i, 't_bench' || i, 'active' \
             from generate_series(1, $1::int) i on conflict do nothing",
            &[&(n as i32)],
        )
        .await?;
    // Fresh statistics, as autovacuum would have after so many new rows.
    client.batch_execute("analyze public.tenants").await?;
    let rows = client
        .query(
            "select id from public.tenants where slug like 'bench%' order by slug limit $1",
            &[&(n as i64)],
        )
        .await?;
    Ok(rows.iter().map(|r| TenantId(r.get::<_, Uuid>(0))).collect())
}

fn runner(url: &DatabaseUrl, workers: usize, handlers: Handlers) -> Result<Runner, Error> {
    runner_with(url, workers, Some(workers), handlers)
}

/// A runner whose tenants may each hold at most `share` of its `workers` (`None`: the
/// server's default).
fn runner_with(
    url: &DatabaseUrl,
    workers: usize,
    share: Option<usize>,
    handlers: Handlers,
) -> Result<Runner, Error> {
    // BENCH_DURABLE_BOOKKEEPING=1: the queue's own commits wait for the WAL flush, to
    // measure what committing them without waiting gains.
    // BENCH_TENANT_FLEET_CAP=N: the fleet-wide cap counted in the database at each
    // claim, to measure what counting costs.
    let fleet_cap = std::env::var("BENCH_TENANT_FLEET_CAP")
        .ok()
        .and_then(|cap| cap.parse().ok());
    let config = RunnerConfig {
        queues: vec!["default".into()],
        tenant_share: share,
        tenant_fleet_cap: fleet_cap,
        durable_bookkeeping: std::env::var_os("BENCH_DURABLE_BOOKKEEPING").is_some(),
        ..RunnerConfig::new(workers)
    };
    Ok(Runner::new(
        RequestPool::new(url, (workers / 2).clamp(2, 16), Pooler::None)?,
        RequestPool::new(url, 2, Pooler::None)?,
        Some(url.clone()),
        clock::system(),
        handlers,
        config,
        JobMetrics::new(),
    ))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn throughput(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (jobs, workers, batch, tenant_count): (usize, usize, usize, usize) = (
        arg(args, 2, "JOBS"),
        arg(args, 3, "WORKERS"),
        arg(args, 4, "BATCH"),
        arg(args, 5, "TENANTS"),
    );
    let client = url.connect().await?;
    let tenants = tenants(&client, tenant_count).await?;
    let started = Instant::now();
    let mut enqueued = 0;
    let mut next = 0;
    while enqueued < jobs {
        let n = batch.min(jobs - enqueued);
        let batch = (0..n).map(|i| NewJob::now(NOOP, json!({"i": i}))).collect();
        enqueue_with(&client, tenants[next % tenants.len()], Utc::now(), batch).await?;
        next += 1;
        enqueued += n;
    }
    let enqueue_time = started.elapsed();
    let done = Arc::new(AtomicUsize::new(0));
    let mut handlers = Handlers::default();
    let counter = done.clone();
    handlers.register(NOOP, move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    // Each tenant holds at most the server's default share of the workers;
    // BENCH_TENANT_SHARE=off lets one tenant hold them all, to see what the share costs.
    let share = match std::env::var("BENCH_TENANT_SHARE").as_deref() {
        Ok("off") => Some(workers),
        _ => None,
    };
    let runner = runner_with(url, workers, share, handlers)?;
    let started = Instant::now();
    let handle = runner.start().await;
    while done.load(Ordering::Relaxed) < jobs {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let run_time = started.elapsed();
    handle.shutdown().await;
    // The last completions are recorded after the handler returns.
    let completed: i64 = client
        .query_one(
            "select count(*) from public.jobs where state = 'completed'",
            &[],
        )
        .await?
        .get(0);
    println!(
        "pactum throughput: {jobs} jobs, {workers} workers, batches of {batch} over {tenant_count} tenants: \
         enqueue {:.0} jobs/s, run {:.0} jobs/s ({completed} completed)",
        jobs as f64 / enqueue_time.as_secs_f64(),
        jobs as f64 / run_time.as_secs_f64()
    );
    Ok(())
}

async fn latency(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let samples: usize = arg(args, 2, "SAMPLES");
    let busy = args.get(3).map(String::as_str) == Some("busy");
    let client = url.connect().await?;
    let all = tenants(&client, 11).await?;
    let (probe_tenant, others) = (all[0], all[1..].to_vec());
    let (started_tx, mut started_rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let mut handlers = Handlers::default();
    handlers.register(NOOP, move |ctx| {
        if ctx.job.args["probe"] == true {
            let _ = started_tx.send((ctx.job.id, Instant::now()));
        }
        async { Ok(()) }
    });
    let runner = runner(url, 4, handlers)?;
    let handle = runner.start().await;
    let stop = Arc::new(AtomicBool::new(false));
    let filler = if busy {
        let (url, stop) = (url.clone(), stop.clone());
        Some(tokio::spawn(async move {
            let client = url.connect().await.expect("filler connects");
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let pending: i64 = client
                    .query_one(
                        "select count(*) from public.jobs where state = 'available'",
                        &[],
                    )
                    .await
                    .expect("count")
                    .get(0);
                if pending < 5_000 {
                    let batch = (0..1000).map(|_| NewJob::now(NOOP, json!({}))).collect();
                    enqueue_with(&client, others[i % others.len()], Utc::now(), batch)
                        .await
                        .expect("filler enqueues");
                    i += 1;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }))
    } else {
        None
    };
    if busy {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let mut delays = Vec::with_capacity(samples);
    for _ in 0..samples {
        let before = Instant::now();
        let id = enqueue_with(
            &client,
            probe_tenant,
            Utc::now(),
            vec![NewJob::now(NOOP, json!({"probe": true}))],
        )
        .await?[0];
        let (started_id, at) = started_rx.recv().await.expect("the probe runs");
        assert_eq!(started_id, id);
        delays.push((at - before).as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(filler) = filler {
        let _ = filler.await;
    }
    handle.shutdown().await;
    delays.sort_by(f64::total_cmp);
    println!(
        "pactum start delay, {} queue: p50 {:.2} ms, p99 {:.2} ms over {samples} jobs",
        if busy { "busy" } else { "idle" },
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );
    Ok(())
}

/// Replaces the queue with `pending` available no-op jobs over the first
/// `tenant_count` bench tenants, each tenant's spread the way enqueueing spreads it
/// (one second apart in the fair order), vacuumed and analysed.
async fn backlog(
    client: &tokio_postgres::Client,
    pending: i64,
    tenant_count: usize,
) -> Result<(), Error> {
    client.batch_execute("truncate public.jobs").await?;
    client
        .execute(
            "insert into public.jobs (tenant_id, kind, state, run_at, fair_at, created_at) \
             select t.id, 'pactum.noop', 'available', now(), \
                    now() + (i / $2::int) * interval '1 second', now() \
             from generate_series(0, $1::bigint - 1) i \
             join (select id, row_number() over (order by slug) - 1 as n from public.tenants \
                   where slug like 'bench%') t on t.n = i % $2::int",
            &[&pending, &(tenant_count as i32)],
        )
        .await?;
    client.batch_execute("vacuum analyze public.jobs").await?;
    Ok(())
}

async fn claim(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (pending, tenant_count, samples): (i64, usize, usize) = (
        arg(args, 2, "PENDING"),
        arg(args, 3, "TENANTS"),
        arg(args, 4, "SAMPLES"),
    );
    let client = url.connect().await?;
    tenants(&client, tenant_count).await?;
    backlog(&client, pending, tenant_count).await?;
    // The server's claim (no tenant at its share, so none passed over).
    let runner = runner_with(url, 4, None, Handlers::default())?;
    for _ in 0..20 {
        runner.claim("default", 1).await?;
    }
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let started = Instant::now();
        let claimed = runner.claim("default", 1).await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(claimed.len(), 1);
    }
    times.sort_by(f64::total_cmp);
    // Finding and locking the next job, explained: the buffers it touches.
    let plan = client
        .query(
            &format!("explain (analyze, buffers, format json) {CLAIM_CANDIDATES_SQL}"),
            &[
                &"default",
                &1i64,
                &Utc::now(),
                &Vec::<Uuid>::new(),
                &MigrationSet::tenant().latest_version(),
            ],
        )
        .await?;
    let plan: serde_json::Value = plan[0].get(0);
    let buffers = plan[0]["Plan"]["Shared Hit Blocks"].as_i64().unwrap_or(-1)
        + plan[0]["Plan"]["Shared Read Blocks"].as_i64().unwrap_or(0);
    println!(
        "pactum claim, {pending} pending over {tenant_count} tenants: median {:.3} ms, p99 {:.3} ms, {buffers} buffers",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
    );
    Ok(())
}

/// What claims cost as a backlog is worked through for a while: `PENDING` jobs over
/// `TENANTS`, then for `SECONDS` one claimer takes one job at a time and completes it,
/// reporting each window's claims, their median and p99, the dead rows PostgreSQL
/// counts in `public.jobs` and how often autovacuum has run on it. Each claimed job
/// leaves an index entry behind in the claim index until a vacuum, and claims walk
/// over them; the table's autovacuum settings decide how many pile up.
async fn churn(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (pending, tenant_count, seconds): (i64, usize, u64) = (
        arg(args, 2, "PENDING"),
        arg(args, 3, "TENANTS"),
        arg(args, 4, "SECONDS"),
    );
    let client = url.connect().await?;
    tenants(&client, tenant_count).await?;
    backlog(&client, pending, tenant_count).await?;
    let options: Option<Vec<String>> = client
        .query_one(
            "select reloptions from pg_class where oid = 'public.jobs'::regclass",
            &[],
        )
        .await?
        .get(0);
    let claimer = runner(url, 1, Handlers::default())?;
    let started = Instant::now();
    let window = Duration::from_secs(15);
    let mut times = Vec::new();
    let mut total = 0usize;
    let mut window_start = Instant::now();
    println!(
        "pactum churn, {pending} pending over {tenant_count} tenants, table options {}:",
        options.map_or_else(|| "none (PostgreSQL's defaults)".into(), |o| o.join(", "))
    );
    while started.elapsed() < Duration::from_secs(seconds) {
        let began = Instant::now();
        let claimed = claimer.claim("default", 1).await?;
        times.push(began.elapsed().as_secs_f64() * 1000.0);
        let ids: Vec<i64> = claimed.iter().map(|job| job.id).collect();
        client
            .execute(
                "update public.jobs set state = 'completed', finished_at = now(), lease_until = null \
                 where id = any($1)",
                &[&ids],
            )
            .await?;
        total += ids.len();
        if window_start.elapsed() >= window {
            times.sort_by(f64::total_cmp);
            let stats = client
                .query_one(
                    "select n_dead_tup, autovacuum_count from pg_stat_user_tables \
                     where relid = 'public.jobs'::regclass",
                    &[],
                )
                .await?;
            let (dead, vacuums): (i64, i64) = (stats.get(0), stats.get(1));
            println!(
                "   {:>4.0} s: {total} claimed, median {:.3} ms, p99 {:.3} ms, {dead} dead rows, {vacuums} autovacuums",
                started.elapsed().as_secs_f64(),
                percentile(&times, 0.5),
                percentile(&times, 0.99),
            );
            times.clear();
            window_start = Instant::now();
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` appends `--bench`; the scripts run the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let url = DatabaseUrl::parse(
        &std::env::var("DATABASE_URL").expect("DATABASE_URL"),
        "pactum-job-bench",
    )?;
    match args.get(1).map(String::as_str) {
        Some("throughput") => throughput(&url, &args).await,
        Some("latency") => latency(&url, &args).await,
        Some("claim") => claim(&url, &args).await,
        Some("churn") => churn(&url, &args).await,
        _ => {
            eprintln!("usage: job_bench throughput|latency|claim|churn ... (see the source)");
            std::process::exit(2);
        }
    }
}
