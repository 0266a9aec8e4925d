#!/usr/bin/env python3
"""Export samples/images/fashion/*.png: two Fashion-MNIST TEST images per class.

Rule: for each class, the first two test images (in test-set order) that the
shipped model (samples/models/fashion-vit.safetensors) classifies correctly at
all three token grids (7x7, 10x10 and 14x14; 14 and 20 px made with PIL bicubic).
Images are written unchanged as 28x28 8-bit grey PNG (mode "L"), and the chosen
test-set indices are printed and written to fashion/INDEX.txt.

    python3 samples/images/make_fashion_samples.py
"""
import json
import os
import re
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from eval_fashion_vit import load_idx  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402

WEIGHTS = os.path.join(HERE, "..", "models", "fashion-vit.safetensors")
DATA = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(HERE, "fashion")


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def main():
    torch.set_num_threads(2)
    with safe_open(WEIGHTS, "pt") as f:
        meta = f.metadata()
    sd = load_file(WEIGHTS)
    labels = json.loads(meta["labels"])
    mean, std = float(meta["mean"]), float(meta["std"])
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
    model = VisionTransformer(
        img_size=28, patch_size=sd["patch_embed.proj.weight"].shape[-1], in_chans=1,
        num_classes=len(labels), global_pool="token", embed_dim=sd["cls_token"].shape[-1],
        depth=depth, num_heads=int(meta["num_heads"]), dynamic_img_size=True)
    model.load_state_dict(sd)
    model.eval()

    x = load_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz"))
    y = load_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    ok = np.ones(len(x), bool)
    with torch.inference_mode():
        for size in (14, 20, 28):
            xs = x if size == 28 else np.stack(
                [np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC)) for im in x])
            t = (torch.from_numpy(xs).float().div(255.0).unsqueeze(1) - mean) / std
            pred = torch.cat([model(t[i:i + 500]).argmax(1) for i in range(0, len(t), 500)])
            ok &= pred.numpy() == y

    os.makedirs(OUT, exist_ok=True)
    lines = []
    for c, name in enumerate(labels):
        idx = np.flatnonzero((y == c) & ok)[:2]
        for k, i in enumerate(idx, 1):
            fn = f"{slug(name)}-{k}.png"
            Image.fromarray(x[i]).save(os.path.join(OUT, fn))
            lines.append(f"{fn}\ttest index {i}\tlabel {c} ({name})")
    with open(os.path.join(OUT, "INDEX.txt"), "w") as f:
        f.write("file\tFashion-MNIST test-set index (0-based, t10k order)\tlabel\n")
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
