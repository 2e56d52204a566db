#!/usr/bin/env python3
"""art_baseline.py - the baseline a user would otherwise pick: IBM ART's
SubsetScanningDetector algorithm, written here in NumPy from its published
description (McFowland, Speakman and Neill, JMLR 2013, and ART's
documentation of SubsetScanningDetector / Scanner / ScanningOps).

Run with NumPy 2 or later (bench/run.sh says how it finds one): NumPy 2's
vectorised sorts make np.unique and np.sort, hence both scans, 2-3x faster
than Debian 12's NumPy 1.24, and the baseline should be the fastest a user
would get.  Any interpreter with NumPy runs it.  Pure NumPy, no BLAS calls,
so OPENBLAS_* settings in the environment do not matter.

What it does, as ART does it:
  fit         keep the raw background (float32, as networks produce it) and
              sort every column: np.sort(bg, axis=0).
  p-values    for each column j, np.searchsorted(sorted[:, j], x[:, j]) with
              side='right' and side='left':  p_min = #{b > x} / (N+1),
              p_max = (#{b >= x} + 1) / (N+1)  -- bit-identical to
              docs/METHOD.md section 2.1.
  individual  per input: keep p_max <= a_max, np.unique with counts,
  scan        cumulative counts, Berk-Jones at every distinct threshold, max.
  group scan  per restart, iterative ascent between inputs and nodes; each
              half step counts every element's p-values <= each threshold,
              sorts elements by count (the linear-time subset scanning
              property) and scores every prefix.  ART evaluates at most ~50
              thresholds per half step (every ceil(T/50)-th distinct p_max,
              plus a_max); so does this baseline.  ours evaluates all of them.

Two deliberate departures, both in the baseline's favour (so our speed-up
ratios are conservative):
  - the sorted background is stored transposed (one contiguous row per node).
    ART keeps np.sort(bg, axis=0) in (N, D) C order, so every searchsorted
    first copies a strided column; that layout is measured separately
    ("pvalues_art_layout") where requested.
  - group-scan counting is vectorised over all elements (one searchsorted and
    one bincount per half step) instead of ART's Python loop over elements.

Output: one JSON line per measurement, in the format of bench_acthist.c.
Timing: time.perf_counter, one warm-up call, median of --reps repetitions
(each at least --min-time seconds, short calls repeated and divided).
"""
import argparse
import json
import resource
import sys
import time

import numpy as np


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def time_op(fn, reps, min_time, fit_budget=None):
    """Median seconds per call of fn(call_index), as bench_acthist.c does;
    with fit_budget, stop repeating once that many seconds are spent."""
    if fit_budget is None:      # warm-up call, untimed
        t0 = time.perf_counter()
        fn(0)
        w = time.perf_counter() - t0
    else:                       # fits: every call is timed, no warm-up
        w = float("inf")
    k = 1 if w >= min_time else int(np.ceil(min_time / max(w, 1e-7)))
    if w > 1.0:
        reps = min(reps, 3)   # slow calls: 3 repetitions keep the run in budget
    v = []
    call = 1
    spent = 0.0
    for _ in range(reps):
        if fit_budget is not None and v and spent > fit_budget:
            break
        t0 = time.perf_counter()
        for _ in range(k):
            fn(call)
            call += 1
        v.append((time.perf_counter() - t0) / k)
        spent += v[-1] * k
    return float(np.median(v)), min(v), max(v), k, len(v)


def emit(args, bench, med, lo, hi, k, reps, **fields):
    rec = {"bench": bench, "tag": args.tag, "impl": "numpy"}
    rec.update(fields)
    rec.update({"median_s": med, "min_s": lo, "max_s": hi, "reps": reps,
                "calls_per_rep": k, "peak_rss_kb": peak_rss_kb()})
    print(json.dumps(rec), flush=True)


# --------------------------------------------------------------------------
# p-values (ART's calculate_pvalue_ranges)

