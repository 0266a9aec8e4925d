#!/usr/bin/env python3
"""Checks tokenscope against timm on full-size random checkpoints (too big to commit): DeiT-S and a DINOv2-style
ViT-S/14 with LayerScale, each saved with safetensors.torch.save_file, through `tokenscope report --preprocess none`.

    pip install torch timm safetensors pillow
    swift build -c release
    python3 Tests/Fixtures/check_full_size.py [.build/release/tokenscope]

Prints max |a-b| / max(1, max|b|) for the final features and logits (the foundation issue's tolerance is 1e-4) and
the wall time of the report command.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import timm
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import methods_reference  # noqa: E402

STATES = ["kept", "merged", "fused", "pruned", "idle"]

BINARY = sys.argv[1] if len(sys.argv) > 1 else ".build/release/tokenscope"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def check(name, model, seed, tmp):
    torch.manual_seed(seed)
    with torch.no_grad():  # LayerScale starts at 1e-5 in timm; make it matter
        for n, p in model.named_parameters():
            if n.endswith("gamma"):
                p.uniform_(0.5, 1.0)
    model.eval()
    path = os.path.join(tmp, f"{name}.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    png = os.path.join(tmp, f"{name}.png")
    Image.fromarray(img).save(png)
    x = torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
    x = (x - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    with torch.no_grad():
        feats = model.forward_features(x[None])
        logits = model.forward_head(feats) if model.num_classes else None
    start = time.time()
    out = subprocess.run([BINARY, "report", png, "--model", path, "--preprocess", "none", "--format", "json"],
                         capture_output=True, text=True, check=True)
    elapsed = time.time() - start
    report = json.loads(out.stdout)

    def diff(a, b):
        a, b = np.array(a, dtype=np.float64), b.double().numpy()
        return float(np.abs(a - b).max() / max(1.0, np.abs(b).max()))

    line = f"{name}: {os.path.getsize(path) / 1e6:.1f} MB, features {diff(report['cls_features'], feats[0, 0]):.2e}"
    if logits is not None:
        line += f", logits {diff(report['logits'], logits[0]):.2e}"
        line += f", top-1 {report['top5'][0]['index']} vs timm {int(logits[0].argmax())}"
    line += f", report wall {elapsed:.2f} s"
    print(line)
    # Token methods on the full-size model: tokenscope's per-layer token counts and partitions against the torch
    # reference (methods_reference.py), and the reference's counts against the articles' worked figures.
    for spec in ["tome:r=13", "evit:keep=0.7", "evit:keep=0.5,fuse=false", "idle:keep=0.7", "mstm:keep=0.7"]:
        out = subprocess.run([BINARY, "report", png, "--model", path, "--preprocess", "none", "--method", spec, "--format", "json"],
                             capture_output=True, text=True, check=True)
        layers = json.loads(out.stdout)["layers"]
        ref = methods_reference.run(model, x, spec)
        same = all(layer["patch_token"] == [int(v) for v in ref[f"patch_token.{i}"]] and
                   layer["patch_state"] == [STATES[int(v)] for v in ref[f"patch_state.{i}"]] for i, layer in enumerate(layers))
        counts = [layer["tokens_out"] for layer in layers]
        if spec.startswith("idle"):
            counts = [sum(s != "idle" for s in layer["patch_state"]) for layer in layers]
        print(f"  {spec}: tokens per block {counts}, partitions and states equal to the reference: {same}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check("deit_s", timm.create_model("deit_small_patch16_224", pretrained=False), 0, tmp)
        check("vit_s14_dinov2", timm.create_model("vit_small_patch14_dinov2", pretrained=False, img_size=224, num_classes=0), 1, tmp)


if __name__ == "__main__":
    main()
