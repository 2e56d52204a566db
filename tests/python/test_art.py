"""acthist.art.SubsetScanningDetector, the drop-in for IBM ART's detector:
against a naive NumPy twin of ART's contract (always), against ART's own
SubsetScanningDetector when ART is importable (tools/install-deps.sh
installs ART 1.20.1 from PyPI into a venv over Debian's Python, which this
test finds), with a torch network as the classifier (when torch is
installed), and its errors.  The data are the bundled real activations."""
import os
import sys
import time

import numpy as np

import acthist
from acthist.art import SubsetScanningDetector
from check import check, raises, repo_path, run

ART_VERSION = "1.20.1"  # the version install-deps.sh installs


def data(name):
    return np.load(os.path.join(repo_path("data"), name + ".npy"))


BG = data("background")[:3000]
BGL = data("background_labels")[:3000]
CLEAN, CLEANL = data("clean")[:300], data("clean_labels")[:300]
ADV, ADVL = data("fgsm_eps10")[:300], data("fgsm_eps10_labels")[:300]
NAMES = ("BerkJones", "HigherCriticism", "KolmarovSmirnov")


class Identity:
    """An ART-style classifier whose inputs are already a layer's
    activations: get_activations returns them; predict returns one-hot
    rows of the labels kept beside them (for the conditional option)."""
    layer_names = ["fc1", "out"]

    def __init__(self, labels=None):
        self.labels = labels or {}

    def get_activations(self, x, layer, batch_size=128, framework=False):
        return np.asarray(x)

    def predict(self, x, batch_size=128):
        lab = self.labels[id(x)]
        return np.eye(10)[lab]


# -- the contract, naively -----------------------------------------------

def naive_pvalues(bg, x):
    """ART's p-value ranges: upper tail from the sorted background."""
    s = np.sort(bg, axis=0)
    n = s.shape[0]
    p = np.empty(x.shape + (2,))
    for j in range(x.shape[1]):
        p[:, j, 0] = (n - np.searchsorted(s[:, j], x[:, j], "right")) / (n + 1)
        p[:, j, 1] = (n - np.searchsorted(s[:, j], x[:, j], "left") + 1) / \
            (n + 1)
    return p


def naive_score(pmax, stat):
    """The individual scan: each distinct p_max <= 0.5 as a threshold, all
    the nodes at or below it (n_alpha = n), the best score."""
    best = 0.0
    for a in np.unique(pmax[pmax <= 0.5]):
        n = float(np.sum(pmax <= a))
        if stat == "BerkJones":
            s = n * np.log(1 / a)
        elif stat == "HigherCriticism":
            s = (n - n * a) / np.sqrt(n * a * (1 - a))
        else:
            s = (n - n * a) / np.sqrt(n)
        best = max(best, s)
    return best


def close(a, b, rel=1e-14):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <=
                                              rel * np.abs(b) + 1e-300))


def test_naive_twin():
    for name in NAMES:
        det = SubsetScanningDetector(Identity(), BG, "fc1",
                                     scoring_function=name, verbose=False)
        nb = [naive_score(p[:, 1], name) for p in naive_pvalues(BG, BG[:500])]
        check(close(det.bgd_scores[:500], nb), "%s: bgd_scores" % name)
        check(np.array_equal(det._calculate_pvalue_ranges(ADV),
                             naive_pvalues(BG, ADV)),
              "%s: p-value ranges bit for bit" % name)
        c, a, power = det.scan(CLEAN, ADV)
        nc = [naive_score(p[:, 1], name) for p in naive_pvalues(BG, CLEAN)]
        na = [naive_score(p[:, 1], name) for p in naive_pvalues(BG, ADV)]
        check(close(c, nc) and close(a, na), "%s: scan scores" % name)
        check(abs(power - acthist.auc(nc, na)) < 1e-12, "%s: power" % name)
        report, flag = det.detect(ADV)
        nmax = max(naive_score(p[:, 1], name) for p in naive_pvalues(BG, BG))
        check(close(report["scores"], na) and
              np.array_equal(flag, np.asarray(na) > nmax) and
              list(report) == ["scores"], "%s: detect" % name)


def test_group_scan():
    det = SubsetScanningDetector(Identity(), BG, "fc1", verbose=False)
    c, a, power = det.scan(CLEAN, ADV, clean_size=50, adv_size=10, run=6,
                           seed=7)
    check(c.shape == (6,) and a.shape == (6,), "one score per run")
    check(np.all(a >= c), "adding FGSM inputs never lowers the batch score")
    c2, a2, _ = det.scan(CLEAN, ADV, 50, 10, 6, seed=7)
    check(np.array_equal(c, c2) and np.array_equal(a, a2), "seeded")
    c3, _, _ = det.scan(CLEAN, ADV, clean_size=50, advs_size=10, run=6,
                        seed=7)
    check(np.array_equal(c, c3), "advs_size, ART's older name")
    c4, a4, _ = det.scan(CLEAN, ADV, clean_size=50, run=3)
    check(c4.shape == (300,), "one size alone: individual scans, as ART")
    check(abs(power - acthist.auc(c, a)) < 1e-15, "power of the runs")