def pvalue_ranges(sorted_cols, x, n):
    """sorted_cols[j] is column j of the background, sorted (any layout:
    a (D, N) array or the column views of an (N, D) one)."""
    rows, d = x.shape
    out = np.empty((rows, d, 2))
    for j in range(d):
        col = sorted_cols[j]
        out[:, j, 0] = np.searchsorted(col, x[:, j], side="right")
        out[:, j, 1] = np.searchsorted(col, x[:, j], side="left")
    out = n - out
    out[:, :, 0] /= n + 1
    out[:, :, 1] = (out[:, :, 1] + 1) / (n + 1)
    return out


# --------------------------------------------------------------------------
# Scoring (docs/METHOD.md section 5: Berk-Jones n KL(n_a/n || a))

def bj_score(n_alpha, n, alpha):
    n_alpha, n, alpha = np.broadcast_arrays(
        np.asarray(n_alpha, float), np.asarray(n, float), np.asarray(alpha, float))
    score = np.zeros(n_alpha.shape)
    pos = (n_alpha > n * alpha) & (n > 0)
    tie = pos & (n_alpha == n)
    mid = pos & ~tie
    score[tie] = n[tie] * np.log(1.0 / alpha[tie])
    q = n_alpha[mid] / n[mid]
    a = alpha[mid]
    score[mid] = n[mid] * (q * np.log(q / a) + (1 - q) * np.log((1 - q) / (1 - a)))
    return score


def scan_individual(pmax, a_max=0.5):
    """ART Scanner.fgss_individ_for_nets: (score, alpha, size)."""
    cand = pmax[pmax <= a_max]
    if cand.size == 0:
        return 0.0, 0.0, 0
    thr, cnt = np.unique(cand, return_counts=True)
    cum = np.cumsum(cnt)
    # n_alpha == n for one input, where Berk-Jones is n log(1/a): scored
    # directly, with fewer NumPy calls than ART's masked get_score_bj_fast,
    # so this baseline is not slower than ART itself (bench/art_package_check.py
    # times both on the same p-values)
    scores = cum * np.log(1.0 / thr)
    b = int(np.argmax(scores))
    if scores[b] <= 0:
        return 0.0, 0.0, 0
    return float(scores[b]), float(thr[b]), int(cum[b])


# --------------------------------------------------------------------------
# Group scan (ART Scanner.fgss_for_nets / ScanningOps.single_restart)

def optimize_one_side(sub, a_max, along_rows, size_of_given):
    """sub: the p_max values of the fixed side (rows x cols).  along_rows:
    elements are the rows (choose inputs), else the columns (choose nodes).
    Returns (score, element indices of the best subset, alpha)."""
    thr = np.unique(sub)
    thr = thr[:np.searchsorted(thr, a_max)]
    thr = thr[0::int(len(thr) / 50) + 1]
    thr = np.append(thr, a_max)
    t = len(thr)
    elems = sub if along_rows else sub.T
    e = elems.shape[0]
    # first threshold index at or above each p (t: above a_max, never counted)
    idx = np.searchsorted(thr, elems, side="left")
    flat = (np.arange(e)[:, None] * (t + 1) + idx).ravel()
    counts = np.bincount(flat, minlength=e * (t + 1)).reshape(e, t + 1)[:, :t]
    counts = np.cumsum(counts, axis=1)          # e x t: #{p <= thr[k]}
    srt = -np.sort(-counts, axis=0)             # priority order per threshold
    n_alpha = np.cumsum(srt, axis=0)
    n = size_of_given * np.arange(1, e + 1)[:, None]
    scores = bj_score(n_alpha, n, thr[None, :])
    best = np.unravel_index(int(np.argmax(scores)), scores.shape)
    size, k = best[0] + 1, best[1]
    subset = np.argsort(-counts[:, k], kind="stable")[:size]
    return float(scores[best]), np.sort(subset), float(thr[k])


def single_restart(pmax, a_max, seeds, image_to_node):
    best = -1e300
    sub_images = sub_nodes = seeds
    best_sets = (None, None, 0.0)
    while True:
        if image_to_node:   # fixed inputs -> choose nodes
            s, sub_nodes, a = optimize_one_side(
                pmax[sub_images, :], a_max, False, len(sub_images))
        else:               # fixed nodes -> choose inputs
            s, sub_images, a = optimize_one_side(
                pmax[:, sub_nodes], a_max, True, len(sub_nodes))
        if s > best:
            best = s
            best_sets = (sub_images, sub_nodes, a)
            image_to_node = not image_to_node
        else:
            return best, best_sets


