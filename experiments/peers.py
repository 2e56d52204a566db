"""acthist beside the detectors an ML-security user would pick instead
(issue 18), on every layer and anomaly of the extracted set: fitted on the
clean background only, every score oriented so that higher = more anomalous,
AUC clean test images vs each set (Mann-Whitney, ties counted half).

Detectors (per layer; rows flattened to (N, D)):

  default   acthist's default: Model.fit(background, labels=predicted)
            (conditional, two-tailed, default histogram), Berk-Jones
            individual scan, alpha_max 0.5, scored with the predicted labels.
  oracle    acthist's best of tails upper/lower/two/both x pooled/conditional
            for that task, chosen by looking at the anomaly: an ORACLE, not a
            detector a user has.
  knn       deep kNN: rows L2-normalised, k = 1, score = Euclidean distance
            to the nearest background row (the whole background: no
            subsampling).
  maha      Mahalanobis: class means from the background's predicted labels,
            one tied (within-class) covariance + ridge 1e-3 * mean variance,
            score = squared distance to the mean of the input's PREDICTED
            class (what a user has).  maha_min (min over classes, Lee et al.)
            is computed too and reported beside it.
  hbos      HBOS (Goldstein & Dengel 2012) written here, following PyOD's
            HBOS with its defaults (n_bins 10, alpha 0.1, tol 0.5): per node
            an equal-width 10-bin density histogram of the background
            (np.histogram(density=True)); score = -sum_j log2(density_j(x) +
            alpha), the bin of x being np.digitize(x, edges, right=True); a
            value below the first or above the last edge takes the edge bin
            if within tol bin widths of it, else the node's lowest density.
            PyOD is not installed for Debian's Python; this matches PyOD
            3.6.7's HBOS().decision_function to 1e-14 (checked in a venv with
            --system-site-packages, not needed to run this script).

  --idea pca  the issue's "nodes in a decorrelated basis": per predicted
            class, PCA of the class's background rows (centred on the class
            mean); each row is rotated by its own label's components (the
            first min(D, 256), plus the norm of the residual outside them
            as one more node when D > 256), and acthist's default is fitted
            on the components with the labels ("pca"); "pca+raw" scans the
            layer's nodes and the components as one set of nodes.  Fitted on
            the clean background; nothing is tuned on anomalies (but
            pca+raw was added after pca's results were seen).

    ACTHIST_EXP_OUT=/work/expout /usr/bin/python3 experiments/peers.py \
        [--idea pca] [--layers cnn/fc1 ...] [--json PATH] [--md PATH]

docs/RESULTS.md ("Against the detectors users pick instead") was made with
--idea pca --json $ACTHIST_EXP_OUT/peers_final.json --md .../peers_final.md
(about 8 minutes on a shared 2-core machine).

Results per layer go to PATH (default $ACTHIST_EXP_OUT/peers.json; layers
already there are not recomputed) and the markdown tables to --md (default
stdout).  Debian's /usr/bin/python3 with NumPy, SciPy and the acthist binding
(python/, build/libacthist.so).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from scipy import linalg
from scipy.stats import rankdata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python"))
import acthist  # noqa: E402

OUT = os.environ.get("ACTHIST_EXP_OUT", os.path.join(HERE, "out"))
LAYERS = ["cnn/logits", "mlp/logits", "resnet/logits", "resnet/gap",
          "cnn/fc1", "mlp/fc2", "mlp/fc1", "cnn/pool2", "resnet/block3",
          "resnet/block2", "cnn/conv2", "resnet/stem", "cnn/conv1"]
ANOMALIES = ["fgsm_eps05", "fgsm_eps10", "bim_eps05", "bim_eps10",
             "pgd_eps05", "pgd_eps10", "cw_l2", "synth"]
NULL = "clean_holdout"
TAILS = ["upper", "lower", "two", "both"]
DETECTORS = ["default", "oracle", "knn", "maha", "hbos"]
PEERS = ["default", "knn", "maha", "hbos"]        # the non-oracle ones


def auc(clean, anom):
    """Mann-Whitney: P(anomalous > clean) + P(equal) / 2."""
    c, a = np.asarray(clean, float), np.asarray(anom, float)
    r = rankdata(np.concatenate([c, a]))
    return float((r[c.size:].sum() - a.size * (a.size + 1) / 2)
                 / (a.size * c.size))


def load(layer, name):
    d = os.path.join(OUT, layer)
    x = np.load(os.path.join(d, name + ".npy"))
    lab = np.load(os.path.join(d, name + "_labels.npy")).astype(np.int64)
    return np.ascontiguousarray(x.reshape(x.shape[0], -1), dtype=np.float32), lab


# -- peers ------------------------------------------------------------------

def knn_scores(bg, queries, chunk=2000):
    def unit(a):
        n = np.linalg.norm(a, axis=1, keepdims=True)
        return a / np.maximum(n, 1e-12)
    b = unit(bg)
    out = []
    for q in queries:
        q = unit(q)
        s = np.empty(q.shape[0])
        for i in range(0, q.shape[0], chunk):
            s[i:i + chunk] = (q[i:i + chunk] @ b.T).max(axis=1)
        out.append(np.sqrt(np.maximum(0.0, 2.0 - 2.0 * s)))
    return out


def maha_fit(bg, lab, ridge=1e-3):
    classes = np.unique(lab)
    mu = np.stack([bg[lab == c].mean(axis=0) for c in classes])
    xc = bg - mu[np.searchsorted(classes, lab)]
    s = (xc.T @ xc).astype(np.float64) / bg.shape[0]      # float32 gemm
    del xc
    d = s.shape[0]
    s[np.diag_indices(d)] += ridge * np.trace(s) / d
    l_ = linalg.cholesky(s, lower=True, overwrite_a=True, check_finite=False)
    linv, info = linalg.lapack.dtrtri(l_, lower=1)
    assert info == 0
    w = np.ascontiguousarray(linv.T, dtype=np.float32)   # z = x @ w
    return classes, mu @ w, w, bg.mean(axis=0) @ w


def maha_scores(model, x, lab):
    classes, m, w, pooled = model
    z = x @ w
    d = ((z * z).sum(axis=1)[:, None] - 2.0 * (z @ m.T)
         + (m * m).sum(axis=1)[None, :])                   # (n, C)
    idx = np.searchsorted(classes, lab)
    ok = (idx < classes.size) & (classes[np.minimum(idx, classes.size - 1)]
                                 == lab)
    pred = np.where(ok, d[np.arange(x.shape[0]), np.minimum(
        idx, classes.size - 1)], ((z - pooled) ** 2).sum(axis=1))
    return pred, d.min(axis=1)


def hbos_fit(bg, n_bins=10):
    """Per node np.histogram(column, bins=n_bins, density=True), as PyOD."""
    edges = np.empty((n_bins + 1, bg.shape[1]))
    dens = np.empty((n_bins, bg.shape[1]))
    for j in range(bg.shape[1]):
        dens[:, j], edges[:, j] = np.histogram(bg[:, j], bins=n_bins,
                                               density=True)
    return edges, dens


def hbos_scores(model, x, alpha=0.1, tol=0.5, chunk=500):
    """PyOD's HBOS scoring: the bin of x is np.digitize(x, edges,
    right=True) (bins (e_k-1, e_k]); index 0 or n_bins + 1 (outside) takes
    the edge bin within tol bin widths, else the node's lowest density."""
    edges, dens = model
    n_bins = dens.shape[0]
    ls = np.log2(dens + alpha)                         # (n_bins, D)
    lmin = ls.min(axis=0)
    cols = np.arange(ls.shape[1])
    w_lo, w_hi = edges[1] - edges[0], edges[-1] - edges[-2]
    out = np.empty(x.shape[0])
    for i in range(0, x.shape[0], chunk):
        v = x[i:i + chunk].astype(np.float64)
        k = np.zeros(v.shape, dtype=np.int64)
        for e in edges:                    # digitize(right=True): #{e < v}
            k += e[None, :] < v
        s = ls[np.clip(k - 1, 0, n_bins - 1), cols]
        far = ((k == 0) & (edges[0] - v > w_lo * tol)) | \
            ((k == n_bins + 1) & (v - edges[-1] > w_hi * tol))
        s = np.where(far, lmin, s)
        out[i:i + chunk] = -s.sum(axis=1)
    return out


