"""A drop-in for IBM ART's SubsetScanningDetector
(art.defences.detector.evasion.SubsetScanningDetector), computed by
acthist.  Switching is one import line:

    # from art.defences.detector.evasion import SubsetScanningDetector
    from acthist.art import SubsetScanningDetector

    det = SubsetScanningDetector(classifier, bgd_data, layer)   # as ART's
    clean_scores, adv_scores, power = det.scan(clean_x, adv_x)
    report, is_adversarial = det.detect(x)

The contract, as ART 1.20 defines it (this module copies no ART code):
  - classifier: an ART classifier (anything with `layer_names` and
    `get_activations(x, layer, batch_size, framework)`), or, without ART,
    a torch.nn.Module (layers named as in named_modules()); layer: an index
    into classifier.layer_names or a name in it.
  - The background bgd_data's activations at that layer (flattened to one
    row per input) are the null model; bgd_scores are the background's own
    individual-scan scores against it (each input is part of its own
    background, as in ART).
  - scan(clean_x, adv_x, clean_size=None, adv_size=None, run=10) returns
    (clean_scores, adv_scores, detection_power): with clean_size and
    adv_size both given, `run` group scans, each of clean_size clean inputs
    drawn at random and of the same inputs with adv_size adversarial ones
    added; otherwise one individual scan per input.  detection_power is the
    ROC AUC of adv_scores against clean_scores (ties count half).  ART
    1.20 calls the fourth argument adv_size; earlier versions advs_size:
    both are accepted.
  - detect(x, batch_size=128) returns ({"scores": scores}, is_adversarial),
    is_adversarial = scores > bgd_scores.max().
  - fit raises NotImplementedError.

What is equal and what is not.  With method="empirical" (the default
here) the p-value ranges are ART's exactly (upper tail, n_gt / (N + 1) and
(n_ge + 1) / (N + 1) from the sorted background) and the individual-scan
scores equal ART's to the last bit or two (ART takes log(1/a), acthist
-log(a)): tests/python/test_art.py compares them with ART's own when ART is
installed.  The group scans are not ART's numbers: ART re-seeds NumPy from
the operating system's entropy each run, so its own results do not repeat,
and scans a thinned grid of at most 51 thresholds; acthist scans every
threshold from seeded restarts (pass seed= to scan to repeat a result).
ART also keeps the raw sorted background (sorted_bgd_activations); this
class keeps the acthist model instead (model_), and has no such attribute.
An input none of whose p-values is at most 0.5 scores 0 here; ART's scan
fails on it.

Beyond ART: method="hist" keeps a histogram model (about 1% of the raw
background's bytes, AUCs within 0.005 of the exact ones in
docs/RESULTS.md), and tail= / conditional=True give the configuration
that detects best on the real tasks measured (two-tailed, against the
background of the input's predicted class): ART's detector is the paper's
upper-tail pooled one, kept as the default here so that the numbers match.
"""
import sys
import time

import numpy as np

from .hooks import ActivationRecorder, to_rows
from .metrics import auc
from .model import Model
from .scan import scan_group

_STATS = {"BerkJones": "bj", "HigherCriticism": "hc",
          "KolmarovSmirnov": "ks", "KolmogorovSmirnov": "ks"}


def _rows(a):
    a = np.asarray(a)
    return a.reshape(a.shape[0], -1)


class _TorchNet:
    """What the detector needs of an ART classifier, for a plain
    torch.nn.Module: layer_names, get_activations, predict."""

    def __init__(self, net):
        self.net = net
        self.modules = dict(net.named_modules())
        self.layer_names = [n for n in self.modules if n]

    def _run(self, x, layer, batch_size):
        import torch
        dev = next(iter(self.net.parameters()), torch.zeros(0)).device
        acts, outs = [], []
        rec = ActivationRecorder({"l": self.modules[layer]}) \
            if layer is not None else None
        was = self.net.training
        self.net.eval()
        try:
            with torch.no_grad():
                for i in range(0, len(x), batch_size):
                    b = x[i:i + batch_size]
                    b = b.detach() if isinstance(b, torch.Tensor) else \
                        torch.as_tensor(np.asarray(b))
                    outs.append(to_rows(self.net(b.to(dev))))
                    if rec is not None:
                        acts.append(rec.activations("l"))
                        rec.clear()
        finally:
            self.net.train(was)
            if rec is not None:
                rec.remove()
        return acts, outs

    def get_activations(self, x, layer, batch_size=128, framework=False):
        if isinstance(layer, int):
            layer = self.layer_names[layer]
        acts, _ = self._run(x, layer, batch_size)
        return np.concatenate(acts)

    def predict(self, x, batch_size=128):
        _, outs = self._run(x, None, batch_size)
        return np.concatenate(outs)


