#!/usr/bin/env bash
# The whole test suite. Uses DATABASE_URL when set (it must allow CREATE DATABASE: each
# test makes its own); otherwise a private PostgreSQL under .pactum/, installed from the
# distribution's packages if the machine has none. The lint gates run before the tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib/toolchain.sh
source scripts/lib/toolchain.sh

# The gates first, cheapest first: formatting, lints with warnings denied (the
# workspace's lints are in Cargo.toml), documentation that builds without a warning.
# A toolchain without rustfmt or clippy (a distribution's cargo) skips that gate, and
# says so.
echo "== gates: cargo fmt --check, cargo clippy -D warnings, cargo doc -D warnings"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all --check
else
  echo "warning: rustfmt is not installed; the formatting gate is skipped" >&2
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --locked -- -D warnings
else
  echo "warning: clippy is not installed; the lint gate is skipped" >&2
fi
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo "== tests"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL="$(bash scripts/pg.sh url)"
  export DATABASE_URL
fi

cargo test --workspace --locked "$@"
