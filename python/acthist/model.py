"""Models: fit a background of activations, save and load them, and turn new
activations into p-value ranges and individual-scan scores.

Arrays go in as NumPy arrays (or anything np.asarray accepts, such as a CPU
torch tensor) of shape (n, ...): n inputs, the other axes flattened into the
D nodes.  Outputs are NumPy arrays that the library fills in place.
"""
import ctypes
import os
import warnings
from collections import namedtuple

import numpy as np

from . import _capi
from ._capi import (AH_OPTION_ALPHA_MAX, AH_OPTION_ATOM_SHARE,
                    AH_OPTION_BASIS_COMPONENTS, AH_OPTION_BINS,
                    AH_OPTION_CHUNK_ROWS, AH_OPTION_FIT_MEMORY_MB,
                    AH_OPTION_THREADS, Diag, lib,
                    option_int, option_real, ptr, raise_for, real_array)

# Rows converted to float64 at a time when the input is neither float64 nor
# float32 in C order (keeps the copy small next to a large array).
BLOCK_ROWS = 4096

Scores = namedtuple("Scores", "score alpha size")
Scores.__doc__ = """Individual-scan results, one entry per input: the score,
the best threshold (0 when the score is 0) and the size of the best subset."""


class UnseenLabelWarning(UserWarning):
    """Some inputs carried a label the model was not fitted with; they were
    compared with the pooled background instead."""


