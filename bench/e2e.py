#!/usr/bin/env python3
"""bench/e2e.py ACTHIST BG.npy Q.npy TMPDIR [--reps R] - end to end: a
command that scores a file of inputs against a background, from files to
a CSV of scores, as a user runs it.

  acthist   `ACTHIST score MODEL Q.npy --tail upper -o OUT.csv` (the
            tail the NumPy pipeline scans) in a child process
            (load the model, read the inputs, p-values, the individual
            scan, write the CSV), MODEL fitted once from BG.npy beforehand
            (`ACTHIST fit`); wall time of the whole process.
  NumPy     the pipeline of bench/art_baseline.py in this interpreter: load
            the background's sorted columns (np.sort(bg.T), saved once
            beforehand, the raw data a NumPy detector keeps), load Q.npy,
            searchsorted per column, the vectorised Berk-Jones scan per
            input, np.savetxt of the scores; time inside the process
            (interpreter start and imports excluded, in NumPy's favour).

Prints one JSON line per side (median of --reps runs) in the format of
bench_acthist.c, and checks the pipeline: acthist's exact model
(`fit --method empirical`, the same mathematics as the NumPy pipeline)
scores every input as NumPy does (to 1e-9).
Any interpreter with NumPy; bench/run.sh runs it with the baseline's.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from art_baseline import pvalue_ranges, scan_individual  # noqa: E402


def numpy_pipeline(sorted_path, q_path, out):
    cols = np.load(sorted_path)
    x = np.load(q_path)
    n = cols.shape[1]
    pmax = pvalue_ranges(cols, x, n)[:, :, 1]
    scores = np.array([scan_individual(pmax[i])[0] for i in range(len(x))])
    np.savetxt(out, scores, fmt="%.17g")
    return scores


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2], times[0], times[-1]


def emit(impl, med, lo, hi, reps, rows, d, n):
    print(json.dumps({"bench": "e2e_score", "impl": impl, "D": d, "N": n,
                      "batch": rows, "threads": 0, "median_s": med,
                      "min_s": lo, "max_s": hi, "reps": reps,
                      "calls_per_rep": 1}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("acthist")
    ap.add_argument("bg")
    ap.add_argument("q")
    ap.add_argument("tmp")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    model = os.path.join(a.tmp, "e2e.model")
    sorted_path = os.path.join(a.tmp, "e2e_sorted.npy")
    out_c, out_np = os.path.join(a.tmp, "e2e_c.csv"), os.path.join(a.tmp, "e2e_np.csv")
    subprocess.run([a.acthist, "fit", a.bg, "-o", model], check=True,
                   stderr=subprocess.DEVNULL)
    bg = np.load(a.bg)
    n, d = bg.shape
    np.save(sorted_path, np.sort(bg.T, axis=1))
    del bg
    rows = np.load(a.q, mmap_mode="r").shape[0]
    cmd = [a.acthist, "score", model, a.q, "--tail", "upper", "-o", out_c]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)  # warm-up
    med, lo, hi = median_time(
        lambda: subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL), a.reps)
    emit("acthist", med, lo, hi, a.reps, rows, d, n)
    numpy_pipeline(sorted_path, a.q, out_np)  # warm-up
    med, lo, hi = median_time(lambda: numpy_pipeline(sorted_path, a.q, out_np),
                              max(1, a.reps // 2))
    emit("numpy", med, lo, hi, max(1, a.reps // 2), rows, d, n)
    subprocess.run([a.acthist, "fit", "--method", "empirical", a.bg, "-o", model],
                   check=True, stderr=subprocess.DEVNULL)
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    ours = np.genfromtxt(out_c, delimiter=",", names=True)
    theirs = np.loadtxt(out_np)
    same = bool(np.allclose(ours["score"], theirs, rtol=1e-9, atol=1e-9))
    print(json.dumps({"bench": "e2e_check", "same_scores": same}), flush=True)
    if not same:
        sys.exit("e2e.py: the exact model's scores differ from NumPy's")
    for f in (model, sorted_path, out_c, out_np):
        os.remove(f)


if __name__ == "__main__":
    main()
