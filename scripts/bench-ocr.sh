#!/usr/bin/env bash
# OCR: pages of a PDF read as the page jobs read them (rendered to A4 at 300 dpi by
# poppler, read by the distribution's Tesseract, English), one worker and then two
# side by side in one run, to show what a page costs and how it scales with workers
# on this machine. Needs no database; installs the OCR tools if missing.
#
#   scripts/bench-ocr.sh [PAGES]     (default 12)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
bash scripts/ocr.sh >/dev/null
BENCH=$(bench_program text_bench)
PAGES=${1:-12}
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(git rev-parse --short HEAD); $(tesseract --version 2>&1 | head -n1)"
"$BENCH" ocr "$PAGES" 1
"$BENCH" ocr "$PAGES" 2
"$BENCH" ocr "$PAGES" 4
