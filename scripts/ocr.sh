#!/usr/bin/env bash
# Installs what OCR needs from the distribution's packages, if missing: Tesseract with
# its English model (`tesseract-ocr`, `tesseract-ocr-eng`) and poppler's `pdftoppm`
# (pages of a PDF as images). Prints the tesseract it found. Run by scripts/run.sh and
# by the tests that OCR; the server looks for `tesseract` on the PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
install_packages \
  "command -v tesseract && command -v pdftoppm && tesseract --list-langs 2>&1 | grep -qx eng" \
  tesseract-ocr tesseract-ocr-eng poppler-utils
command -v tesseract
