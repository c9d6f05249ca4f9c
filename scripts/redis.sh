#!/usr/bin/env bash
# A private Redis for tests, started from the system's redis-server (installed from
# Debian/Ubuntu packages if missing). In memory only, bound to 127.0.0.1. Idempotent
# and safe to call from many processes at once.
#
#   scripts/redis.sh url     ensure it runs; print its URL
#   scripts/redis.sh stop    stop it
#   scripts/redis.sh status  say whether it runs
#
# State (pid file, port, log) lives in .pactum/redis/ under the project folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.pactum/redis"
mkdir -p "$STATE"

log() { echo "redis.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_port() {
  local pid port
  pid="$(cat "$STATE/redis.pid" 2>/dev/null || true)"
  port="$(cat "$STATE/port" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -n "$port" ] && kill -0 "$pid" 2>/dev/null; then
    echo "$port"
    return 0
  fi
  return 1
}

ensure_running() {
  local port
  if port="$(running_port)"; then
    echo "redis://127.0.0.1:$port"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    log "redis-server not found; installing it from the distribution's packages"
    # Only the binary is wanted: RUNLEVEL=1 (set by apt_get) keeps invoke-rc.d from
    # starting a system-wide service.
    install_packages "command -v redis-server" redis-server
  fi
  port="${PACTUM_REDIS_PORT:-56379}"
  local attempt
  for attempt in $(seq 10); do
    while ! port_free "$port"; do port=$((port + 1)); done
    : >"$STATE/redis.log"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --daemonize yes --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log" \
      --dir "$STATE" 9>&-
    for _ in $(seq 50); do
      if [ -s "$STATE/redis.pid" ] && ! port_free "$port"; then
        echo "$port" >"$STATE/port"
        echo "redis://127.0.0.1:$port"
        return
      fi
      # port_free sees listeners only; an outgoing connection holding the port
      # fails the bind all the same: move on to the next port.
      if grep -q "Address already in use" "$STATE/redis.log" 2>/dev/null; then
        log "port $port was taken as redis-server started; trying $((port + 1))"
        port=$((port + 1))
        continue 2
      fi
      sleep 0.1
    done
    break
  done
  log "redis-server failed to start; its log:"
  tail -n 20 "$STATE/redis.log" >&2 || true
  exit 1
}

case "${1:-url}" in
  url)
    exec 9>"$STATE/lock"
    flock 9
    ensure_running
    ;;
  stop)
    if pid="$(cat "$STATE/redis.pid" 2>/dev/null)" && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
    fi
    rm -f "$STATE/redis.pid" "$STATE/port"
    ;;
  status)
    if port="$(running_port)"; then echo "running on 127.0.0.1:$port"; else echo "not running"; exit 3; fi
    ;;
  *)
    echo "usage: scripts/redis.sh [url|stop|status]" >&2
    exit 2
    ;;
esac
