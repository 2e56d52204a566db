"""A detector for PyTorch users: hook the named layers of a network, fit
conditional models of their activations on clean data, keep a threshold,
and flag new inputs.

    det = acthist.Detector(net, layers=["relu3"], fpr=0.05).fit(train_loader)
    flags = det.predict(x)                 # bool, one per input of the batch x
    s = det.decision_function(x)           # higher = more anomalous
    det.save("det/")                       # later: acthist.Detector.load("det/", net)

What fit does, in one pass over the loader (the network in eval mode,
under torch.no_grad(), its train/eval mode restored afterwards):
  - records each named module's OUTPUT with a forward hook (name the
    ReLU module to get post-activation values: `nn.Linear` outputs are
    pre-activation), and the network's own prediction for each input, the
    argmax of its output;
  - fits one conditional model per layer (labels = predicted class),
    two-tailed: the configuration that detects best across the real tasks
    measured in docs/RESULTS.md (the paper's upper-tail pooled one is
    Detector(..., tail="upper", conditional=False));
  - calibrates: by default cross-fitted on the background itself (K folds,
    each scored against a model fitted on the other folds, so no clean
    input is scored against a background holding it), or on a clean loader
    given to fit; the threshold is the (1 - fpr) quantile of those
    held-out scores, so that about a share fpr of new clean inputs score
    above it.

Scoring uses the model fitted on the whole background, with the labels the
network predicts for the new inputs.  Inputs may be tensors that require
grad or live on a GPU (they are detached and moved to the network's device;
activations come back to the CPU), NumPy arrays, or a loader of batches.

Several layers give a score per layer (score_layers) and one combined
score (decision_function), by `combine`:
  "min-p"   (default) -ln of the smallest per-layer tail probability,
            p = (1 + #calibration scores >= s) / (n + 1) for each layer
            (Tippett's rule: one clearly unusual layer is enough);
  "max-z"   the largest per-layer score standardised by the mean and
            standard deviation of its calibration scores;
  "fisher"  the sum over layers of -ln p;
  a layer name: that layer's score alone (the others still reported).
With one layer the decision score is that layer's scan score itself.
Measured (experiments/detector_layers.py: a small CNN on Fashion-MNIST, 5
seeds, 10,000 training images as background; AUC on FGSM eps 0.05 / FGSM
eps 0.1 / PGD eps 0.05):
  pool1 alone (the first pooled ReLU layer)   0.861 / 0.904 / 0.875
  pool2 alone, relu3 alone                    0.624 / 0.745 / 0.649,
                                              0.588 / 0.686 / 0.610
  min-p of pool1+pool2, pool1+relu3, all three  0.825 / 0.876 / 0.843,
                                  0.809 / 0.865 / 0.829, 0.795 / 0.853 / 0.816
No combination beat the best single layer (0.03-0.07 below it), and every
combination holding it stayed far above the other layers alone (0.16-0.27
below it).  "max-z" was within 0.002 of "min-p", "fisher" 0 to 0.043
behind it.  So: give the one layer that detects best when you know it;
several layers protect against not knowing it, at that cost.

Memory: fit keeps the background's activations of every named layer in
memory (float32), once; a layer of D nodes over N inputs takes 4 N D bytes.

Saved form (save / load): a directory holding
  detector.json      {"format": "acthist-detector", "version": 1, "layers",
                      "models", "combine", "threshold", "fpr",
                      "layer_thresholds", "calibration": {"how":
                      "cross-fit" | "clean", "folds", "rows", "file"},
                      "tail", "stat", "alpha_max", "method", "conditional"}
  layer<i>.ahm       the model of layers[i] (what `acthist fit` writes:
                     `acthist info` and `acthist score` read it)
  calibration.npy    float64 (rows, layers): each layer's held-out clean
                     scan scores, the sample the threshold and the
                     combination come from (scores, not activations).
"""
import json
import math
import os
import warnings

