//! Contract search through the running server at scale, driven by
//! `scripts/bench-search.sh`:
//!
//!   search_bench URL HOST TOKEN SCHEMA
//!   search_bench rotation URL TENANTS    (see `rotation`: many tenants in turn)
//!
//! It creates `BENCH_CONTRACTS` contracts (1,000) through the API with a one-line body
//! and waits for their jobs, then, straight in the tenant's schema (`DATABASE_URL`),
//! gives each a body of `BENCH_PASSAGES` paragraphs (100) of legal prose and as many
//! passages with vectors clustered as passages are (400 topics), labelled as made by the
//! model that read the one-line bodies and with their words parsed as the embedding job
//! stores them, so the tenant holds 100,000 passages without embedding them all (about
//! an hour and a half at this machine's rate). Then it sends `BENCH_QUERIES` searches
//! (200) per mode, one at a time, the modes in turn, and prints the time to the first
//! answer (the set loading) and p50 / p95 / p99 / max per mode. The query is embedded by
//! the real model, so only the stored vectors are synthetic: the scan reads all of
//! them whatever they hold.

#[path = "search/rotation.rs"]
mod rotation;
#[path = "eval/server.rs"]
mod server;

use std::time::{Duration, Instant};

use serde_json::json;
use server::{settled, Server};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small, seeded generator: the same tenant every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }
}

const SUBJECTS: [&str; 8] = [
    "The Supplier",
    "The Customer",
    "Each party",
    "The Licensee",
    "The Contractor",
    "The Landlord",
    "The Tenant",
    "The Distributor",
];
const VERBS: [&str; 8] = [
    "shall deliver",
    "shall pay",
    "must maintain",
    "will provide",
    "shall keep confidential",
    "may terminate",
    "shall indemnify",
    "shall insure",
];
const OBJECTS: [&str; 16] = [
    "the services",
    "each undisputed invoice",
    "the premises",
    "all personal data",
    "the deliverables",
    "the escrow amount",
    "the licensed software",
    "any subcontractor",
    "the goods",
    "the warranty period",
    "the service levels",
    "the insurance policy",
    "the source code",
    "the marketing plan",
    "the audit records",
    "the security deposit",
];
const TAILS: [&str; 8] = [
    "within thirty days of receipt",
    "in accordance with the specification",
    "at its own cost",
    "during the term of this agreement",
    "subject to the laws of England",
    "without undue delay",
    "as reasonably requested",
    "before the end of each quarter",
];

fn sentence(rng: &mut Rng) -> String {
    format!(
        "{} {} {} {}.",
        rng.pick(&SUBJECTS),
        rng.pick(&VERBS),
        rng.pick(&OBJECTS),
        rng.pick(&TAILS)
    )
}

/// Passages made up rather than embedded: sentences of legal prose, and vectors near
/// one of 400 topics, as passages of one subject lie together.
struct Generated {
    rng: Rng,
    topics: Vec<Vec<f32>>,
}

impl Generated {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let topics = (0..400)
            .map(|_| (0..384).map(|_| rng.unit()).collect())
            .collect();
        Self { rng, topics }
    }

    fn sentence(&mut self) -> String {
        sentence(&mut self.rng)
    }

    /// Makes `paragraphs` the body of contract `id` in `schema` and each one of its
    /// passages (in place of the ones it had), labelled as made by `model`.
    async fn write(
        &mut self,
        client: &tokio_postgres::Client,
        schema: &str,
        id: &str,
        paragraphs: &[String],
        model: &str,
    ) {
        let id: uuid::Uuid = id.parse().expect("a uuid");
        let (mut starts, mut ends, mut ordinals, mut vectors) = (vec![], vec![], vec![], vec![]);
        let mut at = 0i32;
        for (ordinal, paragraph) in paragraphs.iter().enumerate() {
            let length = paragraph.chars().count() as i32;
            starts.push(at);
            ends.push(at + length);
            ordinals.push(ordinal as i32);
            vectors.push(bytes(&near(&mut self.rng, &self.topics)));
            at += length + 2;
        }
        client
            .execute(
                &format!("update {schema}.contracts set body = $2 where id = $1"),
                &[&id, &paragraphs.join("\n\n")],
            )
            .await
            .expect("body written");
        client
            .execute(
                &format!("delete from {schema}.contract_passages where contract_id = $1"),
                &[&id],
            )
            .await
            .expect("passages cleared");
        client
            .execute(
                &format!(
                    "insert into {schema}.contract_passages (contract_id, attachment_id, ordinal, \
                     start_char, end_char, body, embedding, model, created_at, words, words_language) \
                     select $1, null, o, s, e, b, v, $7, now(), to_tsvector('english', b), 'english' \
                     from unnest($2::int[], $3::int[], $4::int[], $5::text[], $6::bytea[]) \
                     as p(o, s, e, b, v)"
                ),
                &[
                    &id,
                    &ordinals,
                    &starts,
                    &ends,
                    &paragraphs,
                    &vectors,
                    &model,
                ],
            )
            .await
            .expect("passages written");
    }
}

