#!/usr/bin/env bash
# Vectors kept in bytes and the approximate (HNSW) index against scoring the original
# f32 vectors, over 100,000 vectors (BENCH_VECTORS; the graph only up to
# BENCH_GRAPH_MAX, 20,000): memory, latency, recall@10, the graph's build time; then,
# at 20,000, the graph side by side; then the memory budget over
# 1,000 tenants searched in rotation (BENCH_TENANTS, BENCH_TENANT_VECTORS,
# BENCH_BUDGET_MB). One release run on this machine. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo bench --locked -p pactum-embedding --bench approximate
BENCH_VECTORS=20000 cargo bench --locked -p pactum-embedding --bench approximate
cargo bench --locked -p pactum-embedding --bench tenants
