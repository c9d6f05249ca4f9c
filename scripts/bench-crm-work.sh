#!/usr/bin/env bash
# Tasks, activities, cases, the account timeline and the case SLA dashboard at
# 100,000 records each in one tenant: the statements their list pages and dashboard
# run (copied from src/activities, src/cases, src/dashboards with a caller's values),
# each repeated by pgbench on one connection for BENCH_SECONDS (default 10): p50 and
# p99 latency in milliseconds. PostgreSQL's side alone: the HTTP layer around it is
# measured for the other CRM lists by scripts/bench-crm.sh (a few tenths of a
# millisecond). PostgreSQL and pgbench on this machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-10}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_crm_work
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
trap 'drop_bench_database pactum_bench_crm_work' EXIT
PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n1)"

cargo build --locked -p tenantctl
target/debug/tenantctl migrate >/dev/null
printf 'bench password 123\n' | target/debug/tenantctl create bench0 \
  --domain bench0.localhost --admin-email admin@bench0.example >/dev/null
echo "== seeding bench0: 100,000 accounts, opportunities, tasks, activities and cases"
started=$(date +%s)
sql <<'SQL'
set search_path to t_bench0, public;
insert into counterparties (name) select 'Account ' || i from generate_series(1, 100000) i;
insert into opportunities (name, account_id, stage, amount, currency)
  select 'Deal ' || a.i, a.id, 'proposal', 1000, 'EUR'
  from (select id, row_number() over (order by id) i from counterparties) a;
insert into tasks (target_kind, target_id, title, assignee_id, due_at, priority, status, created_by, created_at, updated_at)
  select 'opportunity', o.id, 'Task ' || o.i,
         case when o.i % 10 = 0 then (select id from users limit 1) end,
         now() + ((o.i % 2000) - 1000) * interval '1 hour',
         (array['low','normal','high','urgent'])[(1 + o.i % 4)::int],
         (array['open','in_progress','done','cancelled'])[(1 + o.i % 4)::int], null, now(), now()
  from (select id, row_number() over (order by id) i from opportunities) o;
insert into activities (target_kind, target_id, kind, subject, occurred_at, author_id, created_at)
  select 'counterparty', a.id, (array['call','meeting','email','note'])[(1 + a.i % 4)::int],
         'Activity ' || a.i, now() - (a.i || ' minutes')::interval, null, now()
  from (select id, row_number() over (order by id) i from counterparties) a;
insert into cases (subject, account_id, priority, status, first_response_due_at, first_responded_at,
                   first_response_breached_at, resolution_due_at, resolved_at, resolution_breached_at,
                   created_at, updated_at)
  select 'Case ' || a.i, a.id, (array['low','normal','high','urgent'])[(1 + a.i % 4)::int],
         (array['new','open','pending','resolved','closed'])[(1 + a.i % 5)::int],
         now() - (a.i % 365) * interval '1 day' + interval '8 hours',
         case when a.i % 3 <> 0 then now() - (a.i % 365) * interval '1 day' + interval '2 hours' end,
         case when a.i % 3 = 0 then now() - (a.i % 365) * interval '1 day' + interval '8 hours' end,
         now() - (a.i % 365) * interval '1 day' + interval '40 hours',
         case when a.i % 5 >= 3 then now() - (a.i % 365) * interval '1 day' + interval '30 hours' end,
         case when a.i % 7 = 0 and a.i % 5 < 3 then now() - (a.i % 365) * interval '1 day' + interval '40 hours' end,
         now() - (a.i % 365) * interval '1 day', now()
  from (select id, row_number() over (order by id) i from counterparties) a;
analyze;
SQL
echo "   seeded in $(( $(date +%s) - started )) s"
ME=$(sql -tA -c "select id from t_bench0.users limit 1")
ACCOUNT=$(sql -tA -c "select id from t_bench0.counterparties where name = 'Account 777'")
TASKS="id, target_kind, target_id, title, notes, assignee_id, due_at, remind_at, priority, status, completed_at, created_by, created_at, updated_at"
ACTIVITIES="id, target_kind, target_id, kind, subject, body, occurred_at, duration_minutes, contact_ids, author_id, created_at"
CASES="id, number, subject, description, account_id, contract_id, contact_id, priority, status, assignee_id, first_response_due_at, first_responded_at, first_response_breached_at, resolution_due_at, resolved_at, resolution_breached_at, escalated_at, created_by, created_at, updated_at"

declare -A QUERIES=(
  ["GET /tasks?assignee=me&status=active"]="select $TASKS from tasks where assignee_id = '$ME' and status = any(array['open','in_progress']) order by coalesce(due_at, 'infinity'::timestamptz), id limit 51"
  ["GET /tasks?status=active&due_before=now"]="select $TASKS from tasks where status = any(array['open','in_progress']) and due_at < now() order by coalesce(due_at, 'infinity'::timestamptz), id limit 51"
  ["GET /activities?target_kind=counterparty&target_id=..."]="select $ACTIVITIES from activities where target_id = '$ACCOUNT' and target_kind = 'counterparty' order by occurred_at desc, id desc limit 51"
  ["GET /cases?status=active"]="select $CASES from cases where status = any(array['new','open','pending']) order by created_at desc, id desc limit 51"
  ["GET /cases?breached=true"]="select $CASES from cases where (first_response_breached_at is not null or resolution_breached_at is not null) = true order by created_at desc, id desc limit 51"
  ["GET /dashboards/case-sla"]="select p.priority, count(c.id), count(*) filter (where c.first_responded_at is not null and c.first_response_breached_at is null), count(c.first_response_breached_at), count(*) filter (where c.id is not null and c.first_responded_at is null and c.first_response_breached_at is null), count(*) filter (where c.resolved_at is not null and c.resolution_breached_at is null), count(c.resolution_breached_at), count(*) filter (where c.id is not null and c.resolved_at is null and c.resolution_breached_at is null) from case_sla_policies p left join cases c on c.priority = p.priority and c.created_at >= now() - interval '90 days' group by p.priority"
)
TIMELINE=$(sed -n '/^const TIMELINE_SQL/,/";$/p' src/activities/timeline.rs | sed -e '1s/.*= "//' -e 's/\\$//' -e 's/";$//' | tr -s ' ')
QUERIES["GET /counterparties/{id}/timeline"]=$(printf '%s' "$TIMELINE" | sed -e "s/\\\$1/'$ACCOUNT'/g" -e 's/\$2/51/g' -e 's/\$3::bigint is null or l.id < \$3/true/')

echo "| statement | p50 ms | p99 ms |"
echo "| --- | ---: | ---: |"
for name in "${!QUERIES[@]}"; do
  file=$(mktemp)
  printf 'set search_path to t_bench0, public;\n%s;\n' "${QUERIES[$name]}" > "$file.sql"
  # The statement must run before it is timed.
  sql -f "$file.sql" >/dev/null
  logdir=$(mktemp -d)
  (cd "$logdir" && "$PGBENCH" -n -c1 -T "$SECONDS_PER_RUN" -f "$file.sql" -l "$DATABASE_URL" >/dev/null)
  # Per transaction: the third column is its latency in microseconds.
  cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n |
    awk -v name="$name" '{a[NR]=$1} END {printf "| `%s` | %.2f | %.2f |\n", name, a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}'
  rm -rf "$logdir" "$file" "$file.sql"
done
