"""Fitting in shards: a histogram model of a background spread over
processes or machines, merged exactly (docs/SHARDS.md).

    plans = [acthist.Shard.plan(x_k, labels=y_k) for each shard k]
    plan = acthist.Shard.merged(plans)             # sent to every shard
    counts = [plan.count(x_k, labels=y_k) for each shard k]
    model = acthist.Shard.merged(counts).finish()

With equal-width bins (the default) the model is the bytes Model.fit gives
on all the rows at once.  Shards pickle as their file's bytes, so they
travel through multiprocessing or torch.distributed's gather_object.

Every shard knows which rows it holds (their number and a sum of row
hashes, docs/FORMAT.md), so merging a shard twice - a pickled or saved
copy, or the same rows planned or counted again - raises acthist.Error,
even when the rows add up to the plan's; so does finish() on counts of
other rows than the plan's.  The checks are the C library's
(ah_shard_merge, ah_shard_finish), the same as `acthist merge`'s.
"""
import ctypes
from collections import namedtuple

from . import _capi
from ._capi import Diag, lib, raise_for
from .model import (BLOCK_ROWS, Model, _background, _BatchSource,
                    _fit_options, _labels)

ShardInfo = namedtuple("ShardInfo", "kind nodes labels rows plan_rows")
ShardInfo.__doc__ = """kind: "plan" or "counts"; rows: rows read by the
shards merged in; plan_rows: rows the plan covers (counts are ready to
finish when rows == plan_rows)."""


def _array_batches(x, labels):
    """(make, cols, has_labels) reading x (n, ...) in blocks."""
    a = _background(x, "shard")
    lab = _labels(labels, a.shape[0], "labels")

    def make():
        for r in range(0, a.shape[0], BLOCK_ROWS):
            b = a[r:r + BLOCK_ROWS]
            yield b if lab is None else (b, lab[r:r + BLOCK_ROWS])
    return make, a.shape[1], lab is not None


def _batches(batches):
    """(make, cols, has_labels) over a list of batches or a function
    returning an iterator of them; read once."""
    make = batches if callable(batches) else (lambda: iter(batches))
    first = next(iter(make()), None)
    if first is None:
        raise ValueError("acthist: no batches")
    has_labels = isinstance(first, tuple)
    cols = _background(first[0] if has_labels else first, "batch 0").shape[1]
    return make, cols, has_labels


class Shard(_capi.Owned):
    """A shard's first pass (a plan) or its counts against a merged plan, or
    several of either merged.  Made by plan, count, load or from_bytes;
    kept with save (the file `acthist merge` reads) or to_bytes, and
    pickled as those bytes."""

    _c, _what = "ah_shard", "shard"
    _made_by = "plan, plan_batches, count, load or from_bytes"

    @classmethod
    def plan(cls, x, labels=None, *, tail="default", bins=None,
             binning="width", atom_share=None, chunk_rows=None):
        """The first pass over this shard's rows x (n, ...), with one label
        per row or none; the options are those of Model.fit (histograms)."""
        o = _fit_options("hist", tail, bins, binning, atom_share, chunk_rows)
        return cls._run(lib.ah_shard_plan, ctypes.byref(o),
                        *_array_batches(x, labels))

    @classmethod
    def plan_batches(cls, batches, *, tail="default", bins=None,
                     binning="width", atom_share=None, chunk_rows=None):
        """plan over batches (as Model.fit_batches takes them; read once)."""
        o = _fit_options("hist", tail, bins, binning, atom_share, chunk_rows)
        return cls._run(lib.ah_shard_plan, ctypes.byref(o), *_batches(batches))

    def count(self, x, labels=None):
        """This shard's rows counted against this merged plan."""
        return Shard._run(lib.ah_shard_count, self._handle(),
                          *_array_batches(x, labels), plan_first=True)

    def count_batches(self, batches):
        """count over batches (read once)."""
        return Shard._run(lib.ah_shard_count, self._handle(),
                          *_batches(batches), plan_first=True)

    @classmethod
    def _run(cls, fn, extra, make, cols, has_labels, plan_first=False):
        src = _BatchSource(make, cols, has_labels)
        h, d = ctypes.c_void_p(), Diag()
        if plan_first:
            st = fn(ctypes.byref(h), extra, ctypes.byref(src.struct),
                    ctypes.byref(d))
        else:
            st = fn(ctypes.byref(h), ctypes.byref(src.struct), extra,
                    ctypes.byref(d))
        if src.error is not None:
            lib.ah_shard_free(h)
            raise src.error
        raise_for(st, d)
        return cls(h.value)

    def merge(self, other):
        """Merge other into this shard (two plans, or two counts of one
        plan); returns self.  A shard already merged in (a copy, or the
        same rows again) is an error.  On an error this shard is
        unchanged."""
        d = Diag()
        raise_for(lib.ah_shard_merge(self._handle(), other._handle(),
                                     ctypes.byref(d)), d)
        return self

    @staticmethod
    def merged(shards):
        """A new shard, the merge of all of shards (none of them changed);
        the same shard twice in the list is an error."""
        shards = list(shards)
        if not shards:
            raise ValueError("acthist: nothing to merge")
        out = Shard.from_bytes(shards[0].to_bytes())
        for s in shards[1:]:
            out.merge(s)
        return out

    def finish(self):
        """The model, from counts that cover every row of their plan once."""
        h, d = ctypes.c_void_p(), Diag()
        raise_for(lib.ah_shard_finish(ctypes.byref(h), self._handle(),
                                      ctypes.byref(d)), d)
        return Model(h.value)

    def info(self):
        i = _capi.ShardInfo()
        lib.ah_shard_get_info(self._handle(), ctypes.byref(i))
        return ShardInfo("plan" if i.kind == 1 else "counts", i.nodes,
                         i.labels, i.rows, i.plan_rows)
