//! Provisioning and fleet-migration benchmark. Run with
//! `scripts/bench-provisioning.sh`, which starts PostgreSQL and builds in release mode.
//!
//! In a scratch database `pactum_bench` on the server of `DATABASE_URL` it measures:
//! the raw-DDL floor, django-style replay (refinery, one transaction per migration),
//! cloning a template schema table by table, our cold path (1,000 tenants) beside the
//! same path replaying every migration instead of the squashed baseline, our warm
//! path (100 spares), one extra trivial migration over the whole fleet with 4 workers,
//! and a `migrate` with nothing pending (library call and the real `tenantctl`).

use std::process::Command;
use std::time::{Duration, Instant};

use pactum::tenancy::fleet::{self, FleetOptions};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant, ProvisionPath};
use pactum::tenancy::{spares, Host, MigrationSet, TenantSlug};
use tokio_postgres::{Client, Config, NoTls};

const BENCH_DATABASE: &str = "pactum_bench";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    median: f64,
    p95: f64,
    mean: f64,
    n: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let n = samples.len();
    let pick = |q: f64| ms(samples[((n as f64 - 1.0) * q).round() as usize]);
    Stats {
        median: pick(0.5),
        p95: pick(0.95),
        mean: samples.iter().map(|d| ms(*d)).sum::<f64>() / n as f64,
        n,
    }
}

fn row(label: &str, s: &Stats) {
    println!(
        "| {label} | {} | {:.2} | {:.2} | {:.2} |",
        s.n, s.median, s.p95, s.mean
    );
}

