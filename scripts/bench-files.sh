#!/usr/bin/env bash
# Upload and download of one large file (default 100 MB) through the release server,
# stored in the local folder, or with BENCH_STORE=s3 in a bucket of s3s-fs (an
# S3-compatible server on this machine, scripts/s3.sh): throughput of each, and the
# server's peak resident memory (VmHWM) before, after the upload and after the
# download, so what one large file costs the server shows beside its idle size. curl
# sends and receives on this machine; the file is a PDF header and random bytes.
#
#   [BENCH_STORE=s3] scripts/bench-files.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MEGABYTES="${1:-100}"
PORT="${BENCH_PORT:-18096}"
export JWT_SECRET="bench-secret-bench-secret-bench-secret-0"

# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
fresh_bench_database pactum_bench_files

cargo build --release --locked --workspace 2>/dev/null
target/release/tenantctl migrate >/dev/null
printf 'bench password 123\n' | target/release/tenantctl create bench \
  --domain bench.localhost --admin-email admin@bench.example >/dev/null

WORK=$(mktemp -d)
UPLOADS="$WORK/uploads"
STORE_PID=
if [ "${BENCH_STORE:-local}" = s3 ]; then
  S3S=$(bash scripts/s3.sh)
  mkdir -p "$WORK/s3/bench"
  "$S3S" --host 127.0.0.1 --port 18098 --access-key bench --secret-key bench-secret "$WORK/s3" >/dev/null 2>&1 &
  STORE_PID=$!
  export PACTUM_STORAGE_URL=s3://bench PACTUM_STORAGE_ENDPOINT=http://127.0.0.1:18098 \
    PACTUM_STORAGE_REGION=us-east-1 PACTUM_STORAGE_ACCESS_KEY_ID=bench \
    PACTUM_STORAGE_SECRET_ACCESS_KEY=bench-secret
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/18098) 2>/dev/null && break; sleep 0.1; done
fi
PACTUM_BIND="127.0.0.1:$PORT" PACTUM_UPLOAD_DIR="$UPLOADS" RUST_LOG=warn \
  PACTUM_MAX_UPLOAD_BYTES=$(( (MEGABYTES + 1) * 1024 * 1024 )) PACTUM_JOB_WORKERS=0 \
  target/release/pactum 2>"$WORK/server.log" &
SERVER_PID=$!
trap 'kill $SERVER_PID $STORE_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/healthz" -H "host: localhost" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H "host: bench.localhost" \
  -H 'content-type: application/json' \
  -d '{"email":"admin@bench.example","password":"bench password 123"}' |
  sed -E 's/.*"access_token":"([^"]+)".*/\1/')
HEADERS=(-H "Host: bench.localhost" -H "Authorization: Bearer $TOKEN")
URL="http://127.0.0.1:$PORT"
CONTRACT=$(curl -sf "$URL/api/v1/contracts" "${HEADERS[@]}" -H 'content-type: application/json' \
  -d '{"title":"Large file","contract_type":"nda"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')

peak() { awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$SERVER_PID/status"; }
{ printf '%%PDF-1.7\n'; head -c $(( MEGABYTES * 1024 * 1024 - 9 )) /dev/urandom; } > "$WORK/big.pdf"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(git rev-parse --short HEAD); ${MEGABYTES} MB file, store: ${BENCH_STORE:-local}"
echo "server peak memory, idle: $(peak)"
started=$(date +%s.%N)
ATTACHMENT=$(curl -sf "$URL/api/v1/contracts/$CONTRACT/attachments" "${HEADERS[@]}" \
  -F "file=@$WORK/big.pdf;type=application/pdf" | sed -E 's/.*"id":"([^"]+)".*/\1/')
took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}')
echo "upload: $(awk -v m="$MEGABYTES" -v t="$took" 'BEGIN {printf "%.0f", m / t}') MB/s ($took s); server peak memory after: $(peak)"
started=$(date +%s.%N)
curl -sf "$URL/api/v1/attachments/$ATTACHMENT" "${HEADERS[@]}" -o "$WORK/back.pdf"
took=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}')
cmp -s "$WORK/big.pdf" "$WORK/back.pdf" || { echo "the download differs from the upload" >&2; exit 1; }
echo "download (SHA-256 checked): $(awk -v m="$MEGABYTES" -v t="$took" 'BEGIN {printf "%.0f", m / t}') MB/s ($took s); server peak memory after: $(peak)"
