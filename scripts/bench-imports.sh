#!/usr/bin/env bash
# CSV imports against a large tenant: one tenant with 100,000 accounts and 100,000
# contacts (and the rest of scripts/bench-common.sh's CRM data), then, through HTTP
# against the release server, a dry run of a full file (5,000 rows, the most one import
# takes) of accounts and one of contacts, every row a duplicate of a record held (by
# its company domain, by an address written in another case): the seconds each took,
# twice.
# Beside them, on the same data, the lookup a row's duplicates took before (copied
# here) for ten rows' keys. Server, PostgreSQL and curl on this machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${BENCH_PORT:-18097}"
ROWS=5000
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_imports
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$BASE/pactum_bench_imports" "$@"; }
trap 'drop_bench_database pactum_bench_imports' EXIT

crm_tenant

start_release_server "$PORT" /tmp/pactum-bench-imports.log
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; drop_bench_database pactum_bench_imports' EXIT
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench0.localhost" \
  -H 'content-type: application/json' \
  -d '{"email":"admin@bench0.example","password":"bench password 123"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

# Every 20th account's domain and contact's address, the address in capitals.
accounts=$(mktemp) contacts=$(mktemp)
{
  echo "name,website"
  for i in $(seq 1 $ROWS); do echo "Imported $i,www.a$((i * 20)).example"; done
} >"$accounts"
{
  echo "name,emails"
  for i in $(seq 1 $ROWS); do echo "Imported $i,P$((i * 20))@A$((i * 20)).EXAMPLE"; done
} >"$contacts"

# import PATH FILE: seconds for a dry run of FILE, and the rows it reported.
import() {
  local started ended report
  started=$(date +%s.%N)
  report=$(curl -s --max-time 600 -X POST "http://127.0.0.1:$PORT$1?dry_run=true" \
    -H "Host: bench0.localhost" -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: text/csv' --data-binary "@$2")
  ended=$(date +%s.%N)
  printf '%.2f s, %s rows reported\n' "$(awk "BEGIN {print $ended - $started}")" \
    "$(grep -o '"row":' <<<"$report" | wc -l)"
}

# before JOIN FORMAT [INDEX...]: the lookup a row's duplicates took before (copied
# here: its key as `k` joined by JOIN), run in one session for ten rows' keys (FORMAT,
# given the row's number twice), in a transaction without the INDEXes made since
# (dropped, then rolled back): the milliseconds a row took, and what the file's rows
# would take at that pace.
before() {
  local started ended script="begin; set local search_path to t_bench0;" join=$1 format=$2
  shift 2
  for index in "$@"; do script+=" drop index $index;"; done
  for i in $(seq 1 10); do
    # shellcheck disable=SC2059 # the format is the caller's
    script+=" select count(*) from (select '$(printf "$format" $((i * 20)) $((i * 20)))'::text as k) row_key $join;"
  done
  script+=" rollback;"
  started=$(date +%s.%N)
  sql <<<"$script" >/dev/null
  ended=$(date +%s.%N)
  awk "BEGIN {ms = ($ended - $started) * 100; printf \"%.0f ms a row, %.0f s for $ROWS rows\", ms, ms * $ROWS / 1000}"
}

echo "== $ROWS accounts, each a duplicate by its domain, against 100,000 accounts"
echo "   through the server: $(import /api/v1/counterparties/import "$accounts"); again: $(import /api/v1/counterparties/import "$accounts")"
echo "   the lookup before: $(before "join counterparties c on \
  lower(regexp_replace(regexp_replace(coalesce(c.website, ''), '^[a-zA-Z][a-zA-Z0-9+.-]*://', ''), \
  '^www\\.|[/:?#].*\$', '', 'g')) = k or lower(split_part(coalesce(c.email, ''), '@', 2)) = k" \
  'a%d.example' counterparties_website_domain_idx counterparties_email_domain_idx)"
echo "== $ROWS contacts, each a duplicate by an address in other case, against 100,000 contacts"
echo "   through the server: $(import /api/v1/contacts/import "$contacts"); again: $(import /api/v1/contacts/import "$contacts")"
echo "   the lookup before: $(before "join contacts c \
  on exists(select 1 from unnest(c.emails) e where lower(e) = k)" 'p%d@a%d.example')"
rm -f "$accounts" "$contacts"
