#!/usr/bin/env bash
# Job queue benchmark, side by side with graphile-worker (from the npm
# registry, pinned in benches/graphile/package.json) on the same PostgreSQL:
#   - throughput: no-op jobs enqueued in batches, then run to completion by N workers,
#     alternating rounds of Pactum and graphile-worker
#   - start delay: from just before an enqueuing commit to the handler starting, on an
#     idle queue and on a busy one (a backlog of other tenants' jobs being worked)
#   - the queue's own commits waiting for the WAL flush or not (Pactum against itself,
#     alternating rounds)
#   - the fleet-wide tenant cap counted at each claim or not (Pactum against itself,
#     alternating rounds; only with BENCH_PARTS=fleetcap)
#   - a webhook delivery's place held across the fleet and given back, the statements
#     alone through pgbench (only with BENCH_PARTS=places)
#   - claim cost with 1,000 to 1,000,000 pending jobs over 1,000 tenants (Pactum)
#   - churn: a backlog of BENCH_CHURN_PENDING worked through one claim at a time for
#     BENCH_CHURN_SECONDS, with the autovacuum settings the migrations give public.jobs
#     and then with PostgreSQL's defaults, window by window (autovacuum must be on: the
#     private cluster has it on, a server with it off shows no difference)
#   - with OTHER_CHECKOUT (a working tree of the build before, e.g. from
#     `git worktree add /tmp/before <rev>`): contract creation through HTTP, this build
#     against that one, alternating rounds (creation now writes an event)
#
#   scripts/bench-jobs.sh [OTHER_CHECKOUT]
#
#   BENCH_JOBS (30000) BENCH_WORKERS ("8 32") BENCH_BATCH (1000) BENCH_ROUNDS (3)
#   BENCH_SAMPLES (300) BENCH_BUSY_SAMPLES_GRAPHILE (20: each waits behind the backlog,
#   seconds apiece) BENCH_CLAIM_SIZES ("1000 10000 100000 1000000")
#   BENCH_CHURN_PENDING (1000000) BENCH_CHURN_SECONDS (180)
#   BENCH_PARTS ("throughput latency bookkeeping claim churn"; "fleetcap" and "places" only
#   when named;
#   contract creation runs when OTHER_CHECKOUT is given)
#   BENCH_SECONDS (6, per contract-creation round)
#   BENCH_DURABLE_BOOKKEEPING=1: Pactum's runner commits its own changes to the queue
#   waiting for the WAL flush (the server's PACTUM_JOB_DURABLE_BOOKKEEPING=true)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OTHER="${1:-}"
JOBS="${BENCH_JOBS:-30000}"
WORKER_COUNTS="${BENCH_WORKERS:-8 32}"
BATCH="${BENCH_BATCH:-1000}"
ROUNDS="${BENCH_ROUNDS:-3}"
SAMPLES="${BENCH_SAMPLES:-300}"
GRAPHILE_BUSY_SAMPLES="${BENCH_BUSY_SAMPLES_GRAPHILE:-20}"
PARTS="${BENCH_PARTS:-throughput latency bookkeeping claim churn}"
CHURN_PENDING="${BENCH_CHURN_PENDING:-1000000}"
CHURN_SECONDS="${BENCH_CHURN_SECONDS:-180}"
part() { [[ " $PARTS " == *" $1 "* ]]; }
CLAIM_SIZES="${BENCH_CLAIM_SIZES:-1000 10000 100000 1000000}"
SECONDS_PER_ROUND="${BENCH_SECONDS:-6}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

install_packages "command -v node && command -v npm" nodejs npm
GRAPHILE=.pactum/graphile-bench
if ! cmp -s benches/graphile/package.json "$GRAPHILE/package.json" || [ ! -d "$GRAPHILE/node_modules" ]; then
  rm -rf "$GRAPHILE" && mkdir -p "$GRAPHILE"
  cp benches/graphile/package.json "$GRAPHILE/"
  (cd "$GRAPHILE" && npm install --no-audit --no-fund --silent >&2)
fi
graphile() { NODE_PATH="$PWD/$GRAPHILE/node_modules" node benches/graphile/bench.js "$@"; }

cargo build --release --locked --workspace --bins
BENCH=$(bench_program job_bench)
SAVED_URL="${DATABASE_URL:-}"
restore_url() { if [ -n "$SAVED_URL" ]; then export DATABASE_URL="$SAVED_URL"; else unset DATABASE_URL; fi; }

