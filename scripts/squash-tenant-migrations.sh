#!/usr/bin/env bash
# Squashes the tenant migrations into the schema they build, for the cold path.
#
# Replaying every migration costs more the bigger the database: each ALTER TABLE that
# adds a NOT NULL column with a default, or a stored generated column, scans catalogs
# that grow with the number of tenants (docs/benchmarks.md, "Provisioning and
# migration"). A new schema built from the squashed baseline creates each table whole
# instead, then replays only the migrations written after the baseline.
#
# This replays migrations/tenant into a scratch database, dumps the schema it built
# (structure and the rows the migrations seed) with pg_dump, rewrites the dump into
# unqualified, one-statement-at-a-time SQL that keeps to the Citus rules of
# migrations/README.md, and writes migrations/baseline/tenant.sql with the digest of the
# migration files it stands for. The server uses the baseline only while that digest
# matches the migrations compiled into it, and the tests check that the baseline and
# the replay build the same schema. Run it after adding migrations; the tests ask for a
# new baseline once ten migrations come after it.
#
#   scripts/squash-tenant-migrations.sh    (DATABASE_URL's server, else the private cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BASELINE=migrations/baseline/tenant.sql
SERVER_URL="${DATABASE_URL:-$(bash scripts/pg.sh url)}"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V | tail -n1)"
PSQL="${PG_BIN:+$PG_BIN/}psql"
PG_DUMP="${PG_BIN:+$PG_BIN/}pg_dump"
DATABASE="pactum_squash_$$"
SCHEMA=pactum_squash
# The URL of another database on the same server: swap the path, keep the query.
database_url() {
  local base="${SERVER_URL%%\?*}" query=""
  [[ "$SERVER_URL" == *\?* ]] && query="?${SERVER_URL#*\?}"
  echo "${base%/*}/$1$query"
}
URL="$(database_url "$DATABASE")"
work="$(mktemp -d)"
trap 'rm -rf "$work"; "$PSQL" -qX "$SERVER_URL" -c "drop database if exists $DATABASE" >/dev/null 2>&1 || true' EXIT

# shellcheck source=scripts/lib/migrations.sh
source scripts/lib/migrations.sh

"$PSQL" -qX -v ON_ERROR_STOP=1 "$SERVER_URL" -c "create database $DATABASE" >/dev/null
{
  for file in $(migrations_in_version_order migrations/public); do
    cat "migrations/public/$file"
    echo ";"
  done
  # As a cold build runs them: in the new schema, with nothing else on the path.
  echo "create schema $SCHEMA; set search_path to $SCHEMA;"
  for file in $(migrations_in_version_order migrations/tenant); do
    cat "migrations/tenant/$file"
    echo ";"
  done
} >"$work/replay.sql"
"$PSQL" -qX -v ON_ERROR_STOP=1 "$URL" -f "$work/replay.sql" >/dev/null

"$PG_DUMP" --schema="$SCHEMA" --no-owner --no-privileges --inserts "$URL" >"$work/dump.sql" 2>"$work/dump.err" \
  || { cat "$work/dump.err" >&2; exit 1; }
# The migrations seed rows but never advance a sequence: a dump that does would need
# its setval kept, and this script does not know how to keep it Citus-safe.
if grep '^SELECT pg_catalog.setval' "$work/dump.sql" | grep -vq ', 1, false);$'; then
  echo "squash: a migration advances a sequence; the baseline cannot express that yet" >&2
  exit 1
fi

# pg_dump adds identity to a column with ALTER TABLE, which Citus refuses on a
# distributed table; the first pass collects those, the second writes them into the
# column's definition in CREATE TABLE. Session settings, comments, the schema's name
# and ONLY (no tenant table has children) go.
awk -v schema="$SCHEMA." '
  function unqualified(line) { gsub(schema, "", line); return line }
  FNR == NR {
    if (collecting) {
      if ($0 ~ /^\);$/) { identity[key] = identity[key] ")"; collecting = 0 }
      else { option = unqualified($0); sub(/^ +/, "", option); identity[key] = identity[key] " " option }
    } else if ($0 ~ /^ALTER TABLE .* ALTER COLUMN .* ADD GENERATED .* AS IDENTITY \($/) {
      key = unqualified($3) SUBSEP $6
      spec = $0; sub(/^.* ADD /, "", spec); identity[key] = spec
      collecting = 1
    }
    next
  }
  /^--/ || /^SET / || /^SELECT pg_catalog\.(set_config|setval)/ || /^\\(un)?restrict / || /^CREATE SCHEMA / { next }
  skipping { if ($0 ~ /^\);$/) skipping = 0; next }
  /^ALTER TABLE .* ALTER COLUMN .* ADD GENERATED .* AS IDENTITY \($/ { skipping = 1; next }
  {
    line = unqualified($0)
    sub(/^ALTER TABLE ONLY /, "ALTER TABLE ", line)
    if (line ~ /^CREATE TABLE /) { table = $3; gsub(schema, "", table) }
    if (line ~ /^\);$/) table = ""
    if (table != "" && line ~ /^    [a-z_0-9]+ /) {
      split(line, words, " "); key = table SUBSEP words[1]
      if (key in identity) {
        comma = sub(/,$/, "", line)
        line = line " " identity[key] (comma ? "," : "")
        delete identity[key]
      }
    }
    print line
  }
  END { for (key in identity) { split(key, parts, SUBSEP); print "squash: no column for the identity of " parts[1] "." parts[2] > "/dev/stderr"; exit 1 } }
' "$work/dump.sql" "$work/dump.sql" | cat -s >"$work/body.sql"

if grep -q "$SCHEMA" "$work/body.sql"; then
  echo "squash: the schema's name survived the rewrite:" >&2
  grep -n "$SCHEMA" "$work/body.sql" >&2
  exit 1
fi

# What the baseline stands for: every migration file, in version order, with its name.
# MigrationSet::tenant() computes the same digest from the files compiled into the
# server and ignores a baseline whose digest differs.
digest="$(
  for file in $(migrations_in_version_order migrations/tenant); do
    printf '%s\n' "${file%.sql}"
    cat "migrations/tenant/$file"
    printf '\n'
  done | sha256sum | cut -d' ' -f1
)"
latest="$(migrations_in_version_order migrations/tenant | tail -n1 | sed 's/^V\([0-9]*\)__.*/\1/')"
mkdir -p "$(dirname "$BASELINE")"
{
  echo "-- The tenant schema that migrations V1 to V$latest build, squashed: what a cold build"
  echo "-- runs instead of replaying them. Written by scripts/squash-tenant-migrations.sh from"
  echo "-- a replay of those files; do not edit it, run the script again."
  echo "-- squashes: $latest"
  echo "-- digest: $digest"
  cat "$work/body.sql"
} >"$BASELINE"
echo "squash: $BASELINE now stands for V1 to V$latest ($(grep -c ';$' "$BASELINE") statements)"
