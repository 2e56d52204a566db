#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/quick_auc.py [net/layer ...]
#        /usr/bin/python3 experiments/quick_auc.py --dir data --out experiments/out/quick_auc_bundled.md
# NumPy-only sanity analysis, independent of the C library: individual-scan
# Berk-Jones AUCs with EXACT empirical p-values from the raw background.
#   upper: p_max = (#{b >= x} + 1) / (N + 1)      lower: (#{b <= x} + 1) / (N + 1)
#   two:   min(1, 2 min(upper, lower))            both: upper and lower p_max of every
#          node together as 2D candidates
# Scan per input: thresholds = distinct p_max <= 0.5; subset = nodes with
# p_max <= a, so n_a = n = count; BJ = n KL(1||a) = n ln(1/a); score = max (0 if
# none). AUC: Mann-Whitney, ties half, clean (score) vs anomalous (score); values
# below 0.5 are reported as they are. "cond" compares each input with the
# background rows of its own predicted label (label unseen in the background ->
# pooled background; counted and reported).
import argparse
import glob
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("ACTHIST_EXP_OUT", os.path.join(HERE, "out"))
TAILS = ["upper", "lower", "two", "both"]
ALPHA_MAX = 0.5


def load(d, name):
    x = np.load(os.path.join(d, name + ".npy"), mmap_mode="r")
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    lab = os.path.join(d, name + "_labels.npy")
    y = np.load(lab).astype(np.int64) if os.path.exists(lab) else None
    return x, y


def counts(bg_sorted, x):
    """For each column j: n_ge = #{b >= x}, n_le = #{b <= x} (exact, float32 compares)."""
    n = bg_sorted.shape[0]
    ge = np.empty(x.shape, np.int64)
    le = np.empty(x.shape, np.int64)
    for j in range(x.shape[1]):
        col = bg_sorted[:, j]
        ge[:, j] = n - np.searchsorted(col, x[:, j], side="left")
        le[:, j] = np.searchsorted(col, x[:, j], side="right")
    return ge, le


def pvals(bg_sorted, x):
    n = bg_sorted.shape[0]
    ge, le = counts(bg_sorted, x)
    up = (ge + 1.0) / (n + 1.0)
    lo = (le + 1.0) / (n + 1.0)
    return up, lo


def tail_p(up, lo, tail):
    if tail == "upper":
        return up
    if tail == "lower":
        return lo
    if tail == "two":
        return np.minimum(1.0, 2.0 * np.minimum(up, lo))
    if tail == "both":
        return np.concatenate([up, lo], axis=1)
    raise ValueError(tail)


def bj_scan(p):
    """Individual Berk-Jones scan of each row of p (p_max values)."""
    s = np.sort(p, axis=1)
    k = np.arange(1, s.shape[1] + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        v = np.where(s <= ALPHA_MAX, k * np.log(1.0 / s), 0.0)
    return v.max(axis=1)


def auc(clean, anom):
    """Mann-Whitney AUC, P(anomalous > clean) + 0.5 P(tie)."""
    allv = np.concatenate([clean, anom])
    order = np.argsort(allv, kind="mergesort")
    sv = allv[order]
    ranks = np.empty(len(allv), np.float64)
    i = 0
    # average ranks over ties
    idx = np.flatnonzero(np.diff(sv) != 0)
    starts = np.concatenate([[0], idx + 1])
    ends = np.concatenate([idx + 1, [len(sv)]])
    avg = (starts + ends + 1) / 2.0
    for s_, e_, a_ in zip(starts, ends, avg):
        ranks[order[s_:e_]] = a_
    n0, n1 = len(clean), len(anom)
    return (ranks[n0:].sum() - n1 * (n1 + 1) / 2.0) / (n0 * n1)


class Model:
    """Exact empirical background: sorted columns, pooled and per label."""

    def __init__(self, bg, bg_labels):
        self.pooled = np.sort(bg, axis=0)
        self.by_label = {}
        if bg_labels is not None:
            for c in np.unique(bg_labels):
                self.by_label[int(c)] = np.sort(bg[bg_labels == c], axis=0)

    def pvalues(self, x, labels=None):
        """Returns (up, lo, n_fallback)."""
        if labels is None:
            up, lo = pvals(self.pooled, x)
            return up, lo, 0
        up = np.empty(x.shape, np.float64)
        lo = np.empty(x.shape, np.float64)
        fallback = 0
        for c in np.unique(labels):
            rows = labels == c
            ref = self.by_label.get(int(c))
            if ref is None:
                ref = self.pooled
                fallback += int(rows.sum())
            up[rows], lo[rows] = pvals(ref, x[rows])
        return up, lo, fallback


def success_mask(d, a):
    """out/<net>/<attack>_success.npy next to the layer directory, if any."""
    p = os.path.join(os.path.dirname(os.path.abspath(d)), a + "_success.npy")
    return np.load(p) if os.path.exists(p) else None


def analyse_dir(d, anomalies, successful_only=False):
    t0 = time.time()
    bg, bgl = load(d, "background")
    model = Model(bg, bgl)
    del bg
    sets = ["clean"] + [a for a in anomalies if os.path.exists(os.path.join(d, a + ".npy"))]
    scores = {}
    fallback = {}
    for s in sets:
        x, y = load(d, s)
        if successful_only and s != "clean":
            m = success_mask(d, s)
            if m is None:
                continue
            x, y = x[m], y[m]
        for cond in (False, True):
            up, lo, fb = model.pvalues(x, y if cond else None)
            fallback[(s, cond)] = fb
            for t in TAILS:
                scores[(s, cond, t)] = bj_scan(tail_p(up, lo, t))
    res = {}
    for a in sets[1:]:
        if ("clean", False, "upper") not in scores or (a, False, "upper") not in scores:
            continue
        for cond in (False, True):
            for t in TAILS:
                res[(a, cond, t)] = auc(scores[("clean", cond, t)], scores[(a, cond, t)])
    info = {"N": model.pooled.shape[0], "D": model.pooled.shape[1],
            "seconds": time.time() - t0, "fallback": {k: v for k, v in fallback.items() if v}}
    return res, info, scores


def default_anomalies(d):
    names = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(d, "*.npy")))
    skip = {"background", "clean"}
    return [n for n in names if n not in skip and not n.endswith("_labels")
            and not n.endswith("_true") and not n.endswith("_success")]


