#!/usr/bin/env bash
# The vector memory budget through the release server over many tenants searched in
# turn: BENCH_TENANTS (1,000) tenants provisioned in a fresh database, each with one
# contract made through the API and BENCH_PER_TENANT (1,000) passages with generated
# vectors (benches/search/rotation.rs), then BENCH_ROUNDS (3) rounds of semantic
# searches over all of them, BENCH_CONCURRENCY (4) at a time, under the server's
# PACTUM_VECTOR_MEMORY_MB (256 unless set). Prints the time per search, the loaded
# sets' memory as the server counts it, and the server's resident memory (now and
# peak). Every answer is checked to be the asking tenant's own contract. Figures:
# docs/benchmarks.md ("The memory budget through the server").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TENANTS="${BENCH_TENANTS:-1000}"
PORT="${BENCH_PORT:-18099}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-00"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
PACTUM_MODEL_DIR="${PACTUM_MODEL_DIR:-$(bash scripts/model.sh)}"
export PACTUM_MODEL_DIR
fresh_bench_database pactum_bench_rotation
trap 'drop_bench_database pactum_bench_rotation' EXIT
cargo build --release --locked --workspace --bins
MANY_TENANTS=$(bench_program many_tenants)
SEARCH=$(bench_program search_bench)
target/release/tenantctl migrate >/dev/null
echo "== provisioning $TENANTS tenants" >&2
"$MANY_TENANTS" provision "$TENANTS"

start_release_server "$PORT" /tmp/pactum-bench-rotation.log
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; drop_bench_database pactum_bench_rotation' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD); PACTUM_VECTOR_MEMORY_MB ${PACTUM_VECTOR_MEMORY_MB:-256 (default)}"
"$SEARCH" rotation "http://127.0.0.1:$PORT" "$TENANTS"
status=/proc/"$SERVER_PID"/status
echo "server resident memory: $(($(awk '/VmRSS/ {print $2}' "$status") / 1024)) MiB now, $(($(awk '/VmHWM/ {print $2}' "$status") / 1024)) MiB at most"
