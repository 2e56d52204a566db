"""The binding as a detector out of the box: the evidence default tail, no
silent fallback to the pooled background of a conditional model, and
torch tensors that require grad accepted as they are (issue 15)."""
import numpy as np

import acthist
from check import check, raises, repo_path, run

BG = np.load(repo_path("data", "background.npy"))
BGL = np.load(repo_path("data", "background_labels.npy"))
X = np.load(repo_path("data", "pgd_eps10.npy"))[:200]
XL = np.load(repo_path("data", "pgd_eps10_labels.npy"))[:200]


def test_default_tail():
    check(acthist.Model.fit(BG[:2000], BGL[:2000]).tail == "two",
          "with labels the default tail is two")
    check(acthist.Model.fit(BG[:2000]).tail == "lower",
          "without labels the default tail is lower")
    check(acthist.Model.fit(BG[:2000], tail="upper").tail == "upper",
          "the paper's upper tail on request")


def test_no_silent_fallback():
    m = acthist.Model.fit(BG[:2000], BGL[:2000])
    for call in (lambda: m.score(X), lambda: m.pvalues(X)):
        raises(call, ValueError, "pooled=True", "conditional without labels")
        raises(call, ValueError, "labels=", "the message names labels=")
    raises(lambda: m.score(X, XL, pooled=True), ValueError, "both given",
           "labels and pooled=True")
    pooled = acthist.Model.fit(BG[:2000], tail="two")
    check(np.array_equal(m.score(X, pooled=True).score, pooled.score(X).score),
          "pooled=True scores against the pooled background")
    check(np.array_equal(m.pvalues(X, pooled=True), pooled.pvalues(X)),
          "pooled=True p-values are the pooled model's")
    s = m.score(X, XL).score
    check(not np.array_equal(s, m.score(X, pooled=True).score),
          "labels change the scores")


def test_tensors_that_require_grad():
    try:
        import torch
    except ImportError:
        print("test_defaults: torch is not importable: tensor checks skipped")
        return
    bg = torch.tensor(BG[:2000], requires_grad=True)
    m = acthist.Model.fit(bg, torch.tensor(BGL[:2000]))
    x = torch.tensor(X, requires_grad=True) * 1.0  # part of a graph
    got = m.score(x, torch.tensor(XL)).score
    check(np.array_equal(got, m.score(X, XL).score),
          "a tensor that requires grad scores as its values do")
    check(np.array_equal(m.pvalues(x, XL), m.pvalues(X, XL)),
          "p-values of a tensor that requires grad")


def test_threshold_of_a_calibrated_model():
    """A model saved by `acthist fit --fpr` shows its threshold, and its
    flags are the CLI's."""
    import os
    import subprocess
    import tempfile
    cli = os.environ.get("ACTHIST") or repo_path("build", "acthist")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.ahm")
        subprocess.run([cli, "fit", "-o", path, repo_path("data",
                        "background.npy"), "--labels",
                        repo_path("data", "background_labels.npy"),
                        "--fpr", "0.05"], check=True, capture_output=True)
        m = acthist.Model.load(path)
        t = m.threshold
        check(t is not None and t["fpr"] == 0.05 and t["source"] ==
              "crossfit" and t["folds"] == 5 and t["n"] == 10000 and
              t["tail"] == "two" and not t["pooled"], "threshold: %r" % (t,))
        out = subprocess.run([cli, "score", path,
                              repo_path("data", "pgd_eps10.npy"), "--labels",
                              repo_path("data", "pgd_eps10_labels.npy")],
                             check=True, capture_output=True, text=True).stdout
        flags = np.array([int(r.split(",")[4]) for r in out.split()[1:]])
        s = m.score(np.load(repo_path("data", "pgd_eps10.npy")),
                    np.load(repo_path("data", "pgd_eps10_labels.npy"))).score
        check(np.array_equal(flags, (s > t["score"]).astype(int)),
              "flags: score above the threshold, as the CLI says")
    check(acthist.Model.fit(BG[:500]).threshold is None,
          "a fresh model has no threshold")


run("test_defaults", [test_default_tail, test_no_silent_fallback,
                      test_tensors_that_require_grad,
                      test_threshold_of_a_calibrated_model])
