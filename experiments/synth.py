#!/usr/bin/python3
# Run with Debian's Python: /usr/bin/python3 experiments/synth.py
# Samples synthesized images from the VAE trained by train.py: z ~ N(0, I) with a
# fixed seed, image = sigmoid(decoder(z)) (the Bernoulli means, in [0,1]).
# Writes out/synth/images.npy (float32 (NSYNTH,1,28,28)), a preview grid
# out/synth/preview.png when PIL is available, and the predicted labels of each
# network into out/synth.json.
import os

import numpy as np

from common import OUT, SEEDS, NETS, load_net, log, models, net_path, predict, setup_torch, write_json

NSYNTH = 1000


def main():
    torch = setup_torch()
    vae = models()["vae"]()
    vae.load_state_dict(torch.load(net_path("vae"), map_location="cpu"))
    vae.eval()
    g = torch.Generator().manual_seed(SEEDS["synth"])
    z = torch.randn(NSYNTH, vae.zdim, generator=g)
    with torch.no_grad():
        x = torch.sigmoid(vae.decode_logits(z)).reshape(-1, 1, 28, 28).numpy().astype(np.float32)
    d = os.path.join(OUT, "synth")
    os.makedirs(d, exist_ok=True)
    np.save(os.path.join(d, "images.npy"), x)
    info = {"count": NSYNTH, "seed": SEEDS["synth"], "how": "z ~ N(0,I_16), image = sigmoid(decoder(z))",
            "mean_pixel": float(x.mean())}
    for net in NETS:
        p = predict(load_net(net), x)
        info[f"{net}_predicted_class_counts"] = np.bincount(p, minlength=10).tolist()
    write_json(os.path.join(OUT, "synth.json"), info)
    try:
        from PIL import Image
        grid = x[:100, 0].reshape(10, 10, 28, 28).transpose(0, 2, 1, 3).reshape(280, 280)
        Image.fromarray((grid * 255).round().astype(np.uint8)).save(os.path.join(d, "preview.png"))
    except ImportError:
        pass
    log(f"synth: {NSYNTH} images, predicted classes (cnn) {info['cnn_predicted_class_counts']}")


if __name__ == "__main__":
    main()
