#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 (python3-torch, python3-numpy;
# experiments/ensure_deps.sh installs them). Shared helpers for the experiments:
# paths, seeds, the Fashion-MNIST loader (raw idx .gz files from the Debian
# package, nothing is downloaded), the networks and the VAE.
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.environ.get("ACTHIST_EXP_OUT", os.path.join(HERE, "out"))
DATA_DIR = "/usr/share/datasets/fashion-mnist"

SEED = 20231213          # master seed; every stage derives its own from it
SEEDS = {
    "split": SEED + 1,   # permutation of training rows (background) and test rows (attack pool)
    "cnn": SEED + 2, "mlp": SEED + 3, "resnet": SEED + 4, "vae": SEED + 5,
    "pgd": SEED + 6, "synth": SEED + 7,
}
NETS = ["cnn", "mlp", "resnet"]
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def ensure_deps():
    """Install the Debian packages if something is missing (root only)."""
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
        if os.path.exists(os.path.join(DATA_DIR, "train-images-idx3-ubyte.gz")):
            return
    except ImportError:
        pass
    subprocess.check_call(["sh", os.path.join(HERE, "ensure_deps.sh")])


_TORCH_READY = False


def setup_torch():
    global _TORCH_READY
    ensure_deps()
    import torch
    if _TORCH_READY:
        return torch
    _TORCH_READY = True
    torch.set_num_threads(2)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.use_deterministic_algorithms(True)
    return torch


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or dtype != 0x08:
        raise ValueError(f"{path}: not an idx ubyte file")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated (expected {dims})")
    return data.reshape(dims)


def load_fmnist():
    """Returns (xtr, ytr, xte, yte): images float32 in [0,1] shaped (N,1,28,28), labels int64."""
    ensure_deps()
    d = {}
    for split, stem in (("train", "train"), ("test", "t10k")):
        x = _read_idx(os.path.join(DATA_DIR, f"{stem}-images-idx3-ubyte.gz"))
        y = _read_idx(os.path.join(DATA_DIR, f"{stem}-labels-idx1-ubyte.gz"))
        d[split] = ((x.astype(np.float32) / 255.0)[:, None, :, :], y.astype(np.int64))
    return d["train"][0], d["train"][1], d["test"][0], d["test"][1]


def splits():
    """Fixed permutations: background rows come from the training set in this order,
    the attack pool from the test set in this order."""
    rng = np.random.default_rng(SEEDS["split"])
    return rng.permutation(60000), rng.permutation(10000)


