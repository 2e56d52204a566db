"""The scan's own settings on clean-fitted models (issue 18): every layer
and anomaly of experiments/, the default conditional model scored with
each statistic (bj, hc, ks) at each alpha_max (0.05, 0.1, 0.25, 0.5), and
the opt-in basis model (fit --basis pca, layers of at most 2048 nodes)
with bj and hc at 0.25 and 0.5.  Nothing is fitted or tuned on anomalies:
a setting is one fixed choice for all 104 tasks, judged by its mean and
worst AUC and by the tasks where it is at or above the better of deep kNN
and Mahalanobis (less 0.005, the peers' AUCs from experiments/peers.py's
JSON).

    ACTHIST_EXP_OUT=/work/expout /usr/bin/python3 experiments/scan_settings.py \
        [--peers $ACTHIST_EXP_OUT/peers_basis.json] [--json PATH]

Debian's /usr/bin/python3 with NumPy, SciPy and the acthist binding; about
6 minutes on a shared 2-core machine.
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peers  # noqa: E402  (load, auc, LAYERS, ANOMALIES, and acthist)

acthist = peers.acthist
STATS = ["bj", "hc", "ks"]
ALPHAS = [0.05, 0.1, 0.25, 0.5]
BASIS = [("bj", 0.5), ("bj", 0.25), ("hc", 0.5), ("hc", 0.25)]


def run_layer(layer):
    sets = ["clean", peers.NULL] + peers.ANOMALIES
    bg, bgl = peers.load(layer, "background")
    data = {s: peers.load(layer, s) for s in sets}
    out = {}

    def aucs(model, name, stat, a):
        sc = {s: model.score(x, labels=lb, stat=stat, alpha_max=a).score
              for s, (x, lb) in data.items()}
        out[name] = {s: peers.auc(sc["clean"], sc[s]) for s in sets[1:]}

    m = acthist.Model.fit(bg, labels=bgl, threads=2)
    for st in STATS:
        for a in ALPHAS:
            aucs(m, "%s@%g" % (st, a), st, a)
    m.close()
    if bg.shape[1] <= 2048:
        mb = acthist.Model.fit(bg, labels=bgl, basis="pca")
        for st, a in BASIS:
            aucs(mb, "basis %s@%g" % (st, a), st, a)
        mb.close()
    return out


def summary(res, peer):
    names = sorted({n for r in res.values() for n in r})
    rows = []
    for n in names:
        vals, at = [], 0
        for layer, r in res.items():
            # the basis refuses layers of more than 2048 nodes: there the
            # configuration is the plain model's with the same statistic
            src = r.get(n) or r[n.replace("basis ", "")]
            for t in peers.ANOMALIES:
                v = src[t]
                vals.append(v)
                p = peer[layer]["auc"]
                at += v >= max(p["knn"][t], p["maha"][t]) - 0.005
        rows.append((sum(vals) / len(vals), min(vals), at, n, len(vals)))
    rows.sort(reverse=True)
    print("| setting | mean AUC | worst AUC | at or above the better of kNN "
          "and Mahalanobis (less 0.005) |")
    print("|---|---|---|---|")
    for mean, worst, at, n, k in rows:
        print("| %s | %.3f | %.3f | %d of %d |" % (n, mean, worst, at, k))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", default=os.path.join(peers.OUT,
                                                    "peers_basis.json"))
    ap.add_argument("--json", default=os.path.join(peers.OUT,
                                                   "scan_settings.json"))
    args = ap.parse_args()
    res = {}
    for layer in peers.LAYERS:
        t = time.time()
        res[layer] = run_layer(layer)
        print("%s: %.0f s" % (layer, time.time() - t), file=sys.stderr)
    with open(args.json, "w") as f:
        json.dump(res, f)
    with open(args.peers) as f:
        summary(res, json.load(f))


if __name__ == "__main__":
    main()