def test_options_and_errors():
    raises(lambda: SubsetScanningDetector(Identity(), BG, 2), ValueError,
           "outside of range (0 to 1 included)", "layer index")
    raises(lambda: SubsetScanningDetector(Identity(), BG, "fc9"), ValueError,
           "fc9 is not part of the graph", "layer name")

    class NoNames(Identity):
        layer_names = None
    raises(lambda: SubsetScanningDetector(NoNames(), BG, 0), ValueError,
           "No layer names", "no layer names")
    raises(lambda: SubsetScanningDetector(Identity(), BG, 0, "Fisher"),
           ValueError, "not supported", "scoring function")
    old = SubsetScanningDetector(Identity(), BG, 0, False)  # ART < 1.17
    check(old.verbose is False and old.scoring_function == "BerkJones",
          "a bool as the fourth argument is verbose")
    raises(lambda: old.fit(BG, None), NotImplementedError, None, "fit")
    # conditional: the classifier's predicted classes pick the background
    ident = Identity({id(BG): BGL, id(ADV): ADVL})
    cond = SubsetScanningDetector(ident, BG, "fc1", tail="two",
                                  conditional=True, method="hist",
                                  verbose=False)
    m = acthist.Model.fit(BG, labels=BGL, tail="two")
    check(cond.model_.to_bytes() == m.to_bytes(), "conditional model")
    check(np.array_equal(cond.detect(ADV)[0]["scores"],
                         m.score(ADV, labels=ADVL).score),
          "conditional scores")
    check(np.array_equal(cond.bgd_scores, m.score(BG, labels=BGL).score),
          "conditional background scores")


def torch_net():
    import torch
    torch.manual_seed(0)
    torch.set_num_threads(1)
    return torch.nn.Sequential(torch.nn.Linear(128, 32), torch.nn.ReLU(),
                               torch.nn.Linear(32, 10))


def test_torch_module():
    try:
        import torch
    except ImportError:
        print("test_art: torch is not installed, the torch.nn.Module "
              "classifier is not tested")
        return
    net = torch_net()
    det = SubsetScanningDetector(net, torch.tensor(BG), "1", verbose=False)
    with torch.no_grad():
        acts = net[1](net[0](torch.tensor(BG))).numpy()
        aadv = net[1](net[0](torch.tensor(ADV))).numpy()
    ref = SubsetScanningDetector(Identity(), acts, "fc1", verbose=False)
    check(np.array_equal(det.bgd_scores, ref.bgd_scores),
          "a torch module's layer by name")
    check(np.array_equal(det.detect(ADV)[0]["scores"],
                         ref.detect(aadv)[0]["scores"]), "NumPy inputs")
    idx = SubsetScanningDetector(net, BG, 1, verbose=False)
    check(np.array_equal(idx.bgd_scores, ref.bgd_scores), "layer index")
    check(not net[1]._forward_hooks, "no hook left on the module")


# -- against ART itself ---------------------------------------------------

def art_venv_site():
    venv = os.environ.get("ACTHIST_ART_VENV") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or
        os.path.join(os.environ.get("HOME") or "/tmp", ".cache"),
        "acthist", "art-venv")
    return os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2],
                        "site-packages")


def import_art():
    """ART's detector class and version, or None and why not."""
    import importlib
    try:
        art = importlib.import_module("art")
    except ImportError:
        site = art_venv_site()
        if not os.path.isdir(site):
            return None, "ART is not importable and %s does not exist" % site
        sys.path.append(site)
        try:
            art = importlib.import_module("art")
        except ImportError as e:
            return None, "ART is not importable (%s)" % e
    from art.defences.detector.evasion import SubsetScanningDetector as A
    return (A, art.__version__), None


