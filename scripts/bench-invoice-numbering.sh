#!/usr/bin/env bash
# What numbering invoices without gaps costs: 32 clients creating invoices for
# BENCH_SECONDS (default 60) each round, with the number taken from the tenant's
# counter row in the same transaction (as `POST /api/v1/invoices` does), and, in
# alternating rounds, the same insert with a number that needs no counter (a random
# UUID). BENCH_ROUNDS (default 3) pairs; medians and their ratio. After each numbered
# round the numbers of the period are checked: exactly 1..N, no gap, no duplicate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_PER_ROUND="${BENCH_SECONDS:-60}"
ROUNDS="${BENCH_ROUNDS:-3}"
CLIENTS="${BENCH_CLIENTS:-32}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_invoices
sql() { "$PSQL" -q -v ON_ERROR_STOP=1 "$BASE/pactum_bench_invoices" "$@"; }
PGBENCH="$(ls /usr/lib/postgresql/*/bin/pgbench | tail -n1)"

cargo build --release --locked -p tenantctl
target/release/tenantctl migrate >/dev/null
printf 'bench password 123\n' | target/release/tenantctl create bench0 \
  --domain bench0.localhost --admin-email admin@bench0.example >/dev/null
SCRIPTS=$(mktemp -d)
trap 'rm -rf "$SCRIPTS"; drop_bench_database pactum_bench_invoices' EXIT
account=$(sql -tA -c "insert into t_bench0.counterparties (name) values ('Initech') returning id")
role=$(sql -tA -c "select role_name from public.tenants where slug = 'bench0'")
opening="BEGIN;
SET LOCAL search_path TO \"t_bench0\", public;
SET LOCAL ROLE \"$role\";"
cat >"$SCRIPTS/numbered.sql" <<SQL
$opening
insert into t_bench0.invoice_counters (period, last_number) values ('2026', 1) on conflict (period) do update set last_number = t_bench0.invoice_counters.last_number + 1 returning last_number \gset
insert into t_bench0.invoices (number, account_id, currency, issue_date, due_date) values ('INV-2026-' || lpad(:last_number::text, 7, '0'), '$account', 'EUR', '2026-12-01', '2026-12-31');
COMMIT;
SQL
cat >"$SCRIPTS/plain.sql" <<SQL
$opening
insert into t_bench0.invoices (number, account_id, currency, issue_date, due_date) values (gen_random_uuid()::text, '$account', 'EUR', '2026-12-01', '2026-12-31');
COMMIT;
SQL

round() { # label script
  "$PGBENCH" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_ROUND" -f "$2" "$DATABASE_URL" 2>&1 |
    awk -v label="$1" '/^latency average/ {lat=$4} /^tps/ {tps=$3} END {printf "%s %s %s\n", label, tps, lat}'
}
RESULTS="$SCRIPTS/results"
for r in $(seq "$ROUNDS"); do
  round numbered "$SCRIPTS/numbered.sql" | tee -a "$RESULTS"
  sql -tA -c "select count(*), count(distinct number), max(number) from t_bench0.invoices where number like 'INV-2026-%'" |
    awk -F'|' '{ok = ($1 == $2 && $3 == sprintf("INV-2026-%07d", $1)); printf "   numbered so far: %d invoices, %d distinct numbers, the last %s: %s\n", $1, $2, $3, ok ? "no gap, no duplicate" : "GAP OR DUPLICATE"; if (!ok) exit 1}'
  round plain "$SCRIPTS/plain.sql" | tee -a "$RESULTS"
done
median_of_lines() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
numbered=$(awk '$1 == "numbered" {print $2}' "$RESULTS" | median_of_lines)
plain=$(awk '$1 == "plain" {print $2}' "$RESULTS" | median_of_lines)
echo "== medians of $ROUNDS alternating rounds of ${SECONDS_PER_ROUND}s, $CLIENTS clients"
echo "numbered: $numbered invoices/s; plain: $plain invoices/s"
awk -v a="$numbered" -v b="$plain" 'BEGIN {printf "numbered/plain: %.3f\n", a / b}'
pairs=$(awk '$1 == "numbered" {n=$2} $1 == "plain" {printf "%.3f\n", n / $2}' "$RESULTS")
echo "numbered/plain, pair by pair: $(echo $pairs); median $(echo "$pairs" | median_of_lines)"
