#!/usr/bin/env bash
# nginx for the proxy tests (tests/api/proxy.rs), which run deploy/nginx/pactum.conf in
# front of real Pactum servers. Uses the machine's nginx when it has one; otherwise
# unpacks the distribution's package under .pactum/nginx without installing it (no
# service started, no system configuration: the tests write their own). Also makes sure
# the tests' other tools, curl and openssl, are present.
#
#   scripts/nginx.sh bin   print the path of an nginx binary
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.pactum"
UNPACKED="$STATE/nginx/usr/sbin/nginx"

log() { echo "nginx.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

[ "${1:-}" = bin ] || { echo "usage: scripts/nginx.sh bin" >&2; exit 2; }
mkdir -p "$STATE"
# Tests run in parallel: one of them installs, the others wait.
exec 9>"$STATE/nginx.lock"
flock 9

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  install_packages "command -v curl && command -v openssl" "${missing[@]}"
fi

for candidate in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx "$UNPACKED"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done

log "nginx not found; unpacking the distribution's package into $STATE/nginx"
download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
chmod 777 "$download" # apt's unprivileged downloader writes here
download_packages "$download" nginx
dpkg -x "$download"/nginx_*.deb "$STATE/nginx"
echo "$UNPACKED"