def _detached(x):
    """A torch tensor (one that requires grad, or on a GPU) as a CPU tensor
    NumPy can read; anything else as it is."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu()
    return x


def _rows(x, what):
    """x as a 2-D array (n, D) without copying; a 1-D array is one input.
    Real numbers only: complex, bool or object arrays are refused."""
    a = np.asarray(_detached(x))
    if a.ndim == 0:
        raise ValueError("acthist: %s is a scalar, not activations" % what)
    real_array(a, what)
    if a.ndim == 1:
        a = a.reshape(1, -1)
    return a.reshape(a.shape[0], int(np.prod(a.shape[1:])))


def _background(x, what):
    """Background rows (n, D); a 1-D array is n rows of one node, as in a
    .npy file."""
    x = _detached(x)
    if np.ndim(x) == 1:
        return real_array(np.asarray(x), what).reshape(-1, 1)
    return _rows(x, what)


def _blocks(a):
    """(first row, C-contiguous block) pairs covering a: a itself when it
    is float64 or float32 (the library reads both), else float64 copies
    of BLOCK_ROWS rows."""
    if a.dtype in (np.float64, np.float32) and a.flags.c_contiguous:
        yield 0, a
        return
    for r in range(0, a.shape[0], BLOCK_ROWS):
        yield r, np.ascontiguousarray(a[r:r + BLOCK_ROWS], dtype=np.float64)


def _labels(labels, n, what):
    """labels as int64 of length n (None stays None), read as the CLI reads
    a labels file (ah_npy_read_labels): shape (n,) or (n, 1), integers
    that fit in int64 or floats holding such integers; nothing is
    flattened, wrapped or rounded."""
    if labels is None:
        return None
    lab = np.asarray(labels)
    if lab.ndim == 2 and lab.shape[1] == 1:
        lab = lab[:, 0]
    if lab.ndim != 1:
        raise ValueError("acthist: %s must be a 1-D array (n,) or (n, 1); "
                         "this one has shape %s" % (what, lab.shape))
    if lab.shape[0] != n:
        raise ValueError("acthist: %s has %d labels for %d inputs"
                         % (what, lab.shape[0], n))
    kind = lab.dtype.kind
    if kind == "u" and lab.dtype.itemsize == 8:
        big = np.flatnonzero(lab > np.uint64(2**63 - 1))
        if big.size:
            raise ValueError("acthist: %s: row %d: label does not fit in "
                             "int64" % (what, big[0]))
    elif kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(lab) & (lab == np.floor(lab)) & \
                (lab >= -2.0**63) & (lab < 2.0**63)  # converts exactly
        if not ok.all():
            i = int(np.argmin(ok))
            raise ValueError("acthist: %s: row %d: label %s is not an "
                             "integer" % (what, i, "%g" % lab[i]))
    elif kind not in "iu":
        raise TypeError("acthist: %s must be integers (or floats holding "
                        "integers), not %s" % (what, lab.dtype))
    return np.ascontiguousarray(lab, dtype=np.int64)


def _fit_options(method, tail, bins, binning, atom_share, chunk_rows,
                 basis="default", basis_components=None, fit_memory_mb=None):
    o = _capi.FitOptions()
    lib.ah_fit_options_default(ctypes.byref(o))
    if fit_memory_mb is not None:
        o.fit_memory_mb = option_int(AH_OPTION_FIT_MEMORY_MB, fit_memory_mb,
                                     "fit_memory_mb")
    o.basis = _capi.parse("basis", basis)
    if basis_components is not None:
        o.basis_components = option_int(AH_OPTION_BASIS_COMPONENTS,
                                        basis_components, "basis_components")
    o.method = _capi.parse("method", method)
    o.tail = _capi.parse("tail", tail)
    if isinstance(bins, str):
        if bins != "auto":
            raise ValueError("acthist: bins must be an integer or 'auto', "
                             "not %r" % (bins,))
        o.bins = 0  # AH_BINS_AUTO
    elif bins is not None:
        o.bins = option_int(AH_OPTION_BINS, bins, "bins")
    o.binning = _capi.parse("binning", binning)
    if atom_share is not None:
        o.atom_share = option_real(AH_OPTION_ATOM_SHARE, atom_share,
                                   "atom_share")
    if chunk_rows is not None:
        o.chunk_rows = option_int(AH_OPTION_CHUNK_ROWS, chunk_rows,
                                  "chunk_rows")
    return o


class _BatchSource:
    """An ah_row_source over a re-iterable of batches: each batch an array
    (n_k, ...) or a pair (array, labels).  The fitter reads the batches more
    than once (the histogram fit makes two passes), so make() must return a
    new iterator each time.  A Python exception inside a callback is kept
    and raised again once the C call returns."""

    def __init__(self, make, cols, has_labels):
        self.make, self.cols, self.has_labels = make, cols, has_labels
        self.it = None
        self.batch = self.blab = None
        self.pos = self.index = 0
        self.error = None
        self.struct = _capi.RowSource(None, cols, int(has_labels),
                                      _capi.READ_FN(self._read),
                                      _capi.REWIND_FN(self._rewind))

    def _next_batch(self):
        item = next(self.it)
        lab = None
        if isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError("acthist: batch %d is a tuple of %d, not "
                                 "(activations, labels)"
                                 % (self.index, len(item)))
            item, lab = item
        a = _background(item, "batch %d" % self.index)
        if a.shape[1] != self.cols:
            raise ValueError("acthist: batch %d has %d nodes, the first had "
                             "%d" % (self.index, a.shape[1], self.cols))
        if self.has_labels != (lab is not None):
            raise ValueError("acthist: batch %d %s labels, the first %s"
                             % (self.index, "has" if lab is not None else
                                "lacks", "had" if self.has_labels else
                                "did not"))
        self.blab = _labels(lab, a.shape[0], "labels of batch %d"
                            % self.index)
        self.batch, self.pos = a, 0
        self.index += 1

    def _fail(self, e, diag):
        self.error = e
        if diag:
            msg = ("%s: %s" % (type(e).__name__, e)).encode()[:511]
            diag[0].message = msg
        return _capi.AH_ERR_IO

    def _read(self, ctx, rows, ld, labels, max_rows, got, diag):
        try:
            if self.it is None:
                self.it = iter(self.make())
            dst = np.ctypeslib.as_array(rows, shape=(max_rows, ld))
            k = 0
            while k < max_rows:
                if self.batch is None or self.pos == self.batch.shape[0]:
                    try:
                        self._next_batch()
                    except StopIteration:
                        break
                    continue
                take = min(max_rows - k, self.batch.shape[0] - self.pos)
                dst[k:k + take, :self.cols] = \
                    self.batch[self.pos:self.pos + take]
                if self.has_labels:
                    lab = np.ctypeslib.as_array(labels, shape=(max_rows,))
                    lab[k:k + take] = self.blab[self.pos:self.pos + take]
                self.pos += take
                k += take
            got[0] = k
            return 0
        except BaseException as e:  # noqa: B902 - raised again by the caller
            return self._fail(e, diag)

    def _rewind(self, ctx, diag):
        try:
            self.it = iter(self.make())
            self.batch = self.blab = None
            self.pos = self.index = 0
            return 0
        except BaseException as e:  # noqa: B902
            return self._fail(e, diag)


class Model(_capi.Owned):
    """A fitted model: per-node histograms (or, for comparison, the exact
    empirical or KDE representation) of a background of activations, pooled
    and, when fitted with labels, one set per label.

    Fit with Model.fit (an array) or Model.fit_batches (batches produced
    on demand, e.g. by a PyTorch loop), or read one with Model.load or
    Model.from_bytes; keep it with save or to_bytes (it pickles as those
    bytes).  The model frees its C memory when garbage-collected or on
    close()."""

    _c, _what = "ah_model", "model"
    _made_by = "fit, fit_batches, load or from_bytes"

    # -- making one ------------------------------------------------------

    @classmethod
    def fit(cls, x, labels=None, *, method="hist", tail="default", bins=None,
            binning="width", atom_share=None, chunk_rows=None, threads=1,
            basis="default", basis_components=None, fit_memory_mb=None):
        """Fit background activations x (n, ...), with one integer label
        per row (e.g. the class the network predicted) or none.  tail
        "default": two-tailed with labels, lower without (the evidence of
        docs/RESULTS.md); "upper" without labels is the paper's.  bins:
        None for the default (3072), "auto" or a count.  A float64
        C-contiguous x is read in place; any other dtype or a memory-mapped
        file is converted BLOCK_ROWS rows at a time, so a background larger
        than memory can be fitted from np.load(path, mmap_mode="r").

        threads > 1 (0: all cores) fits that many slices of the rows in
        threads, as shards merged exactly (acthist.Shard): the same model,
        with as many times the memory.  Equal-width bins of a given count
        only, as `acthist fit --threads`, and no basis.

        basis "pca" also scans each row's coordinates along its label's
        first basis_components (default 256) principal components of the
        background, and the norm of the rest (acthist.h, enum ah_basis;
        at most 2048 nodes); "default" is "none" (docs/RESULTS.md).

        fit_memory_mb caps the counting state (megabytes; None or 0: half
        of this process's memory): label sets are then counted in groups,
        one more pass over x each, into the same model."""
        a = _background(x, "background")
        lab = _labels(labels, a.shape[0], "labels")
        o = _fit_options(method, tail, bins, binning, atom_share, chunk_rows,
                         basis, basis_components, fit_memory_mb)
        if o.basis == 1:  # AH_BASIS_PCA: one process learns it
            threads = 1
        k = 0 if threads is None else option_int(AH_OPTION_THREADS, threads,
                                                 "threads")
        k = k or (os.cpu_count() or 1)
        if k > 1:
            if method != "hist" or binning != "width" or bins == "auto":
                raise ValueError("acthist: fit with threads needs equal-width "
                                 "histogram bins of a given count: other "
                                 "edges would depend on the split")
            return cls._fit_threads(a, lab, k, tail=tail, bins=bins,
                                    atom_share=atom_share,
                                    chunk_rows=chunk_rows)
        if a.dtype == np.float64 and a.flags.c_contiguous:
            h, d = ctypes.c_void_p(), Diag()
            st = lib.ah_model_fit(ctypes.byref(h), ptr(a), a.shape[0],
                                  a.shape[1], a.shape[1],
                                  None if lab is None else ptr(lab,
                                                               ctypes.c_int64),
                                  ctypes.byref(o), ctypes.byref(d))
            raise_for(st, d)
            return cls(h.value)

        def blocks():
            for r in range(0, a.shape[0], BLOCK_ROWS):
                b = a[r:r + BLOCK_ROWS]
                yield b if lab is None else (b, lab[r:r + BLOCK_ROWS])
        return cls._fit_source(blocks, a.shape[1], lab is not None, o)

    @classmethod
    def _fit_threads(cls, a, lab, k, **opts):
        """Slices planned and counted in k threads (the C calls release the
        GIL), merged as shards."""
        from concurrent.futures import ThreadPoolExecutor

        from .shard import Shard
        n = a.shape[0]
        cut = [n * i // k for i in range(k + 1)]

        def part(i):
            return (a[cut[i]:cut[i + 1]],
                    None if lab is None else lab[cut[i]:cut[i + 1]])
        with ThreadPoolExecutor(k) as ex:
            plan = Shard.merged(ex.map(
                lambda i: Shard.plan(*part(i), **opts), range(k)))
            counts = Shard.merged(ex.map(
                lambda i: plan.count(*part(i)), range(k)))
        return counts.finish()

    @classmethod
    def fit_batches(cls, batches, *, method="hist", tail="default", bins=None,
                    binning="width", atom_share=None, chunk_rows=None,
                    basis="default", basis_components=None,
                    fit_memory_mb=None):
        """Fit from batches without holding them all: batches is a list of
        arrays (n_k, ...) or of (array, labels) pairs, or a function that
        returns a new iterator of them each time it is called (the fit reads
        them two or three times, and must get the same rows each time)."""
        if callable(batches):
            make = batches
        else:
            if iter(batches) is batches:
                raise TypeError("acthist: fit_batches reads the batches more "
                                "than once; pass a list or a function that "
                                "returns a new iterator, not an iterator")
            def make():
                return iter(batches)
        first = next(iter(make()), None)
        if first is None:
            raise ValueError("acthist: fit_batches got no batches")
        has_labels = isinstance(first, tuple)
        cols = _background(first[0] if has_labels else first,
                           "batch 0").shape[1]
        o = _fit_options(method, tail, bins, binning, atom_share, chunk_rows,
                         basis, basis_components, fit_memory_mb)
        return cls._fit_source(make, cols, has_labels, o)

    @classmethod
    def _fit_source(cls, make, cols, has_labels, o):
        src = _BatchSource(make, cols, has_labels)
        h, d = ctypes.c_void_p(), Diag()
        st = lib.ah_model_fit_source(ctypes.byref(h), ctypes.byref(src.struct),
                                     ctypes.byref(o), ctypes.byref(d))
        if src.error is not None:
            lib.ah_model_free(h)
            raise src.error
        raise_for(st, d)
        return cls(h.value)

    # -- describing it ---------------------------------------------------

    @property
    def nodes(self):
        """D, the number of nodes."""
        return lib.ah_model_nodes(self._handle())

    @property
    def basis(self):
        """The basis the model scans in: "none" or "pca"."""
        return self.info()["basis"]

    @property
    def tail(self):
        """The tail the model was fitted with: "upper", "lower", ..."""
        return lib.ah_tail_name(lib.ah_model_tail(self._handle())).decode()

    @property
    def labels(self):
        """The labels of the conditional sets, sorted (empty when pooled)."""
        n = ctypes.c_size_t(0)
        p = lib.ah_model_labels(self._handle(), ctypes.byref(n))
        if n.value == 0:
            return np.zeros(0, dtype=np.int64)
        return np.ctypeslib.as_array(p, shape=(n.value,)).copy()

    @property
    def threshold(self):
        """The decision threshold kept in the model (acthist calibrate, fit
        --fpr) as a dict: score (flagged above it), fpr, source ("clean" or
        "crossfit"), n, folds and the scan settings it holds for (stat,
        alpha_max, tail, pooled); None when the model has none."""
        t = _capi.Threshold()
        raise_for(lib.ah_model_get_threshold(self._handle(), ctypes.byref(t)),
                  Diag(), "threshold unavailable")
        if t.source == 0:
            return None
        return {"score": t.score, "fpr": t.fpr,
                "source": "clean" if t.source == 1 else "crossfit",
                "n": t.n, "folds": t.folds,
                "stat": lib.ah_stat_name(t.stat).decode(),
                "alpha_max": t.alpha_max,
                "tail": lib.ah_tail_name(t.tail).decode(),
                "pooled": bool(t.pooled)}

    def info(self):
        """What `acthist info` prints, as a dict."""
        i = _capi.ModelInfo()
        raise_for(lib.ah_model_get_info(self._handle(), ctypes.byref(i)),
                  Diag(), "model information unavailable")
        out = {f: getattr(i, f) for f, _ in i._fields_}
        out["method"] = lib.ah_method_name(i.method).decode()
        out["tail"] = lib.ah_tail_name(i.tail).decode()
        out["binning"] = lib.ah_binning_name(i.binning).decode()
        out["basis"] = lib.ah_basis_name(i.basis).decode()
        return out

    def node_cells(self, node, label=None):
        """Node `node`'s histogram cells in increasing order, as a dict of
        arrays lo, hi, count, atom (an atom has lo == hi).  label selects a
        conditional set, None the pooled one."""
        lab = _capi.AH_POOLED if label is None else \
            _capi.c_integer(label, "label", -2**63, 2**63 - 1, " (int64)")
        node = _capi.c_integer(node, "node", 0, 2**64 - 1)
        n, d = ctypes.c_size_t(0), Diag()
        st = lib.ah_model_node_cells(self._handle(), lab, node, None, 0,
                                     ctypes.byref(n), ctypes.byref(d))
        if st != _capi.AH_OK and n.value == 0:
            raise_for(st, d)
        cells = (_capi.Cell * max(n.value, 1))()
        raise_for(lib.ah_model_node_cells(self._handle(), lab, node,
                                          cells, n.value, ctypes.byref(n),
                                          ctypes.byref(d)), d)
        arr = _capi.as_records(cells, [("lo", "f8"), ("hi", "f8"),
                                       ("count", "u8"), ("atom", "i4")])
        arr = arr[:n.value]
        return {"lo": arr["lo"], "hi": arr["hi"], "count": arr["count"],
                "atom": arr["atom"] != 0}

    def __repr__(self):
        if not self._h:
            return "<acthist.Model closed>"
        i = self.info()
        return ("<acthist.Model %s, %d nodes, %d background rows, %d labels, "
                "%d bytes>" % (i["method"], i["nodes"], i["rows"],
                               i["labels"], i["file_bytes"]))

    # -- using it --------------------------------------------------------

    def _prepare(self, x, labels, pooled):
        a = _rows(x, "activations")
        if a.shape[1] != self.nodes:
            raise _capi.Error("AH_ERR_SHAPE", "acthist: the activations have "
                              "%d nodes, the model %d" % (a.shape[1],
                                                          self.nodes))
        # No silent fallback: a conditional model compares an input with
        # the background of its label, so leaving the labels out is an
        # error unless the pooled background is asked for.
        if pooled and labels is not None:
            raise ValueError("acthist: labels and pooled=True both given: "
                             "give one")
        if not pooled and labels is None and len(self.labels):
            raise ValueError("acthist: the model is conditional (%d labels): "
                             "pass labels= (one per input, e.g. the class the "
                             "network predicts) or pooled=True to compare with "
                             "the pooled background" % len(self.labels))
        return a, _labels(_detached(labels), a.shape[0], "labels")

    @staticmethod
    def _warn_unseen(unseen):
        if unseen:
            warnings.warn("acthist: %d input(s) had a label the model was not "
                          "fitted with and used the pooled background"
                          % unseen, UnseenLabelWarning, stacklevel=3)

    def pvalues(self, x, labels=None, *, tail=None, threads=0, pooled=False,
                backend="cpu"):
        """P-value ranges of activations x (n, ...): a float64 array
        (n, width, 2) of [p_min, p_max], width = D, or 2D for tail "both"
        (the upper-tail block first).  tail None: the model's tail.  A
        conditional model needs labels, or pooled=True.  backend: who
        looks the values up, "cpu" or "reference" (slow; the same bits)."""
        a, lab = self._prepare(x, labels, pooled)
        t = -1 if tail is None else _capi.parse("tail", tail)
        threads = option_int(AH_OPTION_THREADS, threads, "threads")
        o = _capi.query_options(tail=t, threads=threads,
                                backend=_capi.parse("backend", backend))
        width = lib.ah_pvalue_width(self._handle(), t)
        out = np.empty((a.shape[0], width, 2), dtype=np.float64)
        unseen = 0
        for r, b in _blocks(a):
            u, d = ctypes.c_size_t(0), Diag()
            lp = None if lab is None else ptr(lab[r:r + b.shape[0]],
                                              ctypes.c_int64)
            view = _capi.input_view(b, lp)
            st = lib.ah_pvalues_in(self._handle(), ctypes.byref(view),
                                   ctypes.byref(o),
                                   ptr(out[r:r + b.shape[0]]),
                                   ctypes.byref(u), ctypes.byref(d))
            _raise_rows(st, d, r)
            unseen += u.value
        self._warn_unseen(unseen)
        return out

    def transform(self, x, labels=None, *, pooled=False):
        """The values the model scans for activations x (n, ...): a float64
        array (n, width), width = D without a basis; with basis "pca" each
        row is [x, V^T (x - mu), |residual|] by its label's basis (the
        pooled one with pooled=True or for a label not fitted)."""
        a, lab = self._prepare(x, labels, pooled)
        a = np.ascontiguousarray(a, dtype=np.float64)
        width = lib.ah_pvalue_width(self._handle(), 0)
        out = np.empty((a.shape[0], width), dtype=np.float64)
        d = Diag()
        st = lib.ah_model_transform(
            self._handle(), ptr(a), a.shape[0], a.shape[1], a.shape[1],
            None if lab is None else ptr(lab, ctypes.c_int64), ptr(out),
            ctypes.byref(d))
        _raise_rows(st, d, 0)
        return out

    def score(self, x, labels=None, *, tail=None, stat="bj", alpha_max=0.5,
              threads=0, pooled=False, backend="cpu"):
        """Individual-scan scores of activations x (n, ...), the p-values
        computed and scanned without storing them: Scores(score, alpha,
        size), three arrays of n.  A conditional model needs labels, or
        pooled=True.  backend as for pvalues."""
        a, lab = self._prepare(x, labels, pooled)
        t = -1 if tail is None else _capi.parse("tail", tail)
        s = _capi.parse("stat", stat)
        alpha_max = option_real(AH_OPTION_ALPHA_MAX, alpha_max, "alpha_max")
        threads = option_int(AH_OPTION_THREADS, threads, "threads")
        o = _capi.query_options(tail=t, stat=s, alpha_max=alpha_max,
                                threads=threads,
                                backend=_capi.parse("backend", backend))
        res = (_capi.ScanResult * max(a.shape[0], 1))()
        unseen = 0
        for r, b in _blocks(a):
            u, d = ctypes.c_size_t(0), Diag()
            lp = None if lab is None else ptr(lab[r:r + b.shape[0]],
                                              ctypes.c_int64)
            at = ctypes.addressof(res) + r * ctypes.sizeof(_capi.ScanResult)
            view = _capi.input_view(b, lp)
            st = lib.ah_score_in(self._handle(), ctypes.byref(view),
                                 ctypes.byref(o),
                                 ctypes.cast(at,
                                             ctypes.POINTER(_capi.ScanResult)),
                                 ctypes.byref(u), ctypes.byref(d))
            _raise_rows(st, d, r)
            unseen += u.value
        self._warn_unseen(unseen)
        arr = _capi.as_records(res, [("score", "f8"), ("alpha", "f8"),
                                     ("size", np.uintp)])[:a.shape[0]]
        return Scores(arr["score"], arr["alpha"],
                      arr["size"].astype(np.int64))


def _raise_rows(st, d, first_row):
    """raise_for, with the row numbers of a block made absolute."""
    if st != _capi.AH_OK and first_row and d.row >= 0:
        msg = d.message.decode("utf-8", "replace")
        old = "row %d" % d.row
        new = "row %d" % (d.row + first_row)
        d.message = msg.replace(old, new, 1).encode()[:511]
        d.row += first_row
    raise_for(st, d)
