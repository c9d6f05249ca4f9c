#!/usr/bin/env bash
# HTTP load benchmark (issue 3): GET /api/v1/auth/me and GET /api/v1/users across 10
# tenants at 64 connections, server, PostgreSQL and load generator on this machine.
# Prints wrk's figures and the server's RSS after the runs. BENCH_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-15}"
PORT="${BENCH_PORT:-18090}"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
  else sudo apt-get install -y -qq wrk; fi
fi
SERVER_URL="${DATABASE_URL:-$(bash scripts/pg.sh url)}"
BASE="${SERVER_URL%/*}"
psql_run() { "$(dirname "$(ls /usr/lib/postgresql/*/bin/psql | tail -n1)")/psql" -q "$SERVER_URL" -c "$1" >/dev/null; }
psql_run "drop database if exists pactum_bench_http with (force)"
psql_run "create database pactum_bench_http"
export DATABASE_URL="$BASE/pactum_bench_http"

cargo build --release --locked --workspace
target/release/tenantctl migrate >/dev/null
for i in $(seq 0 9); do
  printf 'bench password 123\n' | target/release/tenantctl create "bench$i" \
    --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
done

PACTUM_DEV=1 PACTUM_BIND="127.0.0.1:$PORT" PACTUM_DB_POOL_SIZE="${BENCH_POOL:-16}" RUST_LOG=warn \
  target/release/pactum 2>/tmp/pactum-bench-http.log &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done

LUA=$(mktemp --suffix=.lua)
echo "local targets = {" >"$LUA"
for i in $(seq 0 9); do
  token=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench$i.localhost" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@bench$i.example\",\"password\":\"bench password 123\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  echo "  {\"bench$i.localhost\", \"$token\"}," >>"$LUA"
done
cat >>"$LUA" <<'LUA'
}
local n = 0
request = function()
  n = n + 1
  local t = targets[(n % #targets) + 1]
  wrk.headers["Host"] = t[1]
  wrk.headers["Authorization"] = "Bearer " .. t[2]
  return wrk.format("GET", wrk.path)
end
LUA

for path in /api/v1/auth/me /api/v1/users; do
  echo "== GET $path, 10 tenants, 64 connections, ${SECONDS_PER_RUN}s"
  wrk -t2 -c64 -d"${SECONDS_PER_RUN}s" --latency -s "$LUA" "http://127.0.0.1:$PORT$path" |
    grep -E 'Requests/sec|Latency  |50%|90%|99%|requests in|Non-2xx'
done
echo "== server RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$SERVER_PID/status)"
rm -f "$LUA"
psql_run "drop database if exists pactum_bench_http with (force)" || true
