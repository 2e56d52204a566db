"""Arguments the Python binding must refuse before they reach C (issue 17,
items 4-6): integers that ctypes would truncate to 32 or 64 bits, labels
that would wrap or be flattened, arrays that are not real numbers, options
out of the library's ranges, p-values outside [0, 1], paths with a NUL.
Every refusal names the argument and, for a range, the library's range
(ah_option_check), and nothing is fitted, scanned or written."""
import os
import tempfile
import warnings

import numpy as np

import acthist
from check import check, raises, run

TMP = tempfile.mkdtemp(prefix="acthist-pyval-")
R = np.random.default_rng(17)
BG = R.normal(size=(250, 6))
M = acthist.Model.fit(BG, bins=32)
P = M.pvalues(BG[:20])
ALPHA = "alpha_max must be in [1e-12, 1]"
THREADS = "threads must be in 0..256"
SEED = "seed must be in 0..18446744073709551615"


def test_integers_not_truncated():
    # item 4: 2**32 + 5 was 5 bins, 2**32 and 0 were 'auto'
    for bins in (2**32 + 5, 2**32, 0, -3, 65537, 2**64 + 1):
        e = raises(lambda: acthist.Model.fit(BG, bins=bins), ValueError,
                   "bins must be 'auto' or 1..65536", "bins=%d" % bins)
        check(e is None or str(e).endswith("not %d" % bins),
              "bins=%d: the message quotes the value exactly: %s" % (bins, e))
        raises(lambda: acthist.Shard.plan(BG, bins=bins), ValueError,
               "1..65536", "Shard.plan bins=%d" % bins)
    raises(lambda: acthist.Model.fit(BG, bins=True), TypeError, "bins",
           "bins=True")
    raises(lambda: acthist.Model.fit(BG, bins=2.5), ValueError, "bins",
           "bins=2.5")
    check(acthist.Model.fit(BG, bins=16.0).info()["bins_requested"] == 16,
          "an integral float is still a bin count")
    for chunk in (0, -1, 2**32 + 5, 2**64 + 5):
        raises(lambda: acthist.Model.fit(BG, chunk_rows=chunk), ValueError,
               "chunk_rows must be in 1..1073741824", "chunk_rows=%d" % chunk)
    for k in (2**32, -1, 257):
        raises(lambda: acthist.Model.fit(BG, threads=k), ValueError, THREADS,
               "fit threads=%d" % k)
        raises(lambda: M.pvalues(BG[:3], threads=k), ValueError, THREADS,
               "pvalues threads=%d" % k)
        raises(lambda: M.score(BG[:3], threads=k), ValueError, THREADS,
               "score threads=%d" % k)
        raises(lambda: acthist.scan_individual_rows(P, threads=k),
               ValueError, THREADS, "scan_individual_rows threads=%d" % k)
        raises(lambda: acthist.scan_group(P, threads=k), ValueError, THREADS,
               "scan_group threads=%d" % k)
    # item 4: 2**32 + 1 restarts ran 1
    for r in (2**32 + 1, 0, -1, 10**6 + 1):
        raises(lambda: acthist.scan_group(P, restarts=r), ValueError,
               "restarts must be in 1..1000000", "restarts=%d" % r)
    for it in (2**32 + 1, 0):
        raises(lambda: acthist.scan_group(P, max_iter=it), ValueError,
               "max_iter must be in 1..1000000", "max_iter=%d" % it)
    raises(lambda: acthist.scan_group(P, restarts=3.5), ValueError,
           "restarts", "restarts=3.5")
    raises(lambda: acthist.scan_group(P, restarts="3"), TypeError,
           "restarts", "restarts='3'")
    # the largest values are accepted, and the seed's whole range
    g = acthist.scan_group(P, restarts=2, seed=2**64 - 1, threads=256)
    check(g.score > 0, "seed 2**64 - 1 and 256 threads accepted")
    for s in (-1, 2**64, -2**63):
        raises(lambda: acthist.scan_group(P, seed=s), ValueError, SEED,
               "seed=%d" % s)
    for node in (-1, 2**64, 2**64 + 2):
        raises(lambda: M.node_cells(node), ValueError, "node", "node=%d" % node)
    raises(lambda: M.node_cells(0, label=2**64 - 1), ValueError, "int64",
           "node_cells label 2**64 - 1")


