//! Search against the original numbers, on this machine: the scan of vectors kept in
//! bytes (what a set holds) and the approximate (HNSW) index, each against scoring
//! every original f32 vector: p50/p99 latency of the best 10 and the best 200,
//! recall@10, memory and the graph's build time, over vectors of two kinds: clustered
//! like a model's embeddings of contract passages (1,000 topics, same-topic similarity
//! about 0.6), and uniformly random (the hardest case for both). The graph is built
//! only up to `BENCH_GRAPH_MAX` vectors (20,000: minutes beyond). `BENCH_VECTORS`
//! (100,000) sets the size. `scripts/bench-approximate.sh` runs it; the figures go to
//! docs/benchmarks.md. Needs no model.

use std::collections::BinaryHeap;
use std::time::Instant;

use pactum_embedding::index::{dot, Hit, Vectors};
use pactum_embedding::synthetic::{clustered, unit};
use pactum_embedding::DIMENSIONS;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The best `k` by the original numbers: what a set of f32 vectors would answer.
fn exact(originals: &[f32], query: &[f32], k: usize) -> Vec<Hit> {
    let mut heap = BinaryHeap::with_capacity(k + 1);
    for (key, vector) in originals.chunks_exact(DIMENSIONS).enumerate() {
        let score = dot(query, vector);
        if heap.len() == k && heap.peek().is_some_and(|w: &Hit| score <= w.score) {
            continue;
        }
        heap.push(Hit {
            key: key as u128,
            score,
        });
        if heap.len() > k {
            heap.pop();
        }
    }
    heap.into_sorted_vec()
}

fn timed(queries: &[Vec<f32>], search: impl Fn(&[f32]) -> Vec<Hit>) -> String {
    let mut ms: Vec<f64> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            let hits = search(q);
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            assert!(!hits.is_empty());
            elapsed
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    format!(
        "p50 {:.2} / p99 {:.2} ms",
        percentile(&ms, 0.5),
        percentile(&ms, 0.99)
    )
}

fn recall(queries: &[Vec<f32>], originals: &[f32], search: impl Fn(&[f32]) -> Vec<Hit>) -> f64 {
    let (mut found, mut wanted) = (0usize, 0usize);
    for query in queries {
        let truth: Vec<u128> = exact(originals, query, 10).iter().map(|h| h.key).collect();
        found += search(query)
            .iter()
            .filter(|h| truth.contains(&h.key))
            .count();
        wanted += truth.len();
    }
    found as f64 / wanted as f64
}

fn measure(name: &str, n: usize, graph_max: usize, make: impl Fn(u64) -> Vec<f32>) {
    let mut originals = Vec::with_capacity(n * DIMENSIONS);
    let mut set = Vectors::with_capacity(n);
    for key in 0..n {
        let vector = make(key as u64);
        set.push(key as u128, &vector).expect("a vector");
        originals.extend_from_slice(&vector);
    }
    let queries: Vec<Vec<f32>> = (0..200u64).map(|q| make(50_000_000 + q)).collect();
    let mib = |bytes: usize| bytes as f64 / 1048576.0;
    println!("{name}, {n} vectors:");
    println!(
        "  memory: f32 {:.1} MiB, bytes {:.1} MiB",
        mib(n * (16 + DIMENSIONS * 4)),
        mib(set.bytes())
    );
    for k in [10, 200] {
        println!(
            "  best {k}: f32 scan {}, bytes scan {}",
            timed(&queries, |q| exact(&originals, q, k)),
            timed(&queries, |q| set.scan(q, k, |_| true)),
        );
    }
    println!(
        "  recall@10 of the bytes scan against the f32 scan: {:.3}",
        recall(&queries, &originals, |q| set.scan(q, 10, |_| true))
    );
    if n > graph_max {
        println!("  graph not built (BENCH_GRAPH_MAX {graph_max})");
        return;
    }
    let started = Instant::now();
    set.index_above(1);
    println!(
        "  graph: build {:.1} s, memory with it {:.1} MiB",
        started.elapsed().as_secs_f64(),
        mib(set.bytes())
    );
    for k in [10, 200] {
        println!(
            "  best {k}: graph {}",
            timed(&queries, |q| set.top(q, k, |_| true))
        );
    }
    println!(
        "  recall@10 of the graph against the f32 scan: {:.3}",
        recall(&queries, &originals, |q| set.top(q, 10, |_| true))
    );
}

fn main() {
    let n = env("BENCH_VECTORS", 100_000);
    let graph_max = env("BENCH_GRAPH_MAX", 20_000);
    measure("clustered (1,000 topics)", n, graph_max, |i| {
        clustered(i, 1_000)
    });
    measure("uniformly random", n, graph_max, unit);
}