import numpy as np

from .hooks import ActivationRecorder, to_rows
from .model import Model, UnseenLabelWarning

FORMAT = "acthist-detector"
VERSION = 1
COMBINE = ("min-p", "max-z", "fisher")


def threshold_at(scores, fpr):
    """The smallest value t among `scores` such that at most a share fpr
    of them is strictly above t (the (1 - fpr) quantile, taken as an
    observed score): flagging s > t flags at most floor(fpr n) of them."""
    s = np.sort(np.asarray(scores, dtype=np.float64).reshape(-1))
    if s.size == 0:
        raise ValueError("acthist: no calibration scores")
    k = int(math.floor(float(fpr) * s.size + 1e-9))
    return float(s[max(s.size - k - 1, 0)]) if k < s.size else -math.inf


def tail_probability(calibration, scores, leave_one_out=False):
    """(1 + #{c >= s}) / (n + 1) for each s against the calibration scores
    c: a conformal p-value, uniform-or-larger for a new clean score.  With
    leave_one_out, `scores` are the calibration scores themselves and each
    is compared with the others only."""
    c = np.sort(np.asarray(calibration, dtype=np.float64))
    s = np.asarray(scores, dtype=np.float64)
    ge = c.size - np.searchsorted(c, s, side="left")
    if leave_one_out:
        ge = ge - 1
    return (1.0 + ge) / (c.size + 1.0)


def balanced_folds(n, folds, labels=None, seed=0):
    """Each of n rows' fold, 0..folds-1, at random (seeded) and balanced
    within each label: a label's rows are dealt round the folds in turn."""
    rng = np.random.default_rng(seed)
    key = np.zeros(n, dtype=np.int64) if labels is None else labels
    order = np.lexsort((rng.random(n), key))
    fold = np.empty(n, dtype=np.int64)
    fold[order] = (np.arange(n) + rng.integers(folds)) % folds
    return fold


def _to_tensor(x, device):
    import torch
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    x = x.detach()
    return x.to(device) if device is not None else x


def _device(net):
    for t in net.parameters():
        return t.device
    for t in net.buffers():
        return t.device
    return None


def _is_batch(x):
    """A single batch (tensor or array) rather than a loader of them."""
    return hasattr(x, "shape") and hasattr(x, "dtype")


