#!/usr/bin/env bash
# What `SET LOCAL ROLE` costs a PostgreSQL backend, in instructions (callgrind), so the
# answer does not depend on this machine's drifting speed: a throwaway cluster with 10
# tenants of 2,000 contracts, then one backend in single-user mode runs the contracts
# page's transaction BENCH_TRANSACTIONS times (default 2000), rotating over the tenants,
# opened once with the tenant's role and once with a `SET LOCAL` that changes nothing
# (work_mem to its default) instead. Startup is the same in both runs, so the
# difference divided by the transactions is what the role adds to each.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N="${BENCH_TRANSACTIONS:-2000}"
BIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/postgres | tail -n1)")"
PSQL="$BIN/psql"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
install_packages "command -v valgrind" valgrind

WORK=$(mktemp -d)
chmod 755 "$WORK"
[ "$(id -u)" != 0 ] || chown postgres "$WORK"
DATA="$WORK/data"
PORT="${BENCH_PORT:-55991}"
cleanup() {
  as_owner "$BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --no-locale >/dev/null
as_owner "$BIN/pg_ctl" -D "$DATA" -o "-p $PORT -k $WORK -c listen_addresses=''" -l "$WORK/log" start >/dev/null
URL="postgresql://postgres@%2F${WORK//\//%2F}:$PORT/postgres"
"$PSQL" -q "$URL" -c "create database rolebench"
export DATABASE_URL="${URL%/postgres}/rolebench"
cargo build --release --locked -p tenantctl
target/release/tenantctl migrate >/dev/null
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
for i in $(seq 0 9); do
  target/release/tenantctl create "bench$i" --domain "bench$i.localhost" \
    --admin-email "admin@bench$i.example" <<<"bench password 123" >/dev/null
  seed_contracts "$DATABASE_URL" "t_bench$i" 2000
done
for variant in with without; do
  for n in $(seq 0 $((N - 1))); do
    i=$((n % 10))
    if [ "$variant" = with ]; then
      [ -n "${ROLES[$i]:-}" ] || ROLES[i]=$("$PSQL" -tA "$DATABASE_URL" -c "select role_name from public.tenants where slug = 'bench$i'")
      set_it="SET LOCAL ROLE \"${ROLES[$i]}\""
    else
      set_it="SET LOCAL work_mem TO '4MB'"
    fi
    echo "BEGIN READ ONLY; SET LOCAL search_path TO \"t_bench$i\", public; $set_it; select role, active from users where email like 'admin@%'; select id, title, contract_type, status, value::text, currency, owner_id, created_at from contracts where status = 'executed' and contract_type = 'msa' and value >= 1000 order by created_at desc, id desc limit 51; COMMIT;"
  done >"$WORK/$variant.sql"
done
as_owner "$BIN/pg_ctl" -D "$DATA" stop >/dev/null
count() { # variant: the instructions of one single-user backend running its script
  as_owner valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
    "$BIN/postgres" --single -D "$DATA" -c "port=$PORT" rolebench <"$WORK/$1.sql" >/dev/null 2>"$WORK/vg.$1"
  grep -o 'Collected : [0-9]*' "$WORK/vg.$1" | awk '{print $3}'
}
with=$(count with)
without=$(count without)
echo "== $N transactions over 10 tenants, one backend, instructions (callgrind)"
echo "with SET LOCAL ROLE:           $with"
echo "with SET LOCAL work_mem:       $without"
awk -v a="$with" -v b="$without" -v n="$N" \
  'BEGIN {printf "the role adds %.0f instructions per transaction (%.1f%% of the whole run)\n", (a - b) / n, 100 * (a - b) / b}'