async fn connect(config: &Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; this harness takes no arguments.
    let server_url =
        std::env::var("DATABASE_URL").expect("DATABASE_URL (see scripts/bench-provisioning.sh)");
    let cold_n = env_usize("BENCH_COLD", 1000);
    let warm_n = env_usize("BENCH_WARM", 100);
    let baseline_n = env_usize("BENCH_BASELINE", 200);

    let mut admin_config: Config = server_url.parse().expect("valid DATABASE_URL");
    let admin = connect(&admin_config).await;
    admin
        .batch_execute(&format!(
            "drop database if exists {BENCH_DATABASE} with (force)"
        ))
        .await
        .unwrap();
    admin
        .batch_execute(&format!("create database {BENCH_DATABASE}"))
        .await
        .unwrap();
    admin_config.dbname(BENCH_DATABASE);
    let bench_config = admin_config;
    let bench_url = format!(
        "host=127.0.0.1 port={} user={} dbname={BENCH_DATABASE}",
        bench_config.get_ports().first().copied().unwrap_or(5432),
        bench_config.get_user().unwrap_or("postgres")
    );
    let url = DatabaseUrl::parse(&bench_url, "pactum-bench").unwrap();
    let public = MigrationSet::public();
    let tenant = MigrationSet::tenant();
    let shared = FleetOptions {
        scope: fleet::Scope::Shared,
        ..FleetOptions::default()
    };
    fleet::migrate_fleet(&url, &public, &tenant, &shared, |_| {})
        .await
        .unwrap();
    let mut client = connect(&bench_config).await;

    let version = postgres_version(&client).await;
    println!(
        "PostgreSQL {version}; {} CPU cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| per-tenant provisioning | n | median ms | p95 ms | mean ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");

    // The floor: the same schema as plain DDL in one transaction, no bookkeeping.
    let ddl = format!(
        "{};\ncreate table refinery_schema_history (version int4 primary key, name varchar(255), \
         applied_on varchar(255), checksum varchar(255))",
        tenant.concatenated_sql()
    );
    // A template for cloning, built once.
    client
        .batch_execute(&format!(
            "create schema template; set search_path to template; {ddl}; reset search_path"
        ))
        .await
        .unwrap();
    let tables: Vec<String> = client
        .query(
            "select tablename::text from pg_tables where schemaname = 'template' order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    // Every method is measured in turn within one loop, so each sees the same catalog
    // size (a catalog with 1,000 schemas is slower than an empty one).
    let (mut floor_samples, mut replay_samples, mut clone_samples, mut cold_samples) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // The cold path as it was before the squashed baseline, at the same sizes.
    let without_baseline = tenant.clone().without_baseline();
    let mut unsquashed_samples: Vec<Duration> = Vec::new();
    let mut unsquashed_ratios: Vec<f64> = Vec::new();
    // Cold time / floor time of the floor measured just before it: machine noise moves
    // both alike, so the median of these ratios is steadier than a ratio of medians.
    let mut paired_ratios: Vec<f64> = Vec::new();
    for i in 0..cold_n {
        if i % (cold_n / baseline_n).max(1) == 0 && floor_samples.len() < baseline_n {
            // django-tenants' way: replay each migration in its own transaction.
            let started = Instant::now();
            client
                .batch_execute(&format!(
                    "create schema replay_{i}; set search_path to replay_{i}"
                ))
                .await
                .unwrap();
            let mut runner = refinery::Runner::new(tenant.migrations());
            runner.set_migration_table_name(format!("replay_{i}.refinery_schema_history"));
            runner.run_async(&mut client).await.unwrap();
            client.batch_execute("reset search_path").await.unwrap();
            replay_samples.push(started.elapsed());

            // Cloning a template table by table (CREATE TABLE ... LIKE ... INCLUDING
            // ALL), what clone functions do. A lower bound: it copies no history rows.
            let mut script = format!("begin; create schema clone_{i};");
            for table in &tables {
                script.push_str(&format!(
                    "create table clone_{i}.{table} (like template.{table} including all);"
                ));
            }
            script.push_str("commit");
            let started = Instant::now();
            client.batch_execute(&script).await.unwrap();
            clone_samples.push(started.elapsed());

            let started = Instant::now();
            client
                .batch_execute(&format!(
                    "begin; create schema floor_{i}; set local search_path to floor_{i}; {ddl}; commit"
                ))
                .await
                .unwrap();
            floor_samples.push(started.elapsed());

            let new = new_tenant(&format!("unsquashed{i}"));
            let started = Instant::now();
            provision::create_tenant_cold(&mut client, &without_baseline, &new)
                .await
                .unwrap();
            unsquashed_samples.push(started.elapsed());
        }

        let new = new_tenant(&format!("cold{i}"));
        let started = Instant::now();
        let created = provision::create_tenant_cold(&mut client, &tenant, &new)
            .await
            .unwrap();
        let took = started.elapsed();
        cold_samples.push(took);
        assert_eq!(created.path, ProvisionPath::Cold);
        if floor_samples.len() > paired_ratios.len() {
            let floor = *floor_samples.last().unwrap();
            paired_ratios.push(took.as_secs_f64() / floor.as_secs_f64());
            let unsquashed = *unsquashed_samples.last().unwrap();
            unsquashed_ratios.push(unsquashed.as_secs_f64() / took.as_secs_f64());
        }
    }
    let unsquashed_tail_ratio = median_of_last_tenth(&unsquashed_samples, &cold_samples);
    let floor = stats(floor_samples);
    row("raw DDL floor (same schema, one transaction)", &floor);
    row(
        "replay, a transaction per migration (refinery default)",
        &stats(replay_samples),
    );
    row(
        "clone a template schema (LIKE ... INCLUDING ALL)",
        &stats(clone_samples),
    );
    row(
        "cold path replaying every migration (no squashed baseline)",
        &stats(unsquashed_samples),
    );
    let cold = stats(cold_samples);
    row(
        "**cold path**: `create` (registry + squashed baseline + later migrations + history, one transaction)",
        &cold,
    );

    let fill_started = Instant::now();
    spares::fill(&mut client, &tenant, warm_n as i64, || {})
        .await
        .unwrap();
    let fill_time = fill_started.elapsed();
    let mut samples = Vec::new();
    for i in 0..warm_n {
        let new = new_tenant(&format!("warm{i}"));
        let started = Instant::now();
        let created = provision::create_tenant(&mut client, &tenant, &new)
            .await
            .unwrap();
        samples.push(started.elapsed());
        assert_eq!(created.path, ProvisionPath::Spare);
    }
    let warm = stats(samples);
    row("**warm path**: `create` claiming a spare", &warm);
    println!();
    paired_ratios.sort_by(f64::total_cmp);
    println!(
        "cold path / raw-DDL floor, median of {} back-to-back pairs: {:.2}x \
         (ratio of the medians above: {:.2}x); filling {warm_n} spares took {:.0} ms",
        paired_ratios.len(),
        paired_ratios[paired_ratios.len() / 2],
        cold.median / floor.median,
        fill_time.as_secs_f64() * 1e3
    );
    unsquashed_ratios.sort_by(f64::total_cmp);
    println!(
        "cold path replaying every migration / cold path from the squashed baseline (V1 to V{}), \
         median of {} back-to-back pairs: {:.2}x; in the last tenth of the run: {:.2}x",
        tenant.baseline_version().unwrap_or(0),
        unsquashed_ratios.len(),
        unsquashed_ratios[unsquashed_ratios.len() / 2],
        unsquashed_tail_ratio,
    );

    // One trivial extra migration over the whole fleet.
    let next_version = tenant.latest_version() + 1;
    let next = tenant
        .clone()
        .with_extra(&[(
            &format!("V{next_version}__bench_trivial"),
            "comment on table users is 'benchmark'",
        )])
        .unwrap();
    let options = FleetOptions {
        parallel: 4,
        ..FleetOptions::default()
    };
    let started = Instant::now();
    let report = fleet::migrate_fleet(&url, &public, &next, &options, |_| {})
        .await
        .unwrap();
    let fleet_time = started.elapsed();
    assert!(!report.has_failures());
    let started = Instant::now();
    let noop = fleet::migrate_fleet(&url, &public, &next, &options, |_| {})
        .await
        .unwrap();
    let noop_time = started.elapsed();
    assert!(noop.schemas.is_empty());

    let tenantctl =
        std::env::var("TENANTCTL").unwrap_or_else(|_| "target/release/tenantctl".into());
    let started = Instant::now();
    let status = Command::new(&tenantctl)
        .args(["migrate", "--json", "--parallel", "4"])
        .env("DATABASE_URL", &bench_url)
        .output()
        .expect("running tenantctl (build it with --release first)");
    let cli_noop_time = started.elapsed();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );

    println!();
    println!("| fleet migration | schemas | total |");
    println!("| --- | ---: | ---: |");
    println!(
        "| one trivial migration, `--parallel 4` | {} | {:.2} s |",
        report.summary.migrated,
        fleet_time.as_secs_f64()
    );
    println!(
        "| `migrate` with nothing pending (library call) | {} | {:.1} ms |",
        report.summary.migrated,
        noop_time.as_secs_f64() * 1e3
    );
    println!(
        "| `tenantctl migrate` with nothing pending (whole process) | {} | {:.1} ms |",
        report.summary.migrated,
        cli_noop_time.as_secs_f64() * 1e3
    );

    drop(client);
    admin
        .batch_execute(&format!(
            "drop database if exists {BENCH_DATABASE} with (force)"
        ))
        .await
        .unwrap();
    drop_orphan_roles(&admin).await;
}