def models():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class CNN(nn.Module):
        # conv(1->16,3)-relu-pool-conv(16->32,3)-relu-pool-fc(800->128)-relu-fc(128->10)
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3)
            self.conv2 = nn.Conv2d(16, 32, 3)
            self.fc1 = nn.Linear(32 * 5 * 5, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x, acts=None):
            a = {}
            a["conv1"] = F.relu(self.conv1(x))               # (16,26,26)
            a["pool1"] = F.max_pool2d(a["conv1"], 2)         # (16,13,13)
            a["conv2"] = F.relu(self.conv2(a["pool1"]))      # (32,11,11)
            a["pool2"] = F.max_pool2d(a["conv2"], 2)         # (32,5,5)
            a["fc1"] = F.relu(self.fc1(a["pool2"].flatten(1)))  # (128,)
            a["logits"] = self.fc2(a["fc1"])                 # (10,)
            if acts is not None:
                acts.update(a)
            return a["logits"]

    class MLP(nn.Module):
        # 784-256-128-10
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 256)
            self.fc2 = nn.Linear(256, 128)
            self.fc3 = nn.Linear(128, 10)

        def forward(self, x, acts=None):
            a = {}
            a["fc1"] = F.relu(self.fc1(x.flatten(1)))
            a["fc2"] = F.relu(self.fc2(a["fc1"]))
            a["logits"] = self.fc3(a["fc2"])
            if acts is not None:
                acts.update(a)
            return a["logits"]

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))

        def forward(self, x):
            h = F.relu(self.b1(self.c1(x)))
            h = self.b2(self.c2(h))
            return F.relu(h + (x if self.short is None else self.short(x)))

    class ResNet(nn.Module):
        # stem conv(1->8,3,pad 1)-bn-relu, residual blocks 8@28, 16@14, 32@7, global
        # average pool (32), fc(32->10)
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(1, 8, 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.block1 = Block(8, 8, 1)
            self.block2 = Block(8, 16, 2)
            self.block3 = Block(16, 32, 2)
            self.fc = nn.Linear(32, 10)

        def forward(self, x, acts=None):
            a = {}
            a["stem"] = F.relu(self.bn(self.stem(x)))        # (8,28,28)
            a["block1"] = self.block1(a["stem"])             # (8,28,28)
            a["block2"] = self.block2(a["block1"])           # (16,14,14)
            a["block3"] = self.block3(a["block2"])           # (32,7,7)
            a["gap"] = a["block3"].mean(dim=(2, 3))          # (32,)
            a["logits"] = self.fc(a["gap"])
            if acts is not None:
                acts.update(a)
            return a["logits"]

    class VAE(nn.Module):
        # MLP VAE, Bernoulli decoder: 784-512-(mu,logvar 16) / 16-512-784
        def __init__(self, zdim=16):
            super().__init__()
            self.zdim = zdim
            self.e1 = nn.Linear(784, 512)
            self.mu = nn.Linear(512, zdim)
            self.lv = nn.Linear(512, zdim)
            self.d1 = nn.Linear(zdim, 512)
            self.d2 = nn.Linear(512, 784)

        def encode(self, x):
            h = F.relu(self.e1(x.flatten(1)))
            return self.mu(h), self.lv(h)

        def decode_logits(self, z):
            return self.d2(F.relu(self.d1(z)))

        def forward(self, x, eps):
            mu, lv = self.encode(x)
            z = mu + torch.exp(0.5 * lv) * eps
            return self.decode_logits(z), mu, lv

    return {"cnn": CNN, "mlp": MLP, "resnet": ResNet, "vae": VAE}


# Layers extracted per network: (name, description). The first entry of a conv
# network is its first convolutional layer after ReLU; the last hidden layer is
# marked. Logits are extracted too (cheap).
LAYERS = {
    "cnn": [("conv1", "first conv, post-ReLU, (16,26,26)"),
            ("conv2", "second conv, post-ReLU, (32,11,11)"),
            ("pool2", "second conv after max-pool, (32,5,5)"),
            ("fc1", "last hidden layer, post-ReLU, (128,)"),
            ("logits", "output logits, (10,)")],
    "mlp": [("fc1", "first hidden layer, post-ReLU, (256,)"),
            ("fc2", "last hidden layer, post-ReLU, (128,)"),
            ("logits", "output logits, (10,)")],
    "resnet": [("stem", "first conv (stem) after BN+ReLU, (8,28,28)"),
               ("block2", "second residual block output, post-ReLU, (16,14,14)"),
               ("block3", "third residual block output, post-ReLU, (32,7,7)"),
               ("gap", "last hidden layer: global average pool of block3, (32,)"),
               ("logits", "output logits, (10,)")],
}


def net_path(name):
    return os.path.join(OUT, "models", f"{name}.pt")


def load_net(name):
    torch = setup_torch()
    m = models()[name]()
    m.load_state_dict(torch.load(net_path(name), map_location="cpu"))
    m.eval()
    return m


def predict(model, x, bs=1000):
    import torch
    out = []
    with torch.no_grad():
        for i in range(0, len(x), bs):
            out.append(model(torch.as_tensor(x[i:i + bs])).argmax(1).numpy())
    return np.concatenate(out).astype(np.int64)


def read_json(path, default=None):
    if not os.path.exists(path):
        return {} if default is None else default
    with open(path) as f:
        return json.load(f)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def update_json(path, key, value):
    d = read_json(path)
    d[key] = value
    write_json(path, d)


class Timer:
    def __init__(self, what):
        self.what = what

    def __enter__(self):
        self.t = time.time()
        return self

    def __exit__(self, *a):
        self.dt = time.time() - self.t
        log(f"{self.what}: {self.dt:.1f} s")


def log(msg):
    print(msg, file=sys.stderr, flush=True)
