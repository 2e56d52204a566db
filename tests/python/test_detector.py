"""acthist.Detector end to end on a real network: a small CNN trained here
on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist, read from its
idx files), fitted from a DataLoader, FGSM crafted here with autograd.
Checks that the cross-fitted threshold flags about the asked share of new
clean inputs, that FGSM inputs are flagged far more often, and the
plumbing: tensors that require grad, loaders, save/load, calibration on a
clean loader, the network's mode, errors.  Prints the AUC of each layer and
of their combination.  tools/install-deps.sh installs torch and the data;
without them the test says so and passes nothing."""
import gzip
import json
import os
import sys
import tempfile
import time

import numpy as np

import acthist
from check import check, raises, run

DATA = "/usr/share/datasets/fashion-mnist"
FPR = 0.05
T0 = time.time()

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    torch = None


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def make_net():
    """conv-ReLU-pool x2, fc-ReLU, fc: the modules are named so that the
    post-ReLU outputs can be hooked by name ("pool1" is the max-pool of a
    ReLU output, so post-activation too)."""
    net = nn.Sequential()
    for name, m in [("conv1", nn.Conv2d(1, 8, 3)), ("relu1", nn.ReLU()),
                    ("pool1", nn.MaxPool2d(2)),
                    ("conv2", nn.Conv2d(8, 16, 3)), ("relu2", nn.ReLU()),
                    ("pool2", nn.MaxPool2d(2)), ("flat", nn.Flatten()),
                    ("fc1", nn.Linear(400, 64)), ("relu3", nn.ReLU()),
                    ("fc2", nn.Linear(64, 10))]:
        net.add_module(name, m)
    return net


def setup():
    torch.set_num_threads(1)  # two threads contend badly on a busy machine
    torch.manual_seed(0)
    xtr = idx("train-images-idx3-ubyte.gz")[:6000]
    ytr = idx("train-labels-idx1-ubyte.gz")[:6000]
    xte = idx("t10k-images-idx3-ubyte.gz")[:3000]
    yte = idx("t10k-labels-idx1-ubyte.gz")[:3000]
    X = torch.tensor(xtr, dtype=torch.float32).unsqueeze(1) / 255
    Y = torch.tensor(ytr.astype(np.int64))
    Xt = torch.tensor(xte, dtype=torch.float32).unsqueeze(1) / 255
    Yt = torch.tensor(yte.astype(np.int64))
    net = make_net()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(3):
        perm = torch.randperm(len(X))
        for i in range(0, len(X), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(net(X[b]), Y[b]).backward()
            opt.step()
    # the test images: 1,000 clean, 1,000 clean for a calibration, 1,000
    # attacked (FGSM, eps 0.1, all kept whether the attack succeeded or not)
    clean, cal, victims, vy = Xt[:1000], Xt[1000:2000], Xt[2000:], Yt[2000:]
    net.eval()
    xa = victims.clone().requires_grad_(True)
    F.cross_entropy(net(xa), vy).backward()
    fgsm = (victims + 0.1 * xa.grad.sign()).clamp(0, 1)
    with torch.no_grad():
        acc = (net(Xt[:2000]).argmax(1) == Yt[:2000]).float().mean().item()
        success = (net(fgsm).argmax(1) != vy).float().mean().item()
    net.train()  # left in training mode: the detector must restore it
    print("test_detector: CNN test accuracy %.3f, FGSM success %.3f (%.1f s)"
          % (acc, success, time.time() - T0))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, Y), batch_size=250)
    return net, loader, clean, cal, fgsm


S = {}