def test_labels():
    # item 5: uint64 2**64 - 1 became label -1
    lab = np.zeros(250, dtype=np.uint64)
    lab[7] = 2**64 - 1
    for what, fn in (("fit", lambda: acthist.Model.fit(BG, labels=lab)),
                     ("pvalues", lambda: M.pvalues(BG, labels=lab)),
                     ("score", lambda: M.score(BG, labels=lab)),
                     ("Shard.plan", lambda: acthist.Shard.plan(BG,
                                                               labels=lab))):
        raises(fn, ValueError, "row 7: label does not fit in int64",
               "uint64 labels, %s" % what)
    ok = lab.copy()
    ok[7] = 2**63 - 1
    m = acthist.Model.fit(BG, labels=ok)
    check(list(m.labels) == [0, 2**63 - 1], "uint64 labels that fit: %s"
          % list(m.labels))
    # item 5: a float 1e19 was reported as the reserved label INT64_MIN
    for big in (1e19, -1e19, 2.0**63, np.inf, np.nan, 2.5):
        f = np.zeros(250)
        f[3] = big
        raises(lambda: acthist.Model.fit(BG, labels=f), ValueError,
               "row 3: label %g is not an integer" % big, "float label %g" % big)
    f = np.zeros(250)
    f[3] = -2.0**63  # fits: the reserved pooled label, refused as such
    raises(lambda: acthist.Model.fit(BG, labels=f), acthist.Error,
           "reserved", "float label -2**63")
    # item 5: 2-D labels were flattened
    for shape in ((250, 2), (125, 2), (250, 1, 1), ()):
        bad = np.zeros(shape, dtype=np.int64)
        raises(lambda: acthist.Model.fit(BG, labels=bad), ValueError,
               "1-D array (n,) or (n, 1)", "labels of shape %s" % (shape,))
        raises(lambda: M.pvalues(BG[:125], labels=bad), ValueError,
               "1-D array (n,) or (n, 1)", "pvalues labels %s" % (shape,))
    col = (np.arange(250) % 3).reshape(250, 1)
    check(np.array_equal(acthist.Model.fit(BG, labels=col).labels, [0, 1, 2]),
          "labels (n, 1) are read as (n,), as the CLI reads them")
    for dt in (bool, np.complex128, object, "U3"):
        raises(lambda: acthist.Model.fit(BG, labels=np.zeros(250, dtype=dt)),
               TypeError, "labels must be integers", "labels of %s" % dt)


def test_dtypes():
    # item 6: fit took complex (imaginary part dropped), bool and object
    x = BG[:100]
    bads = [x + 1j, x > 0, x.astype(object), x.astype("U8"),
            np.zeros((100, 6), dtype="M8[s]")]
    for b in bads:
        what = str(b.dtype)
        for name, fn in (
                ("fit", lambda: acthist.Model.fit(b)),
                ("fit threads", lambda: acthist.Model.fit(b, threads=2)),
                ("fit_batches", lambda: acthist.Model.fit_batches([b])),
                ("Shard.plan", lambda: acthist.Shard.plan(b)),
                ("pvalues", lambda: M.pvalues(b)),
                ("score", lambda: M.score(b)),
                ("scan_individual", lambda: acthist.scan_individual(b[0])),
                ("scan_individual_rows",
                 lambda: acthist.scan_individual_rows(b)),
                ("scan_group", lambda: acthist.scan_group(
                    np.stack([b, b], axis=2)))):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no ComplexWarning instead
                raises(fn, TypeError, "real numbers", "%s of %s" % (name, what))
    plan = acthist.Shard.plan(x)
    raises(lambda: plan.count(x + 1j), TypeError, "real numbers",
           "Shard.count of complex")
    # every real dtype the CLI reads is still taken
    for dt in (np.float16, np.float32, np.int8, np.uint16, np.int64):
        acthist.Model.fit(x.astype(dt))
        M.score(x.astype(dt))


