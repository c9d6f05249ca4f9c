#!/usr/bin/env bash
# PgBouncer for the pooler tests (tests/api/pooler.rs) and benchmarks: the
# distribution's package (Debian 12 ships 1.18, which has no protocol-level prepared
# statements, the case Pactum must handle). Uses the machine's pgbouncer when it has
# one; otherwise unpacks the package, and the libraries it needs that the machine lacks,
# under .pactum/pgbouncer without installing anything (no service started, no system
# configuration: callers write their own).
#
#   scripts/pgbouncer.sh bin   print the path of a command that runs pgbouncer
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.pactum"
UNPACKED="$STATE/pgbouncer"
WRAPPER="$UNPACKED/run-pgbouncer"

log() { echo "pgbouncer.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

[ "${1:-}" = bin ] || { echo "usage: scripts/pgbouncer.sh bin" >&2; exit 2; }
mkdir -p "$STATE"
# Tests run in parallel: one of them unpacks, the others wait.
exec 9>"$STATE/pgbouncer.lock"
flock 9

for candidate in "$(command -v pgbouncer 2>/dev/null || true)" /usr/sbin/pgbouncer "$WRAPPER"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then
    echo "$candidate"
    exit 0
  fi
done

log "pgbouncer not found; unpacking the distribution's package into $UNPACKED"
packages=(pgbouncer)
ldconfig -p | grep -q 'libcares\.so\.2' || packages+=(libc-ares2)
ldconfig -p | grep -q 'libevent-2\.1\.so\.7' || packages+=(libevent-2.1-7)
download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT
chmod 777 "$download" # apt's unprivileged downloader writes here
download_packages "$download" "${packages[@]}"
rm -rf "$UNPACKED"
for deb in "$download"/*.deb; do
  dpkg -x "$deb" "$UNPACKED"
done
# The folder must be reachable by the unprivileged user pgbouncer switches to when
# started as root.
chmod -R a+rX "$UNPACKED"
cat >"$WRAPPER" <<EOF
#!/bin/sh
LD_LIBRARY_PATH="$UNPACKED/usr/lib/x86_64-linux-gnu:$UNPACKED/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "$UNPACKED/usr/sbin/pgbouncer" "\$@"
EOF
chmod 755 "$WRAPPER"
"$WRAPPER" --version >&2
echo "$WRAPPER"