# -- the idea: per-class PCA before the histograms ---------------------------

def pca_fit(bg, lab, cap=256):
    classes = np.unique(lab)
    d = bg.shape[1]
    rot = {}
    r = d
    for c in classes:
        x = bg[lab == c].astype(np.float64)
        mu = x.mean(axis=0)
        _, sv, vt = np.linalg.svd(x - mu, full_matrices=False)
        rot[c] = (mu, vt)
        r = min(r, vt.shape[0])
    r = min(r, cap)
    rot = {c: (mu, vt[:r].T.copy()) for c, (mu, vt) in rot.items()}
    mu_all = bg.mean(axis=0).astype(np.float64)
    return classes, rot, r, d > r, mu_all


def pca_apply(model, x, lab):
    classes, rot, r, resid, mu_all = model
    z = np.empty((x.shape[0], r + (1 if resid else 0)))
    for c in np.unique(lab):
        sel = lab == c
        mu, v = rot.get(c, (mu_all, None))
        if v is None:        # unseen label: first class's basis, pooled mean
            v = rot[classes[0]][1]
        xc = x[sel].astype(np.float64) - mu
        p = xc @ v
        z[sel, :r] = p
        if resid:
            z[sel, r] = np.sqrt(np.maximum(0.0, (xc ** 2).sum(axis=1)
                                           - (p ** 2).sum(axis=1)))
    return z


