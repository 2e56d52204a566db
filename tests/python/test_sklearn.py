"""acthist.sklearn: scikit-learn's estimator checks (those that apply to an
outlier detector; Debian's python3-sklearn), and the estimator on the
bundled real activations: its scores are acthist's, the threshold flags the
asked share of new clean rows, a conditional model needs its labels, and
the PyOD-style surface.  Without scikit-learn the test says so and passes
nothing (tools/install-deps.sh installs it)."""
import os
import pickle
import sys
import warnings

import numpy as np

import acthist
from check import check, raises, repo_path, run

try:
    import sklearn
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.estimator_checks import check_estimator
except ImportError:
    print("test_sklearn: skipped: scikit-learn is not installed "
          "(python3-sklearn; tools/install-deps.sh installs it)")
    print("test_sklearn: 0 passed, 0 failed")
    sys.exit(0)

from acthist.sklearn import SubsetScanOutlierDetector, SubsetScanPyOD  # noqa

DATA = repo_path("data")


def data(name):
    return np.load(os.path.join(DATA, name + ".npy"))


BG, BGL = data("background"), data("background_labels")
FGSM, FGSML = data("fgsm_eps10"), data("fgsm_eps10_labels")
CLEAN, CLEANL = data("clean"), data("clean_labels")


def run_checks(est, what):
    """Every check scikit-learn yields for est, one pass or fail each; a
    check that skips itself (e.g. pandas missing) is reported, not
    counted."""
    try:
        checks = list(check_estimator(est, generate_only=True))
    except TypeError:  # a scikit-learn without generate_only
        checks = [(est, check_estimator)]
    skipped, names = [], set()
    for e, chk in checks:
        name = getattr(chk, "func", chk).__name__
        names.add(name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                chk(e)
            check(True, name)
        except Exception as ex:  # noqa: B902 - each failure reported
            if type(ex).__name__ == "SkipTest":
                skipped.append("%s (%s)" % (name, ex))
            else:
                check(False, "%s: %s: %s: %s" % (what, name,
                                                 type(ex).__name__, ex))
    print("test_sklearn: %s: %d of scikit-learn %s's checks run%s"
          % (what, len(checks) - len(skipped), sklearn.__version__,
             "; skipped: " + "; ".join(skipped) if skipped else ""))
    return names


def test_estimator_checks():
    names = run_checks(SubsetScanOutlierDetector(), "defaults")
    for want in ("check_outliers_train", "check_outliers_fit_predict",
                 "check_outlier_contamination", "check_estimators_pickle",
                 "check_estimators_unfitted", "check_fit2d_predict1d"):
        check(want in names, "scikit-learn ran %s" % want)
    run_checks(SubsetScanOutlierDetector(0.2, method="empirical",
                                         tail="upper", stat="hc"),
               "empirical, upper, hc")


def test_scores_are_acthists():
    m = acthist.Model.fit(BG, labels=BGL, tail="two")
    det = SubsetScanOutlierDetector().fit(BG, labels=BGL)
    check(det.model_.to_bytes() == m.to_bytes(), "model_ = Model.fit")
    want = m.score(FGSM, labels=FGSML).score
    got = det.score_samples(FGSM, labels=FGSML)
    check(np.array_equal(got, -want), "score_samples = -Model.score")
    check(np.array_equal(det.decision_function(FGSM, labels=FGSML),
                         got - det.offset_), "decision_function")
    check(det.n_features_in_ == 128 and det.conditional_, "attributes")
    a = acthist.auc(-det.score_samples(CLEAN, labels=CLEANL), -got)
    check(abs(a - acthist.auc(m.score(CLEAN, labels=CLEANL).score, want))
          < 1e-12, "AUC")
    print("test_sklearn: bundled fc1, FGSM AUC %.3f (conditional, two-tailed)"
          % a)
    pooled = SubsetScanOutlierDetector(tail="lower").fit(BG)
    check(np.array_equal(pooled.score_samples(FGSM),
                         -acthist.Model.fit(BG, tail="lower").score(
                             FGSM).score), "pooled: = Model.score")
    f32 = det.score_samples(FGSM.astype(np.float32), labels=FGSML)
    check(np.array_equal(f32, got), "float32 read in place, same scores")


def test_labels_contract():
    det = SubsetScanOutlierDetector().fit(BG[:2000], labels=BGL[:2000])
    raises(lambda: det.predict(FGSM), ValueError, "labels=",
           "conditional without labels")
    raises(lambda: det.predict(FGSM), ValueError, "pooled=True",
           "the error names pooled=True")
    p = det.score_samples(FGSM, pooled=True)
    want = -acthist.Model.fit(BG[:2000], labels=BGL[:2000],
                              tail="two").score(FGSM, pooled=True).score
    check(np.array_equal(p, want), "pooled=True: the pooled background")
    raises(lambda: det.predict(FGSM, labels=FGSML[:10]), ValueError,
           "10 labels for 1000", "label count")
    raises(lambda: det.predict(FGSM, labels=np.full(1000, 0.5)), ValueError,
           "integers", "fractional labels")
    plain = SubsetScanOutlierDetector().fit(BG[:2000], y=BGL[:2000])
    check(not plain.conditional_, "y is ignored (scikit-learn's convention)")
    raises(lambda: plain.predict(FGSM, labels=FGSML), ValueError,
           "without labels", "labels for a pooled model")
    raises(lambda: SubsetScanOutlierDetector().predict(FGSM),
           NotFittedError, None, "unfitted")
    for bad in ({"contamination": 0.7}, {"contamination": 0},
                {"tail": "middle"}, {"cv": 1}, {"bins": 0},
                {"alpha_max": 0}):
        raises(lambda: SubsetScanOutlierDetector(**bad).fit(BG[:100]),
               ValueError, None, "parameter %s" % bad)


def test_threshold():
    """The training rows: exactly the contamination share flagged
    in-sample (no ties there).  New clean rows (other background rows,
    exchangeable with the training ones): about that share, closer with
    cv on few rows per label."""
    det = SubsetScanOutlierDetector(contamination=0.05).fit(BG, labels=BGL)
    flagged = det.predict(BG, labels=BGL) == -1
    check(flagged.sum() == 500, "in-sample: %d of 10000 flagged, want 500"
          % flagged.sum())
    check(np.array_equal(flagged.astype(int), det.labels_), "labels_")
    check(det.threshold_ == -det.offset_, "threshold_ = -offset_")
    perm = np.random.default_rng(1).permutation(BG.shape[0])
    tr, new = perm[:1000], perm[5000:]
    rates = {}
    for cv in (None, 5):
        d = SubsetScanOutlierDetector(contamination=0.05, cv=cv,
                                      random_state=0)
        d.fit(BG[tr], labels=BGL[tr])
        rates[cv] = np.mean(d.predict(BG[new], labels=BGL[new]) == -1)
    tol = 4 * np.sqrt(0.05 * 0.95 * (1 / 1000 + 1 / 5000))
    print("test_sklearn: contamination 0.05, 1,000 training rows "
          "(conditional), flag rate on 5,000 new clean rows: in-sample "
          "threshold %.3f, cv=5 %.3f" % (rates[None], rates[5]))
    check(abs(rates[5] - 0.05) <= tol, "cv=5 flag rate %.3f +- %.3f"
          % (rates[5], tol))
    d = SubsetScanOutlierDetector(cv=4, random_state=3).fit(BG[:800])
    check(d.decision_scores_.shape == (800,), "out-of-fold scores")


def test_pyod_surface():
    base = SubsetScanOutlierDetector(contamination=0.1).fit(BG[:3000],
                                                            labels=BGL[:3000])
    pyod = SubsetScanPyOD(contamination=0.1).fit(BG[:3000],
                                                 labels=BGL[:3000])
    s = pyod.decision_function(FGSM, labels=FGSML)
    check(np.array_equal(s, -base.score_samples(FGSM, labels=FGSML)),
          "PyOD decision_function: higher = more anomalous")
    check(np.array_equal(pyod.predict(FGSM, labels=FGSML),
                         (base.predict(FGSM, labels=FGSML) == -1)
                         .astype(int)), "PyOD predict: 1 outlier, 0 inlier")
    check(np.array_equal(pyod.decision_scores_, base.decision_scores_) and
          pyod.threshold_ == base.threshold_ and
          np.array_equal(pyod.labels_, base.labels_), "same fit")
    pr = pyod.predict_proba(FGSM, labels=FGSML)
    check(pr.shape == (1000, 2) and np.allclose(pr.sum(axis=1), 1) and
          np.all((pr >= 0) & (pr <= 1)), "predict_proba")
    check(np.array_equal(pyod.fit_predict(BG[:3000], labels=BGL[:3000]),
                         pyod.labels_), "fit_predict = labels_")


def test_pickle_clone():
    det = SubsetScanOutlierDetector(contamination=0.07, bins=256).fit(
        BG[:2000], labels=BGL[:2000])
    back = pickle.loads(pickle.dumps(det))
    check(np.array_equal(back.decision_function(FGSM, labels=FGSML),
                         det.decision_function(FGSM, labels=FGSML)),
          "pickled")
    c = clone(det)
    check(c.get_params() == det.get_params() and
          not hasattr(c, "model_"), "clone")


run("test_sklearn", [test_estimator_checks, test_scores_are_acthists,
                     test_labels_contract, test_threshold,
                     test_pyod_surface, test_pickle_clone])
