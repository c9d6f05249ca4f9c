#!/usr/bin/env bash
# Installs what OCR needs from the distribution's packages, if missing: Tesseract with
# its English, German and French models (`tesseract-ocr`, `tesseract-ocr-eng`, `-deu`,
# `-fra`; a tenant picks among what is installed) and poppler's tools (`pdftoppm`
# renders a page, `pdfseparate` and `pdfunite` assemble the searchable PDF). Prints
# the tesseract it found. Run by scripts/run.sh and by the tests that OCR; the server
# looks for the tools on the PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
install_packages \
  "command -v tesseract && command -v pdftoppm && command -v pdfunite && [ \"\$(tesseract --list-langs 2>&1 | grep -cxE 'eng|deu|fra')\" = 3 ]" \
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra poppler-utils
command -v tesseract
