#!/usr/bin/env bash
# Two builds of Pactum side by side: `GET /api/v1/auth/me` and `GET /api/v1/users`
# across 10 tenants, then the contracts page (a filtered, sorted page of 50 out of
# 10,000, one tenant, 32 connections), in alternating rounds (this VM's throughput
# drifts by tens of percent between runs, so only alternation makes two builds
# comparable), medians reported: requests per second, p99, and the CPU each request
# costs the server and its PostgreSQL backends together (from /proc, so whatever
# the server does besides answering, its job runner included, is counted). Last, each
# server alone under callgrind, one connection asking for the contracts page for
# BENCH_CALLGRIND_SECONDS (default 20): the instructions the server executes per
# request, a count this noisy machine cannot blur (timings it can). Each build
# gets its own database on the same PostgreSQL, migrated and provisioned by its own
# tenantctl (their tenant schema versions may differ), and runs with its defaults.
#
#   scripts/bench-compare.sh OTHER_CHECKOUT
#
# OTHER_CHECKOUT is another working tree of this repository (e.g. made with
# `git worktree add /tmp/before <rev>`); both trees are built in release mode first.
#   BENCH_ROUNDS   alternating rounds per route (default 7)
#   BENCH_SECONDS  seconds per round (default 6)
#   BENCH_POOL     server pool size (default 8)
#   BENCH_ROUTES   which parts to run: any of `me users contracts contracts10
#                  instructions` (contracts10: the contracts page over the 10 tenants
#                  in turn, each seeded with 10,000 contracts; not in the default)
#                  (default all)
#   BENCH_KEEP_DATABASES=1 keeps both databases afterwards, for inspection
#   BENCH_CALLGRIND_DIR keeps each server's callgrind dumps there (other.callgrind.out.N,
#                  this.callgrind.out.N), for `callgrind_annotate`
#   BENCH_THIS_ENV extra VAR=value settings for this build's server only (e.g.
#                  `PACTUM_JOB_WORKERS=0`, to see what a setting costs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OTHER="$(cd "${1:?usage: scripts/bench-compare.sh OTHER_CHECKOUT}" && pwd)"
ROUNDS="${BENCH_ROUNDS:-7}"
SECONDS_PER_ROUND="${BENCH_SECONDS:-6}"
POOL="${BENCH_POOL:-8}"
ROUTES="${BENCH_ROUTES:-me users contracts instructions}"
extra_env() { if [ "$1" = this ]; then echo "${BENCH_THIS_ENV:-}"; fi; }
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
  seed_contracts "$DATABASE_URL" t_bench0 10000
  if [[ " $ROUTES " == *" contracts10 "* ]]; then
    for i in $(seq 1 9); do seed_contracts "$DATABASE_URL" "t_bench$i" 10000; done
  fi
  read -r -a extra <<<"$(extra_env "$build")"
  env "${extra[@]}" PACTUM_BIND="127.0.0.1:${PORT[$build]}" PACTUM_DB_POOL_SIZE="$POOL" \
    RUST_LOG=warn "${BIN[$build]}/pactum" 2>>"/tmp/pactum-bench-compare.log" &
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

FILTERED="/api/v1/contracts?status=executed&contract_type=msa&value_min=1000&sort=-created_at&limit=50"
for route in $ROUTES; do
  case $route in
    me) path=/api/v1/auth/me connections=64 ;;
    users) path=/api/v1/users connections=64 ;;
    contracts10) path=$FILTERED connections=32 ;;
    *) continue ;;
  esac
  echo "== GET $path, 10 tenants, $connections connections, $ROUNDS alternating rounds of ${SECONDS_PER_ROUND}s"
  OTHER_RPS=(); THIS_RPS=()
  for round in $(seq "$ROUNDS"); do
    for build in other this; do
      rps=$(wrk -t2 -c"$connections" -d"${SECONDS_PER_ROUND}s" -s "${LUA[$build]}" \
        "http://127.0.0.1:${PORT[$build]}$path" | awk '/Requests\/sec/ {print $2}')
      if [ "$build" = other ]; then OTHER_RPS+=("$rps"); else THIS_RPS+=("$rps"); fi
    done
    echo "   round $round: other ${OTHER_RPS[-1]} req/s, this ${THIS_RPS[-1]} req/s"
  done
  awk -v o="$(median "${OTHER_RPS[@]}")" -v t="$(median "${THIS_RPS[@]}")" 'BEGIN {
    printf "   medians: other %.0f req/s, this %.0f req/s: this/other %.3f\n", o, t, t / o }'
done

