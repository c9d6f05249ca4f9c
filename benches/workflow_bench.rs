//! Approval workflows' benchmark, driven by `scripts/bench-workflows.sh`. DATABASE_URL
//! must name a database with the public migrations applied.
//!
//! Why this file is long: one program for the workflow engine's three measurements
//! (matching, decisions, SLA breaches), which share their seeding.
//!
//!   workflow_bench match DEFINITIONS SAMPLES
//!       one tenant with DEFINITIONS active definitions (saved through the service) and
//!       two contracts: the time to find the winner (the submission path) when the top
//!       definition matches, when none does and the stored facts rule them all out, and
//!       when none does and every rule is evaluated; and the full match report
//!   workflow_bench decide CONTRACTS CONNECTIONS
//!       a real server in this process; CONTRACTS contracts in review, one pending
//!       approval each over CONNECTIONS approvers; each approval is approved through
//!       HTTP (which completes the stage, the round and approves the contract): first
//!       one at a time, then CONNECTIONS at once; latency median / p99 and rate
//!   workflow_bench timers TENANTS PER_TENANT SPREAD_SECS [WORKERS]
//!       TENANTS tenants with PER_TENANT active stages each, due over SPREAD_SECS
//!       seconds, their deadline timers run by a job runner and pool built as the
//!       server builds them (WORKERS: its worker count instead of the setting); how late
//!       each fired (due to marked overdue), overall and by tenth of the spread; a
//!       database that has the tenants already (cloned from a template) is reused
//!   workflow_bench timers-setup TENANTS PER_TENANT
//!       only the tenants and their stages, into a template database

use std::time::{Duration, Instant};

use chrono::Utc;
use pactum::kernel::clock;
use pactum::kernel::jobs::metrics::JobMetrics;
use pactum::kernel::jobs::BackgroundJob;
use pactum::kernel::jobs::{enqueue_with, NewJob};
use pactum::kernel::unit::{Reactions, Unit};
use pactum::kernel::{Actor, Origin};
use pactum::tenancy::connection::{Pooler, RequestPool};
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::roles::RoleName;
use pactum::tenancy::scoped::TenantDb;
use pactum::tenancy::{Host, MigrationSet, SchemaName, TenantId, TenantSlug};
use pactum::workflows::definitions;
use pactum::workflows::matching::{self, Subject};
use pactum::workflows::model::DefinitionBody;
use serde_json::{json, Value};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("argument {i}: {name}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "median {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
        samples.len()
    )
}

/// The admins' password hash, computed once (argon2 is slow on purpose).
fn admin_hash() -> Result<String, Error> {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(hash) = HASH.get() {
        return Ok(hash.clone());
    }
    let hash = pactum::identity::password::NewPassword::parse("bench-password-1")?.hash()?;
    Ok(HASH.get_or_init(|| hash).clone())
}

/// Provisions `slug` (with an admin) and returns its id and schema.
async fn tenant(url: &DatabaseUrl, slug: &str) -> Result<(TenantId, SchemaName, RoleName), Error> {
    let mut client = url.connect().await?;
    let mut new = NewTenant::new(
        TenantSlug::parse(slug)?,
        None,
        Host::parse(&format!("{slug}.localhost"))?,
    )?;
    new.admin = Some(pactum::tenancy::first_admin::FirstAdmin {
        email: pactum::tenancy::Email::parse("admin@example.com")?,
        display_name: "Admin".into(),
        password_hash: admin_hash()?,
    });
    provision::create_tenant(&mut client, &MigrationSet::tenant(), &new).await?;
    let row = client
        .query_one(
            "select id, schema_name, role_name from public.tenants where slug = $1",
            &[&slug],
        )
        .await?;
    Ok((
        TenantId(row.get(0)),
        SchemaName::from_stored(row.get::<_, &str>(1)).ok_or("stored schema name")?,
        RoleName::from_stored(row.get::<_, &str>(2)).ok_or("stored role name")?,
    ))
}