def test_end_to_end():
    net, loader, clean, fgsm = S["net"], S["loader"], S["clean"], S["fgsm"]
    det = acthist.Detector(net, ["pool1", "relu3"], fpr=FPR)
    check(det.fit(loader) is det, "fit returns the detector")
    S["det"] = det
    check(net.training, "fit restored the network's training mode")
    check(det.calibration_["how"] == "cross-fit" and
          det.calibration_["rows"] == 6000, str(det.calibration_))
    c = det.decision_function(clean)
    a = det.decision_function(fgsm)
    pc, pa = det.predict(clean), det.predict(fgsm)
    check(pc.dtype == bool and pc.shape == (1000,), "predict: bool per input")
    check(np.array_equal(pc, c > det.threshold_), "predict = score > thr")
    rc, ra = pc.mean(), pa.mean()
    # the threshold is a quantile of 6,000 held-out scores, the rate a mean
    # of 1,000 new ones: 4 standard deviations of both
    tol = 4 * np.sqrt(FPR * (1 - FPR) * (1 / 1000 + 1 / 6000))
    check(abs(rc - FPR) <= tol, "clean flag rate %.3f, asked %.2f +- %.3f"
          % (rc, FPR, tol))
    check(ra >= 0.25 and ra >= 4 * rc, "FGSM flag rate %.3f vs clean %.3f"
          % (ra, rc))
    layers_c, layers_a = det.score_layers(clean), det.score_layers(fgsm)
    aucs = {n: acthist.auc(layers_c[n], layers_a[n]) for n in det.layers}
    print("test_detector: asked FPR %.2f (cross-fitted, 5 folds of 6,000): "
          "clean flag rate %.3f, FGSM flag rate %.3f" % (FPR, rc, ra))
    print("test_detector: FGSM AUC %s, combined (%s) %.3f"
          % (", ".join("%s %.3f" % kv for kv in aucs.items()), det.combine,
             acthist.auc(c, a)))
    for n in det.layers:  # each layer at its own threshold
        t = det.layer_thresholds_[det.layers.index(n)]
        print("test_detector: %s alone: clean flag rate %.3f, FGSM %.3f"
              % (n, np.mean(layers_c[n] > t), np.mean(layers_a[n] > t)))
    check(aucs["pool1"] > 0.8, "pool1 AUC %.3f" % aucs["pool1"])

    # a loader gives the same as its batches; a tensor that requires grad
    # (as attack code holds it) is accepted
    lc = [(clean[i:i + 300], None) for i in range(0, 1000, 300)]
    check(np.array_equal(det.decision_function(lc), c), "loader = tensor")
    g = fgsm.clone().requires_grad_(True)
    check(np.array_equal(det.decision_function(g), a), "requires_grad input")
    check(np.array_equal(det.decision_function(fgsm.numpy()), a),
          "NumPy input")


def test_models_are_acthist_models():
    """A layer's model is Model.fit of its recorded activations with the
    network's predictions, two-tailed and conditional, and a one-layer
    detector's score is Model.score's."""
    net, loader = S["net"], S["loader"]
    det = S["det"]
    mod = dict(net.named_modules())["relu3"]
    with acthist.ActivationRecorder({"r": mod}) as rec, torch.no_grad():
        was = net.training
        net.eval()
        pred = np.concatenate([net(x).argmax(1).numpy() for x, _ in loader])
        net.train(was)
    acts = rec.activations("r")
    ref = acthist.Model.fit(acts, labels=pred, tail="two")
    check(det.models_[1].to_bytes() == ref.to_bytes(),
          "relu3's model is Model.fit(acts, labels=pred, tail='two')")
    check(det.models_[1].tail == "two" and len(det.models_[1].labels) == 10,
          "two-tailed, conditional on the 10 predicted classes")
    one = acthist.Detector(net, [mod], folds=3)  # a module, not a name
    check(one.layers == ["relu3"], "module resolved to its name")
    one.fit(loader)
    x = S["clean"][:200]
    with torch.no_grad():
        net.eval()
        px = net(x).argmax(1).numpy()
        ax = torch.relu(net.fc1(net.flat(net.pool2(net.relu2(net.conv2(
            net.pool1(net.relu1(net.conv1(x))))))))).numpy()
        net.train()
    want = ref.score(ax, labels=px).score
    check(np.allclose(one.decision_function(x), want, rtol=0, atol=1e-12),
          "one layer: decision_function = Model.score")
    check(np.array_equal(one.decision_from_activations({"relu3": ax}, px),
                         one.decision_function(x)),
          "decision_from_activations")


