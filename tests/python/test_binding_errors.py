"""Bad input through the Python binding: each gets a clear exception that
names the problem (and the row and column of a bad value), never a crash
or a half-written file."""
import os
import tempfile

import numpy as np

import acthist
import acthist.model
from check import check, raises, run

TMP = tempfile.mkdtemp(prefix="acthist-pyerr-")
R = np.random.default_rng(11)
BG = np.maximum(R.normal(size=(500, 12)), 0).astype(np.float32)
M = acthist.Model.fit(BG)


def test_bad_activations():
    e = raises(lambda: M.pvalues(np.zeros((3, 13))), acthist.Error,
               "13 nodes", "wrong D")
    check(e is None or e.status == "AH_ERR_SHAPE", "status of a wrong D")
    x = np.ones((40, 12))
    x[23, 7] = np.nan
    # float32 read in place, and Fortran order converted in blocks of 10
    for block, xx in ((4096, x.astype(np.float32)),
                      (10, np.asfortranarray(x))):
        old = acthist.model.BLOCK_ROWS
        acthist.model.BLOCK_ROWS = block
        try:
            for fn in (M.pvalues, M.score):
                e = raises(lambda: fn(xx), acthist.Error,
                           "row 23, column 7", "NaN, blocks of %d" % block)
                check(e is None or (e.status == "AH_ERR_VALUE" and
                                    e.row == 23 and e.col == 7),
                      "NaN's row and column, blocks of %d" % block)
        finally:
            acthist.model.BLOCK_ROWS = old
    raises(lambda: M.pvalues(np.float64(3)), ValueError, "scalar", "scalar")
    raises(lambda: M.pvalues(np.array([["a"] * 12])), TypeError, "real",
           "strings")
    raises(lambda: M.pvalues(np.ones((2, 12)), labels=[1]), ValueError,
           "1 labels for 2 inputs", "label count")
    raises(lambda: M.pvalues(np.ones((2, 12)), labels=[1.5, 2]), ValueError,
           "row 0: label 1.5 is not an integer", "fractional labels")
    raises(lambda: M.score(np.ones((2, 12)), stat="xx"), ValueError,
           "unknown stat", "unknown stat")
    raises(lambda: M.pvalues(np.ones((2, 12)), tail="sideways"), ValueError,
           "unknown tail", "unknown tail")


def test_bad_background():
    bg = BG.astype(np.float64)
    bg[300, 2] = np.inf
    for x in (bg, bg.astype(np.float32)):  # in place, and the row source
        e = raises(lambda: acthist.Model.fit(x), acthist.Error, "row 300",
                   "inf in the background (%s)" % x.dtype)
        check(e is None or (e.row == 300 and e.col == 2),
              "inf's row and column")
    raises(lambda: acthist.Model.fit(BG, method="magic"), ValueError,
           "unknown method", "unknown method")
    raises(lambda: acthist.Model.fit(BG, bins=0.5), ValueError, "bins",
           "bins 0.5 (int() would make it 0, which is auto)")
    raises(lambda: acthist.Model.fit(BG, bins=-3), acthist.Error, "bins",
           "negative bins")
    raises(lambda: acthist.Model.fit(np.zeros((0, 4))), acthist.Error,
           "no rows", "empty background")


def test_bad_batches():
    gen = (b for b in [BG])
    raises(lambda: acthist.Model.fit_batches(gen), TypeError, "iterator",
           "a one-shot generator")
    raises(lambda: acthist.Model.fit_batches([]), ValueError, "no batches",
           "no batches")
    raises(lambda: acthist.Model.fit_batches([BG, BG[:, :5]]), ValueError,
           "batch 1 has 5 nodes", "ragged batches")
    raises(lambda: acthist.Model.fit_batches([(BG, np.zeros(500)), BG]),
           ValueError, "batch 1 lacks labels", "labels then none")

    class Boom(Exception):
        pass
    calls = []

    def make():
        calls.append(1)
        if len(calls) > 2:  # the second pass of the fit
            raise Boom("the loader broke")
        return iter([BG])
    raises(lambda: acthist.Model.fit_batches(make), Boom, "loader broke",
           "an exception in the batches comes through")

    made = []

    def fewer():  # called by fit_batches, the first pass, then the second
        made.append(1)
        return iter([BG] if len(made) < 3 else [BG[:100]])
    raises(lambda: acthist.Model.fit_batches(fewer), acthist.Error, "rows",
           "a second pass with fewer rows")


def test_one_node():
    """A 1-D background is n rows of one node, in fit and in batches."""
    v = np.arange(15.0)
    a = acthist.Model.fit(v).to_bytes()
    b = acthist.Model.fit_batches([v[:10], v[10:]]).to_bytes()
    check(a == b and acthist.Model.from_bytes(a).nodes == 1,
          "1-D background in fit and fit_batches")


def test_bad_files():
    path = os.path.join(TMP, "m.ahm")
    M.save(path)
    with open(path, "rb") as f:
        good = f.read()
    e = raises(lambda: acthist.Model.load(os.path.join(TMP, "none.ahm")),
               acthist.Error, "none.ahm", "missing file")
    check(e is None or e.status == "AH_ERR_IO", "status of a missing file")
    for name, bad in (("truncated", good[:len(good) // 2]),
                      ("flipped", good[:200] + bytes([good[200] ^ 1]) +
                       good[201:]),
                      ("empty", b""), ("text", b"hello world" * 20)):
        e = raises(lambda: acthist.Model.from_bytes(bad, name=name),
                   acthist.Error, name, "a %s model" % name)
        check(e is None or e.status in ("AH_ERR_FORMAT", "AH_ERR_CHECKSUM"),
              "status of a %s model: %s" % (name, e and e.status))
    out = os.path.join(TMP, "no", "such", "dir", "m.ahm")
    raises(lambda: M.save(out), acthist.Error, "m.ahm", "unwritable path")
    check(not os.path.exists(os.path.dirname(out)), "nothing left behind")
    raises(lambda: acthist.Model(None), ValueError, "fit", "Model(None)")


def test_bad_scans():
    raises(lambda: acthist.scan_group(np.zeros((3, 4))), ValueError,
           "(rows, cols, 2)", "group scan of a 2-D array")
    p = np.full((5, 6, 2), 0.3)
    p[2, 4] = [0.5, 0.1]
    e = raises(lambda: acthist.scan_group(p), acthist.Error, "p_min > p_max",
               "p_min > p_max")
    check(e is None or (e.row == 2 and e.col == 4), "its row and column")
    raises(lambda: acthist.scan_individual(np.zeros((3, 4))), ValueError,
           "one input", "individual scan of a matrix")
    raises(lambda: acthist.auc([], [1.0]), acthist.Error, None, "empty AUC")
    raises(lambda: acthist.auc([np.nan], [1.0]), acthist.Error, None,
           "NaN AUC")


run("test_binding_errors", [test_bad_activations, test_bad_background,
                            test_bad_batches, test_one_node, test_bad_files,
                            test_bad_scans])
