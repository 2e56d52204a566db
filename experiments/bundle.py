#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/bundle.py [--dest data]
# Copies the bundled real activation set into data/ (kept under 20 MB) from the
# pipeline's outputs in experiments/out/ and writes data/MANIFEST.md (shapes,
# checksums, seeds, accuracies, attack success rates, a NumPy AUC table on the
# bundled files themselves, and the commands that regenerate it).
# Layer: the CNN's last hidden layer fc1 (128 nodes, post-ReLU), float32.
import argparse
import hashlib
import os
import sys

import numpy as np

from common import OUT, REPO, SEEDS, read_json
import quick_auc

NET, LAYER = "cnn", "fc1"
N_BG = 10000
SETS = ["clean", "clean_holdout", "fgsm_eps10", "pgd_eps10", "cw_l2", "synth"]
LIMIT = 20 * 1000 * 1000


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dest", default=os.path.join(REPO, "data"))
    args = ap.parse_args()
    src = os.path.join(OUT, NET, LAYER)
    dest = args.dest
    os.makedirs(dest, exist_ok=True)
    files = []
    for s in ["background"] + SETS:
        x = np.load(os.path.join(src, s + ".npy"))
        y = np.load(os.path.join(src, s + "_labels.npy"))
        if s == "background":
            x, y = x[:N_BG], y[:N_BG]
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int64)
        for name, arr in ((s, x), (s + "_labels", y)):
            p = os.path.join(dest, name + ".npy")
            np.save(p + ".tmp.npy", arr)
            os.replace(p + ".tmp.npy", p)
            files.append((name + ".npy", arr.dtype.str, list(arr.shape), os.path.getsize(p), sha256(p)))
    total = sum(f[3] for f in files)
    if total > LIMIT:
        sys.exit(f"bundle: {total} bytes > {LIMIT}")

    man = read_json(os.path.join(OUT, "manifest.json"))
    net = man["nets"][NET]
    atk = net["attacks"]
    syn = read_json(os.path.join(OUT, "synth.json"))
    res, info, _ = quick_auc.analyse_dir(dest, [s for s in SETS if s != "clean"])

    L = []
    L.append("# Bundled real activation set: Fashion-MNIST CNN, layer fc1\n")
    L.append("Real activations of the last hidden layer (`fc1`, 128 nodes, after ReLU) of a small "
             "CNN trained here on Fashion-MNIST, for training images (background), clean test "
             "images, three adversarial attacks, and VAE-synthesized images. Every `X.npy` "
             "(float32, shape (rows, 128)) has `X_labels.npy` (int64, shape (rows,)): the class "
             "the CNN *predicted* for each input (0-9: " + ", ".join(
                 f"{i} {c}" for i, c in enumerate(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"])) + ").\n")
    L.append("## Regenerate\n")
    L.append("```")
    L.append("sh experiments/run_all.sh            # whole pipeline: train, attack, synthesize, extract, this bundle, quick AUCs")
    L.append("/usr/bin/python3 experiments/bundle.py # this directory only, from experiments/out/ of an earlier run")
    L.append("```\n")
    L.append("Reproducible on one machine: a rerun of the pipeline there gives these files "
             "bit for bit (CPU, 2 threads, fixed seeds, Debian's python3-torch 1.13). On another "
             "machine it does not: torch's CPU kernels need not give the same last bits on "
             "another CPU, training carries that into a different network (one such run: test accuracy 0.9064 against "
             "0.9063, 1.6% of the background's predicted labels and about half of the activation "
             "values different), and the demo's AUCs move by about their sampling error (up to "
             "0.02; `experiments/README.md`, \"What is reproducible\", measures it). The "
             "checksums below are those of the run that made the committed files.\n")
    L.append("## Files\n")
    L.append("| file | dtype | shape | bytes | sha256 |")
    L.append("|---|---|---|---|---|")
    for n, dt, sh, sz, h in files:
        L.append(f"| {n} | {dt} | {tuple(sh)} | {sz} | `{h[:16]}` |")
    L.append(f"\nTotal {total} bytes ({total / 1e6:.1f} MB).\n")
    L.append("## What each set is\n")
    L.append(f"- `background`: {N_BG} Fashion-MNIST training images, the first rows of the fixed "
             f"training permutation (seed {SEEDS['split']}); the full pipeline keeps 50,000 in "
             f"`experiments/out/{NET}/{LAYER}/`.")
    L.append(f"- `clean`: 1,000 test images correctly classified by all three networks (CNN, MLP, "
             f"ResNet), the first such in the fixed test permutation (seed {SEEDS['split']}).")
    L.append("- `clean_holdout`: 1,000 further such test images, never attacked: a clean-vs-clean "
             "null (its AUC against `clean` should be about 0.5).")
    for a, desc in (("fgsm_eps10", "FGSM, L-inf eps 0.10, one signed-gradient step"),
                    ("pgd_eps10", "PGD, L-inf eps 0.10, 20 steps of eps/8, uniform random start "
                                  f"(seed {SEEDS['pgd']})"),
                    ("cw_l2", "Carlini-Wagner L2, tanh box, Adam lr 0.1, 3 binary-search steps x "
                              "30 iterations on c (from 1), kappa 0")):
        r = atk[a]
        L.append(f"- `{a}`: {desc}, applied to each of the 1,000 clean images (all kept, "
                 f"successful or not); success rate {r['success_rate']:.3f}, mean L-inf "
                 f"{r['mean_linf']:.3f}, mean L2 {r['mean_l2']:.3f}.")
    L.append(f"- `synth`: 1,000 images sampled from an MLP VAE (784-512-16) trained here on the "
             f"60,000 training images; z ~ N(0, I) (seed {syn['seed']}), image = decoder mean.")
    L.append("\nAll attacks are untargeted, written here with autograd (experiments/attack.py), "
             "on [0,1] pixels, against the CNN itself.\n")
    L.append("## The network\n")
    tr = net["training"]
    L.append("conv(1->16,3)-ReLU-maxpool2-conv(16->32,3)-ReLU-maxpool2-fc(800->128)-ReLU-fc(128->10), "
             f"{tr['parameters']} parameters, {tr['epochs']} epochs, {tr['optimizer']}, batch "
             f"{tr['batch']}, seed {tr['seed']}. Test accuracy {net['test_accuracy']:.4f} "
             f"(10,000 test images), training accuracy {net['train_accuracy']:.4f}.\n")
    L.append("Attack success rates against this CNN (1,000 attacked images each; all in "
             "`experiments/out/`):\n")
    L.append("| attack | success rate | mean L-inf | mean L2 |")
    L.append("|---|---|---|---|")
    for a, r in atk.items():
        L.append(f"| {a} | {r['success_rate']:.3f} | {r['mean_linf']:.3f} | {r['mean_l2']:.3f} |")
    L.append("")
    L.append("## Reference AUCs on these files (NumPy, exact empirical p-values)\n")
    L.append("Individual-scan Berk-Jones, alpha_max 0.5, clean vs each set; `cond` = against the "
             "background rows of the input's predicted label. Made by "
             "`/usr/bin/python3 experiments/quick_auc.py --dir data` (values below 0.5 kept as they are).\n")
    L += quick_auc.table(f"{NET}/{LAYER} (bundled)", res, info,
                         [s for s in SETS if s != "clean"])[2:]
    with open(os.path.join(dest, "MANIFEST.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"bundle: {len(files)} files, {total} bytes in {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
