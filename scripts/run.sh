#!/usr/bin/env bash
# Quick start: installs and starts what Pactum needs, migrates, provisions the demo
# tenants `acme` and `globex` (on acme.localhost and globex.localhost), then serves
# Pactum on 127.0.0.1:8000 until interrupted.
#
# Uses DATABASE_URL when set; otherwise a private PostgreSQL under .pactum/ (installed
# from the distribution's packages if the machine has none). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url pactum)"
  export DATABASE_URL
fi
echo "database: ${DATABASE_URL%%\?*}" >&2

cargo build --release --locked --workspace
tenantctl=target/release/tenantctl

"$tenantctl" migrate

DEMO_PASSWORD="${PACTUM_DEMO_PASSWORD:-pactum-demo-password}"
for tenant in acme globex; do
  if ! "$tenantctl" show "$tenant" >/dev/null 2>&1; then
    printf '%s\n' "$DEMO_PASSWORD" | "$tenantctl" create "$tenant" \
      --domain "$tenant.localhost" \
      --name "${tenant^} (demo)" \
      --admin-email "admin@$tenant.example"
  fi
done
"$tenantctl" list
echo "demo logins: admin@acme.example and admin@globex.example, password: $DEMO_PASSWORD" >&2

# Development mode generates a throwaway JWT secret unless JWT_SECRET is set.
export PACTUM_DEV="${PACTUM_DEV:-1}"
export PACTUM_BIND="${PACTUM_BIND:-127.0.0.1:8000}"
echo "serving on http://$PACTUM_BIND; try: curl http://acme.localhost:${PACTUM_BIND##*:}/api/v1/tenant" >&2
exec target/release/pactum
