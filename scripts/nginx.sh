#!/usr/bin/env bash
# nginx for the proxy tests (tests/proxy.rs), which run deploy/nginx/pactum.conf in
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
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

[ "${1:-}" = bin ] || { echo "usage: scripts/nginx.sh bin" >&2; exit 2; }
mkdir -p "$STATE"
# Tests run in parallel: one of them installs, the others wait.
exec 9>"$STATE/nginx.lock"
flock 9

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from the distribution's packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
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
if ! (cd "$download" && apt-get download nginx >/dev/null 2>&1); then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  (cd "$download" && apt-get download nginx >&2)
fi
dpkg -x "$download"/nginx_*.deb "$STATE/nginx"
echo "$UNPACKED"
