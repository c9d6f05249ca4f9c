#!/usr/bin/env bash
# The whole test suite. Uses DATABASE_URL when set (it must allow CREATE DATABASE: each
# test makes its own); otherwise a private PostgreSQL under .pactum/, installed from the
# distribution's packages if the machine has none. The lint gates run before the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The gates first, cheapest first: formatting, lints with warnings denied (the
# workspace's lints are in Cargo.toml), documentation that builds without a warning.
echo "== gates: cargo fmt --check, cargo clippy -D warnings, cargo doc -D warnings"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "== tests"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
fi

cargo test --workspace --locked "$@"
