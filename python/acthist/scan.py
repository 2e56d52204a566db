"""Subset scans of p-values: one input's nodes (individual) or a batch's
inputs x nodes (group), and the scoring functions (docs/METHOD.md,
sections 5-7)."""
import ctypes
from collections import namedtuple

import numpy as np

from . import _capi
from ._capi import (AH_OPTION_ALPHA_MAX, AH_OPTION_MAX_ITER,
                    AH_OPTION_RESTARTS, AH_OPTION_THREADS, Diag, lib,
                    option_int, option_real, ptr, raise_for, real_array)

ScanResult = namedtuple("ScanResult", "score alpha size nodes")
ScanResult.__doc__ = """An individual scan: the score, the best threshold,
the size of the best subset and, when asked for, its node indices."""

GroupResult = namedtuple("GroupResult", "score alpha inputs nodes")
GroupResult.__doc__ = """A group scan: the score, the best threshold and the
best subset as boolean masks over the batch's inputs and nodes."""


def stat_score(stat, alpha, n_alpha, n):
    """phi(alpha, n_alpha, n) of the statistic "bj", "hc" or "ks"."""
    return lib.ah_stat_score(_capi.parse("stat", stat), float(alpha),
                             float(n_alpha), float(n))


def scan_individual(pmax, *, stat="bj", alpha_max=0.5, nodes=False):
    """Individual scan of one input's p-values: pmax is a 1-D array of
    p_max values, or the (D, 2) ranges of one row of Model.pvalues.  With
    nodes=True the result carries the best subset's node indices.
    P-values must lie in [0, 1] (and ranges have p_min <= p_max)."""
    p = real_array(np.asarray(pmax), "p-values")
    if p.ndim != 1 and not (p.ndim == 2 and p.shape[1] == 2):
        raise ValueError("acthist: scan_individual takes one input's p_max "
                         "values (D,) or ranges (D, 2), not shape %s"
                         % (p.shape,))
    s = _capi.parse("stat", stat)
    alpha_max = option_real(AH_OPTION_ALPHA_MAX, alpha_max, "alpha_max")
    p = np.ascontiguousarray(p, dtype=np.float64)
    if p.ndim == 2:
        _capi.check_ranges(p.reshape(1, -1, 2))
        p = np.ascontiguousarray(p[:, 1])
    res, d = _capi.ScanResult(), Diag()
    idx = np.empty(max(p.shape[0], 1), dtype=np.uintp) if nodes else None
    st = lib.ah_scan_individual(ptr(p), p.shape[0], s, alpha_max,
                                ctypes.byref(res),
                                None if idx is None else ptr(idx,
                                                             ctypes.c_size_t),
                                ctypes.byref(d))
    raise_for(st, d)
    sub = idx[:res.size].astype(np.int64) if nodes else None
    return ScanResult(res.score, res.alpha, res.size, sub)


def scan_individual_rows(p, *, stat="bj", alpha_max=0.5, threads=0):
    """Individual scans of many inputs' p-values: p is (n, D) p_max values
    or (n, D, 2) ranges as Model.pvalues returns them.  Scores(score,
    alpha, size) of arrays, one entry per input, each what scan_individual
    gives for that row, on `threads` threads (0: all cores)."""
    from .model import Scores
    a = real_array(np.asarray(p), "p-values")
    if a.ndim == 3 and a.shape[2] == 2:
        step = 2
    elif a.ndim == 2:
        step = 1
    else:
        raise ValueError("acthist: scan_individual_rows takes p_max values "
                         "(n, D) or ranges (n, D, 2), not shape %s"
                         % (a.shape,))
    s = _capi.parse("stat", stat)
    alpha_max = option_real(AH_OPTION_ALPHA_MAX, alpha_max, "alpha_max")
    threads = option_int(AH_OPTION_THREADS, threads, "threads")
    a = np.ascontiguousarray(a, dtype=np.float64)
    if step == 2:
        _capi.check_ranges(a)
    n, D = a.shape[0], a.shape[1]
    res, d = (_capi.ScanResult * max(n, 1))(), Diag()
    base = ctypes.cast(ptr(a), ctypes.c_void_p).value or 0
    first = ctypes.cast(base + 8 * (step - 1), _capi.c_double_p)
    raise_for(lib.ah_scan_individual_rows(first, n, D, D * step, step, s,
                                          alpha_max, res, threads,
                                          ctypes.byref(d)), d)
    arr = _capi.as_records(res, [("score", "f8"), ("alpha", "f8"),
                                 ("size", np.uintp)])[:n]
    return Scores(arr["score"], arr["alpha"], arr["size"].astype(np.int64))


def scan_group(p, *, stat="bj", alpha_max=0.5, restarts=10, seed=0,
               max_iter=50, fractional=False, threads=0):
    """Group scan of a batch's p-value ranges p (rows, cols, 2), as
    Model.pvalues returns them: the most anomalous subset of inputs x
    nodes, by iterative ascent from `restarts` seeded starts.  The result
    is the same for the same seed at any thread count.  The options must be
    in the library's ranges (acthist.h), the seed in 0..2**64 - 1."""
    a = real_array(np.asarray(p), "p-values")
    if a.ndim != 3 or a.shape[2] != 2:
        raise ValueError("acthist: scan_group takes p-value ranges of shape "
                         "(rows, cols, 2), not %s" % (a.shape,))
    a = np.ascontiguousarray(a, dtype=np.float64)
    o = _capi.GroupOptions()
    lib.ah_group_options_default(ctypes.byref(o))
    o.stat = _capi.parse("stat", stat)
    o.alpha_max = option_real(AH_OPTION_ALPHA_MAX, alpha_max, "alpha_max")
    o.restarts = option_int(AH_OPTION_RESTARTS, restarts, "restarts")
    o.seed = _capi.c_integer(seed, "seed", 0, 2**64 - 1)
    o.max_iter = option_int(AH_OPTION_MAX_ITER, max_iter, "max_iter")
    o.fractional = int(bool(fractional))
    o.threads = option_int(AH_OPTION_THREADS, threads, "threads")
    rows, cols = a.shape[0], a.shape[1]
    inp = np.zeros(max(rows, 1), dtype=np.uint8)
    nod = np.zeros(max(cols, 1), dtype=np.uint8)
    res, d = _capi.GroupResult(), Diag()
    st = lib.ah_scan_group(ptr(a), rows, cols, ctypes.byref(o),
                           ctypes.byref(res), ptr(inp, ctypes.c_ubyte),
                           ptr(nod, ctypes.c_ubyte), ctypes.byref(d))
    raise_for(st, d)
    return GroupResult(res.score, res.alpha, inp[:rows] != 0,
                       nod[:cols] != 0)