# -- one layer ---------------------------------------------------------------

def run_layer(layer, idea=None):
    sets = ["clean", NULL] + ANOMALIES
    bg, bgl = load(layer, "background")
    data = {s: load(layer, s) for s in sets}
    res = {"rows": int(bg.shape[0]), "nodes": int(bg.shape[1]),
           "auc": {}, "seconds": {}}

    def aucs(name, scores):                 # scores: {set: array}
        res["auc"][name] = {s: auc(scores["clean"], scores[s])
                            for s in sets[1:]}

    t = time.time()
    m = acthist.Model.fit(bg, labels=bgl, threads=2)
    assert m.tail == "two"
    res["seconds"]["acthist fit"] = time.time() - t
    t = time.time()
    aucs("default", {s: m.score(x, labels=lb).score
                     for s, (x, lb) in data.items()})
    res["seconds"]["default score"] = time.time() - t
    for tail in TAILS:
        for cond in (True, False):
            aucs("acthist %s %s" % (tail, "cond" if cond else "pooled"),
                 {s: (m.score(x, labels=lb, tail=tail) if cond else
                      m.score(x, pooled=True, tail=tail)).score
                  for s, (x, lb) in data.items()})
    res["model bytes"] = len(m.to_bytes())
    m.close()
    configs = ["acthist %s %s" % (t_, c) for t_ in TAILS
               for c in ("cond", "pooled")]
    res["auc"]["oracle"] = {s: max(res["auc"][c][s] for c in configs)
                            for s in sets[1:]}
    res["oracle config"] = {s: max(configs, key=lambda c: res["auc"][c][s])
                            for s in sets[1:]}

    t = time.time()
    sc = knn_scores(bg, [data[s][0] for s in sets])
    aucs("knn", dict(zip(sets, sc)))
    res["seconds"]["knn"] = time.time() - t

    t = time.time()
    mm = maha_fit(bg, bgl)
    both = {s: maha_scores(mm, x, lb) for s, (x, lb) in data.items()}
    del mm
    aucs("maha", {s: v[0] for s, v in both.items()})
    aucs("maha_min", {s: v[1] for s, v in both.items()})
    res["seconds"]["maha"] = time.time() - t

    t = time.time()
    hb = hbos_fit(bg)
    aucs("hbos", {s: hbos_scores(hb, x) for s, (x, _) in data.items()})
    res["seconds"]["hbos"] = time.time() - t

    return res


