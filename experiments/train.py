#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/train.py [cnn mlp resnet vae]
# Trains the classifiers and the VAE on the Fashion-MNIST training set (60,000
# images) from fixed seeds, reports test accuracy on the 10,000 test images and
# saves weights to experiments/out/models/. Results go to experiments/out/train.json.
import os
import sys
import time

import numpy as np

from common import (OUT, SEEDS, NETS, Timer, load_fmnist, log, models, net_path,
                    predict, setup_torch, update_json)

EPOCHS = {"cnn": 8, "mlp": 10, "resnet": 5, "vae": 12}
BATCH = 128
LR = {"cnn": 3e-3, "mlp": 2e-3, "resnet": 4e-3, "vae": 1e-3}


def batches(n, gen, torch):
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, BATCH):
        yield perm[i:i + BATCH]


def train_classifier(name, xtr, ytr, xte, yte):
    torch = setup_torch()
    import torch.nn.functional as F
    torch.manual_seed(SEEDS[name])
    gen = torch.Generator().manual_seed(SEEDS[name])
    model = models()[name]()
    opt = torch.optim.Adam(model.parameters(), lr=LR[name])
    steps = EPOCHS[name] * ((len(xtr) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR[name], total_steps=steps)
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr)
    t0 = time.time()
    for ep in range(EPOCHS[name]):
        model.train()
        tot, n = 0.0, 0
        for idx in batches(len(X), gen, torch):
            loss = F.cross_entropy(model(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        model.eval()
        acc = float((predict(model, xte) == yte).mean())
        log(f"{name} epoch {ep + 1}/{EPOCHS[name]}: train loss {tot / n:.4f}, test acc {acc:.4f}")
    dt = time.time() - t0
    model.eval()
    train_acc = float((predict(model, xtr) == ytr).mean())
    test_acc = float((predict(model, xte) == yte).mean())
    os.makedirs(os.path.dirname(net_path(name)), exist_ok=True)
    torch.save(model.state_dict(), net_path(name))
    info = {"epochs": EPOCHS[name], "batch": BATCH, "optimizer": f"Adam, one-cycle lr max {LR[name]}",
            "seed": SEEDS[name], "train_accuracy": train_acc, "test_accuracy": test_acc,
            "parameters": int(sum(p.numel() for p in model.parameters())),
            "train_seconds": round(dt, 1)}
    log(f"{name}: test accuracy {test_acc:.4f} ({dt:.0f} s)")
    return info


def train_vae(xtr, xte):
    torch = setup_torch()
    import torch.nn.functional as F
    torch.manual_seed(SEEDS["vae"])
    gen = torch.Generator().manual_seed(SEEDS["vae"])
    vae = models()["vae"]()
    opt = torch.optim.Adam(vae.parameters(), lr=LR["vae"])
    X = torch.from_numpy(xtr)

    def elbo(x, eps):
        logits, mu, lv = vae(x, eps)
        rec = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="sum")
        kl = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
        return (rec + kl) / len(x)

    t0 = time.time()
    for ep in range(EPOCHS["vae"]):
        vae.train()
        tot, n = 0.0, 0
        for idx in batches(len(X), gen, torch):
            eps = torch.randn(len(idx), vae.zdim, generator=gen)
            loss = elbo(X[idx], eps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        log(f"vae epoch {ep + 1}/{EPOCHS['vae']}: train -ELBO {tot / n:.2f}")
    dt = time.time() - t0
    vae.eval()
    with torch.no_grad():
        g = torch.Generator().manual_seed(SEEDS["vae"] + 100)
        xt = torch.from_numpy(xte)
        test_loss = float(elbo(xt, torch.randn(len(xt), vae.zdim, generator=g)))
    torch.save(vae.state_dict(), net_path("vae"))
    info = {"epochs": EPOCHS["vae"], "batch": BATCH, "latent": vae.zdim, "seed": SEEDS["vae"],
            "architecture": "MLP VAE 784-512-(16)-512-784, Bernoulli decoder",
            "test_neg_elbo_nats": round(test_loss, 2), "train_seconds": round(dt, 1)}
    log(f"vae: test -ELBO {test_loss:.2f} nats ({dt:.0f} s)")
    return info


def main():
    which = sys.argv[1:] or NETS + ["vae"]
    xtr, ytr, xte, yte = load_fmnist()
    for name in which:
        with Timer(f"train {name}"):
            info = train_vae(xtr, xte) if name == "vae" else train_classifier(name, xtr, ytr, xte, yte)
        update_json(os.path.join(OUT, "train.json"), name, info)


if __name__ == "__main__":
    main()
