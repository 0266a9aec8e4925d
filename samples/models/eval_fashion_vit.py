#!/usr/bin/env python3
"""Re-check the shipped sample model: load fashion-vit.safetensors into timm and
print Fashion-MNIST test top-1 at the 7x7, 10x10 and 14x14 token grids.

    python3 samples/models/eval_fashion_vit.py [--weights PATH] [--data-dir DIR]

The architecture is read from the file itself (width from cls_token, depth from
the block count, patch size from patch_embed, heads/mean/std/input size from
the safetensors metadata).  14 and 20 px inputs are made from the 28x28 uint8
test images with PIL bicubic, then normalised with the metadata mean/std; timm
resamples the position embedding (bicubic) because the model is built with
dynamic_img_size=True.
"""
import argparse
import gzip
import json
import os
import re

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer

HERE = os.path.dirname(os.path.abspath(__file__))


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = int.from_bytes(raw[:4], "big") & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=os.path.join(HERE, "fashion-vit.safetensors"))
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=500)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with safe_open(args.weights, "pt") as f:
        meta = f.metadata()
    sd = load_file(args.weights)
    assert all(v.dtype == torch.float32 for v in sd.values()), "expected all-F32 tensors"
    width = sd["cls_token"].shape[-1]
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
    patch = sd["patch_embed.proj.weight"].shape[-1]
    c, h, w = (int(v) for v in meta["input_size"].split(","))
    heads = int(meta["num_heads"])
    mean = [float(v) for v in meta["mean"].split(",")]
    std = [float(v) for v in meta["std"].split(",")]
    labels = json.loads(meta["labels"])
    eps = float(meta["layer_norm_eps"])
    print(f"weights: {args.weights} ({os.path.getsize(args.weights)} bytes, {len(sd)} tensors)")
    print(f"metadata: {json.dumps(meta, indent=1)}")
    assert abs(eps - 1e-6) < 1e-12, "timm's ViT LayerNorm eps is 1e-6"

    model = VisionTransformer(
        img_size=(h, w), patch_size=patch, in_chans=c, num_classes=len(labels),
        global_pool="token", embed_dim=width, depth=depth, num_heads=heads,
        class_token=True, no_embed_class=False, init_values=None, dynamic_img_size=True)
    model.load_state_dict(sd, strict=True)
    model.eval()
    print(f"model: timm VisionTransformer width {width}, depth {depth}, heads {heads}, "
          f"patch {patch}, {sum(p.numel() for p in model.parameters())} params")

    x = load_idx(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"))
    y = torch.from_numpy(load_idx(os.path.join(args.data_dir, "t10k-labels-idx1-ubyte.gz"))
                         .astype(np.int64))
    results = []
    for size in (h // 2, (h * 5) // 7, h):          # 14, 20, 28 px for a 28 px model
        if size == h:
            xs = x.copy()
        else:
            xs = np.stack([np.asarray(Image.fromarray(im).resize((size, size), Image.BICUBIC))
                           for im in x])
        t = torch.from_numpy(xs).float().div_(255.0).unsqueeze(1)
        t = (t - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
        correct = 0
        per_class = torch.zeros(len(labels))
        with torch.inference_mode():
            for i in range(0, len(t), args.batch):
                pred = model(t[i:i + args.batch]).argmax(1)
                ok = pred == y[i:i + args.batch]
                correct += int(ok.sum())
                per_class.index_add_(0, y[i:i + args.batch], ok.float())
        g = size // patch
        acc = 100.0 * correct / len(t)
        results.append((g, acc))
        worst = ", ".join(f"{labels[k]} {100 * per_class[k] / 1000:.1f}%"
                          for k in per_class.argsort()[:3].tolist())
        print(f"{g}x{g} grid ({size} px, {g * g} patch tokens): test top-1 {acc:.2f}% "
              f"({correct}/{len(t)}); weakest classes: {worst}")
    print("accuracy: test top-1: " + ", ".join(f"{g}x{g} {a:.2f}%" for g, a in reversed(results)))
    print(f"metadata accuracy: {meta.get('accuracy')}")


if __name__ == "__main__":
    main()