def run_idea(layer, res):
    """Adds to res the AUCs of the per-class PCA idea: "pca" (components
    only) and "pca+raw" (the layer's nodes and the components scanned as
    one set of nodes), both acthist's default fitted with the labels."""
    sets = ["clean", NULL] + ANOMALIES
    bg, bgl = load(layer, "background")
    data = {s: load(layer, s) for s in sets}
    t = time.time()
    pm = pca_fit(bg, bgl)
    zb = pca_apply(pm, bg, bgl)
    zs = {s: pca_apply(pm, x, lb) for s, (x, lb) in data.items()}
    for name, both in (("pca", False), ("pca+raw", True)):
        t1 = time.time()
        fb = np.hstack([bg, zb]) if both else zb
        mz = acthist.Model.fit(fb, labels=bgl, threads=2)
        del fb
        sc = {s: mz.score(np.hstack([x, zs[s]]) if both else zs[s],
                          labels=lb).score for s, (x, lb) in data.items()}
        res["auc"][name] = {s: auc(sc["clean"], sc[s]) for s in sets[1:]}
        res["model bytes " + name] = len(mz.to_bytes())
        mz.close()
        res["seconds"][name] = time.time() - t1
    res["seconds"]["pca rotation"] = time.time() - t - \
        res["seconds"]["pca"] - res["seconds"]["pca+raw"]
    res["pca components"] = int(zb.shape[1])


def run_basis(layer, res):
    """Adds to res the AUCs of the library's own basis: acthist's default
    fitted with the labels and basis="pca" (the layer's nodes, each label's
    first min(D, 256) principal components and the residual norm, scanned
    as one set of nodes: the prototype pca+raw in the library).  Layers of
    more than AH_BASIS_MAX_NODES (2048) nodes get no basis: a fit with
    basis="pca" refuses them, so the configuration there is the default
    (its AUCs are copied, and "basis skipped" says so)."""
    sets = ["clean", NULL] + ANOMALIES
    bg, bgl = load(layer, "background")
    if bg.shape[1] > 2048:
        res["auc"]["basis"] = dict(res["auc"]["default"])
        res["basis skipped"] = True
        return
    t = time.time()
    m = acthist.Model.fit(bg, labels=bgl, basis="pca")
    res["seconds"]["basis fit"] = time.time() - t
    del bg
    t = time.time()
    sc = {}
    for s in sets:
        x, lb = load(layer, s)
        sc[s] = m.score(x, labels=lb, threads=1).score
    res["seconds"]["basis score"] = time.time() - t
    res["auc"]["basis"] = {s: auc(sc["clean"], sc[s]) for s in sets[1:]}
    info = m.info()
    res["model bytes basis"] = int(info["file_bytes"])
    res["basis bytes"] = int(info["basis_bytes"])
    res["basis components"] = int(info["basis_components"])
    m.close()


# -- tables ------------------------------------------------------------------

