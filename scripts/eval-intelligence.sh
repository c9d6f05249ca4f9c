#!/usr/bin/env bash
# The quality of contract intelligence on the labelled set in eval/intelligence/
# (its labelling guide: eval/intelligence/README.md), through the release server with
# the model: precision, recall and F1 of the suggested metadata per field, of the
# clause classification per category and of the obligations, and recall@10 and
# nDCG@10 of contract search per mode, the tuning and the held-out part apart.
# Prints Markdown; the figures and their reading are in docs/intelligence.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PORT="${EVAL_PORT:-18097}"
export JWT_SECRET="eval-secret-eval-secret-eval-secret-0000"
PACTUM_MODEL_DIR="${PACTUM_MODEL_DIR:-$(bash scripts/model.sh)}"
export PACTUM_MODEL_DIR

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_eval_intelligence
trap 'drop_bench_database pactum_eval_intelligence' EXIT

cargo build --release --locked --workspace --bins
program=$(bench_program eval_intelligence)
target/release/tenantctl migrate >/dev/null
printf 'eval password 123\n' | target/release/tenantctl create evaluated \
  --domain evaluated.localhost --admin-email admin@evaluated.example >/dev/null

PACTUM_BIND="127.0.0.1:$PORT" RUST_LOG=warn target/release/pactum 2>/tmp/pactum-eval.log &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; drop_bench_database pactum_eval_intelligence' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: evaluated.localhost" \
  -H 'content-type: application/json' \
  -d '{"email":"admin@evaluated.example","password":"eval password 123"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')

echo "# Contract intelligence on eval/intelligence ($(date -u +%Y-%m-%d), $(git rev-parse --short HEAD))"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); model: $(basename "$PACTUM_MODEL_DIR")"
"$program" "http://127.0.0.1:$PORT" evaluated.localhost "$TOKEN"
