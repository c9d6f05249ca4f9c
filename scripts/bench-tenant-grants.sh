#!/usr/bin/env bash
# What giving a tenant role its schema costs, the two ways PostgreSQL offers, in a
# database that holds tenants: `GRANT ... ON ALL TABLES / SEQUENCES IN SCHEMA`, which
# scans the whole of pg_class once per kind of table, against the grants provisioning
# and `tenantctl migrate` write (the schema's tables and sequences listed through
# pg_depend's index, then one GRANT naming them). Each in a transaction rolled back, for
# SAMPLES tenants (default 5), side by side; psql's \timing, in ms.
#
#   DATABASE_URL=postgres://.../db-with-tenants scripts/bench-tenant-grants.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
URL="${DATABASE_URL:?set DATABASE_URL to a database that holds tenants}"
SAMPLES="${1:-5}"
PSQL="$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n1)"
PSQL="${PSQL:-psql}"
RELATIONS="from pg_namespace n join pg_depend d on d.refclassid = 'pg_namespace'::regclass \
  and d.refobjid = n.oid and d.classid = 'pg_class'::regclass and d.deptype = 'n' \
  join pg_class c on c.oid = d.objid where n.nspname = :'schema'"

echo "tenants: $("$PSQL" -qAtX "$URL" -c "select count(*) from public.tenants"), relations in pg_class: $("$PSQL" -qAtX "$URL" -c "select count(*) from pg_class")"
echo "| tenant | listed: list + tables + sequences | schema-wide: tables + sequences |"
echo "| --- | ---: | ---: |"
"$PSQL" -qAtX -F' ' "$URL" -c "select schema_name, role_name from public.tenants where role_name is not null \
    order by created_at limit $SAMPLES" |
  while read -r schema role; do
    timings="$(
      "$PSQL" -X -v ON_ERROR_STOP=1 -v schema="$schema" -v role="$role" "$URL" 2>&1 <<SQL | awk '/^Time: / {print $2}'
select string_agg(format('%I.%I', n.nspname, c.relname), ', ') filter (where c.relkind <> 'S') as tables,
       string_agg(format('%I.%I', n.nspname, c.relname), ', ') filter (where c.relkind = 'S') as sequences
  $RELATIONS and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') \gset
\timing on
begin;
select c.relkind = 'S', format('%I.%I', n.nspname, c.relname) $RELATIONS
  and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') order by 2 \g /dev/null
grant select, insert, update, delete on table :tables to :"role";
grant usage, select, update on sequence :sequences to :"role";
rollback;
begin;
grant select, insert, update, delete on all tables in schema :"schema" to :"role";
grant usage, select, update on all sequences in schema :"schema" to :"role";
rollback;
SQL
    )"
    # The timings in order: begin, list, tables, sequences, rollback, begin, tables,
    # sequences, rollback.
    echo "$timings" | awk -v t="$schema" '{ v[NR] = $1 }
      END { printf "| %s | %.1f ms (%.1f + %.1f + %.1f) | %.1f ms (%.1f + %.1f) |\n", t,
            v[2] + v[3] + v[4], v[2], v[3], v[4], v[7] + v[8], v[7], v[8] }'
  done
