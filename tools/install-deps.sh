#!/bin/sh
# Install what the build, the tests and the experiments need on Debian 12.
# Idempotent: packages already present are not fetched again.
#   build:        gcc, make (the toolchain)
#   tests:        Debian's python3-numpy (CLI tests check against NumPy,
#                 the Python binding runs on it), pkgconf (make install),
#                 python3-venv, python3-pip, python3-setuptools and
#                 python3-wheel (pip install ./python, offline), g++ (the
#                 header from C++),
#                 chromium (renders the SVG plots headlessly),
#                 mpich and libmpich-dev (acthist-mpi-fit, the fit on MPI),
#                 python3-torch, libopenblas0-pthread (torch's dense layers
#                 use it) and dataset-fashion-mnist (acthist.Detector's
#                 test trains a small CNN on it), python3-sklearn
#                 (acthist.sklearn and scikit-learn's estimator checks),
#                 python3-tqdm (IBM ART imports it), and IBM ART itself
#                 from PyPI (tests/python/test_art.py compares acthist.art
#                 with it): ART alone (--no-deps; what its detector imports
#                 comes from Debian) in a venv over Debian's Python, at
#                 $ACTHIST_ART_VENV or ~/.cache/acthist/art-venv; without
#                 PyPI this says so and the test skips that comparison
#                 clang and libclang-rt-14-dev (libFuzzer: make fuzz-ci)
#   experiments:  the same, and python3-torchvision
set -eu
need=""
# Usage: install-deps.sh [EXTRA-PACKAGE ...]
#        install-deps.sh --only PACKAGE ...   (just those, e.g. for the bench)
base="gcc g++ make python3-numpy pkgconf python3-venv python3-pip python3-setuptools python3-wheel chromium mpich libmpich-dev python3-torch libopenblas0-pthread dataset-fashion-mnist python3-sklearn python3-tqdm clang libclang-rt-14-dev"
only=""
if [ "${1:-}" = --only ]; then
    shift
    base=""
    only=1
fi
for p in $base "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: need root to install:$need" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
art_venv=${ACTHIST_ART_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/acthist/art-venv}
if [ -z "$only" ] && ! "$art_venv/bin/python" -c "import art" 2>/dev/null; then
    if /usr/bin/python3 -m venv --system-site-packages "$art_venv" &&
        "$art_venv/bin/pip" install -q --disable-pip-version-check --no-deps \
            adversarial-robustness-toolbox==1.20.1; then
        echo "install-deps: IBM ART 1.20.1 installed in $art_venv" >&2
    else
        echo "install-deps: could not install IBM ART from PyPI into $art_venv:" \
            "tests/python/test_art.py will skip its comparison with ART" >&2
    fi
fi
