#!/usr/bin/env bash
# Many tenants: is a request as cheap when requests rotate over tenants as
# when they all go to one, straight to PostgreSQL and through PgBouncer?
#
# 1. The cause, at the SQL level (pgbench, 8 clients): the contracts page query in a
#    transaction that sets search_path LOCAL, for one schema and rotating over ten,
#    with statements prepared once per connection (-M prepared, what a statement cache
#    does) and parsed every time (-M extended, the unnamed statement).
# 2. Unnamed query_typed against prepare-and-close inside the transaction, one connection.
# 3. The HTTP figures: GET /api/v1/contracts?status=draft&limit=50 (newest first) and
#    GET /api/v1/auth/me at 32 connections, one tenant and ten rotating, against a
#    server straight on PostgreSQL (PACTUM_DB_POOLER=none), one through PgBouncer in
#    transaction mode (PACTUM_DB_POOLER=transaction), and the alternatives (no home
#    connection, no per-schema statements, neither; BENCH_PREVIOUS=<binary> adds an
#    older build), all running at once, in alternating rounds, medians.
#
#   BENCH_SECONDS  seconds per round (default 5)    BENCH_ROUNDS  rounds (default 3)
#   BENCH_POOL     server pool and PgBouncer pool size (default 16)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
POOL="${BENCH_POOL:-16}"
PORT="${BENCH_PORT:-18100}"
BOUNCER_PORT=$((PORT + 20))
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
ensure_wrk
BENCH_PG_TCP=1 fresh_bench_database pactum_bench_tenants
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
PGBENCH="$(dirname "$PSQL")/pgbench"
PGBOUNCER="$(bash scripts/pgbouncer.sh bin)"

cargo build --release --locked --workspace --bins
STATEMENT_PATHS=$(bench_program statement_paths)
target/release/tenantctl migrate >/dev/null
echo "== 10 tenants with 2,000 contracts each"
for i in $(seq 0 9); do
  printf 'bench password 123\n' | target/release/tenantctl create "bench$i" \
    --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
  sql -c "
    insert into t_bench$i.contracts (title, contract_type, status, value, currency, owner_id,
        body, created_by, updated_by, created_at)
    select 'Agreement ' || g, 'msa', (array['draft','in_review','approved','executed'])[1 + g % 4],
      g, 'EUR', u.id, 'Body of agreement ' || g, u.id, u.id, now() - (g || ' minutes')::interval
    from generate_series(1, 2000) g, (select id from t_bench$i.users limit 1) u;
    analyze t_bench$i.contracts;"
done

echo "== SQL level (pgbench, 8 clients, ${SECONDS_PER_RUN}s each): transactions per second"
PGB_SCRIPT=$(mktemp --suffix=.sql)
for mode in prepared extended; do
  for tenants in 1 10; do
    cat >"$PGB_SCRIPT" <<SQL
\set n random(0, $((tenants - 1)))
BEGIN;
SELECT set_config('search_path', 't_bench' || :n || ', public', true);
SELECT id, title, status, created_at FROM contracts WHERE status = 'draft' ORDER BY created_at DESC, id DESC LIMIT 50;
COMMIT;
SQL
    tps=$("$PGBENCH" -n -M "$mode" -c 8 -j 2 -T "$SECONDS_PER_RUN" -f "$PGB_SCRIPT" "$DATABASE_URL" 2>/dev/null |
      awk '/^tps/ {print $3}')
    echo "   -M $mode, $tenants tenant(s): $tps tps"
  done
done
rm -f "$PGB_SCRIPT"

BOUNCER_DIR=$(mktemp -d)
chmod 777 "$BOUNCER_DIR"
PG_HOSTPORT="${BASE#*@}"
cat >"$BOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=${PG_HOSTPORT%:*} port=${PG_HOSTPORT##*:}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $BOUNCER_DIR/users.txt
pool_mode = transaction
default_pool_size = $POOL
max_client_conn = 1000
logfile = $BOUNCER_DIR/pgbouncer.log
pidfile = $BOUNCER_DIR/pgbouncer.pid
INI
echo '"postgres" ""' >"$BOUNCER_DIR/users.txt"
chmod -R a+rwX "$BOUNCER_DIR"
AS_USER=()
[ "$(id -u)" = 0 ] && AS_USER=(-u postgres)

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$BOUNCER_DIR"' EXIT
"$PGBOUNCER" "${AS_USER[@]}" "$BOUNCER_DIR/pgbouncer.ini" 2>/dev/null &
PIDS+=("$!")

