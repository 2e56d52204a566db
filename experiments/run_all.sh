#!/bin/sh
# The whole real-data pipeline, from fixed seeds, with Debian's Python
# (/usr/bin/python3; ensure_deps.sh installs python3-torch, python3-torchvision,
# dataset-fashion-mnist, libopenblas0-pthread if missing). Nothing is downloaded.
# Runs one torch process at a time (2 threads). About 15 minutes on 2 cores.
#   sh experiments/run_all.sh            everything: out/ (big, gitignored) and data/
# Outputs: experiments/out/ (models, images, activations, manifest.json,
# quick_auc*.md, timings.txt) and the bundled set in data/ (+ data/MANIFEST.md).
set -e
cd "$(dirname "$0")"
sh ./ensure_deps.sh
PY=/usr/bin/python3
OUTDIR=${ACTHIST_EXP_OUT:-out}
mkdir -p "$OUTDIR"
: > "$OUTDIR/timings.txt"
stage() {
    name=$1; shift
    echo "== $name: $*" >&2
    t0=$(date +%s)
    "$@"
    t1=$(date +%s)
    echo "$name $((t1 - t0)) s" | tee -a "$OUTDIR/timings.txt" >&2
}
T0=$(date +%s)
stage train     $PY train.py cnn mlp resnet vae
stage synth     $PY synth.py
stage attack    $PY attack.py cnn mlp resnet
stage extract   $PY extract.py cnn mlp resnet
stage bundle    $PY bundle.py
stage quick_auc $PY quick_auc.py
stage quick_auc_successful $PY quick_auc.py --successful-only cnn/fc1 cnn/pool2 cnn/conv1 mlp/fc2 resnet/gap resnet/stem --out "$OUTDIR/quick_auc_successful.md"
echo "total $(( $(date +%s) - T0 )) s" | tee -a "$OUTDIR/timings.txt" >&2
