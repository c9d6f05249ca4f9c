//! `search_bench rotation URL TENANTS`: the memory budget through the server, over
//! many tenants searched in turn. Tenants `m0..m<TENANTS-1>` exist (`many_tenants
//! provision`); each gets one contract through the API, then, straight in its schema,
//! `BENCH_PER_TENANT` passages (1,000) with vectors clustered as passages are, so every
//! tenant's set is the same size and none is embedded. Then `BENCH_ROUNDS` (3) rounds
//! over every tenant, `BENCH_CONCURRENCY` (4) searches at a time, the same query
//! everywhere: each answer must name the asking tenant's contract and no other. Prints
//! the time per search (p50 to max), and the server's own figures for the loaded sets
//! from `/metrics`. `DATABASE_URL` and `JWT_SECRET` (the server's) are needed.

use std::time::{Duration, Instant};

use futures::StreamExt;
use pactum::kernel::tokens::{unix_now, TokenKeys};
use serde_json::json;

use super::server::{settled, Server};
use super::{percentile, setting, Generated, QUERIES};

pub async fn run(url: &str, tenants: usize, database_url: &str) {
    let (per, rounds, concurrency) = (
        setting("BENCH_PER_TENANT", 1_000),
        setting("BENCH_ROUNDS", 3),
        setting("BENCH_CONCURRENCY", 4),
    );
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .expect("DATABASE_URL connects");
    tokio::spawn(connection);
    let keys = TokenKeys::new(
        std::env::var("JWT_SECRET")
            .expect("JWT_SECRET is set")
            .as_bytes(),
    );

    let started = Instant::now();
    let mut servers = Vec::with_capacity(tenants);
    let mut contracts = Vec::with_capacity(tenants);
    for i in 0..tenants {
        let slug = format!("m{i}");
        let tenant: uuid::Uuid = client
            .query_one("select id from public.tenants where slug = $1", &[&slug])
            .await
            .expect("the tenant is provisioned")
            .get(0);
        let user: uuid::Uuid = client
            .query_one(&format!("select id from t_{slug}.users limit 1"), &[])
            .await
            .expect("its admin")
            .get(0);
        let token = keys
            .mint(user, 0, tenant, &slug, "admin", unix_now())
            .expect("a token");
        let server = Server::new(url, &format!("{slug}.localhost"), &token);
        let created = server
            .post(
                "/api/v1/contracts",
                json!({"title": "Supply agreement", "contract_type": "msa", "body": "Draft."}),
            )
            .await;
        contracts.push(created["id"].as_str().expect("an id").to_owned());
        servers.push(server);
    }
    settled(database_url).await;
    eprintln!(
        "{tenants} contracts created and read in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let identity: String = client
        .query_one("select model from t_m0.vector_state", &[])
        .await
        .expect("the model has read the contracts")
        .get(0);
    let mut generated = Generated::new(0x5EED_0F7E_4A47);
    let started = Instant::now();
    for (i, id) in contracts.iter().enumerate() {
        let schema = format!("t_m{i}");
        let paragraphs: Vec<String> = (0..per).map(|_| generated.sentence()).collect();
        generated
            .write(&client, &schema, id, &paragraphs, &identity)
            .await;
        client
            .execute(
                &format!("update {schema}.vector_state set generation = generation + 1"),
                &[],
            )
            .await
            .expect("vector state moved");
    }
    eprintln!(
        "{} passages written in {:.1} s",
        tenants * per,
        started.elapsed().as_secs_f64()
    );

    // The loaded sets' memory as the server counts it, sampled while the rounds run.
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = tokio::spawn({
        let (url, sampling) = (url.to_owned(), sampling.clone());
        async move {
            let mut most = 0f64;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let text = metrics(&url).await;
                if let Ok(bytes) = gauge(&text, "pactum_vector_memory_bytes").parse::<f64>() {
                    most = most.max(bytes);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            most
        }
    });
    let query = url::form_urlencoded::byte_serialize(QUERIES[0].as_bytes()).collect::<String>();
    let path = format!("/api/v1/search/contracts?q={query}&mode=semantic&limit=10");
    let started = Instant::now();
    let order = (0..rounds).flat_map(|_| 0..tenants);
    let mut times: Vec<Duration> = futures::stream::iter(order)
        .map(|i| {
            let (server, own, path) = (&servers[i], &contracts[i], &path);
            async move {
                let began = Instant::now();
                let found = server.get(path).await;
                let elapsed = began.elapsed();
                let named: Vec<&str> = found["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter_map(|item| item["contract"]["id"].as_str())
                    .collect();
                assert_eq!(named, [own.as_str()], "m{i} was answered with {found}");
                elapsed
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed().as_secs_f64();
    times.sort();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let most = sampler.await.expect("the sampler ends");
    let text = metrics(url).await;
    println!(
        "# {tenants} tenants of {per} passages, {rounds} rounds, {concurrency} searches at a time"
    );
    println!();
    println!(
        "{} semantic searches in {wall:.1} s, every answer the asking tenant's own contract",
        times.len()
    );
    println!(
        "search p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&times, 0.50),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
        percentile(&times, 1.0)
    );
    println!(
        "loaded sets' memory at most {:.1} MiB (sampled every 100 ms)",
        most / 1048576.0
    );
    for name in [
        "pactum_vector_memory_bytes",
        "pactum_vector_sets",
        "pactum_vector_evictions",
    ] {
        println!("at the end: {name} {}", gauge(&text, name));
    }
}

async fn metrics(url: &str) -> String {
    reqwest::Client::new()
        .get(format!("{url}/metrics"))
        .header("host", "localhost")
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics reads")
}

fn gauge(metrics: &str, name: &str) -> String {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or("?")
        .trim()
        .to_owned()
}
