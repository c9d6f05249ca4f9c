#!/usr/bin/env bash
# Python tools the tests use as independent peers, pinned, in a virtualenv under
# .pactum/, installed from PyPI on first use (python3 and its venv module come from the
# distribution's packages if missing):
#
#   standardwebhooks   verifies webhook signatures in tests/receivers/webhook_receiver.py
#   aiosmtpd           the real SMTP server of tests/receivers/smtp_server.py
#
#   scripts/pytools.sh python    ensure installed; print the venv's python
#   scripts/pytools.sh run F...  run a Python file with it
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Bump the suffix when the list changes, so an old venv is not reused.
PACKAGES=("standardwebhooks==1.1.0" "aiosmtpd==1.4.6")
VENV="$ROOT/.pactum/pytools-2"

log() { echo "pytools.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

ensure_installed() {
  [ -f "$VENV/.installed" ] && return
  install_packages "python3 -c 'import venv, ensurepip'" python3 python3-venv
  mkdir -p "$ROOT/.pactum"
  # Tests run in parallel: one installs, the others wait for it.
  exec 9>"$ROOT/.pactum/pytools.lock"
  flock 9
  if [ ! -f "$VENV/.installed" ]; then
    log "installing ${PACKAGES[*]} from PyPI into ${VENV#"$ROOT"/}"
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "${PACKAGES[@]}" >&2
    touch "$VENV/.installed"
  fi
  flock -u 9
}

case "${1:-}" in
  python)
    ensure_installed
    echo "$VENV/bin/python"
    ;;
  run)
    shift
    ensure_installed
    exec "$VENV/bin/python" "$@"
    ;;
  *)
    echo "usage: scripts/pytools.sh [python|run FILE ...]" >&2
    exit 2
    ;;
esac
