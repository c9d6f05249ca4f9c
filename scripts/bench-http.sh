#!/usr/bin/env bash
# HTTP load benchmark: GET /api/v1/auth/me and GET /api/v1/users across 10
# tenants at 64 connections, then the same /me handler on a fixed schema (no tenant
# resolution, no SET LOCAL: benches/fixed_schema_baseline.rs) to measure what
# multi-tenancy costs. Server, PostgreSQL and load generator all on this machine.
# Prints wrk's figures and the server's RSS after the runs.
#
#   BENCH_SECONDS   seconds per run (default 15)
#   BENCH_POOL      server pool size (default 8)
#   BENCH_PG_TCP=1  reach the private cluster over TCP instead of its Unix socket
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-15}"
PORT="${BENCH_PORT:-18090}"
BASELINE_PORT=$((PORT + 1))
POOL="${BENCH_POOL:-8}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
fresh_bench_database pactum_bench_http
echo "== database: $DATABASE_URL, server pool of $POOL"

cargo build --release --locked --workspace --bins
BASELINE=$(bench_program fixed_schema_baseline)
target/release/tenantctl migrate >/dev/null
for i in $(seq 0 9); do
  printf 'bench password 123\n' | target/release/tenantctl create "bench$i" \
    --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
done

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
PACTUM_BIND="127.0.0.1:$PORT" PACTUM_DB_POOL_SIZE="$POOL" RUST_LOG=warn \
  target/release/pactum 2>/tmp/pactum-bench-http.log &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
PACTUM_FIXED_SCHEMA=t_bench0 PACTUM_BIND="127.0.0.1:$BASELINE_PORT" PACTUM_DB_POOL_SIZE="$POOL" \
  RUST_LOG=warn "$BASELINE" 2>>/tmp/pactum-bench-http.log &
PIDS+=("$!")
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done

LUA=$(mktemp --suffix=.lua)
BASELINE_LUA=$(mktemp --suffix=.lua)
echo "local targets = {" >"$LUA"
for i in $(seq 0 9); do
  token=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench$i.localhost" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@bench$i.example\",\"password\":\"bench password 123\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  echo "  {\"bench$i.localhost\", \"$token\"}," >>"$LUA"
  [ "$i" = 0 ] && echo "local targets = { {\"bench0.localhost\", \"$token\"} }" >"$BASELINE_LUA"
done
echo "}" >>"$LUA"
for script in "$LUA" "$BASELINE_LUA"; do
  append_rotating_request "$script"
done

run() { # label port lua path seconds
  echo "== $1: GET $4, 64 connections, ${5}s"
  wrk -t2 -c64 -d"${5}s" --latency -s "$3" "http://127.0.0.1:$2$4" |
    grep -E 'Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx'
}
rps() { # port lua path seconds
  wrk -t2 -c64 -d"${4}s" -s "$2" "http://127.0.0.1:$1$3" | awk '/Requests\/sec/ {print $2}'
}
run "multi-tenant, 10 tenants" "$PORT" "$LUA" /api/v1/auth/me "$SECONDS_PER_RUN"
run "multi-tenant, 10 tenants" "$PORT" "$LUA" /api/v1/users "$SECONDS_PER_RUN"

# This VM's throughput drifts by tens of percent from one run to the next, so the
# overhead comes from alternating short runs of both servers, compared by median.
ROUNDS="${BENCH_ROUNDS:-7}"
echo "== overhead: GET /api/v1/auth/me on tenant bench0, real server vs fixed-schema baseline, $ROUNDS alternating rounds of 6s"
MT=(); FIXED=()
for round in $(seq "$ROUNDS"); do
  MT+=("$(rps "$PORT" "$BASELINE_LUA" /api/v1/auth/me 6)")
  FIXED+=("$(rps "$BASELINE_PORT" "$BASELINE_LUA" /api/v1/auth/me 6)")
  echo "   round $round: multi-tenant ${MT[-1]} req/s, fixed schema ${FIXED[-1]} req/s"
done
MT_MEDIAN=$(median "${MT[@]}"); FIXED_MEDIAN=$(median "${FIXED[@]}")
awk -v mt="$MT_MEDIAN" -v fx="$FIXED_MEDIAN" 'BEGIN {
  printf "   medians: multi-tenant %.0f req/s, fixed schema %.0f req/s: overhead %.1f%%\n", mt, fx, (1 - mt / fx) * 100 }'
echo "== server RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$SERVER_PID/status)"

rm -f "$LUA" "$BASELINE_LUA"
drop_bench_database pactum_bench_http
