//! Notifications' benchmark, driven by `scripts/bench-notifications.sh`. DATABASE_URL
//! must name a database with the public migrations applied; PACTUM_BIN the release
//! `pactum` binary, run as its own process so its memory is its own.
//!
//!   notification_bench stream TENANTS STREAMS DECISIONS
//!       TENANTS tenants, each with 20 contract owners holding STREAMS / TENANTS / 20
//!       open SSE streams each and one approver; DECISIONS approvals approved through
//!       HTTP one after another (round robin over tenants): the time from sending the
//!       decision to each of the owner's streams receiving its `approval_approved`
//!       notification (p50 / p99), and the server's memory per open stream (VmRSS of
//!       the server process with all streams open, minus before, over STREAMS)
//!   notification_bench email MESSAGES SMTP_URL
//!       MESSAGES email deliveries made at once (notifications, deliveries and their
//!       jobs written in one statement each) and sent by the server's job runner to
//!       SMTP_URL: messages per second from the first to the last marked sent
//!   notification_bench walk CONTRACTS
//!       CONTRACTS running contracts with end dates (half with a renewal notice) in one
//!       tenant; new reminder days through `PUT /notification-preferences/defaults`,
//!       twice: the time from the request to every contract's reminders worked out again
//!       by the background walk (the first schedules them, the second cancels those and
//!       schedules others), and what one batch of 500 took on average

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use pactum::tenancy::pool::DatabaseUrl;
use pactum::tenancy::provision::{self, NewTenant};
use pactum::tenancy::{Host, MigrationSet, TenantSlug};
use serde_json::{json, Value};
use tokio::sync::Mutex;

type Error = Box<dyn std::error::Error + Send + Sync>;

const OWNERS_PER_TENANT: usize = 20;
const PASSWORD: &str = "bench-password-1";

fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("argument {i}: {name}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn provision_tenant(url: &DatabaseUrl, slug: &str) -> Result<(), Error> {
    let mut new = NewTenant::new(
        TenantSlug::parse(slug)?,
        None,
        Host::parse(&format!("{slug}.localhost"))?,
    )?;
    new.admin = Some(pactum::tenancy::first_admin::FirstAdmin {
        email: pactum::tenancy::Email::parse("admin@example.com")?,
        display_name: "Admin".into(),
        password_hash: pactum::identity::password::NewPassword::parse(PASSWORD)?.hash()?,
    });
    let (mut client, connection) = url.config().connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    provision::create_tenant(&mut client, &MigrationSet::tenant(), &new).await?;
    Ok(())
}

/// The server as its own process.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    async fn start(extra: &[(&str, &str)]) -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = std::process::Command::new(std::env::var("PACTUM_BIN")?);
        command
            .env("PACTUM_BIND", format!("127.0.0.1:{port}"))
            .env("PACTUM_PUBLIC_HOST", "localhost")
            .env("JWT_SECRET", "bench-secret-bench-secret-bench-secret-0")
            .env("PACTUM_DB_POOL_SIZE", "16")
            .env("PACTUM_LOGIN_ATTEMPTS_PER_MINUTE", "10000")
            .env("PACTUM_LOG", "warn")
            .env("RUST_LOG", "warn");
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.spawn()?;
        let server = Self { child, port };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            let ok = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .header("host", "localhost")
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the server did not come up".into())
    }

    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    port: u16,
}

impl Api {
    async fn call(
        &self,
        slug: &str,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Value,
    ) -> Result<Value, Error> {
        let response = self
            .http
            .request(method, format!("http://127.0.0.1:{}{path}", self.port))
            .header("host", format!("{slug}.localhost:{}", self.port))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("{path}: {status}: {body}").into());
        }
        Ok(body)
    }

    async fn login(&self, slug: &str, email: &str) -> Result<String, Error> {
        let body: Value = self
            .http
            .post(format!("http://127.0.0.1:{}/api/v1/auth/login", self.port))
            .header("host", format!("{slug}.localhost:{}", self.port))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await?
            .json()
            .await?;
        Ok(body["access_token"]
            .as_str()
            .ok_or_else(|| format!("login {email}: {body}"))?
            .to_owned())
    }
}

/// When each (tenant, notification id) arrived, per stream.
type Arrivals = Arc<Mutex<HashMap<(String, i64), Vec<Instant>>>>;

