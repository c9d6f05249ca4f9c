#!/usr/bin/env bash
# The quality of contract intelligence on the labelled set in eval/intelligence/
# (its labelling guide: eval/intelligence/README.md), through the release server with
# the model: precision, recall and F1 of the suggested metadata per field, of the
# clause classification per category and of the obligations, and recall@10 and
# nDCG@10 of contract search per mode, the tuning and the held-out part apart.
# Prints Markdown; the figures and their reading are in docs/intelligence.md.
# EVAL_SHOW=dev lists each mistake on the tuning part (on standard error).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${EVAL_PORT:-18097}"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
serve_one_tenant pactum_eval_intelligence evaluated "$PORT"
program=$(bench_program eval_intelligence)

echo "# Contract intelligence on eval/intelligence ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); model: $(basename "$PACTUM_MODEL_DIR")"
"$program" "http://127.0.0.1:$PORT" evaluated.localhost "$TOKEN"
