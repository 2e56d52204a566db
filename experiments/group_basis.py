"""Group scans against the per-input peers averaged over a batch (issue
18's last idea): batches of 50 inputs in which 10% (5) are anomalous,
against batches of 50 clean ones.

  acthist   `acthist eval MODEL --group 50 --fraction 0.1 --runs R
            --restarts 3 --seed 1`: the group scan's score of each batch,
            for the default conditional model and for `fit --basis pca`.
  knn, maha the per-input scores of experiments/peers.py, averaged over
            each batch (R clean batches, R mixed ones drawn here with a
            seeded NumPy generator: the same batches for both peers, not
            the same as acthist eval's).

Fitted on the background only; AUC of batch scores, Mann-Whitney.  Layers
of at most 2048 nodes (where a basis is learnt).

    make -j2 && ACTHIST_EXP_OUT=/work/expout /usr/bin/python3 \\
        experiments/group_basis.py [--runs 100] [--layers cnn/fc1 ...] \\
        [--json PATH] [--md PATH]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peers import (ANOMALIES, OUT, acthist, auc, knn_scores, load,  # noqa
                   maha_fit, maha_scores)

ACTHIST = os.path.join(os.path.dirname(HERE), "build", "acthist")
LAYERS = ["cnn/logits", "mlp/logits", "resnet/logits", "resnet/gap",
          "cnn/fc1", "mlp/fc2", "mlp/fc1", "cnn/pool2", "resnet/block3"]
BATCH, FRACTION, RESTARTS, SEED = 50, 0.1, 3, 1


def group_aucs(model, layer, runs):
    d = os.path.join(OUT, layer)
    cmd = [ACTHIST, "eval", model, "--clean", d + "/clean.npy",
           "--clean-labels", d + "/clean_labels.npy"]
    for s in ANOMALIES:
        cmd += ["--anomalous", "%s/%s.npy" % (d, s),
                "--anomalous-labels", "%s/%s_labels.npy" % (d, s)]
    cmd += ["--group", str(BATCH), "--fraction", str(FRACTION), "--runs",
            str(runs), "--restarts", str(RESTARTS), "--seed", str(SEED),
            "--json"]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                    text=True).stdout)
    return {s: e["auc"] for s, e in zip(ANOMALIES, out["sets"])}


def batch_auc(clean, anom, runs, rng):
    """Mean score of R clean batches against R batches with round(F M) of
    their inputs replaced by anomalous ones."""
    k = int(round(FRACTION * BATCH))
    c, a = [], []
    for _ in range(runs):
        b = clean[rng.choice(clean.size, BATCH, replace=False)]
        c.append(b.mean())
        b = b.copy()
        b[:k] = anom[rng.choice(anom.size, k, replace=False)]
        a.append(b.mean())
    return auc(c, a)


def run_layer(layer, runs, tmp):
    bg, bgl = load(layer, "background")
    res = {"auc": {}, "seconds": {}}
    for name, basis in (("default", "none"), ("basis", "pca")):
        t = time.time()
        m = acthist.Model.fit(bg, labels=bgl, basis=basis)
        path = os.path.join(tmp, "m.ahm")
        m.save(path)
        m.close()
        res["auc"]["group " + name] = group_aucs(path, layer, runs)
        res["seconds"]["group " + name] = time.time() - t
    sets = ["clean"] + ANOMALIES
    data = {s: load(layer, s) for s in sets}
    t = time.time()
    sc = dict(zip(sets, knn_scores(bg, [data[s][0] for s in sets])))
    mm = maha_fit(bg, bgl)
    sm = {s: maha_scores(mm, x, lb)[0] for s, (x, lb) in data.items()}
    for name, scores in (("knn", sc), ("maha", sm)):
        rng = np.random.default_rng(SEED)
        res["auc"][name + " mean"] = {
            s: batch_auc(scores["clean"], scores[s], runs, rng)
            for s in ANOMALIES}
    res["seconds"]["peers"] = time.time() - t
    return res


def table(results):
    dets = ["group default", "group basis", "knn mean", "maha mean"]
    lines = ["| layer | anomaly | " + " | ".join(dets) + " |",
             "|---" * (len(dets) + 2) + "|"]
    allv = {d: [] for d in dets}
    for layer in LAYERS:
        if layer not in results:
            continue
        a = results[layer]["auc"]
        for s in ANOMALIES:
            best = max(a[d][s] for d in dets)
            cells = []
            for d in dets:
                allv[d].append(a[d][s])
                txt = "%.3f" % a[d][s]
                cells.append("**%s**" % txt if a[d][s] == best else txt)
            lines.append("| %s | %s | %s |" % (layer, s, " | ".join(cells)))
    n = len(allv[dets[0]])
    summ = ["| detector | mean AUC | worst AUC | within 0.005 of the best |",
            "|---|---|---|---|"]
    for d in dets:
        near = sum(allv[d][i] >= max(allv[e][i] for e in dets) - 0.005
                   for i in range(n))
        summ.append("| %s | %.3f | %.3f | %d of %d |" % (
            d, np.mean(allv[d]), np.min(allv[d]), near, n))
    return "\n".join(summ) + "\n\n" + "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", nargs="*", default=LAYERS)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--json", default=os.path.join(OUT, "group_basis.json"))
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    results = json.load(open(args.json)) if os.path.exists(args.json) else {}
    with tempfile.TemporaryDirectory() as tmp:
        for layer in args.layers:
            if layer in results:
                continue
            t = time.time()
            results[layer] = run_layer(layer, args.runs, tmp)
            print("group: %s %.0f s" % (layer, time.time() - t),
                  file=sys.stderr, flush=True)
            json.dump(results, open(args.json + ".tmp", "w"), indent=1)
            os.replace(args.json + ".tmp", args.json)
    text = table(results)
    if args.md:
        open(args.md, "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
