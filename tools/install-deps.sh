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
#                 clang and libclang-rt-14-dev (libFuzzer: make fuzz-ci)
#   experiments:  python3-torch, python3-torchvision, dataset-fashion-mnist,
#                 libopenblas0-pthread (torch's dense layers use it)
set -eu
need=""
# Usage: install-deps.sh [EXTRA-PACKAGE ...]
#        install-deps.sh --only PACKAGE ...   (just those, e.g. for the bench)
base="gcc g++ make python3-numpy pkgconf python3-venv python3-pip python3-setuptools python3-wheel chromium mpich libmpich-dev clang libclang-rt-14-dev"
if [ "${1:-}" = --only ]; then
    shift
    base=""
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
