//! The approximate index against exact search, on this machine: build time, memory,
//! p50/p99 latency of the best 10 and the best 200, and recall@10 of the index against
//! the scan, over 100,000 vectors of two kinds: clustered like a model's embeddings of
//! contract passages (1,000 topics, same-topic similarity about 0.6), and uniformly
//! random (the hardest case for a graph). `scripts/bench-approximate.sh` runs it; the
//! figures go to docs/benchmarks.md. Needs no model.

use std::time::Instant;

use pactum_embedding::index::Vectors;
use pactum_embedding::synthetic::{clustered, unit};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn measure(name: &str, n: usize, make: impl Fn(u64) -> Vec<f32>) {
    let mut set = Vectors::with_capacity(n);
    for key in 0..n {
        set.push(key as u128, &make(key as u64)).expect("a vector");
    }
    let exact_mib = set.bytes() as f64 / 1048576.0;
    let started = Instant::now();
    set.index_above(1);
    let build = started.elapsed().as_secs_f64();
    let indexed_mib = set.bytes() as f64 / 1048576.0;
    let queries: Vec<Vec<f32>> = (0..200u64).map(|q| make(50_000_000 + q)).collect();
    let (mut found, mut wanted) = (0usize, 0usize);
    let times = |k: usize, approximate: bool| {
        let mut ms = Vec::new();
        for query in &queries {
            let started = Instant::now();
            let hits = if approximate {
                set.top(query, k, |_| true)
            } else {
                set.top_exact(query, k, |_| true)
            };
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(hits.len(), k);
        }
        ms.sort_by(f64::total_cmp);
        (percentile(&ms, 0.5), percentile(&ms, 0.99))
    };
    let exact10 = times(10, false);
    let approx10 = times(10, true);
    let exact200 = times(200, false);
    let approx200 = times(200, true);
    for query in &queries {
        let exact: Vec<u128> = set
            .top_exact(query, 10, |_| true)
            .iter()
            .map(|h| h.key)
            .collect();
        found += set
            .top(query, 10, |_| true)
            .iter()
            .filter(|h| exact.contains(&h.key))
            .count();
        wanted += exact.len();
    }
    println!("{name}, {n} vectors:");
    println!("  build {build:.1} s; memory {exact_mib:.1} MiB exact, {indexed_mib:.1} MiB with the index");
    println!(
        "  best 10:  exact p50 {:.2} / p99 {:.2} ms, approximate p50 {:.2} / p99 {:.2} ms",
        exact10.0, exact10.1, approx10.0, approx10.1
    );
    println!(
        "  best 200: exact p50 {:.2} / p99 {:.2} ms, approximate p50 {:.2} / p99 {:.2} ms",
        exact200.0, exact200.1, approx200.0, approx200.1
    );
    println!(
        "  recall@10 of the index against the scan: {:.3}",
        found as f64 / wanted as f64
    );
}

fn main() {
    let n: usize = std::env::var("BENCH_VECTORS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    measure("clustered (1,000 topics)", n, |i| clustered(i, 1_000));
    measure("uniformly random", n, unit);
}
