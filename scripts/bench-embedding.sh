#!/usr/bin/env bash
# The embedding model's throughput, a query's embedding time and exact vector search
# over 100,000 vectors, in one release run on this machine. Figures: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PACTUM_MODEL_DIR="${PACTUM_MODEL_DIR:-$(bash scripts/model.sh)}"
export PACTUM_MODEL_DIR
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
cargo bench --locked -p pactum-embedding --bench embedding