class Detector:
    """An adversarial-input detector over a PyTorch network's layers.

    net      the torch.nn.Module to watch (not modified; its mode is
             switched to eval while recording and restored after).
    layers   names as in net.named_modules() (e.g. "relu3", "features.4"),
             or the modules themselves (they must belong to net).
    fpr      the false-positive rate the threshold is calibrated for.
    folds    K for the cross-fitted calibration (fit without a clean
             loader).
    combine  how several layers give one score: "min-p" (default),
             "max-z", "fisher" or one of the layer names.
    tail, method, bins, stat, alpha_max: as Model.fit / Model.score;
             conditional=False fits pooled models (no labels).
    seed     the fold assignment's seed.
    """

    def __init__(self, net, layers, *, fpr=0.05, folds=5, combine="min-p",
                 tail="two", method="hist", bins=None, conditional=True,
                 stat="bj", alpha_max=0.5, seed=0):
        if isinstance(layers, (str, bytes)) or hasattr(
                layers, "named_modules") or not hasattr(layers, "__iter__"):
            layers = [layers]  # one layer (an nn.Sequential is iterable)
        layers = list(layers)
        if not layers:
            raise ValueError("acthist: Detector needs at least one layer")
        if not 0.0 < float(fpr) < 1.0:
            raise ValueError("acthist: fpr must be in (0, 1), not %r"
                             % (fpr,))
        if int(folds) < 2:
            raise ValueError("acthist: folds must be 2 or more, not %r"
                             % (folds,))
        self.net = net
        self.layers, self._modules = self._resolve(net, layers)
        if combine not in COMBINE and combine not in self.layers:
            raise ValueError("acthist: combine must be one of %s or a layer "
                             "name %s, not %r" % (list(COMBINE), self.layers,
                                                  combine))
        self.fpr, self.folds, self.combine = float(fpr), int(folds), combine
        self.tail, self.method, self.bins = tail, method, bins
        self.conditional = bool(conditional)
        self.stat, self.alpha_max, self.seed = stat, float(alpha_max), seed
        self.models_ = None
        self.threshold_ = None
        self.layer_thresholds_ = None
        self.calibration_scores_ = None
        self.calibration_ = None

    # -- layers and recording --------------------------------------------

    @staticmethod
    def _resolve(net, layers):
        """(names, modules) of the layers, by name or by module."""
        if net is None:
            return [str(x) for x in layers], None
        named = dict(net.named_modules())
        by_id = {id(m): n for n, m in named.items()}
        names, mods = [], []
        for x in layers:
            if isinstance(x, str):
                if x not in named or x == "":
                    some = [n for n in named if n][:12]
                    raise ValueError("acthist: the network has no module "
                                     "named %r (some it has: %s)" % (x, some))
                names.append(x)
                mods.append(named[x])
            elif id(x) in by_id:
                names.append(by_id[id(x)])
                mods.append(x)
            else:
                raise ValueError("acthist: layer %r is not a module of the "
                                 "network" % (x,))
        if len(set(names)) != len(names):
            raise ValueError("acthist: a layer is named twice: %s" % names)
        return names, mods

    def _record(self, data):
        """The layers' activations {name: (n, D) float32} and the
        network's predictions (n,) int64 over a batch or a loader."""
        import torch
        if self._modules is None:
            raise ValueError("acthist: this detector was loaded without a "
                             "network; score activations with "
                             "decision_from_activations")
        batches = [data] if _is_batch(data) else data
        dev = _device(self.net)
        acts = {n: [] for n in self.layers}
        preds = []
        was_training = self.net.training
        self.net.eval()
        try:
            with ActivationRecorder(dict(zip(self.layers, self._modules))) \
                    as rec, torch.no_grad():
                for b in batches:
                    x = b[0] if isinstance(b, (tuple, list)) else b
                    x = _to_tensor(x, dev)
                    out = self.net(x)
                    p = to_rows(out).argmax(axis=1).astype(np.int64)
                    for n in self.layers:
                        a = rec.activations(n)
                        if a.shape[0] != p.shape[0]:
                            raise ValueError(
                                "acthist: module %r gave %d rows for a batch "
                                "of %d (did it run more than once, or not at "
                                "all, in the forward pass?)"
                                % (n, a.shape[0], p.shape[0]))
                        acts[n].append(a)
                    preds.append(p)
                    rec.clear()
        finally:
            self.net.train(was_training)
        if not preds:
            raise ValueError("acthist: the loader gave no batches")
        return ({n: np.concatenate(v) for n, v in acts.items()},
                np.concatenate(preds))

    # -- fitting ---------------------------------------------------------

    def _fit_model(self, a, labels):
        return Model.fit(a, labels=labels if self.conditional else None,
                         method=self.method, tail=self.tail, bins=self.bins)

    def _score_model(self, model, a, labels):
        s = model.score(a, labels=labels if self.conditional else None,
                        stat=self.stat, alpha_max=self.alpha_max)
        return np.asarray(s.score, dtype=np.float64)

    def _cross_fit(self, acts, labels):
        n = labels.shape[0]
        if n < 2 * self.folds:
            raise ValueError("acthist: %d background inputs are too few for "
                             "%d folds" % (n, self.folds))
        fold = balanced_folds(n, self.folds, labels, self.seed)
        out = np.empty((n, len(self.layers)))
        with warnings.catch_warnings():
            # a rare class may be missing from the other folds: it is then
            # scored against their pooled background, as a new input would be
            warnings.simplefilter("ignore", UnseenLabelWarning)
            for k in range(self.folds):
                held = fold == k
                for j, name in enumerate(self.layers):
                    m = self._fit_model(acts[name][~held], labels[~held])
                    out[held, j] = self._score_model(m, acts[name][held],
                                                     labels[held])
                    m.close()
        return out

    def fit(self, loader, calibration=None):
        """Fit the layers' models on the clean inputs of `loader` (batches,
        or (inputs, targets) pairs: the targets are not used, the network's
        own predictions are), and calibrate the threshold: on the clean
        inputs of the loader `calibration` when given, else cross-fitted on
        the background with `folds` folds.  Returns self."""
        acts, labels = self._record(loader)
        self.models_ = [self._fit_model(acts[n], labels) for n in self.layers]
        if calibration is None:
            cal = self._cross_fit(acts, labels)
            self.calibration_ = {"how": "cross-fit", "folds": self.folds,
                                 "rows": int(labels.shape[0])}
        else:
            del acts
            cacts, clab = self._record(calibration)
            cal = self._layer_scores(cacts, clab)
            self.calibration_ = {"how": "clean", "folds": None,
                                 "rows": int(clab.shape[0])}
        self._calibrate(cal)
        return self

    def _calibrate(self, cal):
        self.calibration_scores_ = np.asarray(cal, dtype=np.float64)
        self.layer_thresholds_ = [threshold_at(cal[:, j], self.fpr)
                                  for j in range(cal.shape[1])]
        self.threshold_ = threshold_at(self._combine(cal, calibrating=True),
                                       self.fpr)

    # -- scoring ---------------------------------------------------------

    def _check_fitted(self):
        if self.models_ is None:
            raise ValueError("acthist: the Detector is not fitted: call fit "
                             "(or Detector.load) first")

    def _layer_scores(self, acts, labels):
        """(n, layers) scan scores of recorded activations."""
        return np.stack([self._score_model(m, acts[n], labels)
                         for m, n in zip(self.models_, self.layers)], axis=1)

    def _combine(self, s, calibrating=False):
        """One score per row of per-layer scores s (n, layers)."""
        cal = self.calibration_scores_
        if len(self.layers) == 1:
            return s[:, 0].copy()
        if self.combine in self.layers:
            return s[:, self.layers.index(self.combine)].copy()
        if self.combine == "max-z":
            mu = cal.mean(axis=0)
            sd = cal.std(axis=0)
            sd = np.where(sd > 0, sd, 1.0)
            return ((s - mu) / sd).max(axis=1)
        logp = np.stack([np.log(tail_probability(cal[:, j], s[:, j],
                                                 calibrating))
                         for j in range(s.shape[1])], axis=1)
        if self.combine == "fisher":
            return -logp.sum(axis=1)
        return -logp.min(axis=1)  # min-p

    def score_layers(self, x):
        """Each layer's scan score for the inputs x (a batch or a loader):
        {layer name: (n,) float64}, higher = more anomalous."""
        self._check_fitted()
        acts, labels = self._record(x)
        s = self._layer_scores(acts, labels)
        return {n: s[:, j] for j, n in enumerate(self.layers)}

    def decision_function(self, x):
        """One score per input of x (a batch or a loader), higher = more
        anomalous; inputs scoring above threshold_ are flagged."""
        self._check_fitted()
        acts, labels = self._record(x)
        return self._combine(self._layer_scores(acts, labels))

    def predict(self, x):
        """True for each input of x flagged as anomalous (decision_function
        above threshold_)."""
        return self.decision_function(x) > self.threshold_

    def decision_from_activations(self, activations, labels=None):
        """decision_function for activations recorded elsewhere:
        `activations` maps each layer name to its (n, ...) array (or is a
        list in layer order), `labels` the network's predicted classes
        (required for a conditional detector)."""
        self._check_fitted()
        if not isinstance(activations, dict):
            activations = dict(zip(self.layers, activations))
        missing = [n for n in self.layers if n not in activations]
        if missing:
            raise ValueError("acthist: no activations for layer(s) %s"
                             % missing)
        if self.conditional and labels is None:
            raise ValueError("acthist: a conditional detector needs the "
                             "predicted labels of the inputs")
        acts = {n: to_rows(activations[n]) for n in self.layers}
        lab = None if labels is None else to_rows(labels,
                                                  np.int64).reshape(-1)
        return self._combine(self._layer_scores(acts, lab))

    # -- keeping it --------------------------------------------------------

    def save(self, path):
        """Write the detector to the directory `path` (made if missing):
        detector.json, layer<i>.ahm, calibration.npy (module docstring)."""
        self._check_fitted()
        os.makedirs(path, exist_ok=True)
        files = ["layer%d.ahm" % i for i in range(len(self.layers))]
        for m, f in zip(self.models_, files):
            m.save(os.path.join(path, f))
        np.save(os.path.join(path, "calibration.npy"),
                self.calibration_scores_)
        meta = {"format": FORMAT, "version": VERSION,
                "layers": self.layers, "models": files,
                "combine": self.combine, "threshold": self.threshold_,
                "fpr": self.fpr, "layer_thresholds": self.layer_thresholds_,
                "calibration": dict(self.calibration_,
                                    file="calibration.npy"),
                "tail": self.tail, "stat": self.stat,
                "alpha_max": self.alpha_max, "method": self.method,
                "bins": self.bins, "conditional": self.conditional,
                "seed": self.seed}
        tmp = os.path.join(path, "detector.json.tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        os.replace(tmp, os.path.join(path, "detector.json"))

    @classmethod
    def load(cls, path, net=None):
        """A detector saved by save(), watching `net` (whose modules must
        have the saved layer names); without a network only
        decision_from_activations works."""
        jpath = os.path.join(path, "detector.json")
        with open(jpath) as f:
            meta = json.load(f)
        if meta.get("format") != FORMAT:
            raise ValueError("acthist: %s is not an acthist detector" % jpath)
        if meta.get("version") != VERSION:
            raise ValueError("acthist: %s is detector version %r, this "
                             "acthist reads version %d"
                             % (jpath, meta.get("version"), VERSION))
        cal = meta["calibration"]
        det = cls(net, meta["layers"], fpr=meta["fpr"],
                  folds=cal.get("folds") or 2, combine=meta["combine"],
                  tail=meta["tail"], method=meta["method"],
                  bins=meta.get("bins"), conditional=meta["conditional"],
                  stat=meta["stat"], alpha_max=meta["alpha_max"],
                  seed=meta.get("seed", 0))
        det.folds = cal.get("folds")
        det.models_ = [Model.load(os.path.join(path, f))
                       for f in meta["models"]]
        for m, n in zip(det.models_, det.layers):
            if m.nodes <= 0:
                raise ValueError("acthist: %s: layer %s has no nodes"
                                 % (path, n))
        det.calibration_scores_ = np.load(os.path.join(path, cal["file"]))
        if det.calibration_scores_.shape[1:] != (len(det.layers),):
            raise ValueError("acthist: %s: calibration scores of shape %s "
                             "for %d layers" % (path,
                                                det.calibration_scores_.shape,
                                                len(det.layers)))
        det.calibration_ = {k: v for k, v in cal.items() if k != "file"}
        det.threshold_ = float(meta["threshold"])
        det.layer_thresholds_ = [float(t) for t in meta["layer_thresholds"]]
        return det

    def __repr__(self):
        state = ("threshold %.6g at fpr %g, %s" %
                 (self.threshold_, self.fpr, self.calibration_["how"])
                 if self.models_ is not None else "not fitted")
        return "<acthist.Detector layers=%s combine=%s, %s>" % (
            self.layers, self.combine, state)
