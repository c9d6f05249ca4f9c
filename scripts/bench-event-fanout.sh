#!/usr/bin/env bash
# What recording an event costs PostgreSQL with the webhook fan-out as its own
# statement (the webhooks area's reaction to every event) against the single statement
# the kernel used to send (the audit row, the endpoints that want it and their
# messages, in one CTE). pgbench on one tenant schema, prepared statements as the
# server uses them, in alternating rounds, with no endpoint and with two endpoints that
# want every event. The delivery jobs are left out: both ways enqueue the same ones.
#
#   bash scripts/bench-event-fanout.sh            # BENCH_ROUNDS (5) x BENCH_SECONDS (10)
#
# Uses DATABASE_URL's server when set, else the private cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bench-common.sh

ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_PER_ROUND=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
fresh_bench_database pactum_bench_fanout
trap 'drop_bench_database pactum_bench_fanout' EXIT
PGBENCH="$(dirname "$PSQL")/pgbench"

cargo build --quiet --locked -p tenantctl
target/debug/tenantctl migrate >/dev/null
target/debug/tenantctl create fanout --domain fanout.localhost --cold >/dev/null

WORK=$(mktemp -d)
trap 'drop_bench_database pactum_bench_fanout; rm -rf "$WORK"' EXIT
VALUES="(null, 'system', 'update', 'contract', gen_random_uuid(), '{\"title\": {\"old\": \"a\", \"new\": \"b\"}}', '127.0.0.1', 'bench', 'r' || :n)"
COLUMNS="(actor_id, actor_kind, action, entity, entity_id, changes, ip, user_agent, request_id)"
cat >"$WORK/one-statement.sql" <<SQL
\set n random(1, 1000000000)
begin;
set local search_path to t_fanout, public;
with event as (insert into audit_logs $COLUMNS values $VALUES returning id, event_type, at), targets as (select w.id, w.enabled from webhook_endpoints w, event where event.event_type = any(w.event_types) or '*' = any(w.event_types) or split_part(event.event_type, '.', 1) || '.*' = any(w.event_types)), messages as (insert into webhook_messages (endpoint_id, event_id, created_at) select targets.id, event.id, event.at from targets, event) select event.id, event.event_type, array(select id from targets where enabled) from event;
commit;
SQL
cat >"$WORK/two-statements.sql" <<SQL
\set n random(1, 1000000000)
begin;
set local search_path to t_fanout, public;
insert into audit_logs $COLUMNS values $VALUES returning id as event_id, event_type, at as event_at \gset
with targets as (select id, enabled from webhook_endpoints where :event_type::text = any(event_types) or '*' = any(event_types) or split_part(:event_type::text, '.', 1) || '.*' = any(event_types)), messages as (insert into webhook_messages (endpoint_id, event_id, created_at) select id, :event_id, :event_at::timestamptz from targets) select array(select id from targets where enabled);
commit;
SQL

run() { # FILE -> "tps latency_ms"
  "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_ROUND" -f "$1" "$DATABASE_URL" 2>&1 |
    awk '/^latency average/ {lat = $4} /^tps/ {tps = $3} END {printf "%.0f %.3f\n", tps, lat}'
}

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

for endpoints in 0 2; do
  "$PSQL" -q "$DATABASE_URL" -c "delete from t_fanout.webhook_messages" \
    -c "delete from t_fanout.webhook_endpoints" >/dev/null
  for i in $(seq 1 "$endpoints"); do
    "$PSQL" -q "$DATABASE_URL" -c "insert into t_fanout.webhook_endpoints (url, event_types, secret) values ('https://hooks$i.example/in', '{*}', 'whsec_bench')" >/dev/null
  done
  : >"$WORK/one" && : >"$WORK/two"
  for round in $(seq 1 "$ROUNDS"); do
    run "$WORK/one-statement.sql" >>"$WORK/one"
    run "$WORK/two-statements.sql" >>"$WORK/two"
  done
  one_tps=$(cut -d' ' -f1 "$WORK/one" | median); two_tps=$(cut -d' ' -f1 "$WORK/two" | median)
  one_lat=$(cut -d' ' -f2 "$WORK/one" | median); two_lat=$(cut -d' ' -f2 "$WORK/two" | median)
  echo "endpoints wanting every event: $endpoints ($ROUNDS alternating rounds of ${SECONDS_PER_ROUND} s, $CLIENTS clients, medians)"
  echo "  one statement:  $one_tps events/s, $one_lat ms a transaction (rounds: $(cut -d' ' -f1 "$WORK/one" | tr '\n' ' '))"
  echo "  two statements: $two_tps events/s, $two_lat ms a transaction (rounds: $(cut -d' ' -f1 "$WORK/two" | tr '\n' ' '))"
  awk -v a="$two_tps" -v b="$one_tps" -v c="$two_lat" -v d="$one_lat" \
    'BEGIN {printf "  two / one: throughput %.3f, latency %.3f\n", a / b, c / d}'
done
