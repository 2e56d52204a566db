#!/usr/bin/env python3
"""bench/memory_case.py OUT_DIR [ROWS COLS LABELS ZERO_SHARE] - the
background of the MEMORY table of `make bench` (Debian's /usr/bin/python3
with python3-numpy).

Writes OUT_DIR/bg.npy, float32 (ROWS, COLS), default 50,000 x 1,024, and
OUT_DIR/labels.npy, int64, LABELS classes (default 10) drawn uniformly.
Each value is exactly 0 with probability ZERO_SHARE (default 0.6, the ReLU
spike), else exponential with a per-node scale (lognormal, sigma 1) times
a per-(class, node) factor (lognormal, sigma 0.3), so label sets differ
as a network's classes do.  Seeded: the same files on every run.
"""
import sys

import numpy as np


def main():
    out = sys.argv[1]
    rows, cols, labels = (int(a) for a in (sys.argv[2:5] or (50000, 1024, 10)))
    zero = float(sys.argv[5]) if len(sys.argv) > 5 else 0.6
    rng = np.random.default_rng(20261208)
    scale = np.exp(rng.normal(0.0, 1.0, cols))
    factor = np.exp(rng.normal(0.0, 0.3, (labels, cols)))
    lab = rng.integers(0, labels, rows).astype(np.int64)
    x = np.empty((rows, cols), np.float32)
    for i in range(0, rows, 5000):
        j = slice(i, min(i + 5000, rows))
        v = rng.exponential(1.0, (j.stop - j.start, cols)) * scale * factor[lab[j]]
        v[rng.random(v.shape) < zero] = 0.0
        x[j] = v
    np.save(out + "/bg.npy", x)
    np.save(out + "/labels.npy", lab)


if __name__ == "__main__":
    main()
