#!/usr/bin/env bash
# What `tenantctl` costs to build and ship, this build against another checkout: a
# clean release build of the `tenantctl` package alone (each in an empty target
# folder, one after the other, so they do not share the two cores), the crates it
# compiles, and the size of the binary (as built, and stripped).
#
#   scripts/bench-tenantctl-build.sh OTHER_CHECKOUT
#
# OTHER_CHECKOUT is another working tree of this repository (`git worktree add
# /tmp/before <rev>`). The registry must already be downloaded (any earlier build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OTHER="$(cd "${1:?usage: scripts/bench-tenantctl-build.sh OTHER_CHECKOUT}" && pwd)"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

echo "machine: $(nproc) cores; this $(git rev-parse --short HEAD), other $(git -C "$OTHER" rev-parse --short HEAD)"
echo "| build | clean release build of tenantctl | crates compiled | binary | stripped |"
echo "| --- | ---: | ---: | ---: | ---: |"
for build in other this; do
  tree=$PWD
  [ "$build" = other ] && tree=$OTHER
  target="$SCRATCH/$build"
  started=$(date +%s.%N)
  (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --locked --offline -p tenantctl \
    --message-format=json 2>/dev/null) >"$SCRATCH/$build.json"
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  crates=$(grep -c '"reason":"compiler-artifact"' "$SCRATCH/$build.json" || true)
  bytes=$(stat -c %s "$target/release/tenantctl")
  strip -o "$SCRATCH/$build.stripped" "$target/release/tenantctl"
  stripped=$(stat -c %s "$SCRATCH/$build.stripped")
  echo "| $build | ${seconds} s | $crates | $((bytes / 1024 / 1024)) MiB | $((stripped / 1024 / 1024)) MiB |"
done