/// A unit vector near one of `topics`, as passages of one subject lie together.
fn near(rng: &mut Rng, topics: &[Vec<f32>]) -> Vec<f32> {
    let topic = &topics[(rng.next() % topics.len() as u64) as usize];
    let v: Vec<f32> = topic.iter().map(|x| x + 0.6 * rng.unit()).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

const QUERIES: [&str; 10] = [
    "how long does the customer have to pay an invoice",
    "who keeps personal data safe",
    "insurance the tenant must hold",
    "money held by a neutral third party",
    "ending the agreement early",
    "source code kept with an escrow agent",
    "indemnity for third party claims",
    "quarterly audit of the records",
    "warranty on delivered goods",
    "deposit returned at the end of the lease",
];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let database_url = std::env::var("DATABASE_URL").expect("DATABASE_URL is set");
    if let [mode, url, tenants] = &args[..] {
        if mode == "rotation" {
            let tenants = tenants.parse().expect("TENANTS is a number");
            return rotation::run(url, tenants, &database_url).await;
        }
    }
    let [url, host, token, schema] = &args[..] else {
        eprintln!(
            "usage: search_bench URL HOST TOKEN SCHEMA | search_bench rotation URL TENANTS \
             (and DATABASE_URL)"
        );
        std::process::exit(2);
    };
    let (contracts, per, queries) = (
        setting("BENCH_CONTRACTS", 1_000),
        setting("BENCH_PASSAGES", 100),
        setting("BENCH_QUERIES", 200),
    );
    let server = Server::new(url, host, token);

    let started = Instant::now();
    let mut ids = Vec::with_capacity(contracts);
    for n in 0..contracts {
        let created = server
            .post(
                "/api/v1/contracts",
                json!({"title": format!("Agreement {n}"), "contract_type": "msa", "body": "Draft."}),
            )
            .await;
        ids.push(created["id"].as_str().expect("an id").to_owned());
    }
    settled(&database_url).await;
    eprintln!(
        "{contracts} contracts created and read in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (client, connection) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls)
        .await
        .expect("DATABASE_URL connects");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("set search_path to {schema}, public"))
        .await
        .expect("the tenant's schema is set");
    let identity: String = client
        .query_one("select model from vector_state", &[])
        .await
        .expect("the model has read the contracts")
        .get(0);
    let mut generated = Generated::new(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for id in &ids {
        let paragraphs: Vec<String> = (0..per)
            .map(|_| {
                (0..3)
                    .map(|_| generated.sentence())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        generated
            .write(&client, schema, id, &paragraphs, &identity)
            .await;
    }
    // A new generation: the server loads the set afresh on the next search.
    client
        .execute("update vector_state set generation = generation + 1", &[])
        .await
        .expect("vector state moved");
    client
        .batch_execute("analyze contracts; analyze contract_passages")
        .await
        .expect("analysed");
    eprintln!(
        "{} passages written in {:.1} s",
        contracts * per,
        started.elapsed().as_secs_f64()
    );

    let search = |mode: &'static str, q: &'static str| {
        let server = &server;
        async move {
            let path = format!(
                "/api/v1/search/contracts?q={}&mode={mode}&limit=10",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            );
            let started = Instant::now();
            let found = server.get(&path).await;
            assert!(found["items"].is_array(), "{found}");
            started.elapsed()
        }
    };
    let first = search("semantic", QUERIES[0]).await;
    println!(
        "# Contract search through the server: {} passages of {contracts} contracts, one tenant",
        contracts * per
    );
    println!();
    println!(
        "first search (the set loaded from the table): {:.0} ms",
        first.as_secs_f64() * 1000.0
    );
    let modes = ["text", "semantic", "hybrid"];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    for n in 0..queries {
        for (m, mode) in modes.iter().enumerate() {
            times[m].push(search(mode, QUERIES[n % QUERIES.len()]).await);
        }
    }
    println!();
    println!("| mode, {queries} searches each, one at a time | p50 | p95 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (mode, mut t) in modes.iter().zip(times) {
        t.sort();
        println!(
            "| {mode} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            percentile(&t, 0.50),
            percentile(&t, 0.95),
            percentile(&t, 0.99),
            percentile(&t, 1.0)
        );
    }
}
