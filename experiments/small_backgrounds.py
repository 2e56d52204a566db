#!/usr/bin/python3
"""How far the default histogram's AUCs are from the exact ones when the
background is small (issue 16): on every layer and anomaly of experiments/
(docs/RESULTS.md), the background subsampled to 1,000, 2,000 and 5,000
rows (seeded, without replacement) and in full, fitted twice with the
predicted labels: acthist's default (hist) and the exact empirical
p-values (method empirical, the sorted background); both scored with the
default scan.  Prints, per size, the largest |AUC(default) - AUC(exact)|
over the tasks, where it is, the mean, and the models' sizes.

Debian's /usr/bin/python3 (numpy, scipy); the activations of
experiments/run_all.sh in $ACTHIST_EXP_OUT.

    ACTHIST_EXP_OUT=... /usr/bin/python3 experiments/small_backgrounds.py \\
        [--sizes 1000 2000 5000 0] [--layers cnn/fc1 ...] [--json PATH]
        [--exact-from PATH]

--exact-from reuses the exact AUCs of an earlier run's --json (the exact
model does not depend on the histogram's settings), so that a second
binning rule (a library given by ACTHIST_LIBRARY) costs only its own fits.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import ANOMALIES, LAYERS, auc, load  # noqa: E402

import acthist  # noqa: E402  (peers put python/ on the path)

SEED = 20261208


def layer_gaps(layer, sizes, exact=None):
    bg, bgl = load(layer, "background")
    sets = ["clean"] + ANOMALIES
    data = {s: load(layer, s) for s in sets}
    out = {}
    for size in sizes:
        if size and size < bg.shape[0]:
            pick = np.sort(np.random.default_rng(SEED).choice(
                bg.shape[0], size, replace=False))
            b, bl = bg[pick], bgl[pick]
        else:
            b, bl = bg, bgl
        res = {"rows": int(b.shape[0])}
        if exact:
            res["empirical"] = exact[str(size)]["empirical"]
            res["empirical bytes"] = exact[str(size)]["empirical bytes"]
        for method in ("hist",) if exact else ("hist", "empirical"):
            m = acthist.Model.fit(b, labels=bl, method=method,
                                  threads=2 if method == "hist" else 1)
            sc = {s: m.score(x, labels=lb).score for s, (x, lb) in data.items()}
            res[method] = {s: auc(sc["clean"], sc[s]) for s in ANOMALIES}
            res[method + " bytes"] = len(m.to_bytes())
            m.close()
        res["gap"] = {s: res["hist"][s] - res["empirical"][s] for s in ANOMALIES}
        out[str(size)] = res
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 5000, 0])
    ap.add_argument("--layers", nargs="+", default=LAYERS)
    ap.add_argument("--json")
    ap.add_argument("--exact-from")
    a = ap.parse_args()
    exact = json.load(open(a.exact_from)) if a.exact_from else {}
    allres = {}
    for layer in a.layers:
        t = time.time()
        allres[layer] = layer_gaps(layer, a.sizes, exact.get(layer))
        print("%s: %.0f s" % (layer, time.time() - t), file=sys.stderr)
    print("| background rows | tasks | largest gap | where | mean gap | mean hist bytes | mean exact bytes |")
    print("|---|---|---|---|---|---|---|")
    for size in a.sizes:
        gaps = [(abs(g), l, s) for l, r in allres.items()
                for s, g in r[str(size)]["gap"].items()]
        worst = max(gaps)
        hb = np.mean([r[str(size)]["hist bytes"] for r in allres.values()])
        eb = np.mean([r[str(size)]["empirical bytes"] for r in allres.values()])
        print("| %s | %d | %.4f | %s %s | %.4f | %.0f | %.0f |" % (
            size or "full", len(gaps), worst[0], worst[1], worst[2],
            np.mean([g[0] for g in gaps]), hb, eb))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(allres, f, indent=1)


if __name__ == "__main__":
    main()
