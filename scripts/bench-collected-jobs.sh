#!/usr/bin/env bash
# What a unit of work's notifier job costs PostgreSQL: one upsert of the job row per
# event (how it was written before, `insert ... on conflict do update` appending the
# event to the row's items) against one insert at commit with every item (how
# `enqueue_collecting` writes it now). pgbench, on the private cluster (or
# DATABASE_URL's server), in a fresh database with the shared migrations and 100
# tenants; each transaction is one unit of work of a random tenant recording
# BENCH_EVENTS events (3: a deadline with two late approvals; 64: a tenant's due
# deadlines taken together). The queue is emptied before each round; rounds alternate.
#
#   scripts/bench-collected-jobs.sh
#
#   BENCH_EVENTS ("3 64") BENCH_CLIENTS (8) BENCH_SECONDS (6) BENCH_ROUNDS (5)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EVENTS="${BENCH_EVENTS:-3 64}"
CLIENTS="${BENCH_CLIENTS:-8}"
SECONDS_PER_ROUND="${BENCH_SECONDS:-6}"
ROUNDS="${BENCH_ROUNDS:-5}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

cargo build --release --locked -p tenantctl
fresh_bench_database pactum_bench_collected
target/release/tenantctl migrate --shared >/dev/null
"$PSQL" -q "$DATABASE_URL" -c "insert into public.tenants (slug, name, schema_name, status) \
  select 'c' || i, 'C', 't_c' || i, 'active' from generate_series(1, 100) i"
PGBENCH="$(dirname "$PSQL")/pgbench"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"; drop_bench_database pactum_bench_collected' EXIT

# The tenant of a unit of work: one of the 100, at random.
TENANT="select id as tenant from public.tenants order by slug offset (:n - 1) limit 1 \\gset"
for n in $EVENTS; do
  {
    echo '\set n random(1, 100)'
    echo "$TENANT"
    echo 'begin;'
    for i in $(seq 1 "$n"); do
      echo "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, max_attempts, timeout_ms, unique_key, created_at) select :tenant::uuid, 'notifications.from_event', 'default', jsonb_build_object('items', jsonb_build_array($i)), 1, 'available', now(), greatest(now(), coalesce((select max(fair_at) from public.jobs where tenant_id = :tenant::uuid and state = 'available'), now())), 10, 30000, 'xact:' || pg_current_xact_id()::text, now() on conflict (tenant_id, kind, unique_key) where unique_key is not null and state in ('scheduled', 'available', 'held', 'running', 'retryable') do update set args = jsonb_set(public.jobs.args, '{items}', (public.jobs.args -> 'items') || (excluded.args -> 'items'));"
    done
    echo 'commit;'
  } >"$WORK/per-event-$n.sql"
  items=$(seq -s, 1 "$n")
  {
    echo '\set n random(1, 100)'
    echo "$TENANT"
    echo 'begin;'
    echo "insert into public.jobs (tenant_id, kind, queue, args, priority, state, run_at, fair_at, max_attempts, timeout_ms, created_at) select :tenant::uuid, 'notifications.from_event', 'default', jsonb_build_object('items', '[$items]'::jsonb), 1, 'available', now(), greatest(now(), coalesce((select max(fair_at) from public.jobs where tenant_id = :tenant::uuid and state = 'available'), now())), 10, 30000, now();"
    echo 'commit;'
  } >"$WORK/at-commit-$n.sql"
done

tps() {
  "$PSQL" -q "$DATABASE_URL" -c "truncate public.jobs" -c "vacuum analyze public.jobs"
  "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_ROUND" -f "$1" "$DATABASE_URL" 2>/dev/null |
    awk '/^tps/ {printf "%d", $3}'
}

echo "units of work per second, $CLIENTS clients, $SECONDS_PER_ROUND s rounds, alternating"
for n in $EVENTS; do
  per_event=() at_commit=()
  for round in $(seq 1 "$ROUNDS"); do
    per_event+=("$(tps "$WORK/per-event-$n.sql")")
    at_commit+=("$(tps "$WORK/at-commit-$n.sql")")
    echo "  $n events, round $round: an upsert per event ${per_event[-1]}, one insert at commit ${at_commit[-1]}"
  done
  a=$(median "${per_event[@]}") b=$(median "${at_commit[@]}")
  echo "$n events a unit of work: an upsert per event $a/s, one insert at commit $b/s (medians), $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2fx", b / a}')"
done
