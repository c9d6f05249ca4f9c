# Shared by the load benchmarks (bench-http.sh, bench-clm.sh); sourced, not run.

# shellcheck source=scripts/lib/packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/packages.sh"

# wrk, from the distribution if missing.
ensure_wrk() {
  install_packages "command -v wrk" wrk
}

# fresh_bench_database NAME: drops and recreates database NAME on the server of
# DATABASE_URL (else the private cluster) and exports DATABASE_URL pointing at it.
# Sets PSQL (the client), BASE (the server's URL without a database) and
# BENCH_SERVER_URL (the URL it started from) for the caller.
# On the private cluster the URL goes through its Unix socket, which spares the TCP
# stack as a server next to its database would (BENCH_PG_TCP=1 keeps TCP).
fresh_bench_database() {
  local name=$1
  BENCH_SERVER_URL="${DATABASE_URL:-$(bash scripts/pg.sh url)}"
  BASE="${BENCH_SERVER_URL%/*}"
  PSQL="$(ls /usr/lib/postgresql/*/bin/psql | tail -n1)"
  "$PSQL" -q "$BENCH_SERVER_URL" -c "drop database if exists $name with (force)" \
    -c "create database $name" >/dev/null
  export DATABASE_URL="$BASE/$name"
  if [ -z "${BENCH_PG_TCP:-}" ] && [ -f .pactum/pg-data-dir ] &&
    [[ "$BASE" == postgres://postgres@127.0.0.1:* ]]; then
    local encoded_dir
    encoded_dir="$(sed 's#/#%2F#g' .pactum/pg-data-dir)"
    export DATABASE_URL="postgres://postgres@$encoded_dir:${BASE##*:}/$name"
  fi
}

# drop_bench_database NAME: the cleanup at the end of a run.
drop_bench_database() {
  "$PSQL" -q "$BENCH_SERVER_URL" -c "drop database if exists $1 with (force)" >/dev/null || true
}

# append_rotating_request FILE: completes a wrk script whose `targets` table lists
# {host, token} pairs with a request function that takes them in turn.
append_rotating_request() {
  cat >>"$1" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local t = targets[(n % #targets) + 1]
  wrk.headers["Host"] = t[1]
  wrk.headers["Authorization"] = "Bearer " .. t[2]
  return wrk.format("GET", wrk.path)
end
LUA
}

# median VALUE...: the middle value (the upper one of an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
