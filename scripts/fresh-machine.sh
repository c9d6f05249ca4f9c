#!/usr/bin/env bash
# Runs the README's quick start on a fresh, minimal Debian 12: a `debootstrap
# --variant=minbase` system under .pactum/fresh/ with only a C toolchain added and this
# machine's Rust toolchain mounted read-only, so what the project's scripts install is
# proved to be all that the two commands need. Not part of the test suite: it builds
# everything from scratch and takes half an hour or more on two cores.
#
#   scripts/fresh-machine.sh test         bash scripts/test.sh inside, on a fresh clone
#   scripts/fresh-machine.sh quickstart   bash scripts/run.sh inside, then the README's
#                                         walk-through against it
#   scripts/fresh-machine.sh shell        a shell inside
#   scripts/fresh-machine.sh clean        unmount and delete the system
#
# Needs root (debootstrap, chroot, mounts) and Debian's package mirror. The system
# shares this machine's network: the PostgreSQL and Redis of the host stay reachable
# on their ports, but neither command looks for them unless DATABASE_URL or REDIS_URL
# is set, and nothing here sets them. Like a container image, the system starts no
# services when packages are installed (policy-rc.d), as a machine without systemd
# running would not.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FRESH="${PACTUM_FRESH_DIR:-$ROOT/.pactum/fresh}"
SYSTEM="$FRESH/debian"
SUITE=bookworm
MIRROR="${PACTUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
RUST_SYSROOT="$(rustc --print sysroot)"

log() { echo "fresh-machine: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "needs root (debootstrap, chroot, mounts)"; exit 2; }

create_system() {
  [ -f "$SYSTEM/.ready" ] && return 0
  command -v debootstrap >/dev/null || {
    # shellcheck source=scripts/lib/packages.sh
    source "$ROOT/scripts/lib/packages.sh"
    install_packages "command -v debootstrap" debootstrap
  }
  log "debootstrap --variant=minbase $SUITE into $SYSTEM"
  rm -rf "$SYSTEM"
  mkdir -p "$SYSTEM"
  debootstrap --variant=minbase "$SUITE" "$SYSTEM" "$MIRROR" >"$FRESH/debootstrap.log" 2>&1 \
    || { tail -20 "$FRESH/debootstrap.log" >&2; exit 1; }
  printf '#!/bin/sh\nexit 101\n' >"$SYSTEM/usr/sbin/policy-rc.d"
  chmod +x "$SYSTEM/usr/sbin/policy-rc.d"
  mount_system
  log "adding the C toolchain (build-essential) and CA certificates, nothing else"
  inside apt-get update -qq
  inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    build-essential ca-certificates >/dev/null
  # Certificate authorities this machine added for itself (an egress proxy's, say)
  # are part of its network, not of what the project installs.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$SYSTEM/usr/local/share/ca-certificates/"
    inside update-ca-certificates >/dev/null
  fi
  touch "$SYSTEM/.ready"
}

mounted() { mountpoint -q "$1"; }

# Ends every process whose root is the system (the server, a private cluster, Redis),
# and nothing of the host's.
stop_processes_inside() {
  local root proc
  root="$(realpath "$SYSTEM")"
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ] && kill -TERM "${proc#/proc/}" 2>/dev/null
  done
  return 0
}

mount_system() {
  mkdir -p "$SYSTEM/opt/rust" "$SYSTEM/src"
  mounted "$SYSTEM/proc" || mount -t proc proc "$SYSTEM/proc"
  mounted "$SYSTEM/sys" || mount -t sysfs sys "$SYSTEM/sys"
  mounted "$SYSTEM/dev" || mount --bind /dev "$SYSTEM/dev"
  mounted "$SYSTEM/dev/pts" || mount --bind /dev/pts "$SYSTEM/dev/pts"
  mounted "$SYSTEM/dev/shm" || mount -t tmpfs shm "$SYSTEM/dev/shm"
  if ! mounted "$SYSTEM/opt/rust"; then
    mount --bind "$RUST_SYSROOT" "$SYSTEM/opt/rust"
    mount -o remount,bind,ro "$SYSTEM/opt/rust"
  fi
  cp /etc/resolv.conf "$SYSTEM/etc/resolv.conf"
}

unmount_system() {
  local point
  for point in opt/rust dev/shm dev/pts dev sys proc; do
    if mounted "$SYSTEM/$point"; then umount "$SYSTEM/$point" || umount -l "$SYSTEM/$point"; fi
  done
}

