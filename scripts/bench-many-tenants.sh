#!/usr/bin/env bash
# Thousands of tenants: what PostgreSQL's backends keep per tenant schema they
# touch, and what rotating over many tenants costs.
#
# Provisions BENCH_TENANTS tenants (default 10,000; benches/many_tenants.rs, admins'
# tokens minted rather than logged in), then, against the release server with a pool
# of 16 (and an older binary given as BENCH_PREVIOUS, if any):
#   1. GET /api/v1/contracts?status=draft&limit=50 at 32 connections rotating over 10
#      and over 2,000 tenants, in BENCH_ROUNDS alternating rounds of BENCH_SECONDS;
#      with the CPU each request cost the server and its own PostgreSQL backends (told
#      apart from the other server's by the application name they connect with);
#   2. the same rotating over every tenant for BENCH_MINUTES (default 10, at most 14:
#      the minted tokens live 15 minutes), one server at a time, then the anonymous
#      (private) memory of that server's backends, from /proc/<pid>/smaps_rollup.
#
# BENCH_PERF=1 (needs perf) adds, for each server, one more run of each rotation with
# `perf record` on the database's backends, and prints the functions they spent the most
# time in.
#
# BENCH_PREVIOUS_ENV ("NAME=value ...") is set for the other server only, and with it
# alone the other server is this build: a setting measured against the default, side by
# side (BENCH_PREVIOUS_ENV="PACTUM_DB_HOME_QUEUE=16" or "PACTUM_DB_POOL_SIZE=32", say).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TENANTS="${BENCH_TENANTS:-10000}"
ROUNDS="${BENCH_ROUNDS:-3}"
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
MINUTES="${BENCH_MINUTES:-10}"
PORT="${BENCH_PORT:-18130}"
POOL=16
ROTATION=$((TENANTS < 2000 ? TENANTS : 2000)) # the "many" of many against 10
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
BENCH_PG_TCP=1 fresh_bench_database pactum_bench_many
cargo build --release --locked --workspace --bins
MANY_TENANTS=$(bench_program many_tenants)
target/release/tenantctl migrate >/dev/null
echo "== provisioning $TENANTS tenants"
"$MANY_TENANTS" provision "$TENANTS"

SERVERS=(current)
PREVIOUS_ENV=()
if [ -n "${BENCH_PREVIOUS_ENV:-}" ]; then
  read -r -a PREVIOUS_ENV <<<"$BENCH_PREVIOUS_ENV"
  BENCH_PREVIOUS="${BENCH_PREVIOUS:-target/release/pactum}"
  echo "== previous: $BENCH_PREVIOUS with ${PREVIOUS_ENV[*]}"
fi
[ -n "${BENCH_PREVIOUS:-}" ] && SERVERS+=(previous)
declare -A PORT_OF PID_OF
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
next_port=$PORT
for name in "${SERVERS[@]}"; do
  binary=target/release/pactum
  extra=()
  [ "$name" = previous ] && binary=$BENCH_PREVIOUS && extra=("${PREVIOUS_ENV[@]}")
  # The application name tells each server's backends apart in pg_stat_activity. The
  # other server's settings come last, so that they can override the pool's size.
  env DATABASE_URL="$DATABASE_URL?application_name=pactum-$name" PACTUM_BIND="127.0.0.1:$next_port" \
    PACTUM_DB_POOL_SIZE=$POOL RUST_LOG=warn "${extra[@]}" "$binary" 2>>/tmp/pactum-bench-many.log &
  PIDS+=("$!")
  PID_OF[$name]=$!
  PORT_OF[$name]=$next_port
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$next_port/readyz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
  next_port=$((next_port + 1))
done

LUA_DIR=$(mktemp -d)
write_lua() { # tenants file
  "$MANY_TENANTS" tokens "$1" "$2"
  append_rotating_request "$2"
}
write_lua 10 "$LUA_DIR/10.lua"
write_lua "$ROTATION" "$LUA_DIR/many.lua"
PAGE="/api/v1/contracts?status=draft&limit=50"
rps() { # port lua seconds
  wrk -t2 -c32 -d"${3}s" -s "$2" "http://127.0.0.1:$1$PAGE" |
    awk '/Non-2xx/ {bad=1} /Requests\/sec/ {rps=$2} END {print (bad ? "ERR" : rps)}'
}

# The PostgreSQL backends of one server, told apart from the other server's by the
# application name each server connects with (their process titles do not carry it).
server_backends() { # server
  "$PSQL" -Atq "$DATABASE_URL" -c "select pid from pg_stat_activity where application_name = 'pactum-$1'"
}

