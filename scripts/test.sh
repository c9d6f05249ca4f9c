#!/usr/bin/env bash
# The whole test suite. Uses DATABASE_URL when set (it must allow CREATE DATABASE: each
# test makes its own); otherwise a private PostgreSQL under .pactum/, installed from the
# distribution's packages if the machine has none.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
fi

cargo test --workspace --locked "$@"