def tables(results, idea):
    """Markdown: summary, per task, per layer means, null, seconds.  The
    best (bold, and the 0.005 counts) is the best of the four non-oracle
    detectors default/knn/maha/hbos; with the idea a second count includes
    its variants among the candidates."""
    ideas = [d for d in ("pca", "pca+raw", "basis")
             if any(d in r["auc"] for r in results.values())]
    dets = DETECTORS + ["maha_min"] + ideas
    lines = ["| layer | anomaly | " + " | ".join(dets) + " |",
             "|---" * (len(dets) + 2) + "|"]
    allv = {d: [] for d in dets}
    near4 = {d: 0 for d in dets}
    near_i = {d: 0 for d in dets}
    per_layer = []
    for layer in LAYERS:
        if layer not in results:
            continue
        a = results[layer]["auc"]
        lv = {d: [] for d in dets}
        for s in ANOMALIES:
            v = {d: a[d][s] for d in dets if d in a}
            best4 = max(v[d] for d in PEERS)
            best_i = max(v[d] for d in PEERS + ideas if d in v)
            cells = []
            for d in dets:
                if d not in v:
                    cells.append("")
                    continue
                allv[d].append(v[d])
                lv[d].append(v[d])
                near4[d] += v[d] >= best4 - 0.005
                near_i[d] += v[d] >= best_i - 0.005
                txt = "%.3f" % v[d]
                cells.append("**%s**" % txt if d in PEERS and v[d] == best4
                             else txt)
            lines.append("| %s | %s | %s |" % (layer, s, " | ".join(cells)))
        per_layer.append("| %s | %d x %d | %s |" % (
            layer, results[layer]["rows"], results[layer]["nodes"],
            " | ".join("%.3f" % np.mean(lv[d]) if lv[d] else ""
                       for d in dets)))
    summ = ["| detector | mean AUC | worst AUC | within 0.005 of the best of "
            "default/knn/maha/hbos |" + (" within 0.005 of the best of those "
                                         "and %s |" % ", ".join(ideas)
                                         if ideas else ""),
            "|---|---|---|---|" + ("---|" if ideas else "")]
    for d in dets:
        if allv[d]:
            summ.append("| %s | %.3f | %.3f | %d of %d |%s" % (
                d, np.mean(allv[d]), np.min(allv[d]), near4[d],
                len(allv[d]), " %d |" % near_i[d] if ideas else ""))
    layers = ["| layer | rows x nodes | " + " | ".join(dets) + " |",
              "|---" * (len(dets) + 2) + "|"] + per_layer
    null = ["| layer | " + " | ".join(dets) + " |",
            "|---" * (len(dets) + 1) + "|"]
    for layer in LAYERS:
        if layer in results:
            r = results[layer]
            null.append("| %s | %s |" % (layer, " | ".join(
                "%.3f" % r["auc"][d][NULL] if d in r["auc"] else ""
                for d in dets)))
    keys = ["acthist fit", "default score", "knn", "maha", "hbos"] + \
        (["pca rotation", "pca", "pca+raw"] if "pca" in ideas else []) + \
        (["basis fit", "basis score"] if "basis" in ideas else [])
    secs = ["| layer | " + " | ".join(keys) + " |",
            "|---" * (len(keys) + 1) + "|"]
    for layer in LAYERS:
        if layer in results:
            t = results[layer]["seconds"]
            secs.append("| %s | %s |" % (layer, " | ".join(
                "%.1f" % t[k] if k in t else "" for k in keys)))
    return ("\n".join(summ), "\n".join(lines), "\n".join(layers),
            "\n".join(null), "\n".join(secs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", nargs="*", default=LAYERS)
    ap.add_argument("--idea", choices=["pca", "basis"], default=None)
    ap.add_argument("--json", default=os.path.join(OUT, "peers.json"))
    ap.add_argument("--md", default=None)
    args = ap.parse_args()
    results = {}
    if os.path.exists(args.json):
        results = json.load(open(args.json))
    for layer in args.layers:
        todo_peers = layer not in results
        key = "pca+raw" if args.idea == "pca" else "basis"
        todo_idea = args.idea and (todo_peers or
                                   key not in results[layer]["auc"])
        if not (todo_peers or todo_idea):
            continue
        t = time.time()
        print("peers: %s ..." % layer, file=sys.stderr, flush=True)
        if todo_peers:
            results[layer] = run_layer(layer, args.idea)
        if todo_idea:
            (run_idea if args.idea == "pca" else run_basis)(layer,
                                                             results[layer])
        print("peers: %s %.0f s" % (layer, time.time() - t), file=sys.stderr,
              flush=True)
        json.dump(results, open(args.json + ".tmp", "w"), indent=1)
        os.replace(args.json + ".tmp", args.json)
    text = "\n\n".join(tables(results, args.idea)) + "\n"
    if args.md:
        open(args.md, "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