# "RPS SERVER_US PG_US": rps, and the CPU each request cost the server's process and
# its own backends (user and system, from /proc; a backend opened during the run is
# left out, so PostgreSQL's side is a lower bound), in microseconds.
rps_and_cpu() { # server lua seconds
  local server_before pg_before rate server_after pg_after
  server_before=$(cpu_ticks "${PID_OF[$1]}")
  # shellcheck disable=SC2046
  pg_before=$(cpu_ticks $(server_backends "$1"))
  rate=$(rps "${PORT_OF[$1]}" "$2" "$3")
  server_after=$(cpu_ticks "${PID_OF[$1]}")
  # shellcheck disable=SC2046
  pg_after=$(cpu_ticks $(server_backends "$1"))
  awk -v rate="$rate" -v seconds="$3" -v server="$(cpu_ticks_spent "$server_before" "$server_after")" \
    -v pg="$(cpu_ticks_spent "$pg_before" "$pg_after")" 'BEGIN {
      requests = rate * seconds
      if (requests > 0) printf "%s %.0f %.0f", rate, server * 10000 / requests, pg * 10000 / requests
      else printf "%s 0 0", rate }'
}

# How many of a server's tenant checkouts its pool served from the tenant's home
# connection, since it started (pactum_db_pool_checkouts_total on /metrics).
home_share() { # port
  curl -sf "http://127.0.0.1:$1/metrics" -H "host: localhost" |
    awk -F'[{}" ]+' '/^pactum_db_pool_checkouts_total/ { n[$3] = $NF }
      END { t = n["home"] + n["elsewhere"]; if (t) printf "%.1f%% of %d tenant checkouts at home", 100 * n["home"] / t, t }'
}

# A backend's first request for a schema builds its catalog cache entries (a few ms);
# the rounds measure the steady state, after each server has seen the 2,000 tenants.
for name in "${SERVERS[@]}"; do
  echo "== warm-up, $name: $(rps "${PORT_OF[$name]}" "$LUA_DIR/many.lua" 30) req/s over $ROTATION tenants for 30 s; $(home_share "${PORT_OF[$name]}")"
done
echo "== $PAGE, 32 connections, $ROUNDS alternating rounds of ${SECONDS_PER_RUN}s (req/s)"
declare -A RESULTS SERVER_US PG_US
for round in $(seq "$ROUNDS"); do
  for name in "${SERVERS[@]}"; do
    for set in 10 many; do
      read -r rate server_us pg_us <<<"$(rps_and_cpu "$name" "$LUA_DIR/$set.lua" "$SECONDS_PER_RUN")"
      RESULTS[$name-$set]="${RESULTS[$name-$set]:-} $rate"
      SERVER_US[$name-$set]="${SERVER_US[$name-$set]:-} $server_us"
      PG_US[$name-$set]="${PG_US[$name-$set]:-} $pg_us"
    done
  done
done
for name in "${SERVERS[@]}"; do
  # shellcheck disable=SC2086
  ten=$(median ${RESULTS[$name-10]}); many=$(median ${RESULTS[$name-many]})
  awk -v n="$name" -v a="$ten" -v b="$many" -v m="$ROTATION" -v r10="${RESULTS[$name-10]}" -v rm="${RESULTS[$name-many]}" \
    'BEGIN { printf "   %s: 10 tenants %.0f, %d tenants %.0f: %.0f%%   (rounds:%s |%s)\n", n, a, m, b, 100 * b / a, r10, rm }'
  # shellcheck disable=SC2086
  echo "   $name CPU per request, medians (server / PostgreSQL's backends): 10 tenants" \
    "$(median ${SERVER_US[$name-10]}) / $(median ${PG_US[$name-10]}) us, $ROTATION tenants" \
    "$(median ${SERVER_US[$name-many]}) / $(median ${PG_US[$name-many]}) us"
  echo "   $name since it started: $(home_share "${PORT_OF[$name]}")"
done

# Where PostgreSQL's backends spend their time in each rotation, side by side.
if [ -n "${BENCH_PERF:-}" ]; then
  for name in "${SERVERS[@]}"; do
    for set in 10 many; do
      pids=$(server_backends "$name" | paste -sd, -)
      perf record -q -F 499 -o "$LUA_DIR/perf-$set.data" -p "$pids" -- sleep "$SECONDS_PER_RUN" 2>/dev/null &
      recording=$!
      rate=$(rps "${PORT_OF[$name]}" "$LUA_DIR/$set.lua" "$SECONDS_PER_RUN")
      wait "$recording" || true
      echo "== $name, $set tenants ($rate req/s): PostgreSQL's backends, the functions with most samples"
      perf report -i "$LUA_DIR/perf-$set.data" --no-children --sort symbol --stdio 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -n 25 || true
    done
  done
fi

backend_memory() { # server
  server_backends "$1" |
    while read -r pid; do
      awk '/^Anonymous:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || true
    done |
    awk '{sum += $1; if ($1 > max) max = $1; n++} END {printf "%d backends, anonymous memory %.0f MiB in all, largest %.0f MiB", n, sum / 1024, max / 1024}'
}
for name in "${SERVERS[@]}"; do
  write_lua "$TENANTS" "$LUA_DIR/all.lua"
  echo "== $name: $PAGE rotating over all $TENANTS tenants for $MINUTES min"
  result=$(rps "${PORT_OF[$name]}" "$LUA_DIR/all.lua" $((MINUTES * 60)))
  echo "   $result req/s; then $(backend_memory "$name")"
done
rm -rf "$LUA_DIR"
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
drop_bench_database pactum_bench_many
