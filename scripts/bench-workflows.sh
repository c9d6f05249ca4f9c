#!/usr/bin/env bash
# Approval workflows benchmark, on the private cluster (or DATABASE_URL's
# server), each part in a fresh database:
#   - matching a contract against 1,000 active definitions (the submission path when
#     the top definition matches and when none does; the full match report)
#   - an approval decision end to end through HTTP (a real server in the benchmark's
#     process): one connection, then 16 at once; median, p99, decisions per second
#   - SLA timers for 100,000 approvals over 1,000 tenants, due over a spread of
#     seconds, run by a job runner with the server's default settings: how late each
#     deadline was marked
#
#   scripts/bench-workflows.sh
#
#   BENCH_DEFINITIONS (1000) BENCH_SAMPLES (200) BENCH_CONTRACTS (4000)
#   BENCH_CONNECTIONS (16) BENCH_TENANTS (1000) BENCH_PER_TENANT (100)
#   BENCH_SPREAD (120, seconds) BENCH_TIMER_WORKERS ("4 16": one run each; 4 is the
#   server's default) BENCH_PARTS ("match decide timers")
#   The timers' runner and pool are built as the server builds them, from the
#   environment's PACTUM_* settings; BENCH_JOB_POOLER=transaction gives the job pool
#   unnamed statements alone; a checkpoint ends the set-up unless BENCH_NO_CHECKPOINT
#   is set; BENCH_NOTIFY_IN_TRANSACTION=1 puts back the trigger that woke workers from
#   inside each enqueuing transaction; BENCH_PREWARM=1 reads the tenants' relations a
#   deadline touches into shared buffers first (raise the cluster's shared_buffers to
#   hold them: about 700 MB for 1,000 tenants). BENCH_TEMPLATE=1 provisions the
#   timers' tenants once into the database pactum_bench_timers_template (kept, made
#   only when missing) and clones it for each round, so rounds compared side by side
#   (PACTUM_JOB_TOGETHER=0 against the default, say) start alike and minutes apart;
#   BENCH_TEMPLATE=drop removes it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DEFINITIONS="${BENCH_DEFINITIONS:-1000}"
SAMPLES="${BENCH_SAMPLES:-200}"
CONTRACTS="${BENCH_CONTRACTS:-4000}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
TENANTS="${BENCH_TENANTS:-1000}"
PER_TENANT="${BENCH_PER_TENANT:-100}"
SPREAD="${BENCH_SPREAD:-120}"
TIMER_WORKERS="${BENCH_TIMER_WORKERS:-4 16}"
PARTS="${BENCH_PARTS:-match decide timers}"
part() { [[ " $PARTS " == *" $1 "* ]]; }

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

cargo build --release --locked --workspace --bins
BENCH=$(bench_program workflow_bench)
SAVED_URL="${DATABASE_URL:-}"
restore_url() { if [ -n "$SAVED_URL" ]; then export DATABASE_URL="$SAVED_URL"; else unset DATABASE_URL; fi; }
fresh() {
  restore_url
  fresh_bench_database "$1"
  target/release/tenantctl migrate --shared >/dev/null
}

TEMPLATE=pactum_bench_timers_template
if [ "${BENCH_TEMPLATE:-}" = drop ]; then
  fresh pactum_bench_timers
  drop_bench_database "$TEMPLATE"
  drop_bench_database pactum_bench_timers
  exit 0
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(git rev-parse --short HEAD)"
if part match; then
  fresh pactum_bench_match
  "$BENCH" match "$DEFINITIONS" "$SAMPLES"
  drop_bench_database pactum_bench_match
fi
if part decide; then
  fresh pactum_bench_decide
  "$BENCH" decide "$CONTRACTS" "$CONNECTIONS"
  drop_bench_database pactum_bench_decide
fi
if part timers; then
  if [ -n "${BENCH_TEMPLATE:-}" ]; then
    restore_url
    fresh_bench_database pactum_bench_timers
    if ! "$PSQL" -qtA "$BENCH_SERVER_URL" -c "select 1 from pg_database where datname = '$TEMPLATE'" | grep -q 1; then
      fresh "$TEMPLATE"
      "$BENCH" timers-setup "$TENANTS" "$PER_TENANT"
    fi
  fi
  for workers in $TIMER_WORKERS; do
    if [ -n "${BENCH_TEMPLATE:-}" ]; then
      restore_url
      fresh_bench_database pactum_bench_timers "$TEMPLATE"
    else
      fresh pactum_bench_timers
    fi
    "$BENCH" timers "$TENANTS" "$PER_TENANT" "$SPREAD" "$workers"
    drop_bench_database pactum_bench_timers
  done
fi