/// The ratio of the medians of the last tenth of `slow` and the matching tail of
/// `fast`: the catalog is at its biggest there, which is where the two paths part.
fn median_of_last_tenth(slow: &[Duration], fast: &[Duration]) -> f64 {
    let last_tenth =
        |samples: &[Duration]| samples[samples.len() - (samples.len() / 10).max(1)..].to_vec();
    stats(last_tenth(slow)).median / stats(last_tenth(fast)).median
}

/// The dropped database's tenant roles: roles are cluster-wide and outlive it.
async fn drop_orphan_roles(admin: &Client) {
    for row in admin
        .query(pactum::tenancy::roles::ORPHANS_SQL, &[])
        .await
        .unwrap()
    {
        if let Some(role) = pactum::tenancy::roles::RoleName::from_stored(row.get(0)) {
            admin
                .batch_execute(&format!("drop role if exists {}", role.quoted()))
                .await
                .unwrap();
        }
    }
}

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant::new(
        TenantSlug::parse(slug).unwrap(),
        None,
        Host::parse(&format!("{slug}.bench.localhost")).unwrap(),
    )
    .unwrap()
}

async fn postgres_version(client: &Client) -> String {
    client
        .query_one("show server_version", &[])
        .await
        .unwrap()
        .get(0)
}
