"""The Python binding against the command-line tool, bit for bit, on the
bundled real activations: the same model bytes, p-values, scores and group
scans; the fit's three input paths (float64 in place, other dtypes in
blocks, batches) agree; every backend gives the default's bits; metrics
against a brute-force pair count."""
import json
import os
import pickle
import subprocess
import sys
import tempfile
import warnings

import numpy as np

import acthist
import acthist.model
from check import check, raises, repo_path, run

ACTHIST = os.environ.get("ACTHIST") or repo_path("build", "acthist")
DATA = repo_path("data")
TMP = tempfile.mkdtemp(prefix="acthist-py-")


def data(name):
    return np.load(os.path.join(DATA, name))


def cli(*args):
    r = subprocess.run([ACTHIST] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "acthist %s: exit %d: %s"
          % (" ".join(map(str, args)), r.returncode, r.stderr.decode()))
    return r.stdout.decode()


def tmp(name):
    return os.path.join(TMP, name)


BG = data("background.npy")[:4000]
BGL = data("background_labels.npy")[:4000]
np.save(tmp("bg.npy"), BG)
np.save(tmp("bgl.npy"), BGL)
X = np.concatenate([data("clean.npy")[:150], data("pgd_eps10.npy")[:50]])
XL = np.concatenate([data("clean_labels.npy")[:150],
                     data("pgd_eps10_labels.npy")[:50]])
np.save(tmp("x.npy"), X)
np.save(tmp("xl.npy"), XL)
cli("fit", "--tail", "two", "-o", tmp("m.ahm"), tmp("bg.npy"), "--labels",
    tmp("bgl.npy"))
with open(tmp("m.ahm"), "rb") as f:
    CLI_BYTES = f.read()


def fitted():
    return acthist.Model.fit(BG, labels=BGL, tail="two")


def test_fit_paths_match_cli():
    m = fitted()  # float32: converted in blocks through the row source
    check(m.to_bytes() == CLI_BYTES, "fit(float32) bytes differ from the CLI")
    m64 = acthist.Model.fit(BG.astype(np.float64), labels=BGL, tail="two")
    check(m64.to_bytes() == CLI_BYTES, "fit(float64) bytes differ")
    cuts = [0, 1, 999, 1000, 2500, 4000]
    batches = [(BG[a:b], BGL[a:b]) for a, b in zip(cuts, cuts[1:])]
    mb = acthist.Model.fit_batches(batches, tail="two")
    check(mb.to_bytes() == CLI_BYTES, "fit_batches(list) bytes differ")
    mf = acthist.Model.fit_batches(lambda: iter(batches), tail="two",
                                   chunk_rows=333)
    check(mf.to_bytes() == CLI_BYTES, "fit_batches(function) bytes differ")
    fortran = np.asfortranarray(BG.astype(np.float64))
    mo = acthist.Model.fit(fortran, labels=list(BGL), tail="two")
    check(mo.to_bytes() == CLI_BYTES, "fit(Fortran order) bytes differ")


def test_save_load_info():
    m = fitted()
    m.save(tmp("py.ahm"))
    with open(tmp("py.ahm"), "rb") as f:
        check(f.read() == CLI_BYTES, "save() wrote other bytes than the CLI")
    check(acthist.Model.load(tmp("m.ahm")).to_bytes() == CLI_BYTES,
          "load of the CLI's model")
    check(acthist.Model.from_bytes(CLI_BYTES).to_bytes() == CLI_BYTES,
          "from_bytes round trip")
    info = json.loads(cli("info", tmp("py.ahm"), "--json"))
    mine = m.info()
    for k in ("nodes", "rows", "labels", "file_bytes"):
        check(k in info and info[k] == mine[k],
              "info[%s]: CLI %s, binding %s" % (k, info.get(k), mine[k]))
    check(mine["method"] == "hist" and mine["tail"] == "two", str(mine))
    check(m.nodes == 128 and m.tail == "two", "nodes/tail")
    check(np.array_equal(m.labels, np.unique(BGL)), "labels")
    cells = m.node_cells(5)
    check(int(cells["count"].sum()) == BG.shape[0],
          "pooled cells of node 5 count %d rows" % cells["count"].sum())
    lab = int(m.labels[3])
    cl = m.node_cells(5, label=lab)
    check(int(cl["count"].sum()) == int((BGL == lab).sum()),
          "cells of label %d" % lab)
    check(np.all(cl["lo"][cl["atom"]] == cl["hi"][cl["atom"]]),
          "atoms have lo == hi")
    m.close()
    raises(lambda: m.nodes, ValueError, "closed", "a closed model")


