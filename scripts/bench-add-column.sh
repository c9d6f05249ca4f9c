#!/usr/bin/env bash
# What adding a column to an existing tenant table costs, by the form of the column, in
# a database that holds tenants: the statement a fleet migration runs once per tenant
# schema. Each form on one tenant's `contracts` table in a transaction rolled back, for
# SAMPLES tenants (default 5), side by side; psql's \timing, in ms, the median and the
# slowest. Run it against a database holding many tenants and against one holding few
# to see which forms grow with the catalog (docs/benchmarks.md, "Provisioning and
# migration").
#
# Filling a column writes every row, so BENCH_ROWS (default 0) seeds that many
# contracts into each sampled tenant first (scripts/bench-common.sh, seed_contracts):
# the database is changed, so give it a benchmark's database.
#
#   DATABASE_URL=postgres://.../db-with-tenants scripts/bench-add-column.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
URL="${DATABASE_URL:?set DATABASE_URL to a database that holds tenants}"
SAMPLES="${1:-5}"
ROWS="${BENCH_ROWS:-0}"
PSQL="$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n1)"
PSQL="${PSQL:-psql}"
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
# One form per line: its label, a tab, the statements (run in one transaction, timed
# together).
FORMS="$(
  cat <<'FORMS'
not null with a default	alter table contracts add column probe text not null default 'x';
stored generated	alter table contracts add column probe text generated always as (lower(title)) stored;
nullable	alter table contracts add column probe text;
nullable with a default	alter table contracts add column probe text default 'x';
with a default and a check that it is present	alter table contracts add column probe text default 'x' check (probe is not null);
with a default, then set not null	alter table contracts add column probe text default 'x'; alter table contracts alter column probe set not null;
nullable, then a default for new rows	alter table contracts add column probe text; alter table contracts alter column probe set default 'x';
nullable, then a default, filled, set not null	alter table contracts add column probe text; alter table contracts alter column probe set default 'x'; update contracts set probe = 'x'; alter table contracts alter column probe set not null;
nullable, then a default, filled, a check	alter table contracts add column probe text; alter table contracts alter column probe set default 'x'; update contracts set probe = 'x'; alter table contracts add constraint probe_present check (probe is not null);
FORMS
)"

echo "tenants: $("$PSQL" -qAtX "$URL" -c "select count(*) from public.tenants"), relations in pg_class: $("$PSQL" -qAtX "$URL" -c "select count(*) from pg_class")"
times="$(mktemp)"
trap 'rm -f "$times"' EXIT
SCHEMAS="$("$PSQL" -qAtX "$URL" -c "select schema_name from public.tenants order by created_at limit $SAMPLES")"
if [ "$ROWS" -gt 0 ]; then
  for schema in $SCHEMAS; do seed_contracts "$URL" "$schema" "$ROWS"; done
fi
echo "contracts in each sampled tenant: $("$PSQL" -qAtX "$URL" -c "select count(*) from $(echo "$SCHEMAS" | head -n1).contracts")"
for schema in $SCHEMAS; do
  while IFS=$'\t' read -r label statements; do
    # Statement by statement, the times of the form's statements summed.
    total="$(
      {
        echo "set search_path to \"$schema\";"
        echo 'begin;'
        echo '\timing on'
        echo "$statements" | tr ';' '\n' | sed '/^ *$/d; s/$/;/'
        echo '\timing off'
        echo 'rollback;'
      } | "$PSQL" -qX -v ON_ERROR_STOP=1 "$URL" 2>&1 |
        awk '/^Time: / { sum += $2; n++ } END { if (n) printf "%.2f", sum; else print "failed" }'
    )"
    printf '%s\t%s\n' "$label" "$total" >>"$times"
  done <<<"$FORMS"
done
echo "| form of the added column | median ms | slowest ms |"
echo "| --- | ---: | ---: |"
while IFS=$'\t' read -r label _; do
  values="$(awk -F'\t' -v l="$label" '$1 == l { print $2 }' "$times" | sort -n)"
  median="$(echo "$values" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
  echo "| $label | $median | $(echo "$values" | tail -n1) |"
done <<<"$FORMS"
