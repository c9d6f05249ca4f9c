#!/usr/bin/env bash
# Schemathesis (from PyPI, pinned) in a virtualenv under .pactum/, installed on first
# use (python3 and its venv module come from the distribution's packages if missing).
#
#   scripts/schemathesis.sh path    ensure it is installed; print the `st` binary
#   scripts/schemathesis.sh run ... run `st run ...`
#
# The test suite drives it (tests/api/openapi.rs) against a real server: every tenant
# route, a logged-in admin, a bounded number of examples; any 5xx or any response the
# OpenAPI document does not describe fails the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="4.32.5"
VENV="$ROOT/.pactum/schemathesis-$VERSION"

log() { echo "schemathesis.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

ensure_installed() {
  [ -f "$VENV/.installed" ] && return
  install_packages "python3 -c 'import venv, ensurepip'" python3 python3-venv
  # Tests run in parallel: one installs, the others wait for it.
  mkdir -p "$ROOT/.pactum"
  exec 9>"$ROOT/.pactum/schemathesis.lock"
  flock 9
  if [ ! -f "$VENV/.installed" ]; then
    log "installing schemathesis $VERSION from PyPI into ${VENV#"$ROOT"/}"
    # A venv cannot be moved once built, so an install that died half-way is started
    # over, and only a complete one gets the marker.
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION" >&2
    touch "$VENV/.installed"
  fi
  flock -u 9
}

case "${1:-}" in
  path)
    ensure_installed
    echo "$VENV/bin/st"
    ;;
  run)
    shift
    ensure_installed
    exec "$VENV/bin/st" run "$@"
    ;;
  *)
    echo "usage: scripts/schemathesis.sh [path|run ...]" >&2
    exit 2
    ;;
esac