async fn stream(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (tenants, streams, decisions): (usize, usize, usize) = (
        arg(args, 2, "TENANTS"),
        arg(args, 3, "STREAMS"),
        arg(args, 4, "DECISIONS"),
    );
    let per_owner = (streams / tenants / OWNERS_PER_TENANT).max(1);
    let slugs: Vec<String> = (0..tenants).map(|i| format!("nb{i}")).collect();
    for slug in &slugs {
        provision_tenant(url, slug).await?;
    }
    let server = Server::start(&[]).await?;
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(4096)
            .build()?,
        port: server.port,
    };
    // Per tenant: owners, one approver, a definition every NDA matches, and
    // decisions / tenants contracts in review, owned round robin.
    let mut work = Vec::new(); // (slug, approval id, approver token)
    let mut owner_tokens = Vec::new(); // (slug, token)
    for slug in &slugs {
        let admin = api.login(slug, "admin@example.com").await?;
        let mut owners = Vec::new();
        for o in 0..OWNERS_PER_TENANT {
            let email = format!("owner{o}@example.com");
            api.call(slug, reqwest::Method::POST, "/api/v1/users", &admin,
                json!({"email": email, "display_name": email, "role": "member", "password": PASSWORD})).await?;
            owners.push(api.login(slug, &email).await?);
        }
        let approver = api.call(slug, reqwest::Method::POST, "/api/v1/users", &admin,
            json!({"email": "approver@example.com", "display_name": "Approver", "role": "member", "password": PASSWORD})).await?;
        let team = api
            .call(
                slug,
                reqwest::Method::POST,
                "/api/v1/teams",
                &admin,
                json!({"name": "approvers"}),
            )
            .await?;
        api.call(
            slug,
            reqwest::Method::PUT,
            &format!(
                "/api/v1/teams/{}/members/{}",
                team["id"].as_str().unwrap_or_default(),
                approver["id"].as_str().unwrap_or_default()
            ),
            &admin,
            Value::Null,
        )
        .await?;
        api.call(slug, reqwest::Method::POST, "/api/v1/workflows", &admin, json!({"name": "NDA approval",
            "trigger_conditions": {"contract_type__in": ["nda"]}, "priority": 1,
            "stages": [{"stage_name": "Approve", "sequence": 1, "approvers": ["approvers"], "approval_type": "any", "sla_hours": 24}]})).await?;
        let approver_token = api.login(slug, "approver@example.com").await?;
        for c in 0..decisions.div_ceil(tenants) {
            let owner = &owners[c % OWNERS_PER_TENANT];
            let contract = api
                .call(
                    slug,
                    reqwest::Method::POST,
                    "/api/v1/contracts",
                    owner,
                    json!({"title": format!("NDA {c}"), "contract_type": "nda", "body": "Terms."}),
                )
                .await?;
            let id = contract["id"].as_str().unwrap_or_default().to_owned();
            api.call(
                slug,
                reqwest::Method::POST,
                &format!("/api/v1/contracts/{id}/transition"),
                owner,
                json!({"to": "in_review"}),
            )
            .await?;
            let mine = api
                .call(
                    slug,
                    reqwest::Method::GET,
                    "/api/v1/approvals?limit=200",
                    &approver_token,
                    Value::Null,
                )
                .await?;
            let approval = mine["items"]
                .as_array()
                .and_then(|items| items.iter().find(|a| a["contract_id"] == json!(id)))
                .and_then(|a| a["id"].as_str())
                .ok_or_else(|| format!("no approval for {id}: {mine}"))?
                .to_owned();
            work.push((slug.clone(), approval, approver_token.clone()));
        }
        for owner in owners {
            owner_tokens.push((slug.clone(), owner));
        }
    }
    // Let the submissions' own notification jobs drain.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let before = server.rss_kib();
    let arrivals: Arrivals = Arc::default();
    let mut open = 0usize;
    let total = owner_tokens.len() * per_owner;
    // The server's memory with half the streams open: the second half's growth is the
    // marginal cost of a stream, clear of what the setup left in the allocator.
    let mut at_half = 0;
    for (slug, token) in &owner_tokens {
        for _ in 0..per_owner {
            if open == total / 2 {
                tokio::time::sleep(Duration::from_secs(2)).await;
                at_half = server.rss_kib();
            }
            let ticket = api
                .call(
                    slug,
                    reqwest::Method::POST,
                    "/api/v1/notifications/stream-tickets",
                    token,
                    Value::Null,
                )
                .await?;
            let response = api
                .http
                .get(format!(
                    "http://127.0.0.1:{}/api/v1/notifications/stream?ticket={}",
                    server.port,
                    ticket["ticket"].as_str().unwrap_or_default()
                ))
                .header("host", format!("{slug}.localhost:{}", server.port))
                .send()
                .await?;
            if !response.status().is_success() {
                return Err(format!("stream: {}", response.status()).into());
            }
            let arrivals = arrivals.clone();
            let slug = slug.clone();
            tokio::spawn(async move {
                let mut body = response.bytes_stream();
                let mut buffer = String::new();
                while let Some(Ok(chunk)) = body.next().await {
                    let now = Instant::now();
                    buffer.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buffer.find("\n\n") {
                        let frame: String = buffer.drain(..end + 2).collect();
                        if !frame.contains("\"type\":\"approval_approved\"") {
                            continue;
                        }
                        if let Some(id) = frame
                            .lines()
                            .find_map(|l| l.strip_prefix("id: "))
                            .and_then(|v| v.parse::<i64>().ok())
                        {
                            arrivals
                                .lock()
                                .await
                                .entry((slug.clone(), id))
                                .or_default()
                                .push(now);
                        }
                    }
                }
            });
            open += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_streams = server.rss_kib();
    println!(
        "{open} open streams over {tenants} tenants ({per_owner} per owner, {OWNERS_PER_TENANT} owners per tenant); \
         server RSS {before} KiB with none, {at_half} KiB with {}, {with_streams} KiB with all: \
         {:.1} KiB per stream (the second half's growth over its count)",
        total / 2,
        (with_streams.saturating_sub(at_half)) as f64 / (open - total / 2) as f64
    );

    // Decisions one after another; the owner's notification for each is found by the
    // approval's event, so latency is paired with its decision by (tenant, approval).
    let mut sent: Vec<(String, String, Instant)> = Vec::new();
    for (slug, approval, token) in work.iter().take(decisions) {
        let at = Instant::now();
        api.call(
            slug,
            reqwest::Method::POST,
            &format!("/api/v1/approvals/{approval}/approve"),
            token,
            json!({}),
        )
        .await?;
        sent.push((slug.clone(), approval.clone(), at));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Pair each decision with its notification: the owner's `approval_approved` whose
    // entity is the approval.
    let (client, connection) = url.config().connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut latencies = Vec::new();
    let mut missing = 0;
    let arrivals = arrivals.lock().await;
    for (slug, approval, at) in &sent {
        let row = client
            .query_opt(
                &format!("select id from t_{slug}.notifications where type = 'approval_approved' and entity_id = $1::text::uuid"),
                &[approval],
            )
            .await?;
        let Some(row) = row else {
            missing += 1;
            continue;
        };
        let id: i64 = row.get(0);
        match arrivals.get(&(slug.clone(), id)) {
            Some(times) => {
                for time in times {
                    latencies.push(time.duration_since(*at).as_secs_f64() * 1000.0);
                }
            }
            None => missing += 1,
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    if latencies.is_empty() {
        return Err("no notification arrived".into());
    }
    println!(
        "decision sent -> SSE message at the owner's streams: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         ({} messages, {} decisions, {missing} decisions without an arrival)",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        latencies.len(),
        sent.len()
    );
    Ok(())
}

async fn email(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let (messages, smtp_url): (i64, String) = (arg(args, 2, "MESSAGES"), arg(args, 3, "SMTP_URL"));
    provision_tenant(url, "mailbench").await?;
    let (client, connection) = url.config().connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let server = Server::start(&[("SMTP_URL", smtp_url.as_str())]).await?;
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "insert into t_mailbench.notifications (recipient_id, type, title, event_id) \
               select u.id, 'contract_updated', 'Benchmark message ' || i, -i from t_mailbench.users u, generate_series(1, {messages}) i; \
             insert into t_mailbench.notification_deliveries (notification_id, recipient_id, channel, state, send_after, message_id) \
               select n.id, n.recipient_id, 'email', 'pending', now(), 'n' || n.id || '.email.bench' from t_mailbench.notifications n; \
             insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, max_attempts, timeout_ms, created_at) \
               select t.id, 'notifications.deliver', 'default', jsonb_build_object('delivery_id', d.id), 2, 'available', now(), now(), 12, 60000, now() \
               from t_mailbench.notification_deliveries d, public.tenants t where t.slug = 'mailbench';"
        ))
        .await?;
    loop {
        let sent: i64 = client
            .query_one(
                "select count(*) from t_mailbench.notification_deliveries where state = 'sent'",
                &[],
            )
            .await?
            .get(0);
        if sent >= messages {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("only {sent} of {messages} sent in 600 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "{messages} emails through {smtp_url} by the server's job runner ({} workers): {took:.1} s, {:.0} emails/s",
        std::env::var("PACTUM_JOB_WORKERS").unwrap_or_else(|_| "4, the default,".into()),
        messages as f64 / took
    );
    drop(server);
    Ok(())
}

/// Reminder jobs waiting, and walk batches not yet finished, in the tenant.
async fn walk_state(client: &tokio_postgres::Client) -> Result<(i64, i64, i64), Error> {
    let row = client
        .query_one(
            "select count(*) filter (where kind = 'notifications.contract_reminder' and state = 'scheduled'), \
                    count(*) filter (where kind = 'notifications.reminders_rescheduled' and state <> 'completed'), \
                    count(*) filter (where kind = 'notifications.reminders_rescheduled') \
             from public.jobs",
            &[],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

async fn walk(url: &DatabaseUrl, args: &[String]) -> Result<(), Error> {
    let contracts: i64 = arg(args, 2, "CONTRACTS");
    provision_tenant(url, "walkbench").await?;
    let (client, connection) = url.config().connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "insert into t_walkbench.contracts (title, contract_type, owner_id, status, start_date, end_date, renewal_notice_days) \
               select 'Contract ' || i, 'msa', u.id, 'executed', date '2026-01-01', date '2030-01-01' + (i % 700), \
                      case when i % 2 = 0 then 60 end \
               from t_walkbench.users u, generate_series(1, {contracts}) i; \
             analyze t_walkbench.contracts;"
        ))
        .await?;
    let server = Server::start(&[]).await?;
    let api = Api {
        http: reqwest::Client::new(),
        port: server.port,
    };
    let admin = api.login("walkbench", "admin@example.com").await?;
    let with_notice = contracts / 2;
    // (reminder days, the reminders then waiting: one per day per contract and the
    // renewal notice of half of them)
    for (days, expected) in [
        (json!([91, 61, 31]), 3 * contracts + with_notice),
        (json!([45, 15]), 2 * contracts + with_notice),
    ] {
        let (_, _, batches_before) = walk_state(&client).await?;
        let started = Instant::now();
        api.call(
            "walkbench",
            reqwest::Method::PUT,
            "/api/v1/notification-preferences/defaults",
            &admin,
            json!({"reminder_days": days}),
        )
        .await?;
        loop {
            let (waiting, unfinished, batches) = walk_state(&client).await?;
            if unfinished == 0 && batches > batches_before && waiting == expected {
                let took = started.elapsed().as_secs_f64();
                let runs = batches - batches_before;
                println!(
                    "reminder days {days} over {contracts} running contracts: {took:.2} s, \
                     {:.0} contracts/s, {runs} batches ({:.0} ms each), {waiting} reminders waiting",
                    contracts as f64 / took,
                    took * 1000.0 / runs as f64
                );
                break;
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(format!("the walk did not finish in 600 s: {waiting} waiting").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(server);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    pactum::webhooks::delivery::install_tls_provider();
    // `cargo bench` appends `--bench`; the scripts run the program directly.
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let url = DatabaseUrl::parse(&std::env::var("DATABASE_URL")?, "pactum-bench")?;
    match args.get(1).map(String::as_str) {
        Some("stream") => stream(&url, &args).await,
        Some("email") => email(&url, &args).await,
        Some("walk") => walk(&url, &args).await,
        _ => Err(
            "usage: notification_bench stream TENANTS STREAMS DECISIONS | email MESSAGES SMTP_URL \
             | walk CONTRACTS"
                .into(),
        ),
    }
}
