#!/usr/bin/env bash
# Contract search through the release server at 100,000 passages in one tenant:
# benches/search_bench.rs fills the tenant (1,000 contracts of 100 paragraphs, each a
# passage with a vector) and measures full-text, semantic and hybrid search one at a
# time, p50 to max. BENCH_CONTRACTS, BENCH_PASSAGES and BENCH_QUERIES change the sizes.
# Prints Markdown; the figures are in docs/benchmarks.md ("Contract intelligence").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${BENCH_PORT:-18098}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
serve_one_tenant pactum_bench_search searched "$PORT"
program=$(bench_program search_bench)

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD)"
"$program" "http://127.0.0.1:$PORT" searched.localhost "$TOKEN" t_searched
echo
echo "server RSS after: $(($(awk '/VmRSS/ {print $2}' /proc/"$SERVER_PID"/status) / 1024)) MiB"
