#!/usr/bin/python3
# Does combining layers help acthist.Detector?  And does its cross-fitted
# threshold hold on new clean inputs?
#
# For each seed: train the small CNN of tests/python/test_detector.py on
# Fashion-MNIST (Debian's dataset-fashion-mnist), craft FGSM (eps 0.05 and
# 0.1) and PGD (eps 0.05, 10 steps of eps/4) on held-out test images, fit
# acthist.Detector (conditional, two-tailed, cross-fitted at fpr 0.05) on
# the training images, and report for every single layer and every
# combination of layers and rule: the AUC (clean held-out vs attacked), the
# clean flag rate and the attacked flag rate.  Also the clean flag rate of a
# threshold calibrated on a separate clean set instead.
#
#   /usr/bin/python3 experiments/detector_layers.py [--seeds 5] [--train 10000]
# Needs PYTHONPATH=python and build/libacthist.so (make).  One torch thread.
import argparse
import gzip
import itertools
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import acthist  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
LAYERS = ["pool1", "pool2", "relu3"]
RULES = ["fisher", "max-z", "min-p"]


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(1)
    xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
    xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
    X = torch.tensor(xtr[:args.train], dtype=torch.float32).unsqueeze(1) / 255
    Y = torch.tensor(ytr[:args.train].astype(np.int64))
    Xt = torch.tensor(xte[:4000], dtype=torch.float32).unsqueeze(1) / 255
    Yt = torch.tensor(yte[:4000].astype(np.int64))
    clean, cal, victims, vy = Xt[:1000], Xt[1000:2000], Xt[2000:3000], Yt[2000:3000]
    rows = {}
    for seed in range(args.seeds):
        t0 = time.time()
        torch.manual_seed(seed)
        net = nn.Sequential()
        for name, m in [("conv1", nn.Conv2d(1, 8, 3)), ("relu1", nn.ReLU()),
                        ("pool1", nn.MaxPool2d(2)), ("conv2", nn.Conv2d(8, 16, 3)),
                        ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
                        ("flat", nn.Flatten()), ("fc1", nn.Linear(400, 64)),
                        ("relu3", nn.ReLU()), ("fc2", nn.Linear(64, 10))]:
            net.add_module(name, m)
        opt = torch.optim.Adam(net.parameters(), 3e-3)
        for _ in range(args.epochs):
            perm = torch.randperm(len(X))
            for i in range(0, len(X), 64):
                b = perm[i:i + 64]
                opt.zero_grad()
                F.cross_entropy(net(X[b]), Y[b]).backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(Xt[:2000]).argmax(1) == Yt[:2000]).float().mean().item()

        def fgsm(eps):
            xa = victims.clone().requires_grad_(True)
            F.cross_entropy(net(xa), vy).backward()
            return (victims + eps * xa.grad.sign()).clamp(0, 1)

        def pgd(eps, steps=10):
            xa = victims.clone()
            for _ in range(steps):
                xa.requires_grad_(True)
                g, = torch.autograd.grad(F.cross_entropy(net(xa), vy), xa)
                xa = torch.min(torch.max(xa.detach() + eps / 4 * g.sign(),
                                         victims - eps), victims + eps).clamp(0, 1)
            return xa
        attacks = {"fgsm05": fgsm(0.05), "fgsm10": fgsm(0.10), "pgd05": pgd(0.05)}
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(X, Y), batch_size=256)
        det = acthist.Detector(net, LAYERS, fpr=0.05).fit(loader)
        c = det.score_layers(clean)
        a = {k: det.score_layers(v) for k, v in attacks.items()}
        cs = det.score_layers(cal)
        print("seed %d: accuracy %.3f, %.0f s" % (seed, acc, time.time() - t0),
              file=sys.stderr)
        for r in range(1, len(LAYERS) + 1):
            for combo in itertools.combinations(LAYERS, r):
                for rule in (RULES if r > 1 else ["-"]):
                    d = acthist.Detector(net, list(combo), fpr=0.05,
                                         combine=rule if r > 1 else "min-p")
                    d.models_ = [det.models_[LAYERS.index(n)] for n in combo]
                    d.calibration_ = det.calibration_
                    d._calibrate(det.calibration_scores_[
                        :, [LAYERS.index(n) for n in combo]])

                    def comb(s, d=d, combo=combo):
                        return d._combine(np.stack([s[n] for n in combo], 1))
                    cc = comb(c)
                    res = [np.mean(cc > d.threshold_)]
                    for k in attacks:
                        aa = comb(a[k])
                        res += [acthist.auc(cc, aa), np.mean(aa > d.threshold_)]
                    # the same rule, thresholded on a separate clean set
                    d._calibrate(np.stack([cs[n] for n in combo], 1))
                    res.append(np.mean(comb(c) > d.threshold_))
                    rows.setdefault(("+".join(combo), rule), []).append(res)
    print("| layers | rule | clean flag (cross-fit) | clean flag (clean-cal) | "
          + " | ".join("%s AUC | %s flag" % (k, k) for k in attacks) + " |")
    print("|---" * (4 + 2 * len(attacks)) + "|")
    for (combo, rule), v in rows.items():
        m = np.mean(v, axis=0)
        cells = ["%.3f" % m[0], "%.3f" % m[-1]] + \
            ["%.3f" % x for x in m[1:-1]]
        print("| %s | %s | %s |" % (combo, rule, " | ".join(cells)))
    print("(mean over %d seeds; %d training images as background, %d epochs; "
          "1,000 clean, 1,000 attacked, 1,000 clean for clean-cal)"
          % (args.seeds, args.train, args.epochs))


if __name__ == "__main__":
    main()