fn seed_stages() -> Value {
    json!([
       {"stage_name": "Legal Review", "sequence": 1, "approvers": ["legal"],
        "approval_type": "all", "sla_hours": 48, "is_required": true},
       {"stage_name": "Finance Approval", "sequence": 2, "approvers": ["finance", "cfo"],
        "approval_type": "any", "sla_hours": 24, "is_required": true},
       {"stage_name": "Executive Sign-Off", "sequence": 3, "approvers": ["ceo"],
        "approval_type": "all", "sla_hours": 72, "is_required": true}])
}

async fn matching(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (count, samples): (i32, usize) = (arg(args, 2, "DEFINITIONS"), arg(args, 3, "SAMPLES"));
    let (id, schema, role) = tenant(url, "matchbench").await?;
    let client = url.connect().await?;
    let s = schema.quoted();
    client
        .batch_execute(&format!(
            "insert into {s}.teams (name) values ('legal'), ('finance'), ('cfo'), ('ceo'); \
             insert into {s}.contracts (title, contract_type, value, currency, owner_id, tags, metadata, auto_renew) \
             select 'MSA', 'msa', 750000, 'EUR', id, array['strategic'], jsonb_build_object('region', 'r' || ({count} % 7)), false \
             from {s}.users limit 1; \
             insert into {s}.contracts (title, contract_type, value, currency, owner_id, tags, metadata, auto_renew) \
             select 'Big MSA', 'msa', 5000000, 'EUR', id, array['strategic'], '{{\"region\": \"elsewhere\"}}', false \
             from {s}.users limit 1"
        ))
        .await?;
    let pool = RequestPool::new(url, 2, Pooler::None)?;
    let db = Unit::new(clock::system(), Reactions::default()).attach(TenantDb::new(
        pool,
        id,
        &schema,
        Some(&role),
    ));
    let actor = Actor::system("bench");
    let origin = Origin::job(0, "bench");
    // Rules like the seed's, each a little different: the value threshold, the types, a
    // metadata key, saved through the service as an admin would. Every threshold is above
    // the MSA's 750,000; the benchmark lowers the top definition's (priority `count`)
    // when it should match. The big MSA (5,000,000, region "elsewhere") passes every
    // threshold and matches none: every rule is evaluated.
    let definition = |i: i32, threshold: i64| -> Result<DefinitionBody, Error> {
        Ok(serde_json::from_value(json!({
            "name": format!("definition {i}"),
            "trigger_conditions": {"value__gte": threshold.to_string(), "contract_type__in": ["msa", "sow"],
                "metadata__region": format!("r{}", i % 7),
                "any": [{"tags__contains": "strategic"}, {"auto_renew": true}]},
            "stages": seed_stages(), "priority": i}))?)
    };
    let setup = Instant::now();
    let mut top = None;
    for i in 1..=count {
        let tx = db.begin().await?;
        let saved = definitions::create(
            &tx,
            &actor,
            &origin,
            definition(i, 760_000 + i64::from(i) * 1000)?,
        )
        .await?;
        tx.commit().await?;
        top = Some(saved.id);
    }
    let top = top.ok_or("no definitions")?;
    eprintln!(
        "{count} definitions saved in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    let contracts: Vec<Uuid> = client
        .query(&format!("select id from {s}.contracts order by value"), &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let (msa, big) = (
        Subject::Contract(contracts[0]),
        Subject::Contract(contracts[1]),
    );
    let time = |label: &'static str| (label, Vec::with_capacity(samples));
    let (mut top_matches, mut ruled_out, mut evaluated, mut report) = (
        time("top"),
        time("ruled out"),
        time("evaluated"),
        time("report"),
    );
    for round in 0..samples + 20 {
        for (which, subject, threshold, matches) in [
            (&mut top_matches, &msa, 700_000, true),
            (&mut ruled_out, &msa, 900_000, false),
            (&mut evaluated, &big, 900_000, false),
        ] {
            let tx = db.begin().await?;
            definitions::replace(&tx, &actor, &origin, top, definition(count, threshold)?).await?;
            tx.commit().await?;
            let tx = db.begin().await?;
            let started = Instant::now();
            let winner = matching::winner(&tx, subject).await?;
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            tx.rollback().await?;
            assert_eq!(winner.is_some(), matches, "round {round}");
            if round >= 20 {
                which.1.push(elapsed);
            }
        }
        let tx = db.begin().await?;
        let started = Instant::now();
        let explained = matching::explain(&tx, &actor, &msa).await?;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        tx.rollback().await?;
        assert_eq!(explained.definitions.len(), count as usize);
        if round >= 20 {
            report.1.push(elapsed);
        }
    }
    for (label, samples) in [top_matches, ruled_out, evaluated, report] {
        let what = match label {
            "top" => "winner, the top definition matches",
            "ruled out" => "winner, none matches (the stored facts rule every definition out)",
            "evaluated" => "winner, none matches (nothing ruled out: every rule evaluated)",
            _ => "match report (every definition, every condition)",
        };
        println!("match {count} definitions, {what}: {}", summary(samples));
    }
    Ok(())
}

async fn decide(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (contracts, connections): (usize, usize) =
        (arg(args, 2, "CONTRACTS"), arg(args, 3, "CONNECTIONS"));
    let (_, schema, _) = tenant(url, "decidebench").await?;
    let vars: std::collections::HashMap<&str, String> = [
        ("DATABASE_URL", std::env::var("DATABASE_URL")?),
        ("PACTUM_BIND", "127.0.0.1:0".into()),
        ("PACTUM_PUBLIC_HOST", "localhost".into()),
        (
            "JWT_SECRET",
            "bench-secret-bench-secret-bench-secret-0".into(),
        ),
        ("PACTUM_DB_POOL_SIZE", (connections + 4).to_string()),
        ("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "10000".into()),
    ]
    .into_iter()
    .collect();
    let config = pactum::config::Config::from_lookup(|name| vars.get(name).cloned())?;
    let app = pactum::app::Application::build(config).await?;
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let call = |method: reqwest::Method, path: String, token: String, body: Value| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let response = http
                .request(method, url)
                .header("host", format!("decidebench.localhost:{port}"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await?;
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                return Err(format!("{status}: {body}").into());
            }
            Ok::<Value, Error>(body)
        }
    };
    let login = |email: String| {
        let http = http.clone();
        let url = format!("{base}/api/v1/auth/login");
        async move {
            let body: Value = http
                .post(url)
                .header("host", format!("decidebench.localhost:{port}"))
                .json(&json!({"email": email, "password": "bench-password-1"}))
                .send()
                .await?
                .json()
                .await?;
            Ok::<String, Error>(body["access_token"].as_str().ok_or("login")?.to_owned())
        }
    };
    let admin = login("admin@example.com".into()).await?;
    // One approver per lane, a team and a definition per lane: contract i (metadata
    // lane i % CONNECTIONS) waits for one approval by that lane's approver.
    let mut tokens = Vec::new();
    for lane in 0..connections {
        let email = format!("approver{lane}@example.com");
        let user = call(reqwest::Method::POST, "/api/v1/users".into(), admin.clone(),
            json!({"email": email, "display_name": email, "role": "member", "password": "bench-password-1"})).await?;
        let team = call(
            reqwest::Method::POST,
            "/api/v1/teams".into(),
            admin.clone(),
            json!({"name": format!("lane{lane}")}),
        )
        .await?;
        call(
            reqwest::Method::PUT,
            format!(
                "/api/v1/teams/{}/members/{}",
                team["id"].as_str().unwrap(),
                user["id"].as_str().unwrap()
            ),
            admin.clone(),
            Value::Null,
        )
        .await?;
        call(reqwest::Method::POST, "/api/v1/workflows".into(), admin.clone(), json!({"name": format!("Lane {lane}"),
            "trigger_conditions": {"metadata__lane": lane.to_string()}, "priority": lane as i32 + 1,
            "stages": [{"stage_name": "Approve", "sequence": 1, "approvers": [format!("lane{lane}")], "approval_type": "any", "sla_hours": 24}]})).await?;
        tokens.push(login(email).await?);
    }
    let setup = Instant::now();
    let mut created = Vec::new();
    for chunk in (0..contracts).collect::<Vec<_>>().chunks(connections * 4) {
        let batch = chunk.iter().map(|i| {
            let admin = admin.clone();
            let call = &call;
            async move {
                let contract = call(reqwest::Method::POST, "/api/v1/contracts".into(), admin.clone(),
                    json!({"title": format!("Contract {i}"), "contract_type": "msa", "value": "1000", "currency": "EUR",
                           "body": "Terms.", "metadata": {"lane": (i % connections).to_string()}})).await?;
                let id = contract["id"].as_str().unwrap().to_owned();
                call(reqwest::Method::POST, format!("/api/v1/contracts/{id}/transition"), admin, json!({"to": "in_review"})).await?;
                Ok::<(), Error>(())
            }
        });
        for result in futures::future::join_all(batch).await {
            result?;
        }
        created.extend_from_slice(chunk);
    }
    eprintln!(
        "{} contracts submitted in {:.1} s",
        created.len(),
        setup.elapsed().as_secs_f64()
    );
    let client = url.connect().await?;
    // The submissions left work for the server's job runner (a notification job per
    // approval requested); decisions are measured once it is done, as on a server at rest.
    loop {
        let waiting: i64 = client
            .query_one(
                "select count(*) from public.jobs where state in ('available', 'running', 'retryable')",
                &[],
            )
            .await?
            .get(0);
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s = schema.quoted();
    let rows = client
        .query(
            &format!(
                "select a.id, u.email from {s}.approvals a join {s}.users u on u.id = a.approver_id \
                 where a.state = 'pending' order by a.created_at"
            ),
            &[],
        )
        .await?;
    let mut lanes: Vec<Vec<Uuid>> = vec![Vec::new(); connections];
    for row in &rows {
        let email: String = row.get(1);
        let lane: usize = email
            .trim_start_matches("approver")
            .split('@')
            .next()
            .unwrap()
            .parse()?;
        lanes[lane].push(row.get(0));
    }
    let approve = |token: String, approval: Uuid| {
        let call = &call;
        async move {
            let started = Instant::now();
            let body = call(
                reqwest::Method::POST,
                format!("/api/v1/approvals/{approval}/approve"),
                token,
                json!({}),
            )
            .await?;
            assert_eq!(body["state"], "approved");
            Ok::<f64, Error>(started.elapsed().as_secs_f64() * 1000.0)
        }
    };
    // One at a time: the first quarter of every lane.
    let mut serial = Vec::new();
    for (lane, approvals) in lanes.iter_mut().enumerate() {
        let take = approvals.len() / 4;
        for approval in approvals.drain(..take) {
            serial.push(approve(tokens[lane].clone(), approval).await?);
        }
    }
    println!("decide, 1 connection: {}", summary(serial));
    // CONNECTIONS at once, each approver through the rest of their lane.
    let started = Instant::now();
    let runs = lanes.into_iter().enumerate().map(|(lane, approvals)| {
        let token = tokens[lane].clone();
        let approve = &approve;
        async move {
            let mut times = Vec::new();
            for approval in approvals {
                times.push(approve(token.clone(), approval).await?);
            }
            Ok::<Vec<f64>, Error>(times)
        }
    });
    let mut concurrent = Vec::new();
    for result in futures::future::join_all(runs).await {
        concurrent.extend(result?);
    }
    let wall = started.elapsed().as_secs_f64();
    let decided = concurrent.len();
    println!(
        "decide, {connections} connections: {} ; {:.0} decisions/s",
        summary(concurrent),
        decided as f64 / wall
    );
    let approved: i64 = client
        .query_one(
            &format!("select count(*) from {s}.contracts where status = 'approved'"),
            &[],
        )
        .await?
        .get(0);
    println!("contracts approved by their workflow: {approved} of {contracts}");
    Ok(())
}

/// The `tenant_count` tenants of the timers benchmark, each with a contract in review, a
/// round, and `per_tenant` active stages with a pending approval each, due far away for
/// now: read back when a template database cloned for this round has them already
/// (`BENCH_TEMPLATE`: provisioning a thousand tenants takes most of half an hour here),
/// else provisioned and seeded.
async fn timer_tenants(
    url: &DatabaseUrl,
    tenant_count: usize,
    per_tenant: i32,
) -> Result<Vec<(TenantId, SchemaName, RoleName)>, Error> {
    let client = url.connect().await?;
    let existing = client
        .query(
            "select id, schema_name, role_name from public.tenants where slug ~ '^sla[0-9]+$' \
             order by substr(slug, 4)::int",
            &[],
        )
        .await?;
    if existing.len() == tenant_count {
        eprintln!("{tenant_count} tenants of the template reused");
        return existing
            .iter()
            .map(|row| {
                Ok((
                    TenantId(row.get(0)),
                    SchemaName::from_stored(row.get::<_, &str>(1)).ok_or("stored schema name")?,
                    RoleName::from_stored(row.get::<_, &str>(2)).ok_or("stored role name")?,
                ))
            })
            .collect();
    }
    if !existing.is_empty() {
        return Err(format!(
            "the database holds {} of the benchmark's tenants, not {tenant_count}",
            existing.len()
        )
        .into());
    }
    let setup = Instant::now();
    let mut tenants = Vec::new();
    for i in 0..tenant_count {
        tenants.push(tenant(url, &format!("sla{i}")).await?);
    }
    eprintln!(
        "{tenant_count} tenants provisioned in {:.1} s",
        setup.elapsed().as_secs_f64()
    );
    // Each tenant: a contract in review, a round, PER_TENANT active stages with a pending
    // approval each, due far away for now.
    for (_, schema, _) in &tenants {
        let s = schema.quoted();
        client
            .batch_execute(&format!(
                "insert into {s}.contracts (title, contract_type, owner_id, status) select 'C', 'msa', id, 'in_review' from {s}.users limit 1; \
                 insert into {s}.workflow_runs (contract_id, definition_version, definition_name, allow_self_approval, contract_version, round, state, started_at) \
                     select id, 1, 'bench', false, 1, 1, 'running', now() from {s}.contracts; \
                 insert into {s}.workflow_stages (run_id, sequence, name, approval_type, is_required, spec, state, required_approvals, activated_at, due_at) \
                     select r.id, i, 'Stage ' || i, 'all', true, '{{\"stage_name\": \"S\", \"sequence\": 1, \"approvers\": [\"admin\"], \"approval_type\": \"all\"}}', \
                            'active', 1, now(), 'infinity' from {s}.workflow_runs r, generate_series(1, {per_tenant}) i; \
                 insert into {s}.approvals (stage_id, run_id, contract_id, approver_id, assigned_via, state, created_at) \
                     select st.id, st.run_id, r.contract_id, u.id, 'role:admin', 'pending', now() \
                     from {s}.workflow_stages st join {s}.workflow_runs r on r.id = st.run_id, (select id from {s}.users limit 1) u;"
            ))
            .await?;
    }
    Ok(tenants)
}

async fn sla_timers(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (tenant_count, per_tenant, spread): (usize, i32, f64) = (
        arg(args, 2, "TENANTS"),
        arg(args, 3, "PER_TENANT"),
        arg(args, 4, "SPREAD_SECS"),
    );
    let tenants = timer_tenants(url, tenant_count, per_tenant).await?;
    let client = url.connect().await?;
    // Provisioning a thousand tenants leaves gigabytes of dirty pages and WAL behind; a
    // checkpoint now keeps their writing out of the measured minutes (BENCH_NO_CHECKPOINT
    // leaves it to run during them, as the earlier figures did).
    if std::env::var_os("BENCH_NO_CHECKPOINT").is_none() {
        let started = Instant::now();
        client.batch_execute("checkpoint").await?;
        eprintln!(
            "checkpoint after set-up: {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // BENCH_PREWARM=1 reads every tenant's relations a deadline touches into shared
    // buffers first, which takes the disk out of the measurement (the cluster's
    // shared_buffers must hold them: about 40 relations of 1,000 tenants).
    if std::env::var_os("BENCH_PREWARM").is_some() {
        let started = Instant::now();
        client
            .batch_execute("create extension if not exists pg_prewarm schema public")
            .await?;
        let blocks: i64 = client
            .query_one(
                "select coalesce(sum(public.pg_prewarm(c.oid)), 0)::int8 from pg_class c \
                 join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname like 't\\_%' and c.relkind in ('r', 'i') \
                   and c.relname ~ '^(audit_logs|workflow_|approvals|webhook_|notification|contracts|users)'",
                &[],
            )
            .await?
            .get(0);
        eprintln!(
            "prewarmed {blocks} blocks in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    // The runner and its pool as the server builds them, from the same settings (the
    // environment's PACTUM_* included), WORKERS overriding the worker count.
    let workers = args.get(5).cloned();
    let config = pactum::config::Config::from_lookup(|name| match name {
        "JWT_SECRET" => Some("bench-secret-bench-secret-bench-secret-0".into()),
        "PACTUM_JOB_WORKERS" if workers.is_some() => workers.clone(),
        // The job pool's statement mode alone (`transaction`: unnamed statements), the
        // set-up's tools staying direct.
        "PACTUM_DB_POOLER" => std::env::var("BENCH_JOB_POOLER")
            .or_else(|_| std::env::var(name))
            .ok(),
        "PACTUM_DIRECT_DATABASE_URL" => std::env::var(name)
            .or_else(|_| std::env::var("DATABASE_URL"))
            .ok(),
        other => std::env::var(other).ok(),
    })?;
    let handlers = pactum::app::job_handlers(&pactum::app::Outbound::new(&config).await?);
    let runner = pactum::app::job_runner(
        &config,
        pactum::app::job_pool(&config)?,
        clock::system(),
        handlers,
        JobMetrics::new(),
    )?;
    // BENCH_NOTIFY_IN_TRANSACTION=1 puts back the trigger that woke workers from inside
    // every enqueueing transaction, to measure what that cost.
    if std::env::var_os("BENCH_NOTIFY_IN_TRANSACTION").is_some() {
        client
            .batch_execute(
                "create function public.bench_notify_jobs() returns trigger language plpgsql as \
                 $$ begin perform pg_notify('pactum_jobs', ''); return null; end; $$; \
                 create trigger bench_jobs_notify after insert on public.jobs \
                 for each statement execute function public.bench_notify_jobs();",
            )
            .await?;
    }
    let handle = runner.start().await;
    // Deadlines from a few seconds after the timers are written, spread evenly.
    let first_due = Utc::now() + chrono::Duration::seconds(20);
    let total = tenant_count * per_tenant as usize;
    let step = spread / total as f64;
    let mut n = 0usize;
    for (i, (tenant, schema, _)) in tenants.iter().enumerate() {
        let s = schema.quoted();
        // Interleaved across tenants: stage j of tenant i is due at slot j * tenants + i.
        let stages = client
            .query(
                &format!(
                    "update {s}.workflow_stages set due_at = $1::timestamptz + \
                     (((sequence - 1) * $2::int + $3::int) * $4::float8) * interval '1 second' \
                     returning id, due_at"
                ),
                &[&first_due, &(tenant_count as i32), &(i as i32), &step],
            )
            .await?;
        let jobs: Vec<NewJob> = stages
            .iter()
            .map(|row| {
                let (stage, due): (Uuid, chrono::DateTime<Utc>) = (row.get(0), row.get(1));
                pactum::workflows::model::StageDue {
                    stage_id: stage,
                    due_at: due,
                }
                .at(due)
            })
            .collect();
        n += jobs.len();
        enqueue_with(&client, *tenant, Utc::now(), jobs).await?;
    }
    let written = Utc::now();
    assert!(
        written < first_due,
        "the timers were written after the first was due; raise the head start"
    );
    eprintln!(
        "{n} timers written; the first is due in {:.1} s",
        (first_due - written).num_milliseconds() as f64 / 1000.0
    );
    let deadline = Instant::now() + Duration::from_secs_f64(spread + 600.0);
    loop {
        let remaining: i64 = client
            .query_one(
                "select count(*) from public.jobs where kind = 'workflow.stage_due' and state <> 'completed'",
                &[],
            )
            .await?
            .get(0);
        if remaining == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    handle.shutdown().await;
    // (due, lateness): the median by tenth of the spread tells a backlog that grows
    // (too slow throughout) from one made early and carried (a slow start).
    let mut by_due = Vec::with_capacity(total);
    for (_, schema, _) in &tenants {
        let s = schema.quoted();
        for row in client
            .query(
                &format!("select extract(epoch from due_at)::float8, extract(epoch from overdue_at - due_at)::float8 * 1000 from {s}.workflow_stages"),
                &[],
            )
            .await?
        {
            by_due.push((row.get::<_, f64>(0), row.get::<_, Option<f64>>(1).unwrap_or(f64::INFINITY)));
        }
    }
    by_due.sort_by(|a, b| a.0.total_cmp(&b.0));
    let tenths: Vec<String> = by_due
        .chunks(total.div_ceil(10).max(1))
        .map(|tenth| {
            let mut late: Vec<f64> = tenth.iter().map(|(_, l)| *l).collect();
            late.sort_by(f64::total_cmp);
            format!("{:.1}", percentile(&late, 0.5) / 1000.0)
        })
        .collect();
    let lateness: Vec<f64> = by_due.into_iter().map(|(_, l)| l).collect();
    let unfired = lateness.iter().filter(|l| l.is_infinite()).count();
    let within = lateness.iter().filter(|l| **l <= 5000.0).count();
    println!(
        "sla timers: {total} over {tenant_count} tenants, due over {spread:.0} s ({:.0}/s), {} workers{}: lateness {}; within 5 s: {within} of {total}; never fired: {unfired}",
        total as f64 / spread,
        config.jobs.workers,
        if std::env::var_os("BENCH_NOTIFY_IN_TRANSACTION").is_some() {
            ", NOTIFY inside each enqueueing transaction"
        } else {
            ""
        },
        summary(lateness)
    );
    println!(
        "  median lateness by tenth of the spread, s: {}",
        tenths.join(" ")
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    // `cargo bench` appends `--bench`; the scripts run the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let url = DatabaseUrl::parse(&std::env::var("DATABASE_URL")?, "pactum-workflow-bench")?;
    match args.get(1).map(String::as_str) {
        Some("match") => matching(&url, &args).await,
        Some("decide") => decide(&url, &args).await,
        Some("timers") => sla_timers(&url, &args).await,
        Some("timers-setup") => {
            timer_tenants(&url, arg(&args, 2, "TENANTS"), arg(&args, 3, "PER_TENANT")).await?;
            Ok(())
        }
        _ => Err("usage: workflow_bench match|decide|timers|timers-setup ...".into()),
    }
}