def test_pvalues_match_cli():
    m = fitted()
    cli("pvalues", tmp("m.ahm"), tmp("x.npy"), "--labels", tmp("xl.npy"),
        "-o", tmp("p.npy"))
    ref = np.load(tmp("p.npy"))
    p = m.pvalues(X, labels=XL)
    check(p.shape == (200, 128, 2) and np.array_equal(p, ref),
          "pvalues differ from the CLI")
    check(np.array_equal(m.pvalues(X.astype(np.float64), labels=XL,
                                   threads=1), ref), "float64, 1 thread")
    check(np.array_equal(m.pvalues(X.reshape(200, 8, 16), labels=XL,
                                   threads=2), ref), "(n, 8, 16) input")
    old = acthist.model.BLOCK_ROWS
    acthist.model.BLOCK_ROWS = 7  # Fortran order: converted in blocks
    try:
        check(np.array_equal(m.pvalues(np.asfortranarray(X), labels=XL), ref),
              "blocks of 7")
        s = m.score(np.asfortranarray(X), labels=XL)
        check(np.array_equal(s.score, m.score(X, labels=XL).score),
              "score in blocks of 7")
    finally:
        acthist.model.BLOCK_ROWS = old
    one = m.pvalues(X[3], labels=XL[3:4])
    check(one.shape == (1, 128, 2) and np.array_equal(one[0], ref[3]),
          "one input as a 1-D array")
    cli("pvalues", tmp("m.ahm"), tmp("x.npy"), "--labels", tmp("xl.npy"),
        "--tail", "both", "-o", tmp("pb.npy"))
    pb = m.pvalues(X, labels=XL, tail="both")
    check(pb.shape == (200, 256, 2) and
          np.array_equal(pb, np.load(tmp("pb.npy"))), "tail both")
    for b in acthist._capi.names("backend"):
        check(np.array_equal(m.pvalues(X, labels=XL, tail="both", backend=b),
                             pb), "backend %s: other p-values" % b)
        sb, s0 = m.score(X, labels=XL, backend=b), m.score(X, labels=XL)
        check(all(np.array_equal(u, v) for u, v in zip(sb, s0)),
              "backend %s: other scores" % b)
    raises(lambda: m.pvalues(X, labels=XL, backend="gpu"), ValueError,
           "backend", "an unknown backend")


def test_score_matches_cli_and_scan():
    m = fitted()
    for stat in ("bj", "hc"):
        cli("score", tmp("m.ahm"), tmp("x.npy"), "--labels", tmp("xl.npy"),
            "--stat", stat, "-o", tmp("s.csv"))
        ref = np.genfromtxt(tmp("s.csv"), delimiter=",", names=True)
        s = m.score(X, labels=XL, stat=stat)
        check(np.array_equal(s.score, ref["score"]) and
              np.array_equal(s.alpha, ref["alpha"]) and
              np.array_equal(s.size, ref["size"].astype(np.int64)),
              "score --stat %s differs from the CLI" % stat)
    p = m.pvalues(X, labels=XL)
    s = m.score(X, labels=XL, threads=1)
    same = True
    for i in range(X.shape[0]):
        r = acthist.scan_individual(p[i], nodes=(i % 10 == 0))
        same &= r.score == s.score[i] and r.size == s.size[i]
        if r.nodes is not None:
            want = np.flatnonzero(p[i, :, 1] <= r.alpha) if r.score > 0 \
                else np.zeros(0, dtype=np.int64)
            same &= np.array_equal(r.nodes, want)
    check(same, "fused score differs from scan_individual of the p-values")
    check(acthist.scan_individual(p[0, :, 1]).score == s.score[0],
          "scan_individual of a 1-D p_max")


