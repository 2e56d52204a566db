"""acthist as a scikit-learn outlier detector, for users who already hold
activation arrays (n inputs x D nodes).

    from acthist.sklearn import SubsetScanOutlierDetector
    det = SubsetScanOutlierDetector(contamination=0.05)
    det.fit(background_acts, labels=background_pred)   # conditional
    det.predict(new_acts, labels=new_pred)             # +1 inlier, -1 outlier
    det.score_samples(new_acts, labels=new_pred)       # higher = more normal

It follows scikit-learn's outlier detectors (IsolationForest,
LocalOutlierFactor with novelty=True) and passes scikit-learn's estimator
checks (tests/python/test_sklearn.py):
  score_samples(X)      the negated individual-scan score (Berk-Jones by
                        default): higher = more normal;
  decision_function(X)  score_samples(X) - offset_: negative = outlier;
  predict(X)            +1 inlier, -1 outlier (decision_function < 0);
  offset_               the contamination-quantile of the training scores,
                        np.percentile(score_samples(X_train),
                        100 * contamination), as IsolationForest: predict
                        flags that share of the training data.
`y` is ignored, as by every scikit-learn outlier detector (pipelines and
model selection pass a target there).  The labels of a conditional model
(typically the class the network predicted for each row) go in `labels=`,
at fit and again at scoring; scoring a conditional model without them is an
error unless pooled=True asks for the pooled background.

The threshold: by default it is taken on the training data scored against
the model fitted on that same data (scikit-learn's contract: `contamination`
is the share of the training set flagged).  Each training row is then part
of its own background, which makes its p-values slightly larger than a new
row's, so new clean data are flagged a little more often than
`contamination`.  cv=K takes the threshold from out-of-fold scores instead
(K folds, each scored against a model of the others), which holds for new
data at the cost of no longer flagging exactly that share of the training
set.  tests/python/test_sklearn.py measures both on the bundled real
activations.

PyOD's conventions differ from scikit-learn's in sign and in labels; the
fitted estimator carries PyOD's attributes too:
  decision_scores_  the training rows' scan scores, higher = more anomalous
                    (out-of-fold with cv);
  threshold_        on that scale: a score above it is an outlier
                    (threshold_ == -offset_);
  labels_           the training rows' flags, 1 outlier / 0 inlier.
SubsetScanPyOD is the same estimator with PyOD's methods: its
decision_function is the scan score (higher = more anomalous, the opposite
of scikit-learn's), predict returns 1 outlier / 0 inlier, and
predict_proba the linear rescaling of PyOD's BaseDetector.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _capi
from .detector import balanced_folds
from .model import Model, UnseenLabelWarning

try:  # declares the parameters to scikit-learn's checks (1.2 and later)
    from sklearn.utils._param_validation import Interval, StrOptions
except ImportError:  # pragma: no cover - older scikit-learn
    Interval = StrOptions = None

try:  # scikit-learn 1.6 and later
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:
    _sk_validate_data = None

# what fit and the scoring methods accept: 2-D, finite, real; float32
# stays float32 (the library reads it in place)
_CHECK = dict(dtype=[np.float64, np.float32])
_METHODS = _capi.names("method")  # ("hist", "empirical", "kde")
_TAILS = _capi.names("tail")      # ("upper", "lower", "two", "both")
_STATS = _capi.names("stat")      # ("bj", "hc", "ks")


def _validate(est, X, reset):
    if _sk_validate_data is not None:
        return _sk_validate_data(est, X, reset=reset, **_CHECK)
    return est._validate_data(X, reset=reset, **_CHECK)


def _check_labels(labels, n):
    """labels as int64 of length n (None stays None)."""
    if labels is None:
        return None
    lab = np.asarray(labels).reshape(-1)
    if lab.shape[0] != n:
        raise ValueError("%d labels for %d samples" % (lab.shape[0], n))
    if not np.issubdtype(lab.dtype, np.integer):
        if not np.issubdtype(lab.dtype, np.floating) or \
                not np.all(np.isfinite(lab)) or np.any(lab != np.round(lab)):
            raise ValueError("labels must be integers")
    return np.ascontiguousarray(lab, dtype=np.int64)


def _score_pooled(model, X, **kw):
    """Model.score on the pooled background of a conditional model
    (without pooled=True, scoring it without labels is an error)."""
    return model.score(X, pooled=True, **kw)


class SubsetScanOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection by non-parametric subset scanning of per-node
    empirical p-values (acthist), as a scikit-learn estimator.

    Parameters
    ----------
    contamination : float in (0, 0.5], default 0.1
        The share of the training data taken as outliers: it sets offset_.
    method : "hist" (default), "empirical" or "kde"
        The per-node representation (Model.fit).
    tail : "two" (default), "upper", "lower" or "both"
        Which tail of each node's background makes a value surprising.
    bins : None (the library's default), "auto" or an int
    stat : "bj" (Berk-Jones, default), "hc" or "ks"
    alpha_max : float in (0, 1], default 0.5
    cv : None (default) or int >= 2
        None: offset_ from the training rows scored in-sample; K:
        from out-of-fold scores of K folds (see the module's docstring).
    random_state : None, int or RandomState
        The fold assignment with cv.

    Attributes
    ----------
    model_ : acthist.Model
    offset_, threshold_, decision_scores_, labels_, n_features_in_
    conditional_ : bool, whether fit was given labels
    """

    if Interval is not None:
        _parameter_constraints = {
            "contamination": [Interval(Real, 0, 0.5, closed="right")],
            "method": [StrOptions(set(_METHODS))],
            "tail": [StrOptions(set(_TAILS))],
            "bins": [None, StrOptions({"auto"}),
                     Interval(Integral, 1, None, closed="left")],
            "stat": [StrOptions(set(_STATS))],
            "alpha_max": [Interval(Real, 0, 1, closed="right")],
            "cv": [None, Interval(Integral, 2, None, closed="left")],
            "random_state": ["random_state"],
        }

    def __init__(self, contamination=0.1, *, method="hist", tail="two",
                 bins=None, stat="bj", alpha_max=0.5, cv=None,
                 random_state=None):
        self.contamination = contamination
        self.method = method
        self.tail = tail
        self.bins = bins
        self.stat = stat
        self.alpha_max = alpha_max
        self.cv = cv
        self.random_state = random_state

    def _check_params(self):
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, Real) or \
                not 0.0 < c <= 0.5:
            raise ValueError("contamination must be a float in (0, 0.5], "
                             "not %r" % (c,))
        for name, allowed in (("method", _METHODS), ("tail", _TAILS),
                              ("stat", _STATS)):
            if getattr(self, name) not in allowed:
                raise ValueError("%s must be one of %s, not %r"
                                 % (name, list(allowed), getattr(self, name)))
        b = self.bins
        if b is not None and b != "auto" and (
                isinstance(b, bool) or not isinstance(b, Integral) or b < 1):
            raise ValueError("bins must be None, 'auto' or a positive int, "
                             "not %r" % (b,))
        a = self.alpha_max
        if isinstance(a, bool) or not isinstance(a, Real) or \
                not 0.0 < a <= 1.0:
            raise ValueError("alpha_max must be in (0, 1], not %r" % (a,))
        k = self.cv
        if k is not None and (isinstance(k, bool) or
                              not isinstance(k, Integral) or k < 2):
            raise ValueError("cv must be None or an int >= 2, not %r" % (k,))

    def _fit_model(self, X, labels):
        return Model.fit(X, labels=labels, method=self.method,
                         tail=self.tail, bins=self.bins)

    def _scan(self, model, X, labels, pooled=False):
        kw = dict(stat=self.stat, alpha_max=self.alpha_max)
        if labels is None and pooled:
            s = _score_pooled(model, X, **kw)
        else:
            s = model.score(X, labels=labels, **kw)
        return np.asarray(s.score, dtype=np.float64)

    def _cross_fit(self, X, lab, fold):
        scores = np.empty(X.shape[0])
        for k in range(self.cv):
            held = fold == k
            m = self._fit_model(X[~held], None if lab is None
                                else lab[~held])
            scores[held] = self._scan(m, X[held], None if lab is None
                                      else lab[held])
            m.close()
        return scores

    def fit(self, X, y=None, *, labels=None):
        """Fit the per-node model of X (n_samples, n_features) and set the
        threshold.  y: ignored.  labels: one integer per row (e.g. the
        predicted class) for a conditional model, or None."""
        self._check_params()
        X = _validate(self, X, reset=True)
        lab = _check_labels(labels, X.shape[0])
        model = self._fit_model(X, lab)
        if self.cv is None:
            scores = self._scan(model, X, lab)
        else:
            if X.shape[0] < 2 * self.cv:
                raise ValueError("cv=%d needs at least %d samples, got %d"
                                 % (self.cv, 2 * self.cv, X.shape[0]))
            seed = check_random_state(self.random_state).randint(2 ** 31 - 1)
            fold = balanced_folds(X.shape[0], self.cv, lab, seed)
            with warnings.catch_warnings():
                # a rare label missing from the other folds is scored
                # against their pooled background, as a new row would be
                warnings.simplefilter("ignore", UnseenLabelWarning)
                scores = self._cross_fit(X, lab, fold)
        self.model_ = model
        self.conditional_ = lab is not None
        self.decision_scores_ = scores
        self.offset_ = float(np.percentile(-scores,
                                           100.0 * self.contamination))
        self.threshold_ = -self.offset_
        self.labels_ = (scores > self.threshold_).astype(int)
        return self

    def _scan_scores(self, X, labels, pooled):
        check_is_fitted(self)
        X = _validate(self, X, reset=False)
        lab = _check_labels(labels, X.shape[0])
        if self.conditional_ and lab is None and not pooled:
            raise ValueError(
                "this %s was fitted with labels (conditional): pass "
                "labels= (e.g. the predicted classes) for the rows to score, "
                "or pooled=True to compare them with the pooled background"
                % type(self).__name__)
        if not self.conditional_ and lab is not None:
            raise ValueError("this %s was fitted without labels: it has no "
                             "per-label backgrounds to compare with"
                             % type(self).__name__)
        return self._scan(self.model_, X, lab, pooled=pooled)

    def score_samples(self, X, *, labels=None, pooled=False):
        """The negated scan score of each row: higher = more normal."""
        return 0.0 - self._scan_scores(X, labels, pooled)  # no -0.0

    def decision_function(self, X, *, labels=None, pooled=False):
        """score_samples(X) - offset_: negative for outliers."""
        return self.score_samples(X, labels=labels, pooled=pooled) - \
            self.offset_

    def predict(self, X, *, labels=None, pooled=False):
        """+1 for inliers, -1 for outliers."""
        d = self.decision_function(X, labels=labels, pooled=pooled)
        return np.where(d >= 0, 1, -1)

    def fit_predict(self, X, y=None, *, labels=None):
        """fit(X, labels=labels).predict(X, labels=labels)."""
        return self.fit(X, labels=labels).predict(X, labels=labels)


