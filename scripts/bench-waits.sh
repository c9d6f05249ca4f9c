#!/usr/bin/env bash
# What a database's backends wait on and what its statements cost, while a benchmark
# runs against it (the SLA figures in docs/benchmarks.md come from this beside
# `scripts/bench-workflows.sh`):
#
#   scripts/bench-waits.sh SERVER_URL DATABASE [SECONDS]
#
# Samples pg_stat_activity every 100 ms for SECONDS (default 90) and prints how often
# each wait event (or the CPU) was seen, by statement start; then, if the server
# preloads pg_stat_statements and SERVER_URL's database has the extension, the
# statements by total time, a tenant's copies of one statement (its text ends in a
# `-- <schema>` comment) counted together. Reset the statistics first with
# `select pg_stat_statements_reset()` to count one round only.
set -euo pipefail
SERVER_URL="${1:?usage: scripts/bench-waits.sh SERVER_URL DATABASE [SECONDS]}"
DATABASE="${2:?usage: scripts/bench-waits.sh SERVER_URL DATABASE [SECONDS]}"
SECONDS_TO_SAMPLE="${3:-90}"
PSQL="$(ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -n1)"
PSQL="${PSQL:-psql}"
samples="$(mktemp)"
trap 'rm -f "$samples"' EXIT
end=$((SECONDS + SECONDS_TO_SAMPLE))
while [ "$SECONDS" -lt "$end" ]; do
  "$PSQL" -qAtX "$SERVER_URL" -v db="$DATABASE" >>"$samples" 2>/dev/null <<'SQL' || true
select coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') || ' | '
       || left(regexp_replace(query, '\s+', ' ', 'g'), 40)
from pg_stat_activity where datname = :'db' and state = 'active' and pid <> pg_backend_pid();
SQL
  sleep 0.1
done
echo "== wait events of active backends, $(wc -l <"$samples") samples"
cut -d'|' -f1 "$samples" | sort | uniq -c | sort -rn
echo "== by statement"
sort "$samples" | uniq -c | sort -rn | head -20
echo "== statements by total time (pg_stat_statements)"
"$PSQL" -X -v ON_ERROR_STOP=1 "$SERVER_URL" <<'SQL' 2>/dev/null || echo "(pg_stat_statements is not available)"
select sum(calls) as calls, round(sum(total_exec_time)::numeric) as total_ms,
       round((sum(total_exec_time) / sum(calls))::numeric, 3) as mean_ms,
       round(sum(blk_read_time)::numeric) as read_ms, sum(shared_blks_read) as blocks_read,
       left(regexp_replace(regexp_replace(query, E'\n-- .*$', ''), '\s+', ' ', 'g'), 70) as statement
from pg_stat_statements group by 6 order by 2 desc limit 15;
SQL
