#!/usr/bin/env bash
# Installs s3s-fs, an S3-compatible server that keeps objects in a folder and checks
# request signatures (crates.io, built by cargo), under .pactum/tools if missing, and
# prints its path. The tests of the bucket store run it; Pactum itself never does.
# Why this server: docs/documents.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
TOOLS="$PWD/.pactum/tools"
BIN="$TOOLS/bin/s3s-fs"
mkdir -p "$TOOLS"
if [ ! -x "$BIN" ]; then
  # Tests start in parallel: one of them builds, the others wait for it.
  flock "$TOOLS/.s3s-fs.lock" bash -c "
    [ -x '$BIN' ] || cargo install s3s-fs --version 0.14.1 --features binary --locked \
      --root '$TOOLS' --quiet >&2"
fi
echo "$BIN"
