#!/usr/bin/env bash
# Notifications benchmark, on the private cluster (or DATABASE_URL's server),
# each part in a fresh database, the server as its own release process:
#   - 1,000 open SSE streams over 10 tenants: from sending an approval decision to the
#     owner's streams receiving its notification (p50, p99), and the server's memory
#     per open stream
#   - emails per second through a real local SMTP server (aiosmtpd,
#     tests/receivers/smtp_server.py) by the server's job runner
#   - new reminder days over BENCH_WALK_CONTRACTS running contracts: how long the
#     background walk takes to work every contract's reminders out again
#
#   scripts/bench-notifications.sh
#
#   BENCH_TENANTS (10) BENCH_STREAMS (1000) BENCH_DECISIONS (300) BENCH_EMAILS (2000)
#   BENCH_WALK_CONTRACTS (50000) BENCH_PARTS ("stream email walk"); PACTUM_JOB_WORKERS
#   passes through to the server
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TENANTS="${BENCH_TENANTS:-10}"
STREAMS="${BENCH_STREAMS:-1000}"
DECISIONS="${BENCH_DECISIONS:-300}"
EMAILS="${BENCH_EMAILS:-2000}"
WALK_CONTRACTS="${BENCH_WALK_CONTRACTS:-50000}"
PARTS="${BENCH_PARTS:-stream email walk}"
part() { [[ " $PARTS " == *" $1 "* ]]; }

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

cargo build --release --locked --workspace --bins
BENCH=$(bench_program notification_bench)
export PACTUM_BIN="$PWD/target/release/pactum"
SAVED_URL="${DATABASE_URL:-}"
restore_url() { if [ -n "$SAVED_URL" ]; then export DATABASE_URL="$SAVED_URL"; else unset DATABASE_URL; fi; }
fresh() {
  restore_url
  fresh_bench_database "$1"
  target/release/tenantctl migrate --shared >/dev/null
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(git rev-parse --short HEAD)"
if part stream; then
  fresh pactum_bench_stream
  # Enough descriptors for the streams, both ends in one machine.
  ulimit -n 65536 2>/dev/null || true
  "$BENCH" stream "$TENANTS" "$STREAMS" "$DECISIONS"
  drop_bench_database pactum_bench_stream
fi
if part email; then
  fresh pactum_bench_email
  exec 3< <(bash scripts/pytools.sh run tests/receivers/smtp_server.py --count-only)
  SMTP_PID=$!
  read -r SMTP_PORT _ <&3
  "$BENCH" email "$EMAILS" "smtp://127.0.0.1:$SMTP_PORT"
  kill "$SMTP_PID" 2>/dev/null || true
  drop_bench_database pactum_bench_email
fi
if part walk; then
  fresh pactum_bench_walk
  "$BENCH" walk "$WALK_CONTRACTS"
  drop_bench_database pactum_bench_walk
fi