def test_scan_group_matches_cli():
    m = fitted()
    out = json.loads(cli("scan-group", tmp("m.ahm"), tmp("x.npy"), "--labels",
                         tmp("xl.npy"), "--restarts", 5, "--seed", 3,
                         "--json"))
    p = m.pvalues(X, labels=XL)
    g = acthist.scan_group(p, restarts=5, seed=3)
    check(g.score == out["score"] and g.alpha == out["alpha"],
          "group score %r vs CLI %r" % (g.score, out["score"]))
    check(list(np.flatnonzero(g.inputs)) == out["inputs"] and
          list(np.flatnonzero(g.nodes)) == out["nodes"], "group subsets")
    g2 = acthist.scan_group(p, restarts=5, seed=3, threads=2)
    check(g2.score == g.score and np.array_equal(g2.inputs, g.inputs),
          "group scan depends on the thread count")
    sub = p[g.inputs][:, g.nodes, 1]
    n_a = float((sub <= g.alpha).sum())
    check(acthist.stat_score("bj", g.alpha, n_a, sub.size) == g.score,
          "the group score is not phi of its own subset")


def test_other_methods_and_options():
    """Options reach the library: empirical and KDE models, quantile bins,
    another atom share, a lower tail, and the fractional group scan with
    bj and hc, each the same bits as the CLI with the same options."""
    small, sx = BG[:600, :16], X[:60, :16]
    np.save(tmp("small.npy"), small)
    np.save(tmp("sx.npy"), sx)
    for args, kw in ((["--method", "empirical"], {"method": "empirical"}),
                     (["--method", "kde"], {"method": "kde"}),
                     (["--bins", "auto", "--binning", "quantile",
                       "--atom-share", "0.1", "--tail", "lower"],
                      {"bins": "auto", "binning": "quantile",
                       "atom_share": 0.1, "tail": "lower"})):
        cli("fit", "-o", tmp("o.ahm"), tmp("small.npy"), *args)
        with open(tmp("o.ahm"), "rb") as f:
            check(acthist.Model.fit(small, **kw).to_bytes() == f.read(),
                  "fit %s differs from the CLI" % args)
    # 8 bins: wide p-value ranges, where the fractional count differs
    cli("fit", "-o", tmp("b8.ahm"), tmp("small.npy"), "--bins", 8)
    p = acthist.Model.load(tmp("b8.ahm")).pvalues(sx)
    for stat in ("bj", "hc"):
        out = json.loads(cli("scan-group", tmp("b8.ahm"), tmp("sx.npy"),
                             "--stat", stat, "--alpha-max", "0.3",
                             "--fractional", "--restarts", 3, "--seed", 9,
                             "--json"))
        g = acthist.scan_group(p, stat=stat, alpha_max=0.3, fractional=True,
                               restarts=3, seed=9)
        check(g.score == out["score"] and
              list(np.flatnonzero(g.nodes)) == out["nodes"],
              "fractional %s group scan: %r vs CLI %r"
              % (stat, g.score, out["score"]))


def test_threads_and_pickle():
    """ctypes releases the GIL in C calls: Python threads share one model
    (its queries are const) and must get what one call gets."""
    from concurrent.futures import ThreadPoolExecutor
    m = fitted()
    want = m.score(X, labels=XL, threads=1).score
    parts = [(k, k + 25) for k in range(0, 200, 25)]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda ab: m.score(X[ab[0]:ab[1]],
                                             labels=XL[ab[0]:ab[1]],
                                             threads=1).score, parts * 3))
    check(all(np.array_equal(g, want[a:b])
              for g, (a, b) in zip(got, parts * 3)), "threads sharing a model")
    m2 = pickle.loads(pickle.dumps(m))
    check(m2.to_bytes() == CLI_BYTES and
          np.array_equal(m2.score(X, labels=XL).score, want), "pickle")


def test_example_detect():
    """examples/detect.py's AUCs are those of `acthist eval` on the same
    bundled files, models and tails (to the 4 digits it prints)."""
    r = subprocess.run([sys.executable, repo_path("examples", "detect.py")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ,
                                PYTHONPATH=repo_path("python")))
    check(r.returncode == 0, "detect.py: %s" % r.stderr.decode())
    if r.returncode:
        return
    got = json.loads(r.stdout)
    names = ("fgsm_eps10", "pgd_eps10", "cw_l2", "synth")
    cli("fit", "-o", tmp("pooled.ahm"), os.path.join(DATA, "background.npy"))
    cli("fit", "-o", tmp("cond.ahm"), os.path.join(DATA, "background.npy"),
        "--labels", os.path.join(DATA, "background_labels.npy"))
    for key, model, tail, lab in (
            ("pooled upper (the paper's default)", "pooled.ahm", "upper", 0),
            ("conditional lower", "cond.ahm", "lower", 1),
            ("conditional both", "cond.ahm", "both", 1)):
        args = ["eval", tmp(model), "--tail", tail, "--json",
                "--clean", os.path.join(DATA, "clean.npy")]
        if lab:
            args += ["--clean-labels", os.path.join(DATA, "clean_labels.npy")]
        for n in names:
            args += ["--anomalous", os.path.join(DATA, n + ".npy")]
            if lab:
                args += ["--anomalous-labels",
                         os.path.join(DATA, n + "_labels.npy")]
        ev = json.loads(cli(*args))
        want = [round(x["auc"], 4) for x in ev["sets"]]
        check([got[key][n] for n in names] == want,
              "%s: detect.py %s, eval %s" % (key, got[key], want))


