#!/usr/bin/env bash
# The win rate and contract value by account at 100,000 records per tenant, before and
# after their partial covering indexes (and the win rate's grouping before its join),
# side by side: BENCH_ROUNDS (default 3) alternating rounds in one run, each statement
# repeated by pgbench on one connection for BENCH_SECONDS (default 8) per round. The
# "before" statements are those the routes ran until then; the "after" ones are read
# from src/dashboards/service.rs. PostgreSQL's side alone (the HTTP layer adds a few
# tenths of a millisecond: scripts/bench-crm.sh). PostgreSQL and pgbench on this
# machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_RUN="${BENCH_SECONDS:-8}"
ROUNDS="${BENCH_ROUNDS:-3}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_dashboards
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }
trap 'drop_bench_database pactum_bench_dashboards' EXIT
PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n1)"

cargo build --locked -p tenantctl
target/debug/tenantctl migrate >/dev/null
printf 'bench password 123\n' | target/debug/tenantctl create bench0 \
  --domain bench0.localhost --admin-email admin@bench0.example >/dev/null
echo "== seeding bench0: 100,000 contracts and 100,000 of each CRM record"
started=$(date +%s)
seed_crm "$DATABASE_URL"
sql -c "vacuum analyze t_bench0.contracts" -c "vacuum analyze t_bench0.opportunities"
echo "   seeded in $(( $(date +%s) - started )) s"

FROM="'$(date -d '-365 days' +%F)'"
TO="'$(date -d '+1 day' +%F)'"
# A statement of src/dashboards/service.rs: the string literal assigned to `sql` in fn $1.
statement_of() {
  sed -n "/^pub async fn $1(/,/^}/p" src/dashboards/service.rs |
    sed -n '/let sql = "/,/";$/p' | sed -e 's/^ *let sql = "//' -e 's/\\$//' -e 's/";$//' | tr -s ' '
}
declare -A BEFORE AFTER
BEFORE[win-rate]="select o.owner_id, u.display_name, o.currency, count(*) filter (where s.outcome = 'won'), count(*) filter (where s.outcome = 'lost'), round((count(*) filter (where s.outcome = 'won'))::numeric / count(*), 4)::text, coalesce(sum(o.amount) filter (where s.outcome = 'won'), 0)::text from opportunities o join pipeline_stages s on s.key = o.stage left join users u on u.id = o.owner_id where s.outcome <> 'open' and o.closed_at >= \$1::date and o.closed_at < \$2::date group by o.owner_id, u.display_name, o.currency order by u.display_name nulls last, o.owner_id, o.currency"
BEFORE[account-value]=$(statement_of account_value)
AFTER[win-rate]=$(statement_of win_rate)
AFTER[account-value]=$(statement_of account_value)
INDEXES=$(grep -v '^--' migrations/tenant/V48__dashboard_indexes.sql | tr '\n' ' ' | tr -s ' ')

# measure NAME STATEMENT: "p50 p99" in milliseconds.
measure() {
  local file logdir
  file=$(mktemp --suffix=.sql)
  printf 'set search_path to t_bench0, public;\n%s;\n' \
    "$(printf '%s' "$2" | sed -e "s/\\\$1/$FROM/g" -e "s/\\\$2/$TO/g")" > "$file"
  sql -f "$file" >/dev/null
  logdir=$(mktemp -d)
  (cd "$logdir" && "$PGBENCH" -n -c1 -T "$SECONDS_PER_RUN" -f "$file" -l "$DATABASE_URL" >/dev/null)
  cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n |
    awk '{a[NR]=$1} END {printf "%.2f %.2f\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}'
  rm -rf "$logdir" "$file"
}

echo "| dashboard | round | before p50 | before p99 | after p50 | after p99 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq "$ROUNDS"); do
  sql -c "set search_path to t_bench0; drop index if exists opportunities_closed_idx; drop index if exists contracts_account_value_idx"
  declare -A before=()
  for name in win-rate account-value; do before[$name]=$(measure "$name" "${BEFORE[$name]}"); done
  sql -c "set search_path to t_bench0; $INDEXES" -c "vacuum analyze t_bench0.contracts" \
    -c "vacuum analyze t_bench0.opportunities"
  for name in win-rate account-value; do
    read -r b50 b99 <<<"${before[$name]}"
    read -r a50 a99 <<<"$(measure "$name" "${AFTER[$name]}")"
    echo "| \`/dashboards/$name\` | $round | $b50 | $b99 | $a50 | $a99 |"
  done
done
