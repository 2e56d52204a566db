#!/usr/bin/env python3
"""python_binding.py - the Python binding (python/acthist) timed on the calls
that bench_acthist times in C, on the same model and queries, so that the
report can show what going through Python costs.

Interpreter: the baseline's (bench/run.sh: NumPy 2 when it can get it); the
binding runs on NumPy 1.24 and 2 alike.  Library: ACTHIST_LIBRARY, set by
run.sh to BUILD/libacthist.so.  One thread, as in the C rows it is held
against.  Prints JSON lines like bench_acthist ("impl": "python").

Usage: python_binding.py --model M --queries Q.npy [--restarts R]
           [--reps N] [--min-time S] [--tag T]
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))
import acthist  # noqa: E402


def timed(fn, reps, min_time):
    """Median over reps of the mean time of a call, calls repeated until
    min_time has passed (as bench_acthist does)."""
    fn()  # warm: page faults, first-touch of the model
    times = []
    calls = 1
    for _ in range(reps):
        while True:
            t = time.perf_counter()
            for _ in range(calls):
                fn()
            dt = time.perf_counter() - t
            if dt >= min_time or calls >= 1 << 20:
                break
            calls *= 2
        times.append(dt / calls)
    return float(np.median(times)), min(times), max(times), calls


def emit(bench, tag, m, secs, reps, **kw):
    med, lo, hi, calls = secs
    info = m.info()
    rec = {"part": "python", "bench": bench, "impl": "python", "tag": tag,
           "method": info["method"], "bins": info["bins_requested"],
           "D": info["nodes"], "N": info["rows"], "threads": 1,
           "median_s": med, "min_s": lo, "max_s": hi, "reps": reps,
           "calls_per_rep": calls, "numpy": np.__version__,
           "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    for k, v in kw.items():
        rec[k] = v(med) if callable(v) else v
    print(json.dumps(rec), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--restarts", type=int, default=4)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.1)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    m = acthist.Model.load(a.model)
    q = np.load(a.queries)  # float32, as a network's activations come
    n, D = q.shape[0], m.nodes
    R, T = a.reps, a.min_time

    k = [0]

    def rows_of(batch):  # the next rows each call, as the C bench takes them
        i = k[0] % (n // batch) * batch
        k[0] += 1
        return q[i:i + batch]
    for batch in (1, n):
        emit("pvalues", a.tag, m,
             timed(lambda: m.pvalues(rows_of(batch), threads=1), R, T), R,
             batch=batch, pairs_per_s=lambda s: batch * D / s)
        emit("score", a.tag, m,
             timed(lambda: m.score(rows_of(batch), threads=1), R, T), R,
             batch=batch, per_input_s=lambda s: s / batch)
    p = m.pvalues(q, threads=1)
    rows = [p[i] for i in range(n)]

    def one():  # the next input each call, as the C bench streams them
        acthist.scan_individual(rows[k[0] % n])
        k[0] += 1
    emit("scan_individual", a.tag, m, timed(one, R, T), R,
         per_input_s=lambda s: s)
    emit("scan_individual_rows", a.tag, m,
         timed(lambda: acthist.scan_individual_rows(p, threads=1), R, T), R,
         batch=n, per_input_s=lambda s: s / n)
    pmax = np.ascontiguousarray(p[..., 1])
    emit("scan_individual_rows_pmax", a.tag, m,
         timed(lambda: acthist.scan_individual_rows(pmax, threads=1), R, T),
         R, batch=n, per_input_s=lambda s: s / n)
    g = acthist.scan_group(p, restarts=a.restarts, seed=0, threads=1)
    emit("scan_group", a.tag, m,
         timed(lambda: acthist.scan_group(p, restarts=a.restarts, seed=0,
                                          threads=1), R, 0), R,
         batch=n, restarts=a.restarts, score=g.score,
         per_restart_s=lambda s: s / a.restarts)


if __name__ == "__main__":
    main()
