# Installing the distribution's packages, shared by every script that needs one; sourced.
#
# Tests run in parallel, and several of them may find a tool missing at once: two
# apt-get processes then collide on dpkg's lock and one fails. Every install here
# therefore takes one machine-wide lock first, re-checks under it, and asks apt itself
# to wait for a lock held by anything else (unattended upgrades, a person at a shell).

PACKAGES_LOCK="${PACTUM_APT_LOCK:-/tmp/pactum-apt.lock}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_get ARGS...: apt-get as root, non-interactive, waiting up to 10 minutes for
# dpkg's lock instead of failing at once.
apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
    apt-get -o DPkg::Lock::Timeout=600 -qq "$@"
}

# with_package_lock COMMAND...: runs COMMAND holding the machine-wide install lock.
with_package_lock() {
  (
    # The lock file may have been made by another user; anyone may take it.
    [ -e "$PACKAGES_LOCK" ] || { : >"$PACKAGES_LOCK" && chmod 666 "$PACKAGES_LOCK"; } 2>/dev/null || true
    exec 8>>"$PACKAGES_LOCK"
    flock 8
    "$@"
  )
}

# install_packages CHECK PACKAGE...: unless the shell command CHECK succeeds, installs
# the packages (lists refreshed first). CHECK is run again under the lock, so a
# script that waited while another installed the same thing installs nothing.
install_packages() {
  local check="$1"
  shift
  eval "$check" >/dev/null 2>&1 && return 0
  with_package_lock _install_packages_locked "$check" "$@"
}

_install_packages_locked() {
  local check="$1"
  shift
  eval "$check" >/dev/null 2>&1 && return 0
  echo "installing $* from the distribution's packages" >&2
  apt_get update >&2
  apt_get install -y --no-install-recommends "$@" >&2
}

# download_packages DIR PACKAGE...: fetches the .deb files into DIR without installing
# them (for tools unpacked under the project folder).
download_packages() {
  local dir="$1"
  shift
  if ! (cd "$dir" && apt-get download "$@" >/dev/null 2>&1); then
    with_package_lock apt_get update >&2
    (cd "$dir" && apt-get download "$@" >&2)
  fi
}
