#!/usr/bin/env bash
# A private PostgreSQL cluster for development and tests, started from the system's
# binaries (installed from Debian/Ubuntu packages if missing). Idempotent and safe to
# call from many processes at once.
#
#   scripts/pg.sh url     ensure the cluster runs; print its URL (the `postgres` database)
#   scripts/pg.sh url DB  the same, creating database DB if it does not exist yet
#   scripts/pg.sh stop    stop it
#   scripts/pg.sh status  say whether it runs
#
# State lives in .pactum/ under the project folder. When the project folder is not
# readable by the unprivileged `postgres` user (root running in /root, say) the data
# directory goes to /tmp/pactum-pg-<hash of the project path> instead, because
# PostgreSQL refuses to run as root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.pactum"
mkdir -p "$STATE"

log() { echo "pg.sh: $*" >&2; }

# A UTF-8 locale every glibc since 2.35 builds in (Debian 12, Ubuntu 22.04), and
# Debian's older ones ship; empty where there is none (then case folds for ASCII
# only, and the server says so when it starts).
UNICODE_CTYPE="$(locale -a 2>/dev/null | grep -ix -m1 'c\.utf-\?8' || true)"

find_pg_bin() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

install_postgres() {
  log "PostgreSQL server binaries not found; installing them from the distribution's packages"
  # postgresql-common would create and start a system cluster on 5432; we only want
  # the binaries, so keep it from doing so.
  as_root mkdir -p /etc/postgresql-common
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  install_packages find_pg_bin postgresql
}

# Runs a command as the cluster owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

data_parent() {
  if [ "$(id -u)" != 0 ]; then
    echo "$STATE"
    return
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  if runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
    echo "$STATE"
  else
    local hash
    hash="$(printf '%s' "$ROOT" | sha1sum | cut -c1-12)"
    echo "/tmp/pactum-pg-$hash"
  fi
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_running() {
  local bin parent data port
  bin="$(find_pg_bin)" || { install_postgres; bin="$(find_pg_bin)"; } || {
    log "could not find initdb/pg_ctl even after installing PostgreSQL"
    exit 1
  }
  parent="$(data_parent)"
  data="$parent/pg"
  mkdir -p "$parent"
  [ "$(id -u)" = 0 ] && chown postgres "$parent"

  if [ ! -f "$data/PG_VERSION" ]; then
    log "creating a private cluster in $data"
    rm -rf "$data"
    # Sorting and messages as in C, but letters classified as Unicode does (LC_CTYPE):
    # with the C ctype PostgreSQL's lower() folds ASCII only, and every case-blind
    # match of a name such as "ÖBB" against the server's Unicode-lowered keys misses.
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
      ${UNICODE_CTYPE:+--lc-ctype="$UNICODE_CTYPE"} >/dev/null
    cat >>"$data/postgresql.conf" <<CONF
# Pactum private cluster (scripts/pg.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$data'
max_connections = 300
max_locks_per_transaction = 256
shared_buffers = 256MB
CONF
  fi

  if as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # The running postmaster's own record (line 4: its port); postgresql.auto.conf
    # would do too, but ALTER SYSTEM rewrites that file in its own quoting.
    port="$(sed -n 4p "$data/postmaster.pid")"
  else
    port="${PACTUM_PG_PORT:-55432}"
    local attempt
    for attempt in $(seq 10); do
      while ! port_free "$port"; do port=$((port + 1)); done
      as_owner "$bin/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w -t 60 start >/dev/null 9>&- && break
      # port_free sees listeners only. This range is also where the kernel picks
      # ports for outgoing connections, and one of those holding the port makes the
      # bind fail all the same: move on to the next port.
      if [ "$attempt" -lt 10 ] && tail -n 5 "$data/server.log" | grep -q "could not create any TCP/IP sockets"; then
        log "port $port was taken as PostgreSQL started; trying $((port + 1))"
        port=$((port + 1))
        continue
      fi
      log "PostgreSQL failed to start; its log:"
      tail -n 30 "$data/server.log" >&2
      exit 1
    done
    # Remember the port for the next `pg_ctl status` check.
    as_owner sh -c "echo 'port = $port' > '$data/postgresql.auto.conf'"
  fi
  echo "$data" >"$STATE/pg-data-dir"
  local database="${1:-postgres}"
  if [ "$database" != postgres ]; then
    if ! [[ "$database" =~ ^[a-z_][a-z0-9_]*$ ]]; then
      log "database name must match [a-z_][a-z0-9_]*: $database"
      exit 2
    fi
    if [ "$(as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
          "select 1 from pg_database where datname = '$database'")" != 1 ]; then
      # The ctype named, so that a cluster made before it was set makes new databases
      # right all the same.
      as_owner "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
        -c "create database \"$database\"${UNICODE_CTYPE:+ template template0 encoding 'UTF8' lc_collate 'C' lc_ctype '$UNICODE_CTYPE'}" >&2
    fi
  fi
  echo "postgres://postgres@127.0.0.1:$port/$database"
}

stop_cluster() {
  local bin data
  bin="$(find_pg_bin)" || exit 0
  data="$(cat "$STATE/pg-data-dir" 2>/dev/null || true)"
  [ -n "$data" ] && [ -f "$data/PG_VERSION" ] || exit 0
  as_owner "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true
}

case "${1:-url}" in
  url)
    exec 9>"$STATE/pg.lock"
    flock 9
    ensure_running "${2:-postgres}"
    ;;
  stop) stop_cluster ;;
  status)
    data="$(cat "$STATE/pg-data-dir" 2>/dev/null || true)"
    bin="$(find_pg_bin)" && [ -n "$data" ] && as_owner "$bin/pg_ctl" -D "$data" status
    ;;
  *)
    echo "usage: scripts/pg.sh [url [DB]|stop|status]" >&2
    exit 2
    ;;
esac