fresh_bench_database pactum_bench_jobs
PACTUM_DB="$DATABASE_URL"
target/release/tenantctl migrate --shared >/dev/null
restore_url
fresh_bench_database graphile_bench_jobs
GRAPHILE_DB="$DATABASE_URL"
restore_url
pactum() { DATABASE_URL="$PACTUM_DB" "$BENCH" "$@"; }
reset_pactum() { "$PSQL" -q "$PACTUM_DB" -c "delete from public.jobs" -c "vacuum analyze public.jobs" >/dev/null; }
reset_graphile() {
  "$PSQL" -q "$GRAPHILE_DB" -c "drop schema if exists graphile_worker cascade" >/dev/null 2>&1 || true
}

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), PostgreSQL $("$PSQL" -Atq "$PACTUM_DB" -c 'show server_version')"
for WORKERS in $WORKER_COUNTS; do
  part throughput || break
  echo "== throughput: $JOBS no-op jobs, batches of $BATCH, $WORKERS workers, $ROUNDS alternating rounds"
  P_RUN=(); G_RUN=()
  for round in $(seq "$ROUNDS"); do
    reset_pactum
    line=$(pactum throughput "$JOBS" "$WORKERS" "$BATCH" 10)
    echo "   $line"; P_RUN+=("$(sed -E 's/.*run ([0-9]+) jobs\/s.*/\1/' <<<"$line")")
    reset_graphile
    line=$(DATABASE_URL="$GRAPHILE_DB" graphile throughput "$JOBS" "$WORKERS" "$BATCH")
    echo "   $line"; G_RUN+=("$(sed -E 's/.*run ([0-9]+) jobs\/s.*/\1/' <<<"$line")")
  done
  awk -v p="$(median "${P_RUN[@]}")" -v g="$(median "${G_RUN[@]}")" 'BEGIN {
    printf "   medians: Pactum %.0f jobs/s, graphile-worker %.0f jobs/s: Pactum/graphile %.2f\n", p, g, p / g }'
done

for load in idle busy; do
  part latency || break
  echo "== start delay, $load queue, one job at a time"
  reset_pactum
  echo "   $(pactum latency "$SAMPLES" "$load")"
  reset_graphile
  samples=$SAMPLES; [ "$load" = busy ] && samples=$GRAPHILE_BUSY_SAMPLES
  echo "   $(DATABASE_URL="$GRAPHILE_DB" graphile latency "$samples" "$load")"
done

# side_by_side LABEL VARIABLE=VALUE: alternating rounds of the throughput run with that
# variable set (LABEL) and without (the default), then both medians and their ratio.
side_by_side() {
  local label=$1 setting=$2 with=() without=() line round
  for round in $(seq "$ROUNDS"); do
    reset_pactum
    line=$(env "$setting" DATABASE_URL="$PACTUM_DB" "$BENCH" throughput "$JOBS" "$WORKERS" "$BATCH" 10)
    echo "   $label: $line"; with+=("$(sed -E 's/.*run ([0-9]+) jobs\/s.*/\1/' <<<"$line")")
    reset_pactum
    line=$(pactum throughput "$JOBS" "$WORKERS" "$BATCH" 10)
    echo "   default: $line"; without+=("$(sed -E 's/.*run ([0-9]+) jobs\/s.*/\1/' <<<"$line")")
  done
  awk -v l="$label" -v w="$(median "${with[@]}")" -v d="$(median "${without[@]}")" 'BEGIN {
    printf "   medians: %s %.0f jobs/s, default %.0f jobs/s: %s/default %.2f, default/%s %.2f\n", l, w, d, l, w / d, l, d / w }'
}

if part bookkeeping; then
  for WORKERS in $WORKER_COUNTS; do
    echo "== the queue's own commits waiting for the WAL flush (durable) or not (the default): $JOBS no-op jobs, $WORKERS workers, $ROUNDS alternating rounds"
    side_by_side durable BENCH_DURABLE_BOOKKEEPING=1
  done
fi

if part places; then
  # Only when named: the statements alone, through pgbench, one destination.
  for clients in 1 4; do
    echo "== a delivery's place held across the fleet and given back (PACTUM_WEBHOOK_FLEET_MAX_PER_DESTINATION): $clients client(s) on one destination, 5 s"
    "$(dirname "$PSQL")/pgbench" -n -M prepared -f benches/sql/fleet_place.sql -c "$clients" -j "$clients" -T 5 "$PACTUM_DB" 2>&1 |
      grep -E "latency average|^tps" | sed 's/^/   /'
  done
fi

if part fleetcap; then
  for WORKERS in $WORKER_COUNTS; do
    echo "== the fleet cap counted after each claim (PACTUM_JOB_TENANT_FLEET_CAP=1000, never reached) or not (the default): $JOBS no-op jobs, $WORKERS workers, $ROUNDS alternating rounds"
    side_by_side "fleet cap" BENCH_TENANT_FLEET_CAP=1000
  done
fi

