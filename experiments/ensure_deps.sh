#!/bin/sh
# Installs, if missing, what the experiments need (Debian packages only; no downloads
# at run time): Debian's Python with torch/torchvision/numpy, OpenBLAS, and the
# Fashion-MNIST data set as shipped by Debian (/usr/share/datasets/fashion-mnist).
set -e
need=""
/usr/bin/python3 -c "import numpy" 2>/dev/null || need="$need python3-numpy"
/usr/bin/python3 -c "import torch" 2>/dev/null || need="$need python3-torch"
/usr/bin/python3 -c "import torchvision" 2>/dev/null || need="$need python3-torchvision"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need="$need dataset-fashion-mnist"
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need="$need libopenblas0-pthread"
if [ -n "$need" ]; then
    echo "ensure_deps: installing:$need" >&2
    if [ "$(id -u)" != 0 ]; then
        echo "ensure_deps: not root; run: apt-get install -y$need" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >&2
fi
