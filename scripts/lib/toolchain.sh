# Sourced by run.sh and test.sh. rust-toolchain.toml pins the compiler CI runs with;
# rustup installs it when missing. Where it is missing and cannot be installed (no
# access to rustup's servers, only to the package registries), build with the
# machine's default toolchain instead, and say so, rather than fail before building.
use_pinned_toolchain_or_default() {
  command -v rustup >/dev/null 2>&1 || return 0
  [ -n "${RUSTUP_TOOLCHAIN:-}" ] && return 0
  local root pinned
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  pinned="$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' "$root/rust-toolchain.toml")"
  [ -n "$pinned" ] || return 0
  if rustup toolchain list 2>/dev/null | grep -q "^$pinned[-( ]"; then
    return 0
  fi
  if rustup toolchain install "$pinned" --profile minimal --component rustfmt,clippy >/dev/null 2>&1; then
    return 0
  fi
  local fallback
  fallback="$(rustup default 2>/dev/null | awk '{print $1}')"
  [ -n "$fallback" ] || return 0
  echo "warning: the pinned toolchain $pinned cannot be installed here; building with $fallback" >&2
  export RUSTUP_TOOLCHAIN="$fallback"
}
use_pinned_toolchain_or_default