if part claim; then
  echo "== claim cost over 1,000 tenants"
  for size in $CLAIM_SIZES; do
    echo "   $(pactum claim "$size" 1000 300)"
  done
  reset_pactum
fi

if part churn; then
  echo "== churn over 1,000 tenants, autovacuum $("$PSQL" -Atq "$PACTUM_DB" -c 'show autovacuum')"
  pactum churn "$CHURN_PENDING" 1000 "$CHURN_SECONDS"
  "$PSQL" -q "$PACTUM_DB" -c "alter table public.jobs reset (autovacuum_vacuum_scale_factor, \
    autovacuum_vacuum_threshold, autovacuum_vacuum_insert_scale_factor, \
    autovacuum_vacuum_insert_threshold, autovacuum_analyze_scale_factor, \
    autovacuum_analyze_threshold, autovacuum_vacuum_cost_delay)" >/dev/null
  pactum churn "$CHURN_PENDING" 1000 "$CHURN_SECONDS"
  reset_pactum
fi

if [ -n "$OTHER" ]; then
  OTHER="$(cd "$OTHER" && pwd)"
  ensure_wrk
  (cd "$OTHER" && cargo build --release --locked --workspace --bins)
  declare -A BIN DB PORT
  BIN[other]="$OTHER/target/release"; BIN[this]="$PWD/target/release"
  PORT[other]=18096; PORT[this]=18097
  PIDS=()
  trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true' EXIT
  for build in other this; do
    fresh_bench_database "pactum_bench_create_$build"
    DB[$build]="$DATABASE_URL"
    "${BIN[$build]}/tenantctl" migrate >/dev/null
    for i in $(seq 0 9); do
      printf 'bench password 123\n' | "${BIN[$build]}/tenantctl" create "bench$i" \
        --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
    done
    PACTUM_BIND="127.0.0.1:${PORT[$build]}" PACTUM_DB_POOL_SIZE=8 RUST_LOG=warn \
      "${BIN[$build]}/pactum" 2>>/tmp/pactum-bench-jobs.log &
    PIDS+=("$!")
    restore_url
  done
  for build in other this; do
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.1:${PORT[$build]}/healthz" -H "host: localhost" >/dev/null && break
      sleep 0.1
    done
  done
  lua_for() { # port -> a wrk script creating contracts across the 10 tenants
    local lua i token
    lua=$(mktemp --suffix=.lua)
    echo "local targets = {" >"$lua"
    for i in $(seq 0 9); do
      token=$(curl -sf "http://127.0.0.1:$1/api/v1/auth/login" -H "host: bench$i.localhost" \
        -H 'content-type: application/json' \
        -d "{\"email\":\"admin@bench$i.example\",\"password\":\"bench password 123\"}" |
        sed -E 's/.*"access_token":"([^"]+)".*/\1/')
      echo "  {\"bench$i.localhost\", \"$token\"}," >>"$lua"
    done
    cat >>"$lua" <<'LUA'
}
local n = 0
request = function()
  n = n + 1
  local t = targets[(n % #targets) + 1]
  wrk.headers["Host"] = t[1]
  wrk.headers["Authorization"] = "Bearer " .. t[2]
  wrk.headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/api/v1/contracts", nil,
    '{"title": "Bench contract ' .. n .. '", "contract_type": "msa", "value": "1000.00", "currency": "EUR", "body": "Terms."}')
end
LUA
    echo "$lua"
  }
  declare -A LUA
  for build in other this; do LUA[$build]=$(lua_for "${PORT[$build]}"); done
  echo "== contract creation, 10 tenants, 16 connections, $((ROUNDS * 2 + 1)) alternating rounds of ${SECONDS_PER_ROUND}s"
  OTHER_RPS=(); THIS_RPS=()
  for round in $(seq $((ROUNDS * 2 + 1))); do
    for build in other this; do
      rps=$(wrk -t2 -c16 -d"${SECONDS_PER_ROUND}s" -s "${LUA[$build]}" \
        "http://127.0.0.1:${PORT[$build]}/" | awk '/Requests\/sec/ {print $2}')
      if [ "$build" = other ]; then OTHER_RPS+=("$rps"); else THIS_RPS+=("$rps"); fi
    done
    echo "   round $round: before ${OTHER_RPS[-1]} req/s, this ${THIS_RPS[-1]} req/s"
  done
  awk -v o="$(median "${OTHER_RPS[@]}")" -v t="$(median "${THIS_RPS[@]}")" 'BEGIN {
    printf "   medians: before %.0f req/s, this %.0f req/s: this/before %.3f\n", o, t, t / o }'
  rm -f "${LUA[@]}"
  for build in other this; do drop_bench_database "pactum_bench_create_$build"; done
fi
drop_bench_database pactum_bench_jobs
drop_bench_database graphile_bench_jobs