class SubsetScanPyOD(SubsetScanOutlierDetector):
    """SubsetScanOutlierDetector with PyOD's method conventions:
    decision_function is the scan score (higher = more anomalous), predict
    returns 1 for outliers and 0 for inliers, predict_proba rescales the
    scan score linearly by the training scores' range (PyOD's "linear").
    fit, the parameters and the fitted attributes (decision_scores_,
    threshold_, labels_) are the same."""

    def decision_function(self, X, *, labels=None, pooled=False):
        return self._scan_scores(X, labels, pooled)

    def predict(self, X, *, labels=None, pooled=False):
        s = self.decision_function(X, labels=labels, pooled=pooled)
        return (s > self.threshold_).astype(int)

    def predict_proba(self, X, *, labels=None, pooled=False):
        """(n, 2): [P(inlier), P(outlier)], P(outlier) the score scaled to
        [0, 1] by the training scores' minimum and maximum, clipped."""
        s = self.decision_function(X, labels=labels, pooled=pooled)
        lo, hi = self.decision_scores_.min(), self.decision_scores_.max()
        p = np.clip((s - lo) / (hi - lo) if hi > lo else
                    (s > hi).astype(float), 0.0, 1.0)
        return np.stack([1.0 - p, p], axis=1)

    def fit_predict(self, X, y=None, *, labels=None):
        return self.fit(X, labels=labels).labels_
