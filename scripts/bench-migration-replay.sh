#!/usr/bin/env bash
# What each statement of the tenant migrations costs in a given database: replays
# migrations/tenant in version order, statement by statement (psql, \timing), into a
# new schema of DATABASE_URL's database, prints the total and every statement slower
# than THRESHOLD_MS (default 40) with its migration, then drops the schema. Run it
# against an empty database and against one holding many tenants to see which
# statements grow with the catalog (the cold-path figures in docs/benchmarks.md,
# "Provisioning and migration").
#
#   DATABASE_URL=postgres://... scripts/bench-migration-replay.sh [THRESHOLD_MS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/migrations.sh
source scripts/lib/migrations.sh
THRESHOLD_MS="${1:-40}"
URL="${DATABASE_URL:?set DATABASE_URL to the database to replay into}"
PSQL="$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n1)"
PSQL="${PSQL:-psql}"
SCHEMA="t_replay_probe_$$"
script="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$script" "$out"; "$PSQL" -qX "$URL" -c "drop schema if exists $SCHEMA cascade" >/dev/null 2>&1 || true' EXIT
{
  echo '\timing on'
  echo "create schema $SCHEMA;"
  echo "set search_path to $SCHEMA, public;"
  for file in $(migrations_in_version_order migrations/tenant); do
    echo "\\echo MIGRATION $file"
    cat "migrations/tenant/$file"
    echo
  done
} >"$script"
"$PSQL" -X -e -v ON_ERROR_STOP=1 "$URL" -f "$script" >"$out" 2>&1 || { tail -n 5 "$out" >&2; exit 1; }
echo "tenants in the database: $("$PSQL" -qAtX "$URL" -c "select count(*) from public.tenants" 2>/dev/null || echo '?')"
# psql echoes each statement, then its time: the lines since the last time are the
# statement that took it.
awk -v threshold="$THRESHOLD_MS" '
  /^MIGRATION / { migration = $2; next }
  /^Time: / {
    total += $2
    if (migration != "" && $2 + 0 > threshold) {
      slow++
      printf "%9.1f ms  %s  %s\n", $2, migration, substr(statement, 1, 100)
    }
    statement = ""
    next
  }
  # psql answers each statement with its command tag ("CREATE TABLE", "INSERT 0 1")
  # and may add notices: neither is the statement.
  /^[A-Z][A-Z0-9 ]*$/ || /^(NOTICE|DETAIL|HINT): / { next }
  { line = $0; gsub(/^[ \t]+|[ \t]+$/, "", line); gsub(/[ \t]+/, " ", line)
    if (line != "") statement = (statement == "" ? line : statement " " line) }
  END { printf "replay: %.0f ms in all, %d statements over %s ms\n", total, slow, threshold }
' "$out"