def test_option_ranges():
    # item 6: alpha_max 0 and -1 gave all-zero scores, 2 was accepted
    for a in (0, -1, 2, 1e-13, float("nan"), float("inf")):
        for name, fn in (
                ("score", lambda: M.score(BG[:3], alpha_max=a)),
                ("scan_individual", lambda: acthist.scan_individual(
                    P[0], alpha_max=a)),
                ("scan_individual_rows", lambda: acthist.scan_individual_rows(
                    P, alpha_max=a)),
                ("scan_group", lambda: acthist.scan_group(P, alpha_max=a))):
            raises(fn, ValueError, ALPHA, "%s alpha_max=%r" % (name, a))
    for a in (1e-12, 1):
        M.score(BG[:3], alpha_max=a)
        acthist.scan_group(P, alpha_max=a, restarts=1)
    raises(lambda: M.score(BG[:3], alpha_max="0.5"), TypeError, "alpha_max",
           "alpha_max as a string")
    for share in (0, -0.5, 1.5, float("nan")):
        raises(lambda: acthist.Model.fit(BG, atom_share=share), ValueError,
               "atom_share must be in (0, 1]", "atom_share=%r" % share)
    # a library AH_ERR_ARG is a ValueError too, and still an acthist.Error
    e = raises(lambda: M.score(BG[:3], alpha_max=0), acthist.Error, ALPHA,
               "alpha_max=0 as acthist.Error")
    check(e is None or e.status == "AH_ERR_ARG", "status of alpha_max=0")
    # names with a NUL were cut at it
    raises(lambda: M.pvalues(BG[:3], tail="upper\x00junk"), ValueError, "NUL",
           "tail with a NUL")


def test_pvalue_ranges():
    # item 6: the scans took p > 1 and p_min > p_max while refusing NaN
    for bad in (1.5, -0.25, np.inf, np.nan):
        q = P.copy()
        q[4, 3, 1] = bad
        for name, row, fn in (
                ("scan_individual", 0, lambda: acthist.scan_individual(q[4])),
                ("scan_individual p_max", None,
                 lambda: acthist.scan_individual(q[4, :, 1])),
                ("scan_individual_rows", 4,
                 lambda: acthist.scan_individual_rows(q)),
                ("scan_individual_rows p_max", 4,
                 lambda: acthist.scan_individual_rows(q[:, :, 1])),
                ("scan_group", 4, lambda: acthist.scan_group(q))):
            e = raises(fn, acthist.Error, None, "%s with p_max %r"
                       % (name, bad))
            check(e is None or (e.status == "AH_ERR_VALUE" and e.col == 3 and
                                e.row == row),
                  "%s with p_max %r: %s (row %s, col %s)"
                  % (name, bad, e, getattr(e, "row", "?"),
                     getattr(e, "col", "?")))
    q = P.copy()
    q[4, 3] = [0.9, 0.2]  # p_min > p_max
    for name, fn in (("scan_individual", lambda: acthist.scan_individual(q[4])),
                     ("scan_individual_rows",
                      lambda: acthist.scan_individual_rows(q)),
                     ("scan_group", lambda: acthist.scan_group(q))):
        e = raises(fn, acthist.Error, "p_min > p_max", name + " p_min > p_max")
        check(e is None or e.col == 3, name + ": the node of p_min > p_max")
    q = P.copy()
    q[6, 2, 0] = -0.5  # p_min below 0
    for fn in (lambda: acthist.scan_individual_rows(q),
               lambda: acthist.scan_group(q)):
        e = raises(fn, acthist.Error, "[0, 1]", "p_min below 0")
        check(e is None or (e.row == 6 and e.col == 2), "p_min's row and col")


def test_nul_paths():
    # item 6: save('out.ahm\x00junk') wrote out.ahm
    out = os.path.join(TMP, "out.ahm")
    for obj in (M, acthist.Shard.plan(BG)):
        raises(lambda: obj.save(out + "\x00junk"), ValueError, "NUL",
               "save to a path with a NUL")
        raises(lambda: obj.save((out + "\x00junk").encode()), ValueError,
               "NUL", "save to a bytes path with a NUL")
        check(not os.path.exists(out), "nothing written for a path with a NUL")
    M.save(out)
    raises(lambda: acthist.Model.load(out + "\x00junk"), ValueError, "NUL",
           "load from a path with a NUL")
    check(acthist.Model.load(out).nodes == 6, "the plain path still loads")


run("test_validation", [test_integers_not_truncated, test_labels, test_dtypes,
                        test_option_ranges, test_pvalue_ranges,
                        test_nul_paths])
