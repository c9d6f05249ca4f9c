//! The embedding model's throughput and the vector scan's latency and memory, on
//! this machine: `scripts/bench-embedding.sh` runs it (release build) and the figures
//! go to docs/benchmarks.md. Needs the model: `PACTUM_MODEL_DIR` or `scripts/model.sh`.

use std::time::Instant;

use pactum_embedding::index::Vectors;
use pactum_embedding::passages::passages;
use pactum_embedding::synthetic::unit;
use pactum_embedding::Embedder;

/// A contract-like page of about 500 words in numbered paragraphs of three clauses
/// (about 75 words each, as a contract's clauses run), varied by `seed`.
fn page(seed: usize) -> String {
    let clauses = [
        "The supplier shall deliver the goods to the customer's premises within thirty days of each purchase order and bear the risk of loss until delivery.",
        "Either party may terminate this agreement upon ninety days written notice, or at once if the other party commits a material breach it fails to remedy.",
        "The customer shall pay each undisputed invoice within forty-five days of receipt; late amounts bear interest at two percent above the base rate.",
        "Neither party's liability under this agreement shall exceed the fees paid in the twelve months before the event giving rise to the claim.",
        "Each party shall keep the other's confidential information secret and use it only to perform this agreement, for five years after it ends.",
    ];
    (0..7)
        .map(|i| {
            let paragraph: Vec<&str> = (0..3)
                .map(|j| clauses[(seed + i + j) % clauses.len()])
                .collect();
            format!("{}. {}", seed * 7 + i, paragraph.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::var("PACTUM_MODEL_DIR").expect("PACTUM_MODEL_DIR: the model's folder");
    let started = Instant::now();
    let model = Embedder::load(std::path::Path::new(&dir))?;
    println!(
        "model: {} loaded in {:.2} s",
        model.identity(),
        started.elapsed().as_secs_f64()
    );

    // Throughput: the passages of 20 pages (one contract), embedded.
    let contract: String = (0..20).map(page).collect::<Vec<_>>().join("\n\n");
    let cut = passages(&contract);
    let texts: Vec<&str> = cut.iter().map(|p| p.text.as_str()).collect();
    let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    model.embed(&texts[..16])?; // warm up
    let started = Instant::now();
    model.embed(&texts)?;
    let seconds = started.elapsed().as_secs_f64();
    let rate = texts.len() as f64 / seconds;
    println!(
        "embedding: {} passages ({} words on average) of one 20-page contract in {seconds:.2} s: {rate:.1} passages/s",
        texts.len(),
        words / texts.len()
    );
    println!(
        "index 1,000 contracts of 20 pages: {:.0} passages, about {:.1} h at that rate",
        texts.len() as f64 * 1000.0,
        texts.len() as f64 * 1000.0 / rate / 3600.0
    );

    // The scan of 100,000 vectors kept in bytes, as a tenant's set is.
    let n = 100_000;
    let mut set = Vectors::with_capacity(n);
    for key in 0..n {
        set.push(key as u128, &unit(key as u64))
            .map_err(anyhow::Error::msg)?;
    }
    let mut times = Vec::new();
    for q in 0..200u64 {
        let query = unit(1_000_000 + q);
        let started = Instant::now();
        let hits = set.top(&query, 200, |_| true);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(hits.len(), 200);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "scan of {n} vectors in bytes, top 200: p50 {:.2} ms, p99 {:.2} ms, {:.1} MiB in memory",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        set.bytes() as f64 / 1024.0 / 1024.0
    );
    // A query's own embedding, which every semantic search pays.
    let mut query_times = Vec::new();
    for i in 0..30 {
        let started = Instant::now();
        model.embed(&[format!("who pays when products number {i} are broken").as_str()])?;
        query_times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    query_times.sort_by(f64::total_cmp);
    println!(
        "embedding one query: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&query_times, 0.5),
        percentile(&query_times, 0.99)
    );
    Ok(())
}
