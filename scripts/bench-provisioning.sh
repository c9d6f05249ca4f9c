#!/usr/bin/env bash
# Provisioning and fleet-migration benchmark. Prints Markdown tables; the
# figures in docs/benchmarks.md come from this script. Sizes: BENCH_COLD (1000), BENCH_WARM (100),
# BENCH_BASELINE (200). Uses DATABASE_URL's server when set, else the private cluster.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
fi
cargo build --release --locked -p tenantctl
TENANTCTL="$PWD/target/release/tenantctl" cargo bench --locked --bench provisioning