def scan_group(pmax, a_max, restarts, rng):
    """Restart 0 starts from all nodes, the others from a random share of
    them, as ART's fgss_for_nets(image_to_node_init=False)."""
    best = -1e300
    d = pmax.shape[1]
    for r in range(restarts):
        if r == 0:
            seeds = np.arange(d)
        else:
            seeds = np.array([], dtype=int)
            while seeds.size == 0:
                seeds = rng.choice(d, int(d * rng.uniform()), replace=False)
        s, _ = single_restart(pmax, a_max, seeds, False)
        best = max(best, s)
    return best


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bg", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--batches", default="1,1000")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--group-rows", type=int, default=1000)
    ap.add_argument("--no-group", action="store_true")
    ap.add_argument("--art-layout", action="store_true",
                    help="also time p-values on ART's (N, D) sorted layout")
    ap.add_argument("--scores-out")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()

    bg = np.load(args.bg)
    bg = bg.reshape(bg.shape[0], -1)
    n, d = bg.shape
    q = np.load(args.queries)
    q = q.reshape(q.shape[0], -1)
    assert q.shape[1] == d, "queries and background differ in D"
    common = {"method": "art-numpy", "D": d, "N": n,
              "numpy": np.__version__}

    # fit: ART sorts the background columns; we also lay them out per node
    holder = {}

    def fit(_):
        s = np.sort(bg, axis=0)
        holder["art"] = s
        holder["cols"] = np.ascontiguousarray(s.T)
    med, lo, hi, k, nr = time_op(fit, min(args.reps, 3), 0, fit_budget=20.0)
    sorted_art, sorted_cols = holder["art"], holder["cols"]
    emit(args, "fit", med, lo, hi, k, nr, file_bytes=sorted_cols.nbytes,
         memory_bytes=sorted_cols.nbytes, raw_bytes=n * d * 4.0, **common)
    del bg
    if not args.art_layout:
        del holder["art"], sorted_art

    batches = [int(b) for b in args.batches.split(",") if b]
    for b in batches:
        b = min(b, q.shape[0])

        def pv(call, b=b):
            r0 = 0 if b == q.shape[0] else (call * b) % (q.shape[0] - b + 1)
            pvalue_ranges(sorted_cols, q[r0:r0 + b], n)
        med, lo, hi, k, nr = time_op(pv, args.reps, args.min_time)
        emit(args, "pvalues", med, lo, hi, k, nr, batch=b, threads=1,
             pairs_per_s=b * d / med, **common)
    if args.art_layout:
        b = min(max(batches), q.shape[0])
        cols = [sorted_art[:, j] for j in range(d)]  # strided views
        med, lo, hi, k, nr = time_op(lambda _: pvalue_ranges(cols, q[:b], n),
                                 min(args.reps, 3), 0)
        emit(args, "pvalues_art_layout", med, lo, hi, k, nr, batch=b, threads=1,
             pairs_per_s=b * d / med, **common)
        del cols, holder["art"], sorted_art

    # scans on the exact p-values of the first group_rows queries
    m = min(args.group_rows, q.shape[0])
    p = pvalue_ranges(sorted_cols, q[:m], n)
    pmax = np.ascontiguousarray(p[:, :, 1])
    if args.scores_out:
        with open(args.scores_out, "w") as f:
            for i in range(m):
                s, a, size = scan_individual(pmax[i])
                f.write("%.17g %.17g %d\n" % (s, a, size))
    med, lo, hi, k, nr = time_op(lambda call: scan_individual(pmax[call % m]),
                             args.reps, args.min_time)
    emit(args, "scan_individual", med, lo, hi, k, nr, per_input_s=med, **common)

    if not args.no_group:
        rng = np.random.default_rng(7)
        res = {}

        def grp(_):
            res["score"] = scan_group(pmax, 0.5, args.restarts, rng)
        med, lo, hi, k, nr = time_op(grp, min(args.reps, 3), 0)
        emit(args, "scan_group", med, lo, hi, k, nr, batch=m, threads=1,
             restarts=args.restarts, per_restart_s=med / args.restarts,
             score=res["score"], **common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
