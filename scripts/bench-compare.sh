#!/usr/bin/env bash
# Two builds of Pactum side by side: `GET /api/v1/auth/me` and `GET /api/v1/users`
# across 10 tenants, in alternating rounds (this VM's throughput drifts by tens of
# percent between runs, so only alternation makes two builds comparable), medians
# reported. Each build gets its own database on the same PostgreSQL, migrated and
# provisioned by its own tenantctl (their tenant schema versions may differ).
#
#   scripts/bench-compare.sh OTHER_CHECKOUT
#
# OTHER_CHECKOUT is another working tree of this repository (e.g. made with
# `git worktree add /tmp/before <rev>`); both trees are built in release mode first.
#   BENCH_ROUNDS   alternating rounds per route (default 7)
#   BENCH_SECONDS  seconds per round (default 6)
#   BENCH_POOL     server pool size (default 8)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OTHER="$(cd "${1:?usage: scripts/bench-compare.sh OTHER_CHECKOUT}" && pwd)"
ROUNDS="${BENCH_ROUNDS:-7}"
SECONDS_PER_ROUND="${BENCH_SECONDS:-6}"
POOL="${BENCH_POOL:-8}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
(cd "$OTHER" && cargo build --release --locked --workspace --bins)
cargo build --release --locked --workspace --bins

declare -A BIN DB PORT
BIN[other]="$OTHER/target/release"; BIN[this]="$PWD/target/release"
PORT[other]=18094; PORT[this]=18095
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null || true' EXIT
for build in other this; do
  SAVED_URL="${DATABASE_URL:-}"
  fresh_bench_database "pactum_bench_$build"
  DB[$build]="$DATABASE_URL"
  "${BIN[$build]}/tenantctl" migrate >/dev/null
  for i in $(seq 0 9); do
    printf 'bench password 123\n' | "${BIN[$build]}/tenantctl" create "bench$i" \
      --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
  done
  PACTUM_BIND="127.0.0.1:${PORT[$build]}" PACTUM_DB_POOL_SIZE="$POOL" RUST_LOG=warn \
    "${BIN[$build]}/pactum" 2>>"/tmp/pactum-bench-compare.log" &
  PIDS+=("$!")
  if [ -n "$SAVED_URL" ]; then export DATABASE_URL="$SAVED_URL"; else unset DATABASE_URL; fi
done
for build in other this; do
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:${PORT[$build]}/healthz" -H "host: localhost" >/dev/null && break
    sleep 0.1
  done
done

lua_for() { # port -> a wrk script rotating over the 10 tenants with their tokens
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
  echo "}" >>"$lua"
  append_rotating_request "$lua"
  echo "$lua"
}
declare -A LUA
for build in other this; do LUA[$build]=$(lua_for "${PORT[$build]}"); done

for path in /api/v1/auth/me /api/v1/users; do
  echo "== GET $path, 10 tenants, 64 connections, $ROUNDS alternating rounds of ${SECONDS_PER_ROUND}s"
  OTHER_RPS=(); THIS_RPS=()
  for round in $(seq "$ROUNDS"); do
    for build in other this; do
      rps=$(wrk -t2 -c64 -d"${SECONDS_PER_ROUND}s" -s "${LUA[$build]}" \
        "http://127.0.0.1:${PORT[$build]}$path" | awk '/Requests\/sec/ {print $2}')
      if [ "$build" = other ]; then OTHER_RPS+=("$rps"); else THIS_RPS+=("$rps"); fi
    done
    echo "   round $round: other ${OTHER_RPS[-1]} req/s, this ${THIS_RPS[-1]} req/s"
  done
  awk -v o="$(median "${OTHER_RPS[@]}")" -v t="$(median "${THIS_RPS[@]}")" 'BEGIN {
    printf "   medians: other %.0f req/s, this %.0f req/s: this/other %.3f\n", o, t, t / o }'
done
rm -f "${LUA[@]}"
for build in other this; do drop_bench_database "pactum_bench_$build" 2>/dev/null || true; done