# inside COMMAND...: runs COMMAND in the system as root with a clean environment: the
# Rust toolchain on PATH and an empty cargo home of the system's own. Where this
# machine tells its tools which certificate authorities to trust, the system's tools
# are told the same (pip trusts only its own list otherwise).
inside() {
  local trust=() variable
  for variable in SSL_CERT_FILE PIP_CERT REQUESTS_CA_BUNDLE; do
    [ -n "${!variable:-}" ] && trust+=("$variable=${!variable}")
  done
  chroot "$SYSTEM" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 "${trust[@]}" \
    PATH=/opt/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CARGO_HOME=/root/.cargo "$@"
}

# A clone of this repository's HEAD, made afresh, as a reader following the README has.
# A build left by an earlier run is kept (PACTUM_FRESH_BUILD=1 drops it too), so that a
# second run does not spend ten minutes proving again that it builds from scratch.
fresh_clone() {
  local kept="$SYSTEM/src/target.kept"
  rm -rf "$kept"
  if [ -z "${PACTUM_FRESH_BUILD:-}" ] && [ -d "$SYSTEM/src/pactum/target" ]; then
    mv "$SYSTEM/src/pactum/target" "$kept"
  fi
  rm -rf "$SYSTEM/src/pactum"
  git clone -q "$ROOT" "$SYSTEM/src/pactum"
  [ -d "$kept" ] && mv "$kept" "$SYSTEM/src/pactum/target"
  log "cloned $(git -C "$ROOT" rev-parse --short HEAD) into /src/pactum"
}

case "${1:-}" in
  test)
    create_system
    mount_system
    fresh_clone
    inside bash -c 'cd /src/pactum && bash scripts/test.sh'
    ;;
  quickstart)
    create_system
    mount_system
    fresh_clone
    inside bash -c 'cd /src/pactum && exec bash scripts/run.sh' >"$FRESH/run.log" 2>&1 &
    RUN=$!
    stop_quickstart() {
      inside bash -c 'cd /src/pactum && bash scripts/pg.sh stop' >/dev/null 2>&1 || true
      stop_processes_inside
    }
    trap stop_quickstart EXIT
    log "bash scripts/run.sh is running (log: $FRESH/run.log); waiting for it to say it is ready"
    until grep -q '^ready: ' "$FRESH/run.log" 2>/dev/null; do
      kill -0 "$RUN" 2>/dev/null || { log "run.sh ended before it was ready"; tail -30 "$FRESH/run.log" >&2; exit 1; }
      sleep 2
    done
    # The README's shell blocks as written, less the two commands themselves and the
    # live streams (`curl -N`, which wait for Ctrl-C), with their continuation lines.
    sed -n '/^## Quick start/,/^## Configuration in brief/p' "$ROOT/README.md" \
      | awk '/^```sh$/ {on = 1; next} /^```$/ {on = 0} on' \
      | awk '/^curl -N / {skip = 1} !skip && !/^bash scripts\/(run|test)\.sh/ {print} {if (skip && !/\\$/) skip = 0}' \
      >"$SYSTEM/src/walkthrough.sh"
    log "the README's walk-through, inside the system (with the curl run.sh installed)"
    inside bash -c 'cd /src/pactum && bash /src/walkthrough.sh' >"$FRESH/walkthrough.log" 2>&1 || true
    cat "$FRESH/walkthrough.log"
    failed=0
    for expected in '"slug":"acme"' '"error":"unknown_tenant"' '"status":"approved"' '"type":"workflow_run.approved"' '.eml' \
      'invoice-email.' '"mode":"semantic","items":[{"contract"' '"matched_by":"words"' '"field":"effective_date"' '"level":"'; do
      grep -qF -- "$expected" "$FRESH/walkthrough.log" || { log "the walk-through never showed $expected"; failed=1; }
    done
    [ "$failed" = 0 ] && log "the walk-through showed what the README says it shows"
    exit "$failed"
    ;;
  shell)
    create_system
    mount_system
    inside bash -l
    ;;
  clean)
    if [ -d "$SYSTEM/src/pactum" ]; then
      mount_system
      # What the tests or run.sh started inside holds the mounts.
      inside bash -c 'cd /src/pactum && bash scripts/pg.sh stop; bash scripts/redis.sh stop' >/dev/null 2>&1 || true
      stop_processes_inside
      sleep 1
    fi
    unmount_system
    rm -rf "$FRESH"
    ;;
  *)
    sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
