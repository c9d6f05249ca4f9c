#!/usr/bin/env bash
# Text extraction: the reader the extraction job runs, on PDFs of 100 and 1,000 pages
# of text and on DOCX files of 10,000 and 100,000 paragraphs (made by
# benches/text_bench.rs), one process per file so each peak memory is its own.
# Needs no database.
#
#   scripts/bench-text.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-common.sh
source scripts/bench-common.sh
BENCH=$(bench_program text_bench)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(git rev-parse --short HEAD)"
"$BENCH" pdf 100
"$BENCH" pdf 1000
"$BENCH" docx 10000
"$BENCH" docx 100000
