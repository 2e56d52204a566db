#!/usr/bin/env python3
"""detect.py - the bundled real activations end to end from Python: fit a
detector on clean background activations, score clean and attacked inputs,
print the detection power of each configuration.

The bundled set (data/MANIFEST.md) is the last hidden layer (128 ReLU
nodes) of a CNN trained on Fashion-MNIST, with each input's predicted
class.  The paper's default (upper tail, one pooled background) ranks the
attacked inputs *below* the clean ones here; comparing each input with the
background of its own predicted class, in the lower tail, is what detects
them (README, "What it finds").

    PYTHONPATH=python python3 examples/detect.py [DATA_DIR]

Runs on Debian's /usr/bin/python3 or any Python with NumPy; the library is
build/libacthist.so (or ACTHIST_LIBRARY).  Prints one JSON object.
"""
import json
import os
import sys

import numpy as np

import acthist


def load(data, name):
    return np.load(os.path.join(data, name))


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data")
    bg, bgl = load(data, "background.npy"), load(data, "background_labels.npy")
    clean, cl = load(data, "clean.npy"), load(data, "clean_labels.npy")
    sets = {name: (load(data, name + ".npy"), load(data, name + "_labels.npy"))
            for name in ("fgsm_eps10", "pgd_eps10", "cw_l2", "synth")}

    out = {}
    pooled = acthist.Model.fit(bg)
    conditional = acthist.Model.fit(bg, labels=bgl)
    for name, model, tail, labelled in (
            ("pooled upper (the paper's default)", pooled, "upper", False),
            ("conditional lower", conditional, "lower", True),
            ("conditional two", conditional, "two", True),
            ("conditional both", conditional, "both", True)):
        def scores(x, lab):
            return model.score(x, labels=lab if labelled else None,
                               tail=tail).score
        c = scores(clean, cl)
        out[name] = {s: round(acthist.auc(c, scores(x, lab)), 4)
                     for s, (x, lab) in sets.items()}
    out["model bytes"] = {"pooled": len(pooled.to_bytes()),
                          "conditional": len(conditional.to_bytes()),
                          "raw background (float32)": bg.size * 4}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
