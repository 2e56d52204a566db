"""The same bad values through the command line and the Python binding
(issue 17, "one validation layer"): both must refuse them, and with the
same words, since both take the ranges from the library (ah_option_check)
and read labels by the same rules.  The CLI exits 2 for a bad option and 1
for bad data; Python raises ValueError (TypeError for a non-real dtype)."""
import os
import re
import subprocess
import tempfile

import numpy as np

import acthist
from check import check, repo_path, run

ACTHIST = os.environ.get("ACTHIST") or repo_path("build", "acthist")
TMP = tempfile.mkdtemp(prefix="acthist-parity-")
R = np.random.default_rng(170)
BG = R.normal(size=(250, 5))
X = R.normal(size=(30, 5))


def tmp(name):
    return os.path.join(TMP, name)


np.save(tmp("bg.npy"), BG)
np.save(tmp("x.npy"), X)
M = acthist.Model.fit(BG, bins=64)
M.save(tmp("m.ahm"))
P = M.pvalues(X)


def cli(*args):
    r = subprocess.run([ACTHIST] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stderr.decode()


def python(fn):
    try:
        fn()
    except Exception as e:  # noqa: B902 - compared below
        return e
    return None


RANGE = re.compile(r"(\w+ must be .*?), not ")


def same_range(what, cli_args, fn, want_range):
    """The CLI exits 2 and Python raises ValueError, both naming the
    option and the range want_range, in the same words."""
    rc, err = cli(*cli_args)
    e = python(fn)
    c = RANGE.search(err)
    p = RANGE.search(str(e)) if e is not None else None
    check(rc == 2, "%s: CLI exit %d (want 2): %s" % (what, rc, err.strip()))
    check(isinstance(e, ValueError), "%s: Python raised %r" % (what, e))
    check(c is not None and want_range in c.group(1),
          "%s: CLI message %r lacks %r" % (what, err.strip(), want_range))
    check(p is not None and c is not None and p.group(1) == c.group(1),
          "%s: CLI says %r, Python %r" % (what, err.strip(), str(e)))


def test_option_ranges():
    fit = ["fit", "-o", tmp("o.ahm"), tmp("bg.npy")]
    score = ["score", tmp("m.ahm"), tmp("x.npy")]
    group = ["scan-group", tmp("m.ahm"), tmp("x.npy")]
    bins = "bins must be 'auto' or 1..65536"
    for v in (0, 2**32 + 5, 2**32, -3):
        same_range("bins %d" % v, fit + ["--bins", v],
                   lambda: acthist.Model.fit(BG, bins=v), bins)
    for v in (0, 1.5, -1):
        same_range("atom share %g" % v, fit + ["--atom-share", v],
                   lambda: acthist.Model.fit(BG, atom_share=v),
                   "atom_share must be in (0, 1]")
    for v in (0, 2**31):
        same_range("chunk rows %d" % v, fit + ["--chunk-rows", v],
                   lambda: acthist.Model.fit(BG, chunk_rows=v),
                   "chunk_rows must be in 1..1073741824")
    alpha = "alpha_max must be in [1e-12, 1]"
    for v in (0, -1, 2, 1e-13):
        same_range("score alpha %g" % v, score + ["--alpha-max", v],
                   lambda: M.score(X, alpha_max=v), alpha)
        same_range("scan-group alpha %g" % v, group + ["--alpha-max", v],
                   lambda: acthist.scan_group(P, alpha_max=v), alpha)
    threads = "threads must be in 0..256"
    for v in (-5, 257, 2**32):
        same_range("pvalues threads %d" % v,
                   ["pvalues", tmp("m.ahm"), tmp("x.npy"), "-o", tmp("p.npy"),
                    "--threads", v],
                   lambda: M.pvalues(X, threads=v), threads)
        same_range("score threads %d" % v, score + ["--threads", v],
                   lambda: M.score(X, threads=v), threads)
        same_range("scan-group threads %d" % v, group + ["--threads", v],
                   lambda: acthist.scan_group(P, threads=v), threads)
    for v in (0, 2**32 + 1, 10**6 + 1):
        same_range("restarts %d" % v, group + ["--restarts", v],
                   lambda: acthist.scan_group(P, restarts=v),
                   "restarts must be in 1..1000000")
    for v in (-1, 2**64):
        same_range("seed %d" % v, group + ["--seed", v],
                   lambda: acthist.scan_group(P, seed=v),
                   "seed must be in 0..18446744073709551615")
    # and the edges of the ranges are taken by both
    rc, err = cli(*(group + ["--seed", 2**64 - 1, "--restarts", 2,
                             "--alpha-max", 1e-12, "--threads", 256]))
    check(rc == 0, "scan-group at the edges of the ranges: %s" % err)
    check(python(lambda: acthist.scan_group(P, seed=2**64 - 1, restarts=2,
                                            alpha_max=1e-12, threads=256))
          is None, "scan_group at the edges of the ranges")


LABEL = re.compile(r"(row \d+: label .*|labels must be a 1-D array .*?[;,])")


def same_labels(what, lab):
    """fit --labels and Model.fit(labels=) refuse lab the same way."""
    np.save(tmp("lab.npy"), lab)
    rc, err = cli("fit", "-o", tmp("o.ahm"), tmp("bg.npy"), "--labels",
                  tmp("lab.npy"))
    e = python(lambda: acthist.Model.fit(BG, labels=lab))
    c = LABEL.search(err)
    p = LABEL.search(str(e)) if e is not None else None
    check(rc == 1, "%s: CLI exit %d (want 1): %s" % (what, rc, err.strip()))
    check(isinstance(e, ValueError), "%s: Python raised %r" % (what, e))
    check(c is not None and p is not None and
          c.group(1).strip() == p.group(1).strip(),
          "%s: CLI says %r, Python %r" % (what, err.strip(), str(e)))


def test_labels():
    lab = np.zeros(250, dtype=np.uint64)
    lab[7] = 2**64 - 1
    same_labels("uint64 label 2**64 - 1", lab)
    for v in (1e19, -1e19, 2.5):
        f = np.zeros(250)
        f[3] = v
        same_labels("float label %g" % v, f)
    same_labels("labels of shape (250, 2)", np.zeros((250, 2), np.int64))
    same_labels("labels of shape (125, 2)", np.zeros((125, 2), np.int64))


def test_dtypes():
    """Activations that are not real numbers: both refuse them."""
    for name, a in (("complex", BG + 1j), ("bool", BG > 0)):
        np.save(tmp(name + ".npy"), a)
        rc, err = cli("fit", "-o", tmp("o.ahm"), tmp(name + ".npy"))
        check(rc == 1, "fit of %s: CLI exit %d: %s" % (name, rc, err.strip()))
        check(isinstance(python(lambda: acthist.Model.fit(a)), TypeError),
              "fit of %s: Python does not raise TypeError" % name)
        rc, err = cli("score", tmp("m.ahm"), tmp(name + ".npy"))
        check(rc == 1, "score of %s: CLI exit %d: %s" % (name, rc,
                                                         err.strip()))
        check(isinstance(python(lambda: M.score(a)), TypeError),
              "score of %s: Python does not raise TypeError" % name)
    check(not os.path.exists(tmp("o.ahm")), "no model written by any refusal")


run("test_validation_parity", [test_option_ranges, test_labels, test_dtypes])