def order_anoms(names):
    pref = ["clean_holdout", "fgsm_eps05", "fgsm_eps10", "bim_eps05", "bim_eps10",
            "pgd_eps05", "pgd_eps10", "cw_l2", "synth"]
    return [n for n in pref if n in names] + sorted(n for n in names if n not in pref)


def table(title, res, info, anomalies):
    cols = [(c, t) for c in (False, True) for t in TAILS]
    lines = [f"### {title}  (N={info['N']} background rows, D={info['D']} nodes)", ""]
    lines.append("| anomaly | " + " | ".join(f"{t} {'cond' if c else 'pooled'}" for c, t in cols)
                 + " | best |")
    lines.append("|---" * (len(cols) + 2) + "|")
    for a in anomalies:
        if (a, False, "upper") not in res:
            continue
        vals = [res[(a, c, t)] for c, t in cols]
        b = int(np.argmax(vals))
        cells = [f"**{v:.3f}**" if i == b else f"{v:.3f}" for i, v in enumerate(vals)]
        best = f"{cols[b][1]} {'cond' if cols[b][0] else 'pooled'}"
        lines.append(f"| {a} | " + " | ".join(cells) + f" | {best} |")
    if info["fallback"]:
        lines.append("")
        lines.append("Rows compared with the pooled background because their label is absent "
                     f"from the background: {info['fallback']}")
    lines.append("")
    return lines


def summary(allres):
    """Per configuration, over every (layer, anomaly) row except the null: mean AUC,
    mean and max shortfall from the row's best configuration, rows below 0.5."""
    if not allres:
        return []
    cols = [(c, t) for c in (False, True) for t in TAILS]
    A = np.array([[r[(c, t)] for c, t in cols] for r in allres])
    best = A.max(axis=1)
    L = ["### Summary over all tables above", "",
         f"{len(A)} rows (layer x anomaly, null excluded). Gap = the row's best AUC minus this "
         "configuration's AUC.", "",
         "| configuration | mean AUC | mean gap | max gap | rows below 0.5 | rows where best |",
         "|---|---|---|---|---|---|"]
    for i, (c, t) in enumerate(cols):
        g = best - A[:, i]
        L.append(f"| {t} {'cond' if c else 'pooled'} | {A[:, i].mean():.3f} | {g.mean():.3f} | "
                 f"{g.max():.3f} | {(A[:, i] < 0.5).sum()} | {(A.argmax(axis=1) == i).sum()} |")
    L.append("")
    return L


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("layers", nargs="*", help="net/layer under experiments/out (default: all)")
    ap.add_argument("--dir", help="analyse one directory laid out like out/<net>/<layer> (e.g. data)")
    ap.add_argument("--out", default=os.path.join(OUT, "quick_auc.md"))
    ap.add_argument("--successful-only", action="store_true",
                    help="keep only the adversarial images whose attack changed the prediction")
    args = ap.parse_args()
    if args.dir:
        targets = [(args.dir, args.dir)]
    else:
        names = args.layers
        if not names:
            names = sorted(os.path.relpath(os.path.dirname(p), OUT)
                           for p in glob.glob(os.path.join(OUT, "*", "*", "background.npy")))
        targets = [(n, os.path.join(OUT, n)) for n in names]
    lines = ["# Quick AUC check (NumPy, exact empirical p-values)", "",
             "Individual-scan Berk-Jones AUC, clean vs each set, alpha_max 0.5; exact empirical "
             "p_max from the raw background; `cond` = p-values against the background rows of the "
             "input's own predicted label. clean_holdout is a clean-vs-clean null (expect ~0.5). "
             + ("Attack sets keep only SUCCESSFUL adversarial images (prediction changed). "
                if args.successful_only else
                "Attack sets contain every attacked image, successful or not. ") +
             "Best cell in bold. "
             "Made by `/usr/bin/python3 experiments/quick_auc.py " + " ".join(sys.argv[1:]) + "`.", ""]
    allres = []
    for title, d in targets:
        anomalies = order_anoms(default_anomalies(d))
        res, info, _ = analyse_dir(d, anomalies, args.successful_only)
        lines += table(title, res, info, anomalies)
        allres += [{k[1:]: v for k, v in res.items() if k[0] == a}
                   for a in anomalies if a != "clean_holdout" and (a, False, "upper") in res]
        print(f"{title}: {info['seconds']:.0f} s", file=sys.stderr, flush=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    lines += summary(allres)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
