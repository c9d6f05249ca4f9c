#!/usr/bin/env bash
# What running every unit of work as its tenant's PostgreSQL role costs the database:
# the contracts page's transaction (the acting user's row, a filtered, sorted page of
# 50) over 10 tenants of 10,000 contracts each, a tenant at random per transaction,
# opened with `SET LOCAL ROLE` and, instead, with a `SET LOCAL` that changes nothing
# (work_mem to its default), from pgbench with prepared statements and 8 clients like
# the server's pool. Rounds alternate (BENCH_ROUNDS, default 7, of BENCH_SECONDS, default
# 6) because this machine's speed drifts between minutes; medians and their ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_ROUND="${BENCH_SECONDS:-6}"
ROUNDS="${BENCH_ROUNDS:-7}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_role
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$BASE/pactum_bench_role" "$@"; }
PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n1)"

cargo build --release --locked -p tenantctl
target/release/tenantctl migrate >/dev/null
echo "== seeding 10 tenants with 10,000 contracts each"
SCRIPTS=$(mktemp -d)
trap 'rm -rf "$SCRIPTS"; drop_bench_database pactum_bench_role' EXIT
WITH=() WITHOUT=()
for i in $(seq 0 9); do
  printf 'bench password 123\n' | target/release/tenantctl create "bench$i" \
    --domain "bench$i.localhost" --admin-email "admin@bench$i.example" >/dev/null
  seed_contracts "$DATABASE_URL" "t_bench$i" 10000
  admin=$(sql -tA -c "select id from t_bench$i.users limit 1")
  role=$(sql -tA -c "select role_name from public.tenants where slug = 'bench$i'")
  for variant in with without; do
    # pgbench sends each command on its own round trip (the server sends its opening
    # as one message), so "without" sets a setting that changes nothing instead: both
    # have the same round trips, and the difference is the role's own cost.
    opening="SET LOCAL search_path TO \"t_bench$i\", public;"
    if [ "$variant" = with ]; then
      opening="$opening
SET LOCAL ROLE \"$role\";"
    else
      opening="$opening
SET LOCAL work_mem TO '4MB';"
    fi
    # Tables schema-qualified: pgbench prepares before the SET LOCAL runs.
    cat >"$SCRIPTS/$variant-$i.sql" <<SQL
BEGIN READ ONLY;
$opening
select role, active from t_bench$i.users where id = '$admin';
select id, title, contract_type, status, value::text, currency, counterparty_id, owner_id, start_date, end_date, auto_renew, renewal_notice_days, tags, metadata, null::text, version, created_by, created_at, updated_by, updated_at from t_bench$i.contracts where status = 'executed' and contract_type = 'msa' and value >= '1000'::text::numeric order by created_at desc, id desc limit 51 offset 0;
COMMIT;
SQL
  done
  WITH+=(-f "$SCRIPTS/with-$i.sql")
  WITHOUT+=(-f "$SCRIPTS/without-$i.sql")
done
sql -c "vacuum analyze"

round() { # label, then pgbench's -f arguments
  local label=$1
  shift
  "$PGBENCH" -n -M prepared -c 8 -j 2 -T "$SECONDS_PER_ROUND" "$@" "$DATABASE_URL" 2>&1 |
    awk -v label="$label" '/^latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "%s %s %s\n", label, tps, lat}'
}
RESULTS="$SCRIPTS/results"
for r in $(seq "$ROUNDS"); do
  round with "${WITH[@]}" | tee -a "$RESULTS"
  round without "${WITHOUT[@]}" | tee -a "$RESULTS"
done
median_of_lines() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
with_tps=$(awk '$1 == "with" {print $2}' "$RESULTS" | median_of_lines)
without_tps=$(awk '$1 == "without" {print $2}' "$RESULTS" | median_of_lines)
with_lat=$(awk '$1 == "with" {print $3}' "$RESULTS" | median_of_lines)
without_lat=$(awk '$1 == "without" {print $3}' "$RESULTS" | median_of_lines)
echo "== medians of $ROUNDS alternating rounds of ${SECONDS_PER_ROUND}s, 8 clients, 10 tenants"
echo "with SET LOCAL ROLE:    $with_tps tps, latency average $with_lat ms"
echo "without:                $without_tps tps, latency average $without_lat ms"
awk -v a="$with_tps" -v b="$without_tps" 'BEGIN {printf "throughput with/without, of the medians: %.3f\n", a / b}'
# Each round beside the one after it ran on the machine as it was then: the ratio of
# each pair, and their median.
pairs=$(awk '$1 == "with" {w=$2} $1 == "without" {printf "%.3f\n", w / $2}' "$RESULTS")
echo "throughput with/without, pair by pair: $(echo $pairs); median $(echo "$pairs" | median_of_lines)"
