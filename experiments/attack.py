#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/attack.py [cnn mlp resnet]
# Crafts adversarial images (all written here with autograd, untargeted, L-inf
# attacks on [0,1] pixels) against each trained network:
#   FGSM, BIM (10 steps, step eps/4) and PGD (20 steps, step eps/8, uniform random
#   start) at eps 0.05 and 0.10, and Carlini-Wagner L2 (tanh box, Adam lr 0.1,
#   3 binary-search steps of 30 iterations on c starting at 1, kappa 0).
# The attack pool is the first POOL test images (in the fixed test permutation of
# common.splits) that all three networks classify correctly; its first half
# (N_ATTACK images) is attacked and is what extract.py uses as the "clean" set, so
# the clean and adversarial sets are counterparts (the second half is a clean
# holdout). Images go to out/<net>/images/<attack>.npy (float32 (N_ATTACK,1,28,28));
# success rates and timings to out/attacks.json.
import os
import sys
import time

import numpy as np

from common import (OUT, SEEDS, NETS, Timer, load_fmnist, load_net, log, predict,
                    setup_torch, splits, update_json, write_json)

POOL = 2000      # the pool: clean (first half, attacked) + clean_holdout (second half)
N_ATTACK = 1000  # attacked images: the first half of the pool
BATCH = 500
EPS = {"05": 0.05, "10": 0.10}
ATTACKS = [f"{a}_eps{k}" for a in ("fgsm", "bim", "pgd") for k in EPS] + ["cw_l2"]
CW = {"binary_steps": 3, "iterations": 30, "lr": 0.1, "c0": 1.0, "kappa": 0.0}


def attack_pool(xte, yte):
    path = os.path.join(OUT, "attack_pool.npy")
    _, te_perm = splits()
    ok = np.ones(len(yte), bool)
    for net in NETS:
        ok &= predict(load_net(net), xte) == yte
    pool = np.array([i for i in te_perm if ok[i]][:POOL], dtype=np.int64)
    np.save(path, pool)
    return pool


def grad_ce(model, x, y, torch, F):
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (g,) = torch.autograd.grad(loss, x)
    return g


def fgsm(model, x, y, eps, torch, F, gen):
    return (x + eps * grad_ce(model, x, y, torch, F).sign()).clamp(0, 1)


def bim(model, x, y, eps, torch, F, gen, steps=10, alpha_frac=0.25, rand_start=False):
    alpha = alpha_frac * eps
    xa = x.clone()
    if rand_start:
        xa = (x + (torch.rand(x.shape, generator=gen) * 2 - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        xa = xa + alpha * grad_ce(model, xa, y, torch, F).sign()
        xa = torch.min(torch.max(xa, x - eps), x + eps).clamp(0, 1)
    return xa


def pgd(model, x, y, eps, torch, F, gen):
    return bim(model, x, y, eps, torch, F, gen, steps=20, alpha_frac=0.125, rand_start=True)


def cw_l2(model, x, y, torch, F, gen):
    n = len(x)
    lo = torch.zeros(n)
    hi = torch.full((n,), 1e10)
    c = torch.full((n,), CW["c0"])
    best_l2 = torch.full((n,), float("inf"))
    best = x.clone()
    w0 = torch.atanh((2 * x - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    onehot = F.one_hot(y, 10).bool()
    for _ in range(CW["binary_steps"]):
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.Adam([w], lr=CW["lr"])
        succ_step = torch.zeros(n, dtype=torch.bool)
        for _ in range(CW["iterations"]):
            xa = 0.5 * (torch.tanh(w) + 1)
            z = model(xa)
            zy = z[onehot]
            zo = z.masked_fill(onehot, -1e9).max(1).values
            f = torch.clamp(zy - zo, min=-CW["kappa"])
            l2 = (xa - x).flatten(1).pow(2).sum(1)
            loss = (l2 + c * f).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                succ = z.argmax(1) != y
                better = succ & (l2 < best_l2)
                best_l2 = torch.where(better, l2, best_l2)
                best[better] = xa[better].detach()
                succ_step |= succ
        # binary search on c, per image
        hi = torch.where(succ_step, torch.min(hi, c), hi)
        lo = torch.where(succ_step, lo, torch.max(lo, c))
        c = torch.where(hi < 1e9, (lo + hi) / 2, c * 10)
    # images never made adversarial keep their last iterate (they count as failures)
    with torch.no_grad():
        last = 0.5 * (torch.tanh(w) + 1)
    never = torch.isinf(best_l2)
    best[never] = last[never]
    return best


def run_attack(model, name, x, y, torch, F):
    gen = torch.Generator().manual_seed(SEEDS["pgd"])
    out = []
    for i in range(0, len(x), BATCH):
        xb, yb = torch.from_numpy(x[i:i + BATCH]), torch.from_numpy(y[i:i + BATCH])
        if name == "cw_l2":
            xa = cw_l2(model, xb, yb, torch, F, gen)
        else:
            fam, k = name.split("_eps")
            xa = {"fgsm": fgsm, "bim": bim, "pgd": pgd}[fam](model, xb, yb, EPS[k], torch, F, gen)
        out.append(xa.detach().numpy().astype(np.float32))
    return np.concatenate(out)


def main():
    torch = setup_torch()
    import torch.nn.functional as F
    which = sys.argv[1:] or NETS
    xtr, ytr, xte, yte = load_fmnist()
    pool = attack_pool(xte, yte)
    x, y = xte[pool[:N_ATTACK]], yte[pool[:N_ATTACK]]
    update_json(os.path.join(OUT, "attacks.json"), "pool",
                {"size": int(len(pool)), "attacked": N_ATTACK, "source": "test images, first in the fixed permutation "
                 "(seed %d) that all networks classify correctly" % SEEDS["split"],
                 "file": "out/attack_pool.npy (indices into the 10,000 test images)"})
    update_json(os.path.join(OUT, "attacks.json"), "params",
                {"eps": EPS, "fgsm": "one signed-gradient step of size eps",
                 "bim": "10 steps of eps/4, projected to the eps ball and [0,1], no random start",
                 "pgd": "20 steps of eps/8, projected, uniform random start in the eps ball, seed %d" % SEEDS["pgd"],
                 "cw_l2": CW, "loss": "cross-entropy on the true label (untargeted)"})
    for net in which:
        model = load_net(net)
        for p in model.parameters():
            p.requires_grad_(False)
        d = os.path.join(OUT, net, "images")
        os.makedirs(d, exist_ok=True)
        res = {}
        for name in ATTACKS:
            t0 = time.time()
            xa = run_attack(model, name, x, y, torch, F)
            dt = time.time() - t0
            pred = predict(model, xa)
            succ = pred != y
            diff = (xa - x).reshape(len(x), -1)
            res[name] = {"success_rate": float(succ.mean()), "attacked": int(len(succ)),
                         "mean_linf": float(np.abs(diff).max(1).mean()),
                         "mean_l2": float(np.sqrt((diff ** 2).sum(1)).mean()),
                         "seconds": round(dt, 1)}
            np.save(os.path.join(d, f"{name}.npy"), xa)
            np.save(os.path.join(d, f"{name}_success.npy"), succ)
            log(f"{net} {name}: success {succ.mean():.3f}, mean Linf {res[name]['mean_linf']:.3f}, "
                f"mean L2 {res[name]['mean_l2']:.3f} ({dt:.0f} s)")
        update_json(os.path.join(OUT, "attacks.json"), net, res)


if __name__ == "__main__":
    main()
