#!/usr/bin/env bash
# Makes docs/samples/scanned-supply-agreement.pdf, the scanned contract of the README's
# tour: a page of text set in Helvetica, rendered to grey pixels at 300 dpi (poppler's
# pdftoppm) and wrapped in a PDF with no text layer (img2pdf), as a scanner makes one.
# Run once; its output is committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
bash scripts/ocr.sh >/dev/null
install_packages "command -v img2pdf" img2pdf
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$WORK/typed.pdf" <<'PY'
import sys
lines = [
    "SUPPLY AGREEMENT",
    "",
    "Between Acme Corporation and Nordic Logistics AB.",
    "The supplier ships refrigerated freight between",
    "Gothenburg and Rotterdam every week of the year.",
    "",
    "Contact: Zoe Lindqvist, email zoe@lindqvist.example,",
    "telephone +46 8 123 456 78.",
    "Payment to IBAN GB82 WEST 1234 5698 7654 32",
    "within thirty days of each invoice.",
    "",
    "Signed in Gothenburg on 2 March 2026.",
]
text = "BT /F1 14 Tf 72 760 Td 22 TL " + " ".join(
    "(" + l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") Tj T*" for l in lines
) + " ET"
objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    "<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
]
out = b"%PDF-1.4\n"
offsets = []
for i, body in enumerate(objects, 1):
    offsets.append(len(out))
    out += ("%d 0 obj\n%s\nendobj\n" % (i, body)).encode()
xref = len(out)
out += ("xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)).encode()
for o in offsets:
    out += ("%010d 00000 n \n" % o).encode()
out += ("trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)).encode()
open(sys.argv[1], "wb").write(out)
PY
pdftoppm -r 300 -gray -png -singlefile "$WORK/typed.pdf" "$WORK/page"
mkdir -p docs/samples
img2pdf --pagesize A4 "$WORK/page.png" -o docs/samples/scanned-supply-agreement.pdf
ls -l docs/samples/scanned-supply-agreement.pdf