class SubsetScanningDetector:
    """IBM ART's SubsetScanningDetector, computed by acthist (see the
    module's docstring for the contract and what differs).

    classifier, bgd_data, layer, scoring_function, verbose: as ART's
        ("BerkJones", "HigherCriticism" or "KolmarovSmirnov", ART's
        spelling; a bool in scoring_function's place is taken as verbose,
        the fourth argument of ART before 1.17).
    method      "empirical" (default: ART's exact p-values), "hist" or "kde".
    tail        "upper" (default, ART's), "lower", "two" or "both".
    conditional compare each input with the background of its predicted
                class (classifier.predict, argmax) instead of all of it.
    bins, alpha_max, restarts: the histogram's bins, the scans' largest
                threshold (ART: 0.5) and the group scans' restarts (ART: 10).
    """

    defence_params = ["classifier", "bgd_data", "layer", "scoring_function",
                      "verbose"]

    def __init__(self, classifier, bgd_data, layer,
                 scoring_function="BerkJones", verbose=True, *,
                 method="empirical", tail="upper", conditional=False,
                 bins=None, alpha_max=0.5, restarts=10):
        if isinstance(scoring_function, bool):  # ART < 1.17: verbose 4th
            scoring_function, verbose = "BerkJones", scoring_function
        if scoring_function not in _STATS:
            raise ValueError("The provided scoring function is not "
                             "supported:", scoring_function)
        self.classifier = classifier
        self.bgd_data = bgd_data
        self.layer = layer
        self.scoring_function = scoring_function
        self.verbose = verbose
        self.method, self.tail, self.conditional = method, tail, conditional
        self.bins, self.alpha_max = bins, float(alpha_max)
        self.restarts = int(restarts)
        self._stat = _STATS[scoring_function]
        net = classifier
        if not hasattr(net, "get_activations") and \
                hasattr(net, "named_modules"):
            net = _TorchNet(net)
        self._net = net
        names = getattr(net, "layer_names", None)
        if names is None:
            raise ValueError("No layer names identified.")
        if isinstance(layer, (int, np.integer)) and \
                not isinstance(layer, bool):
            if layer < 0 or layer >= len(names):
                raise ValueError("Layer index %d is outside of range (0 to "
                                 "%d included)." % (layer, len(names) - 1))
            self._layer_name = names[layer]
        else:
            if layer not in names:
                raise ValueError("Layer name %s is not part of the graph."
                                 % (layer,))
            self._layer_name = layer
        t0 = time.time()
        acts = self._activations(bgd_data)
        labels = self._labels(bgd_data)
        self.model_ = Model.fit(acts, labels=labels, method=method,
                                tail=tail, bins=bins)
        self.bgd_scores = self._scores(acts, labels)
        self._say("fitted %d background inputs x %d nodes of %s (%s, %s, "
                  "%s) in %.2f s" % (acts.shape[0], acts.shape[1],
                                     self._layer_name, method, tail,
                                     "conditional" if conditional
                                     else "pooled", time.time() - t0))

    def _say(self, msg):
        if self.verbose:
            print("acthist.art: " + msg, file=sys.stderr)

    def _activations(self, x, batch_size=128):
        a = self._net.get_activations(x, self._layer_name, batch_size, False)
        if a is None:
            raise ValueError("Classifier activations are null.")
        if not isinstance(a, np.ndarray):
            a = a.detach().cpu().numpy() if hasattr(a, "detach") else \
                np.asarray(a)
        return _rows(a)

    def _labels(self, x, batch_size=128):
        if not self.conditional:
            return None
        out = self._net.predict(x, batch_size=batch_size)
        return np.asarray(out).reshape(len(out), -1).argmax(axis=1)

    def _scores(self, acts, labels):
        return self.model_.score(acts, labels=labels, stat=self._stat,
                                 alpha_max=self.alpha_max).score

    def _calculate_pvalue_ranges(self, x, batch_size=128):
        """p-value ranges (n, nodes, 2) of x's activations, as ART's method
        of this name returns them."""
        return self.model_.pvalues(self._activations(x, batch_size),
                                   labels=self._labels(x, batch_size))

    def scan(self, clean_x, adv_x, clean_size=None, adv_size=None, run=10,
             *, seed=None, advs_size=None):
        """(clean_scores, adv_scores, detection_power): individual scans
        of every input, or, with clean_size and adv_size, `run` group scans
        of random batches (seed: repeatable draws and restarts)."""
        if adv_size is None:
            adv_size = advs_size
        t0 = time.time()
        if clean_size is None or adv_size is None:
            clean = self._scores(self._activations(clean_x),
                                 self._labels(clean_x))
            adv = self._scores(self._activations(adv_x), self._labels(adv_x))
        else:
            pc = self._calculate_pvalue_ranges(clean_x)
            pa = self._calculate_pvalue_ranges(adv_x)
            rng = np.random.default_rng(seed)
            clean, adv = np.empty(run), np.empty(run)
            for r in range(run):
                ci = rng.choice(len(pc), clean_size, replace=False)
                ai = rng.choice(len(pa), adv_size, replace=False)
                s = int(rng.integers(2 ** 31))
                kw = dict(stat=self._stat, alpha_max=self.alpha_max,
                          restarts=self.restarts, seed=s)
                clean[r] = scan_group(pc[ci], **kw).score
                adv[r] = scan_group(np.concatenate([pc[ci], pa[ai]]),
                                    **kw).score
        power = auc(clean, adv)
        self._say("scanned %d + %d in %.2f s, detection power %.4f"
                  % (len(clean), len(adv), time.time() - t0, power))
        return clean, adv, power

    def detect(self, x, batch_size=128, **kwargs):
        """({"scores": individual-scan scores}, scores above every
        background score)."""
        scores = self._scores(self._activations(x, batch_size),
                              self._labels(x, batch_size))
        return {"scores": scores}, np.greater(scores, self.bgd_scores.max())

    def fit(self, x, y, batch_size=128, nb_epochs=20, **kwargs):
        """Not supported, as in ART: the null model is fitted on
        construction from bgd_data."""
        raise NotImplementedError
