#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/extract.py [cnn mlp resnet]
# Extracts activations of every layer in common.LAYERS for:
#   background     training images, the first N_BG of the fixed training permutation
#                  (N_BG = 50,000 for layers of at most 2,000 nodes, else 10,000;
#                  the 10,000 are the first rows of the 50,000)
#   clean          the first 1,000 images of the attack pool (correctly classified test images)
#   clean_holdout  the other 1,000 images of the pool (never used as clean; a clean-vs-clean null)
#   <attack>       the adversarial versions of the 1,000 clean images, one set per attack
#   synth          1,000 VAE samples
# Files: out/<net>/<layer>/<set>.npy float32 (N, ...) (conv layers (N,C,H,W)) and
# <set>_labels.npy int64 = the network's predicted class. Also, per net:
# out/<net>/<set>_true.npy (true class, clean/holdout/attacks) and
# out/<net>/<attack>_success.npy (bool, attack changed the prediction).
# Everything is described in out/manifest.json.
import os
import sys
import time

import numpy as np

from common import (LAYERS, NETS, OUT, SEEDS, Timer, load_fmnist, load_net, log, read_json,
                    setup_torch, splits, write_json)
from attack import ATTACKS

N_BG_SMALL, N_BG_LARGE, BIG_D = 50000, 10000, 2000
N_SET = 1000
BATCH = 1000


def extract(model, net, x, layer_dirs, setname, torch):
    """Forward x in batches, write every layer's activations + predicted labels."""
    n = len(x)
    mms, labels = {}, np.empty(n, np.int64)
    for i in range(0, n, BATCH):
        acts = {}
        with torch.no_grad():
            logits = model(torch.from_numpy(np.ascontiguousarray(x[i:i + BATCH])), acts)
        labels[i:i + BATCH] = logits.argmax(1).numpy()
        for layer, (d, nmax) in layer_dirs.items():
            if i >= nmax:
                continue
            a = acts[layer].numpy().astype(np.float32)
            if layer not in mms:
                mms[layer] = np.lib.format.open_memmap(
                    os.path.join(d, setname + ".npy.tmp"), mode="w+", dtype=np.float32,
                    shape=(min(n, nmax),) + a.shape[1:])
            m = mms[layer]
            m[i:min(i + BATCH, len(m))] = a[:len(m) - i]
    shapes = {}
    for layer, (d, nmax) in layer_dirs.items():
        mms[layer].flush()
        shapes[layer] = list(mms[layer].shape)
        del mms[layer]
        os.replace(os.path.join(d, setname + ".npy.tmp"), os.path.join(d, setname + ".npy"))
        np.save(os.path.join(d, setname + "_labels.npy"), labels[:min(n, nmax)])
    return labels, shapes


def main():
    torch = setup_torch()
    which = sys.argv[1:] or NETS
    xtr, ytr, xte, yte = load_fmnist()
    tr_perm, _ = splits()
    pool = np.load(os.path.join(OUT, "attack_pool.npy"))
    train = read_json(os.path.join(OUT, "train.json"))
    attacks = read_json(os.path.join(OUT, "attacks.json"))
    manifest = read_json(os.path.join(OUT, "manifest.json"))
    manifest["about"] = ("Activations of networks trained on Fashion-MNIST (experiments/). "
                         "Arrays are float32 (N, ...) .npy, conv layers (N,C,H,W); *_labels.npy "
                         "int64 predicted class; made by experiments/run_all.sh")
    manifest["seeds"] = SEEDS
    manifest["sets"] = {
        "background": f"training images, first rows of the permutation seeded {SEEDS['split']}; "
                      f"{N_BG_SMALL} rows for layers of <= {BIG_D} nodes, else {N_BG_LARGE}",
        "clean": f"attack pool rows 0..{N_SET - 1} (test images correctly classified by all nets)",
        "clean_holdout": f"attack pool rows {N_SET}..{2 * N_SET - 1} (clean, never attacked)",
        "synth": "VAE samples, see synth.json",
        **{a: f"{a} applied to the clean set (all of them, successful or not; see "
              f"<net>/{a}_success.npy)" for a in ATTACKS},
    }
    manifest["vae"] = train.get("vae")
    manifest["attack_params"] = attacks.get("params")
    xs = np.load(os.path.join(OUT, "synth", "images.npy"))[:N_SET]
    for net in which:
        t0 = time.time()
        model = load_net(net)
        ndir = os.path.join(OUT, net)
        layer_dirs = {}
        for layer, _ in LAYERS[net]:
            d = os.path.join(ndir, layer)
            os.makedirs(d, exist_ok=True)
            layer_dirs[layer] = d
        # node counts decide the background size
        acts = {}
        with torch.no_grad():
            model(torch.from_numpy(xtr[:2]), acts)
        dims = {l: int(np.prod(acts[l].shape[1:])) for l in layer_dirs}
        nbg = {l: (N_BG_SMALL if dims[l] <= BIG_D else N_BG_LARGE) for l in layer_dirs}
        info = {"test_accuracy": train[net]["test_accuracy"],
                "train_accuracy": train[net]["train_accuracy"],
                "training": train[net], "attacks": attacks.get(net, {}), "layers": {}}
        shapes = {}
        sets = [("background", xtr[tr_perm[:N_BG_SMALL]], None),
                ("clean", xte[pool[:N_SET]], yte[pool[:N_SET]]),
                ("clean_holdout", xte[pool[N_SET:2 * N_SET]], yte[pool[N_SET:2 * N_SET]]),
                ("synth", xs, None)]
        for a in ATTACKS:
            xa = np.load(os.path.join(ndir, "images", f"{a}.npy"))[:N_SET]
            sets.append((a, xa, yte[pool[:N_SET]]))
            succ = np.load(os.path.join(ndir, "images", f"{a}_success.npy"))[:N_SET]
            np.save(os.path.join(ndir, f"{a}_success.npy"), succ)
        set_info = {}
        for setname, x, ytrue in sets:
            lim = {l: (nbg[l] if setname == "background" else len(x)) for l in layer_dirs}
            labels, sh = extract(model, net, x, {l: (layer_dirs[l], lim[l]) for l in layer_dirs},
                                 setname, torch)
            for l, s in sh.items():
                shapes.setdefault(l, {})[setname] = s
            si = {"rows": int(len(labels)), "predicted_class_counts": np.bincount(labels, minlength=10).tolist()}
            if ytrue is not None:
                np.save(os.path.join(ndir, f"{setname}_true.npy"), ytrue.astype(np.int64))
                si["accuracy_vs_true"] = float((labels == ytrue).mean())
            if setname == "background":
                ybg = ytr[tr_perm[:N_BG_SMALL]]
                np.save(os.path.join(ndir, "background_true.npy"), ybg.astype(np.int64))
                si["accuracy_vs_true"] = float((labels == ybg).mean())
            set_info[setname] = si
        for layer, desc in LAYERS[net]:
            info["layers"][layer] = {"description": desc, "nodes": dims[layer],
                                     "background_rows": nbg[layer], "shapes": shapes[layer],
                                     "dir": f"out/{net}/{layer}"}
        info["sets"] = set_info
        info["extract_seconds"] = round(time.time() - t0, 1)
        manifest.setdefault("nets", {})[net] = info
        write_json(os.path.join(OUT, "manifest.json"), manifest)
        log(f"extract {net}: {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