# The contracts page of one tenant: the request the acceptance run compared with the
# Django peer. Each round also samples the CPU the server and its database's
# backends used, over the requests wrk counted.
declare -A TOKEN
for build in other this; do
  TOKEN[$build]=$(curl -sf "http://127.0.0.1:${PORT[$build]}/api/v1/auth/login" \
    -H "host: bench0.localhost" -H 'content-type: application/json' \
    -d '{"email":"admin@bench0.example","password":"bench password 123"}' |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
done
# What each build sends for the page (the two may carry different fields).
for build in other this; do
  size=$(curl -sf -o /dev/null -w '%{size_download}' -H "Host: bench0.localhost" \
    -H "Authorization: Bearer ${TOKEN[$build]}" "http://127.0.0.1:${PORT[$build]}$FILTERED")
  echo "== the contracts page's body, $build: $size bytes"
done
if [[ " $ROUTES " == *" contracts "* ]]; then
  echo "== GET the contracts page, one tenant, 32 connections, $ROUNDS alternating rounds of ${SECONDS_PER_ROUND}s"
  declare -A RPS P99 CPU
  for build in other this; do RPS[$build]=""; P99[$build]=""; CPU[$build]=""; done
  per_request_us() { awk -v t="$1" -v n="$2" 'BEGIN {printf "%.0f", t * 10000 / n}'; } # ticks requests
  server_pid() { if [ "$1" = other ]; then echo "${PIDS[0]}"; else echo "${PIDS[1]}"; fi; }
  # A warm-up, so every pooled connection is open before the first CPU sample.
  for build in other this; do
    wrk -t2 -c32 -d2s -H "Host: bench0.localhost" -H "Authorization: Bearer ${TOKEN[$build]}" \
      "http://127.0.0.1:${PORT[$build]}$FILTERED" >/dev/null
  done
  for round in $(seq "$ROUNDS"); do
    line="   round $round:"
    for build in other this; do
      server=$(server_pid "$build")
      read -r -a backends <<<"$(backend_pids "pactum_bench_$build" | tr '\n' ' ')"
      before=$(cpu_ticks "$server" "${backends[@]}")
      out=$(wrk -t2 -c32 -d"${SECONDS_PER_ROUND}s" --latency \
        -H "Host: bench0.localhost" -H "Authorization: Bearer ${TOKEN[$build]}" \
        "http://127.0.0.1:${PORT[$build]}$FILTERED")
      after=$(cpu_ticks "$server" "${backends[@]}")
      requests=$(awk '/requests in/ {print $1}' <<<"$out")
      rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
      p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) sub(/ms$/, "", v); else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; print v}' <<<"$out")
      spent=$(cpu_ticks_spent "$before" "$after")
      server_spent=$(cpu_ticks_spent "$(grep "^$server " <<<"$before")" "$after")
      cpu=$(per_request_us "$spent" "$requests")
      server_cpu=$(per_request_us "$server_spent" "$requests")
      RPS[$build]+="$rps "; P99[$build]+="$p99 "; CPU[$build]+="$cpu "
      line+=" $build $rps req/s, p99 $p99 ms, $cpu us CPU ($server_cpu server);"
    done
    echo "$line"
  done
  for build in other this; do
    # shellcheck disable=SC2086
    printf '   %s medians: %.0f req/s, p99 %s ms, %s us CPU per request\n' "$build" \
      "$(median ${RPS[$build]})" "$(median ${P99[$build]})" "$(median ${CPU[$build]})"
  done
  # shellcheck disable=SC2086
  awk -v ro="$(median ${RPS[other]})" -v rt="$(median ${RPS[this]})" \
    -v po="$(median ${P99[other]})" -v pt="$(median ${P99[this]})" \
    -v co="$(median ${CPU[other]})" -v ct="$(median ${CPU[this]})" 'BEGIN {
    printf "   this/other: throughput %.3f, p99 %.3f, CPU per request %.3f\n", rt / ro, pt / po, ct / co }'
fi

# Instructions per request: the server process alone (PostgreSQL's share is in the CPU
# figures above), counted from a zeroed counter after a warm-up, so start-up and the
# first plans are not in it; its idle work over the same seconds (job runner, timers)
# is, as it is in production.
if [[ " $ROUTES " == *" instructions "* ]]; then
  install_packages "command -v valgrind" valgrind
  CALLGRIND_SECONDS="${BENCH_CALLGRIND_SECONDS:-20}"
  kill "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  PIDS=()
  echo "== instructions per contracts-page request, server under callgrind, 1 connection, ${CALLGRIND_SECONDS}s each"
  for build in other this; do
    out_dir=$(mktemp -d)
    read -r -a extra <<<"$(extra_env "$build")"
    env "${extra[@]}" DATABASE_URL="${DB[$build]}" PACTUM_BIND="127.0.0.1:${PORT[$build]}" \
      PACTUM_DB_POOL_SIZE="$POOL" RUST_LOG=warn valgrind --tool=callgrind \
      --callgrind-out-file="$out_dir/callgrind.out" "${BIN[$build]}/pactum" \
      2>>"/tmp/pactum-bench-compare.log" &
    PIDS+=("$!")
    for _ in $(seq 600); do
      curl -sf "http://127.0.0.1:${PORT[$build]}/healthz" -H "host: localhost" >/dev/null && break
      sleep 0.1
    done
    url="http://127.0.0.1:${PORT[$build]}$FILTERED"
    headers=(-H "Host: bench0.localhost" -H "Authorization: Bearer ${TOKEN[$build]}")
    wrk -t1 -c1 -d5s "${headers[@]}" "$url" >/dev/null
    callgrind_control -z "${PIDS[-1]}" >/dev/null
    requests=$(wrk -t1 -c1 -d"${CALLGRIND_SECONDS}s" "${headers[@]}" "$url" | awk '/requests in/ {print $1}')
    callgrind_control -d "${PIDS[-1]}" >/dev/null
    sleep 1
    instructions=$(cat "$out_dir"/callgrind.out.* | awk '/^summary:/ {sum += $2} END {print sum}')
    awk -v i="$instructions" -v n="$requests" -v b="$build" 'BEGIN {
      printf "   %s: %d requests, %.0f instructions per request\n", b, n, i / n }'
    kill "${PIDS[-1]}" 2>/dev/null || true
    wait "${PIDS[-1]}" 2>/dev/null || true
    if [ -n "${BENCH_CALLGRIND_DIR:-}" ]; then
      mkdir -p "$BENCH_CALLGRIND_DIR"
      for file in "$out_dir"/callgrind.out.*; do cp "$file" "$BENCH_CALLGRIND_DIR/$build.${file##*/}"; done
    fi
    rm -rf "$out_dir"
  done
fi
rm -f "${LUA[@]}"
if [ -z "${BENCH_KEEP_DATABASES:-}" ]; then
  for build in other this; do drop_bench_database "pactum_bench_$build" 2>/dev/null || true; done
fi
