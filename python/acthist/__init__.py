"""acthist: compact histograms of neural-network activations, empirical
p-values from them, and subset scanning, over the C library libacthist.

    import acthist
    model = acthist.Model.fit(background, labels=predicted, tail="two")
    s = model.score(activations, labels=predicted_now)        # one per input
    p = model.pvalues(activations, labels=predicted_now)      # (n, D, 2)
    g = acthist.scan_group(p, restarts=10)                    # batch subset
    print(acthist.auc(s_clean.score, s_attacked.score))

A background spread over processes is fitted in shards (acthist.Shard):
plans, merged, then counts, merged into the model.

Errors of the library raise acthist.Error (status, message, row, col); an
argument the library refuses (an option out of its range, which the binding
checks with the library's own table before calling) is also a ValueError.

For PyTorch users, acthist.Detector(net, layers) is a detector with a
threshold; acthist.sklearn holds a scikit-learn (and PyOD-style) outlier
detector over activation arrays (scikit-learn is imported only when it is
used); acthist.art a drop-in for IBM ART's SubsetScanningDetector.
"""
from . import art
from ._capi import Error
from .detector import Detector
from .hooks import ActivationRecorder, activation_batches
from .metrics import auc, roc, tpr_at_fpr
from .model import Model, Scores, UnseenLabelWarning
from .shard import Shard, ShardInfo
from .scan import (GroupResult, ScanResult, scan_group, scan_individual,
                   scan_individual_rows, stat_score)

__version__ = "0.1.0"
__all__ = ["Error", "Detector", "Model", "Shard", "ShardInfo", "Scores",
           "UnseenLabelWarning", "ScanResult", "GroupResult",
           "scan_individual", "scan_individual_rows", "scan_group",
           "stat_score", "auc", "roc", "tpr_at_fpr", "ActivationRecorder",
           "activation_batches", "art"]


def __getattr__(name):  # acthist.sklearn imports scikit-learn on first use
    if name == "sklearn":
        import importlib
        return importlib.import_module(".sklearn", __name__)
    raise AttributeError("module 'acthist' has no attribute %r" % name)