def test_against_art():
    got, why = import_art()
    if got is None:
        print("test_art: SKIPPED the comparison with IBM ART: %s; "
              "tools/install-deps.sh installs ART %s from PyPI"
              % (why, ART_VERSION))
        return
    ART, version = got
    print("test_art: comparing with IBM ART %s" % version)
    for name in NAMES:
        t = time.time()
        theirs = ART(Identity(), BG, "fc1", scoring_function=name,
                     verbose=False)
        t_art = time.time() - t
        t = time.time()
        ours = SubsetScanningDetector(Identity(), BG, "fc1",
                                      scoring_function=name, verbose=False)
        t_ours = time.time() - t
        rel = np.max(np.abs(ours.bgd_scores - theirs.bgd_scores) /
                     np.maximum(np.abs(theirs.bgd_scores), 1e-300))
        same = np.mean(ours.bgd_scores == theirs.bgd_scores)
        print("test_art: %s: background scores: %.1f%% bit for bit, "
              "largest relative difference %.2g (ART %.2f s, acthist %.2f s)"
              % (name, 100 * same, rel, t_art, t_ours))
        check(rel <= 2e-15, "%s: bgd_scores as ART's" % name)
        check(np.array_equal(ours._calculate_pvalue_ranges(ADV),
                             theirs._calculate_pvalue_ranges(ADV)),
              "%s: p-value ranges bit for bit" % name)
        c1, a1, p1 = theirs.scan(CLEAN, ADV)
        c2, a2, p2 = ours.scan(CLEAN, ADV)
        check(close(c2, c1, 2e-15) and close(a2, a1, 2e-15),
              "%s: scan scores as ART's" % name)
        check(abs(p1 - p2) < 1e-12, "%s: detection power %.17g vs ART %.17g"
              % (name, p2, p1))
        r1, f1 = theirs.detect(ADV)
        r2, f2 = ours.detect(ADV)
        check(close(r2["scores"], r1["scores"], 2e-15) and
              np.array_equal(f1, f2) and sorted(r1) == sorted(r2),
              "%s: detect as ART's" % name)
        if name == "BerkJones":
            print("test_art: BerkJones on %d clean and %d FGSM inputs: "
                  "detection power %.4f, ART's %.4f"
                  % (len(c1), len(a1), p2, p1))
    art_group_scans()
    art_pytorch_classifier()


def art_group_scans():
    """Group scans are not equal (other optimiser, ART's draws unseeded):
    on the same p-values, compare the scores found."""
    from art.defences.detector.evasion.subsetscanning.scanner import Scanner
    m = acthist.Model.fit(BG, method="empirical", tail="upper")
    pc, pa = m.pvalues(CLEAN), m.pvalues(ADV)
    rng = np.random.default_rng(5)
    ratios, lower = [], 0
    state = np.random.get_state()
    for r in range(10):
        ci = rng.choice(300, 50, replace=False)
        ai = rng.choice(300, 10, replace=False)
        p = np.concatenate([pc[ci], pa[ai]])
        np.random.seed(r)  # ART draws its restarts from NumPy's global RNG
        theirs = Scanner.fgss_for_nets(p)[0]
        ours = acthist.scan_group(p, restarts=10, seed=r).score
        ratios.append(ours / theirs)
        lower += ours < theirs * (1 - 1e-12)
    np.random.set_state(state)
    print("test_art: group scans of 50 clean + 10 FGSM inputs, 10 restarts "
          "each: acthist's score / ART's: mean %.3f, min %.3f, max %.3f "
          "(lower in %d of 10)" % (np.mean(ratios), np.min(ratios),
                                   np.max(ratios), lower))
    check(np.mean(ratios) >= 1.0, "group scans: acthist finds at least "
          "ART's scores on average")


def art_pytorch_classifier():
    """ART's PyTorchClassifier around a torch network: ART's detector and
    the drop-in given the same classifier."""
    try:
        import torch
        from art.estimators.classification import PyTorchClassifier
    except ImportError as e:
        print("test_art: no PyTorchClassifier comparison (%s)" % e)
        return
    net = torch_net()
    clf = PyTorchClassifier(model=net, loss=torch.nn.CrossEntropyLoss(),
                            input_shape=(128,), nb_classes=10)
    from art.defences.detector.evasion import SubsetScanningDetector as ART
    layer = clf.layer_names[1]
    theirs = ART(clf, BG[:1500], layer, verbose=False)
    ours = SubsetScanningDetector(clf, BG[:1500], layer, verbose=False)
    check(close(ours.bgd_scores, theirs.bgd_scores, 2e-15),
          "PyTorchClassifier (%s): bgd_scores as ART's" % layer)
    c1, a1, p1 = theirs.scan(CLEAN, ADV)
    c2, a2, p2 = ours.scan(CLEAN, ADV)
    check(close(c2, c1, 2e-15) and close(a2, a1, 2e-15) and
          abs(p1 - p2) < 1e-12, "PyTorchClassifier: scan as ART's")
    print("test_art: ART PyTorchClassifier, layer %r: scores as ART's, "
          "detection power %.4f" % (layer, p2))


run("test_art", [test_naive_twin, test_group_scan, test_options_and_errors,
                 test_torch_module, test_against_art])
