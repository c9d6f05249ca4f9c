#!/usr/bin/env bash
# Installs ClamAV's scanning daemon from the distribution's packages if missing
# (`clamav-daemon`: clamd and sigtool). Prints the clamd it found. The signature
# database is not fetched: `freshclam` needs ClamAV's mirrors, which this project's
# scripts never reach. Tests give clamd a database of their own (the EICAR test
# file's hash); a deployment runs freshclam, as ClamAV's documentation says.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
install_packages "command -v clamd" clamav-daemon
command -v clamd
