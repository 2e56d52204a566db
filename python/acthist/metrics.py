"""Detection metrics over clean and anomalous scores: AUC (Mann-Whitney,
ties counted half), ROC points, TPR at a fixed FPR."""
import ctypes

import numpy as np

from ._capi import Diag, lib, ptr, raise_for, real_array


def _two(clean, anomalous):
    c = real_array(np.asarray(clean), "clean scores")
    a = real_array(np.asarray(anomalous), "anomalous scores")
    return (np.ascontiguousarray(c, dtype=np.float64).reshape(-1),
            np.ascontiguousarray(a, dtype=np.float64).reshape(-1))


def auc(clean, anomalous):
    """P(anomalous score > clean score) + P(equal) / 2."""
    c, a = _two(clean, anomalous)
    out, d = ctypes.c_double(), Diag()
    raise_for(lib.ah_auc(ptr(c), c.size, ptr(a), a.size, ctypes.byref(out),
                         ctypes.byref(d)), d)
    return out.value


def roc(clean, anomalous):
    """ROC points (fpr, tpr) at every distinct threshold, (0,0) to (1,1)."""
    c, a = _two(clean, anomalous)
    cap = c.size + a.size + 2
    fpr, tpr = np.empty(cap), np.empty(cap)
    n, d = ctypes.c_size_t(0), Diag()
    raise_for(lib.ah_roc(ptr(c), c.size, ptr(a), a.size, ptr(fpr), ptr(tpr),
                         ctypes.byref(n), ctypes.byref(d)), d)
    return fpr[:n.value].copy(), tpr[:n.value].copy()


def tpr_at_fpr(clean, anomalous, fpr):
    """The highest TPR at a false-positive rate not above fpr."""
    c, a = _two(clean, anomalous)
    out, d = ctypes.c_double(), Diag()
    raise_for(lib.ah_tpr_at_fpr(ptr(c), c.size, ptr(a), a.size, float(fpr),
                                ctypes.byref(out), ctypes.byref(d)), d)
    return out.value
