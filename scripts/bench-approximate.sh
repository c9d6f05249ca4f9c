#!/usr/bin/env bash
# The approximate (HNSW) index against exact search over 100,000 vectors (BENCH_VECTORS
# to change): build time, memory, latency and recall@10; then the memory budget over
# 1,000 tenants searched in rotation (BENCH_TENANTS, BENCH_TENANT_VECTORS,
# BENCH_BUDGET_MB). One release run on this machine. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo bench --locked -p pactum-embedding --bench approximate
cargo bench --locked -p pactum-embedding --bench tenants