def test_save_load():
    det = S["det"]
    d = tempfile.mkdtemp(prefix="acthist-det-")
    det.save(d)
    check(sorted(os.listdir(d)) == ["calibration.npy", "detector.json",
                                    "layer0.ahm", "layer1.ahm"],
          str(os.listdir(d)))
    with open(os.path.join(d, "detector.json")) as f:
        meta = json.load(f)
    check(meta["format"] == "acthist-detector" and meta["version"] == 1 and
          meta["layers"] == ["pool1", "relu3"] and meta["fpr"] == FPR and
          meta["calibration"]["how"] == "cross-fit", str(meta))
    check(acthist.Model.load(os.path.join(d, "layer1.ahm")).to_bytes() ==
          det.models_[1].to_bytes(), "layer1.ahm is the model's file")
    back = acthist.Detector.load(d, S["net"])
    check(back.threshold_ == det.threshold_, "threshold kept")
    x = S["fgsm"][:300]
    check(np.array_equal(back.decision_function(x),
                         det.decision_function(x)), "same scores after load")
    bare = acthist.Detector.load(d)  # no network: activations only
    raises(lambda: bare.predict(x), ValueError, "without a network",
           "a loaded detector without a network")
    meta["version"] = 99
    with open(os.path.join(d, "detector.json"), "w") as f:
        json.dump(meta, f)
    raises(lambda: acthist.Detector.load(d), ValueError, "version 99",
           "a newer detector file")


def test_clean_calibration():
    """Calibrated on 1,000 other clean inputs instead of cross-fitting."""
    net, loader = S["net"], S["loader"]
    cal = [(S["cal"][i:i + 250],) for i in range(0, 1000, 250)]
    det = acthist.Detector(net, ["pool1"], fpr=FPR).fit(loader,
                                                        calibration=cal)
    check(det.calibration_ == {"how": "clean", "folds": None, "rows": 1000},
          str(det.calibration_))
    rc = det.predict(S["clean"]).mean()
    ra = det.predict(S["fgsm"]).mean()
    tol = 4 * np.sqrt(FPR * (1 - FPR) * (2 / 1000))
    print("test_detector: calibrated on 1,000 clean inputs (pool1): clean "
          "flag rate %.3f, FGSM %.3f" % (rc, ra))
    check(abs(rc - FPR) <= tol, "clean-calibrated flag rate %.3f +- %.3f"
          % (rc, tol))
    check(ra >= 4 * rc, "clean-calibrated FGSM flag rate %.3f" % ra)


def test_errors():
    net = S["net"]
    raises(lambda: acthist.Detector(net, ["fc9"]), ValueError, "no module "
           "named 'fc9'", "unknown layer")
    raises(lambda: acthist.Detector(net, []), ValueError, "at least one",
           "no layer")
    raises(lambda: acthist.Detector(net, ["relu3"], combine="mean"),
           ValueError, "combine", "unknown combination")
    raises(lambda: acthist.Detector(net, nn.ReLU()), ValueError,
           "not a module of the network", "foreign module")
    raises(lambda: acthist.Detector(net, ["relu3"]).predict(S["clean"]),
           ValueError, "not fitted", "predict before fit")
    raises(lambda: S["det"].decision_from_activations(
        {"pool1": np.zeros((2, 1352)), "relu3": np.zeros((2, 64))}),
        ValueError, "labels", "conditional without labels")


def test_cuda():
    if not torch.cuda.is_available():
        print("test_detector: no CUDA device, the GPU path is not tested")
        return
    net = S["net"].cuda()
    try:
        det = acthist.Detector(net, ["relu3"], folds=2).fit(
            [(x.cuda(), y) for x, y in S["loader"]])
        s = det.decision_function(S["clean"][:100].cuda().requires_grad_())
        check(s.shape == (100,), "CUDA inputs")
    finally:
        S["net"] = net.cpu()


if torch is None or not os.path.exists(
        os.path.join(DATA, "train-images-idx3-ubyte.gz")):
    print("test_detector: skipped: needs python3-torch and "
          "dataset-fashion-mnist (tools/install-deps.sh installs them)")
    print("test_detector: 0 passed, 0 failed")
    sys.exit(0)
S["net"], S["loader"], S["clean"], S["cal"], S["fgsm"] = setup()


def report_time():
    print("test_detector: %.1f s" % (time.time() - T0))


run("test_detector", [test_end_to_end, test_models_are_acthist_models,
                      test_save_load, test_clean_calibration, test_errors,
                      test_cuda, report_time])