def test_metrics_brute_force():
    r = np.random.default_rng(7)
    c = np.round(r.normal(size=300), 1)
    a = np.round(r.normal(0.5, size=200), 1)
    gt = (a[:, None] > c[None, :]).sum()
    eq = (a[:, None] == c[None, :]).sum()
    want = (gt + 0.5 * eq) / (300 * 200)
    check(abs(acthist.auc(c, a) - want) < 1e-12,
          "auc %r vs pair count %r" % (acthist.auc(c, a), want))
    fpr, tpr = acthist.roc(c, a)
    check(fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1 and
          np.all(np.diff(fpr) >= 0), "roc from (0,0) to (1,1)")
    t = acthist.tpr_at_fpr(c, a, 0.1)
    best = max(((a > th).mean() for th in np.unique(np.r_[c, a, -np.inf])
                if (c > th).mean() <= 0.1), default=0.0)
    check(t == best, "tpr_at_fpr %r vs brute force %r" % (t, best))


def test_unseen_labels_warn():
    m = fitted()
    lab = XL.copy()
    lab[[4, 9]] = 99
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        p = m.pvalues(X, labels=lab)
        m.score(X, labels=lab)
    msgs = [str(x.message) for x in w
            if issubclass(x.category, acthist.UnseenLabelWarning)]
    check(len(msgs) == 2 and "2 input(s)" in msgs[0], "warnings: %s" % msgs)
    pooled = acthist.Model.fit(BG, tail="two").pvalues(X[[4, 9]])
    check(np.array_equal(p[[4, 9]], pooled), "unseen labels use the pooled set")


def test_scan_individual_rows():
    """The batch scan of p-values: what Model.score and a scan_individual
    per row give, from ranges and from p_max alone, at any thread count."""
    m = fitted()
    p = m.pvalues(X, labels=XL)
    s = m.score(X, labels=XL)
    for arr, what in ((p, "ranges"), (p[..., 1].copy(), "p_max")):
        for threads in (1, 2, 0):
            r = acthist.scan_individual_rows(arr, threads=threads)
            check(np.array_equal(r.score, s.score) and
                  np.array_equal(r.alpha, s.alpha) and
                  np.array_equal(r.size, s.size),
                  "scan_individual_rows(%s, threads=%d) differs from "
                  "Model.score" % (what, threads))
    hc = acthist.scan_individual_rows(p, stat="hc", alpha_max=0.2)
    one = [acthist.scan_individual(p[i], stat="hc", alpha_max=0.2)
           for i in range(len(p))]
    check(all(o.score == hc.score[i] and o.alpha == hc.alpha[i] and
              o.size == hc.size[i] for i, o in enumerate(one)),
          "hc rows differ from one scan per row")
    raises(lambda: acthist.scan_individual_rows(p[0, :, 1]), ValueError,
           "(n, D)", "a 1-D array")
    q = p.copy()
    q[7, 3, 1] = np.nan
    e = raises(lambda: acthist.scan_individual_rows(q), acthist.Error, "NaN",
               "a NaN p-value")
    check(e is not None and e.row == 7 and e.col == 3,
          "the NaN's row and column: %r" % (e and (e.row, e.col),))


run("test_binding", [test_fit_paths_match_cli, test_save_load_info,
                     test_pvalues_match_cli, test_score_matches_cli_and_scan,
                     test_scan_group_matches_cli,
                     test_other_methods_and_options, test_threads_and_pickle,
                     test_example_detect, test_metrics_brute_force,
                     test_unseen_labels_warn, test_scan_individual_rows])
