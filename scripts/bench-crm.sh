#!/usr/bin/env bash
# CRM benchmark: one tenant with 100,000 of each new record (accounts, contacts,
# leads, opportunities, invoices) beside 100,000 contracts, then, through HTTP against
# the release server, each record type's first list page and each dashboard at one
# connection: requests per second, p50 and p99 from wrk. Server, PostgreSQL and wrk on
# this machine. BENCH_SECONDS (default 10) per run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
PORT="${BENCH_PORT:-18096}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
fresh_bench_database pactum_bench_crm
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$BASE/pactum_bench_crm" "$@"; }
trap 'drop_bench_database pactum_bench_crm' EXIT

crm_tenant

PACTUM_BIND="127.0.0.1:$PORT" PACTUM_DB_POOL_SIZE="${BENCH_POOL:-8}" RUST_LOG=warn \
  target/release/pactum 2>/tmp/pactum-bench-crm.log &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; drop_bench_database pactum_bench_crm' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench0.localhost" \
  -H 'content-type: application/json' \
  -d '{"email":"admin@bench0.example","password":"bench password 123"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
HEADERS=(-H "Host: bench0.localhost" -H "Authorization: Bearer $TOKEN")
URL="http://127.0.0.1:$PORT"

echo "| GET | requests/s | p50 | p99 |"
echo "| --- | ---: | ---: | ---: |"
for path in \
  /api/v1/counterparties /api/v1/contacts "/api/v1/leads?status=qualified" \
  "/api/v1/opportunities?outcome=open" "/api/v1/invoices?status=overdue" \
  /api/v1/opportunities/board "/api/v1/opportunities/forecast?from=2026-01&months=12" \
  /api/v1/dashboards/pipeline /api/v1/dashboards/win-rate /api/v1/dashboards/account-value \
  /api/v1/dashboards/renewals /api/v1/dashboards/overdue-invoices "/api/v1/search?q=account%20777"; do
  status=$(curl -s -o /dev/null -w '%{http_code}' "$URL$path" "${HEADERS[@]}")
  [ "$status" = 200 ] || { echo "GET $path answered $status" >&2; exit 1; }
  wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency "${HEADERS[@]}" "$URL$path" |
    awk -v path="$path" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
      END {printf "| `%s` | %s | %s | %s |\n", path, rps, p50, p99}'
done