# The servers compared: name, then the environment that makes it. Every one has a pool
# of $POOL; they are started together and measured in alternating rounds.
SERVERS=(
  "direct|"
  "pgbouncer|DATABASE_URL=postgres://postgres@127.0.0.1:$BOUNCER_PORT/pactum_bench_tenants PACTUM_DIRECT_DATABASE_URL=$DATABASE_URL PACTUM_DB_POOLER=transaction"
  "no-affinity|PACTUM_DB_TENANT_AFFINITY=0"
  "no-per-schema|PACTUM_DB_STATEMENTS_PER_SCHEMA=0"
  "neither|PACTUM_DB_TENANT_AFFINITY=0 PACTUM_DB_STATEMENTS_PER_SCHEMA=0"
)
# BENCH_PREVIOUS=path/to/an/older/pactum adds that binary, straight to PostgreSQL.
[ -n "${BENCH_PREVIOUS:-}" ] && SERVERS+=("previous|")
declare -A PORT_OF
next_port=$PORT
for entry in "${SERVERS[@]}"; do
  name=${entry%%|*}
  settings=${entry#*|}
  binary=target/release/pactum
  [ "$name" = previous ] && binary=$BENCH_PREVIOUS
  # shellcheck disable=SC2086
  env $settings PACTUM_BIND="127.0.0.1:$next_port" PACTUM_DB_POOL_SIZE="$POOL" RUST_LOG=warn \
    "$binary" 2>>/tmp/pactum-bench-tenants.log &
  PIDS+=("$!")
  PORT_OF[$name]=$next_port
  next_port=$((next_port + 1))
done
for name in "${!PORT_OF[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:${PORT_OF[$name]}/readyz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
done

echo "== statement paths for a transaction pooler (benches/statement_paths.rs: one connection, 2,000 units of work, 5 rounds, medians)"
echo "   straight to PostgreSQL:"
"$STATEMENT_PATHS" t_bench0 2000 5
echo "   through PgBouncer:"
DATABASE_URL="postgres://postgres@127.0.0.1:$BOUNCER_PORT/pactum_bench_tenants" \
  "$STATEMENT_PATHS" t_bench0 2000 5

ONE=$(mktemp --suffix=.lua)
TEN=$(mktemp --suffix=.lua)
echo "local targets = {" >"$TEN"
for i in $(seq 0 9); do
  token=$(curl -sf "http://127.0.0.1:${PORT_OF[direct]}/api/v1/auth/login" -H "host: bench$i.localhost" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"admin@bench$i.example\",\"password\":\"bench password 123\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  echo "  {\"bench$i.localhost\", \"$token\"}," >>"$TEN"
  [ "$i" = 0 ] && echo "local targets = { {\"bench0.localhost\", \"$token\"} }" >"$ONE"
done
echo "}" >>"$TEN"
for script in "$ONE" "$TEN"; do
  append_rotating_request "$script"
done

rps() { # port lua path
  wrk -t2 -c32 -d"${SECONDS_PER_RUN}s" -s "$2" "http://127.0.0.1:$1$3" |
    awk '/Non-2xx/ {bad=1} /Requests\/sec/ {rps=$2} END {print (bad ? "ERR" : rps)}'
}

CONTRACTS="/api/v1/contracts?status=draft&limit=50"
declare -A RESULTS
LABELS=()
for entry in "${SERVERS[@]}"; do
  for tenants in 1 10; do LABELS+=("$CONTRACTS|${entry%%|*}|$tenants"); done
done
for server in direct pgbouncer; do
  for tenants in 1 10; do LABELS+=("/api/v1/auth/me|$server|$tenants"); done
done
echo "== HTTP, 32 connections, $ROUNDS alternating rounds of ${SECONDS_PER_RUN}s (req/s)"
for round in $(seq "$ROUNDS"); do
  for label in "${LABELS[@]}"; do
    IFS='|' read -r path server tenants <<<"$label"
    lua=$ONE; [ "$tenants" = 10 ] && lua=$TEN
    RESULTS[$label]="${RESULTS[$label]:-} $(rps "${PORT_OF[$server]}" "$lua" "$path")"
  done
  echo "   round $round done"
done
for label in "${LABELS[@]}"; do
  IFS='|' read -r path server tenants <<<"$label"
  # shellcheck disable=SC2086
  printf '   %-42s %-13s %2s tenant(s): median %6s  (rounds:%s)\n' "$path" "$server" "$tenants" \
    "$(median ${RESULTS[$label]})" "${RESULTS[$label]}"
done
for label in "${LABELS[@]}"; do
  IFS='|' read -r path server tenants <<<"$label"
  [ "$tenants" = 10 ] || continue
  # shellcheck disable=SC2086
  one=$(median ${RESULTS["$path|$server|1"]}); ten=$(median ${RESULTS["$path|$server|10"]})
  awk -v p="$path" -v s="$server" -v a="$one" -v b="$ten" \
    'BEGIN { printf "   %s %s: 10 tenants at %.0f%% of 1 tenant\n", p, s, 100 * b / a }'
done
rm -f "$ONE" "$TEN"
# Servers and PgBouncer first, so that dropping the database closes no live pool.
kill "${PIDS[@]}" 2>/dev/null || true
wait 2>/dev/null || true
drop_bench_database pactum_bench_tenants
