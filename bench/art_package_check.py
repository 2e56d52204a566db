#!/usr/bin/env python3
"""art_package_check.py - IBM ART's own scans next to bench/art_baseline.py.

The benchmark's baseline re-implements ART's subset scanning in NumPy, so
that `make bench` needs nothing beyond Debian's python3-numpy.  This check
times the real package (pip: adversarial-robustness-toolbox) on the same
p-values, in the same interpreter, to show the baseline is not slower than
ART itself (which would inflate our ratios).

Interpreter: the `python3` first on PATH, whose pip reaches PyPI (not
Debian's /usr/bin/python3):
    python3 -m pip install adversarial-robustness-toolbox packaging
Usage (p-values as written by `acthist pvalues`, shape (n, D, 2)):
    ./build/acthist pvalues MODEL Q.npy -o pv.npy
    python3 bench/art_package_check.py pv.npy
"""
import os
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import art_baseline  # noqa: E402

try:
    import art
    from art.defences.detector.evasion.subsetscanning.scanner import Scanner
    from art.defences.detector.evasion.subsetscanning.scanningops import ScanningOps
    from art.defences.detector.evasion.subsetscanning.scoring_functions import (
        ScoringFunctions)
except ImportError as e:
    sys.exit("art_package_check.py: cannot import ART (%s); "
             "python3 -m pip install adversarial-robustness-toolbox packaging" % e)


def per_call(fn, calls, reps=5):
    """Median over reps of the mean time of `calls` calls of fn(i)."""
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        for i in range(calls):
            fn(i)
        times.append((time.perf_counter() - t) / calls)
    return float(np.median(times))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    pv = np.load(sys.argv[1])
    if pv.ndim != 3 or pv.shape[2] != 2:
        sys.exit("%s: want p-value ranges of shape (n, D, 2), got %s"
                 % (sys.argv[1], pv.shape))
    n, D, _ = pv.shape
    k = min(n, 200)
    print("ART %s, NumPy %s, %d inputs x %d nodes" % (art.__version__, np.__version__, n, D))
    a = per_call(lambda i: Scanner.fgss_individ_for_nets(pv[i]), k)
    b = per_call(lambda i: art_baseline.scan_individual(pv[i, :, 1]), k)
    print("individual scan per input: ART %.1f us, baseline %.1f us (ART / baseline %.2f)"
          % (a * 1e6, b * 1e6, a / b))
    # Restart 0 (all nodes), ART's own single restart, against the baseline's.
    t = time.perf_counter()
    r = ScanningOps.single_restart(pv, 0.5, np.arange(D), False,
                                   ScoringFunctions.get_score_bj_fast)
    ta = time.perf_counter() - t
    t = time.perf_counter()
    rb = art_baseline.single_restart(pv[:, :, 1], 0.5, np.arange(D), False)
    tb = time.perf_counter() - t
    print("group scan restart 0 (all nodes): ART %.3f s score %.2f, baseline %.3f s "
          "score %.2f (ART / baseline %.2f)" % (ta, r[0], tb, rb[0], ta / tb))


if __name__ == "__main__":
    main()
