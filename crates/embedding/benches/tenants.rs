//! The memory budget over 1,000 tenants searched in rotation, as the server's cache
//! holds them: each tenant a set of `BENCH_TENANT_VECTORS` vectors (2,000 by default,
//! 2.9 MiB each, 2.9 GiB for all), a budget of `BENCH_BUDGET_MB` (256 by default), three
//! rounds over every tenant, each search answered from the cache or by loading the set
//! again. Prints the cache's largest use, its evictions, the process's peak resident
//! memory and search latency; that every answer is the asking tenant's own is asserted.
//! `scripts/bench-approximate.sh` runs it after the index benchmark.

use std::time::Instant;

use pactum_embedding::cache::Budgeted;
use pactum_embedding::index::Vectors;
use pactum_embedding::synthetic::unit;

fn peak_resident_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let tenants = setting("BENCH_TENANTS", 1_000) as u64;
    let per_tenant = setting("BENCH_TENANT_VECTORS", 2_000) as u64;
    let budget = setting("BENCH_BUDGET_MB", 256) * 1024 * 1024;
    let cache: Budgeted<u64> = Budgeted::new(budget);
    println!(
        "{tenants} tenants of {per_tenant} vectors, budget {} MiB; peak resident before: {:.0} MiB",
        budget / 1048576,
        peak_resident_mib()
    );
    // A tenant's vectors: its keys carry the tenant, so an answer names whose it is.
    let load = |tenant: u64| {
        let mut set = Vectors::with_capacity(per_tenant as usize);
        for i in 0..per_tenant {
            let key = (u128::from(tenant) << 64) | u128::from(i);
            set.push(key, &unit(tenant * 1_000_003 + i))
                .expect("a vector");
        }
        set
    };
    let (mut largest, mut loads, mut ms) = (0usize, 0u64, Vec::new());
    let started = Instant::now();
    for round in 0..3u64 {
        for tenant in 0..tenants {
            let began = Instant::now();
            let set = cache.get(&tenant, round as i64 / 4).unwrap_or_else(|| {
                loads += 1;
                cache.put(tenant, round as i64 / 4, load(tenant))
            });
            let hits = set.top(&unit(7 + round), 10, |_| true);
            ms.push(began.elapsed().as_secs_f64() * 1000.0);
            assert!(
                hits.iter().all(|h| (h.key >> 64) as u64 == tenant),
                "tenant {tenant} was answered with another's vectors"
            );
            largest = largest.max(cache.usage().bytes);
        }
    }
    ms.sort_by(f64::total_cmp);
    let usage = cache.usage();
    println!(
        "{} searches in {:.0} s: {loads} loads, {} evictions; cache at most {:.1} MiB of {} MiB",
        ms.len(),
        started.elapsed().as_secs_f64(),
        usage.evictions,
        largest as f64 / 1048576.0,
        budget / 1048576
    );
    println!(
        "search (with a load when missed) p50 {:.1} ms, p99 {:.1} ms; peak resident {:.0} MiB",
        ms[ms.len() / 2],
        ms[(ms.len() - 1) * 99 / 100],
        peak_resident_mib()
    );
}
