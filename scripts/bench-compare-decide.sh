#!/usr/bin/env bash
# Two builds of Pactum side by side on an approval decision end to end through HTTP
# (benches/workflow_bench.rs `decide`: a real server in the benchmark's process,
# CONTRACTS contracts in review, one pending approval each, approved first over one
# connection, then over CONNECTIONS at once), in alternating rounds, each build in a
# fresh database migrated by its own tenantctl. Reports the medians over the rounds of
# each figure, and this build's against the other's.
#
#   scripts/bench-compare-decide.sh OTHER_CHECKOUT
#
# OTHER_CHECKOUT is another working tree of this repository (`git worktree add
# /tmp/before <rev>`); its benchmark program may still live under examples/.
#   BENCH_ROUNDS (5) BENCH_CONTRACTS (1000) BENCH_CONNECTIONS (16)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OTHER="$(cd "${1:?usage: scripts/bench-compare-decide.sh OTHER_CHECKOUT}" && pwd)"
ROUNDS="${BENCH_ROUNDS:-5}"
CONTRACTS="${BENCH_CONTRACTS:-1000}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh

declare -A BENCH TENANTCTL
cargo build --release --locked --workspace --bins
BENCH[this]=$(bench_program workflow_bench)
TENANTCTL[this]="$PWD/target/release/tenantctl"
if [ -f "$OTHER/benches/workflow_bench.rs" ]; then
  BENCH[other]=$(cd "$OTHER" && cargo build --release --locked --workspace --bins >&2 && bench_program workflow_bench)
else
  (cd "$OTHER" && cargo build --release --locked --workspace --bins --example workflow_bench >&2)
  BENCH[other]="$OTHER/target/release/examples/workflow_bench"
fi
TENANTCTL[other]="$OTHER/target/release/tenantctl"

SAVED_URL="${DATABASE_URL:-}"
restore_url() { if [ -n "$SAVED_URL" ]; then export DATABASE_URL="$SAVED_URL"; else unset DATABASE_URL; fi; }
declare -A SERIAL CONCURRENT P99 RATE
echo "machine: $(nproc) cores; this $(git rev-parse --short HEAD), other $(git -C "$OTHER" rev-parse --short HEAD)"
echo "$ROUNDS alternating rounds of $CONTRACTS decisions, the last 3/4 over $CONNECTIONS connections"
for round in $(seq "$ROUNDS"); do
  for build in other this; do
    restore_url
    fresh_bench_database "pactum_bench_decide_$build"
    "${TENANTCTL[$build]}" migrate --shared >/dev/null
    out=$("${BENCH[$build]}" decide "$CONTRACTS" "$CONNECTIONS" 2>/dev/null)
    drop_bench_database "pactum_bench_decide_$build"
    serial=$(sed -n 's/^decide, 1 connection: median \([0-9.]*\) ms.*/\1/p' <<<"$out")
    concurrent=$(sed -n 's/^decide, [0-9]* connections: median \([0-9.]*\) ms.*/\1/p' <<<"$out")
    p99=$(sed -n 's/^decide, [0-9]* connections: .*p99 \([0-9.]*\) ms.*/\1/p' <<<"$out")
    rate=$(sed -n 's/.* ; \([0-9]*\) decisions\/s/\1/p' <<<"$out")
    SERIAL[$build]+="$serial "; CONCURRENT[$build]+="$concurrent "; P99[$build]+="$p99 "; RATE[$build]+="$rate "
    echo "round $round $build: 1 connection median ${serial} ms; $CONNECTIONS connections median ${concurrent} ms, p99 ${p99} ms, ${rate} decisions/s"
  done
done
restore_url

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "| median of $ROUNDS rounds | other | this | this / other |"
echo "| --- | ---: | ---: | ---: |"
for figure in SERIAL CONCURRENT P99 RATE; do
  declare -n values=$figure
  # shellcheck disable=SC2086
  o=$(median ${values[other]}); t=$(median ${values[this]})
  case $figure in
    SERIAL) label="decision, 1 connection (ms)";;
    CONCURRENT) label="decision, $CONNECTIONS connections, median (ms)";;
    P99) label="decision, $CONNECTIONS connections, p99 (ms)";;
    RATE) label="decisions per second, $CONNECTIONS connections";;
  esac
  echo "| $label | $o | $t | $(ratio "$t" "$o") |"
done
