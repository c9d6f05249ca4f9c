#!/usr/bin/env bash
# CLM benchmark: one tenant with 100,000 contracts and nine with 10,000 each,
# then, through HTTP against the release server:
#   - a filtered, sorted page of 50 (latency at 1 connection; throughput at 32)
#   - full-text searches (latency at 1 connection): a rare term and a common one
#   - contract creation at 16 connections
# Server, PostgreSQL and wrk on this machine. BENCH_SECONDS (default 10) per run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"
PORT="${BENCH_PORT:-18095}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
fresh_bench_database pactum_bench_clm
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$BASE/pactum_bench_clm" "$@"; }

cargo build --release --locked --workspace
target/release/tenantctl migrate >/dev/null
echo "== seeding: bench0 with 100,000 contracts, bench1-9 with 10,000 each"
started=$(date +%s)
for i in $(seq 0 9); do
  printf 'bench password 123\n' | target/release/tenantctl create "bench$i" \
    --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
  if [ "$i" = 0 ]; then seed_contracts "$DATABASE_URL" t_bench0 100000; else seed_contracts "$DATABASE_URL" "t_bench$i" 10000; fi
done
echo "   seeded in $(( $(date +%s) - started )) s"

PACTUM_BIND="127.0.0.1:$PORT" PACTUM_DB_POOL_SIZE="${BENCH_POOL:-8}" RUST_LOG=warn \
  target/release/pactum 2>/tmp/pactum-bench-clm.log &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench0.localhost" \
  -H 'content-type: application/json' \
  -d '{"email":"admin@bench0.example","password":"bench password 123"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
HEADERS=(-H "Host: bench0.localhost" -H "Authorization: Bearer $TOKEN")
URL="http://127.0.0.1:$PORT"

FILTERED="/api/v1/contracts?status=executed&contract_type=msa&value_min=1000&sort=-created_at&limit=50"
RARE="/api/v1/contracts?q=ref123&limit=50"
COMMON="/api/v1/contracts?q=hosting%20services&limit=50"
for path in "$FILTERED" "$RARE" "$COMMON"; do
  count=$(curl -sf "$URL$path" "${HEADERS[@]}" | grep -o '"id"' | wc -l)
  echo "== GET $path returns $count contracts"
done

latency() { # label path
  echo "== $1, 1 connection, ${SECONDS_PER_RUN}s"
  wrk -t1 -c1 -d"${SECONDS_PER_RUN}s" --latency "${HEADERS[@]}" "$URL$2" | grep -E 'Requests/sec|50%|90%|99%|Non-2xx'
}
latency "filtered, sorted page of 50" "$FILTERED"
latency "full-text search, rare term (~100 matches)" "$RARE"
latency "full-text search, common terms (~12,500 matches, ranked)" "$COMMON"
echo "== filtered page of 50, 32 connections, ${SECONDS_PER_RUN}s"
wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" --latency "${HEADERS[@]}" "$URL$FILTERED" | grep -E 'Requests/sec|50%|99%|Non-2xx'

# The ceiling for that target: the transaction the server runs for the page (the
# statements as PostgreSQL logs them, tables schema-qualified because pgbench prepares
# before its SET LOCAL runs), straight from pgbench with 8 clients like the server's
# pool: no HTTP, no JSON, pgbench's own CPU the only other load.
PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n1)"
ADMIN_ID=$(sql -tA -c "select id from t_bench0.users limit 1")
PAGE_SQL=$(mktemp --suffix=.sql)
cat >"$PAGE_SQL" <<SQL
BEGIN READ ONLY;
SET LOCAL search_path TO "t_bench0", public;
select role, active from t_bench0.users where id = '$ADMIN_ID';
select id, title, contract_type, status, value::text, currency, counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, metadata, null::text, version, created_by, created_at, updated_by, updated_at from t_bench0.contracts where status = 'executed' and contract_type = 'msa' and value >= '1000'::text::numeric order by created_at desc, id desc limit 51 offset 0;
COMMIT;
SQL
echo "== the same transaction from pgbench, 8 clients, no HTTP, ${SECONDS_PER_RUN}s"
"$PGBENCH" -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$PAGE_SQL" "$DATABASE_URL" 2>&1 |
  grep -E '^tps|failed|aborted' | sed 's/ (without initial connection time)//'
rm -f "$PAGE_SQL"

LUA=$(mktemp --suffix=.lua)
cat >"$LUA" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
request = function()
  n = n + 1
  wrk.body = '{"title":"Benchmark contract ' .. n .. '","contract_type":"sow","value":"1250.50","currency":"EUR","tags":["bench"],"body":"Work to be done under statement of work ' .. n .. '."}'
  return wrk.format(nil, "/api/v1/contracts")
end
LUA
echo "== create contracts, 16 connections, ${SECONDS_PER_RUN}s"
wrk -t2 -c16 -d"${SECONDS_PER_RUN}s" --latency -s "$LUA" "${HEADERS[@]}" "$URL" | grep -E 'Requests/sec|50%|99%|Non-2xx'
rm -f "$LUA"
echo "== server RSS after the runs: $(awk '/VmRSS/ {print $2, $3}' /proc/$SERVER_PID/status)"
drop_bench_database pactum_bench_clm
