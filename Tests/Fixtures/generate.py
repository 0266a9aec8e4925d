#!/usr/bin/env python3
"""Generates tokenscope's committed test fixtures with the reference implementations.

    pip install torch timm safetensors transformers pillow   # tested: torch 2.15, timm 1.0.31, transformers 5.24
    python3 Tests/Fixtures/generate.py

For each small random checkpoint (one per naming scheme and layout) it writes, under Tests/Fixtures/models/NAME/:
  model.safetensors   the checkpoint, as a user would have it (timm state_dict names, or HF save_pretrained output)
  config.json         only where the layout brings one (HF save_pretrained, timm hub style)
  preprocessor_config.json  HF fixtures only: image_mean/image_std, as HF hub repos ship them
  expected.safetensors
      input               [Cin, H, W]  the normalised input image fed to the model
      cls_attention.{i}   [H, N]       block i's CLS query row of the attention probabilities, per head
      block_out.{i}       [N, C]       block i's output tokens
      features            [C]          the final-norm CLS vector
      logits              [K]          classifier output (absent for headless models)
      (inputs at a second grid, to exercise position-embedding resampling, carry the suffix ".grid2")
and Tests/Fixtures/models/NAME/input.png (8-bit image whose preprocess-none tensor equals `input`) for CLI tests.

F16/BF16 copies store rounded weights; their expected outputs come from timm running those same rounded weights.
The HF fixtures' expected outputs come from transformers itself, and are cross-checked against timm running the
same weights renamed to timm's layout, so the name mapping is tested against both libraries.
"""
import json
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import timm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import methods_reference  # noqa: E402
from timm.models.vision_transformer import VisionTransformer
from timm.models.deit import VisionTransformerDistilled
from safetensors.torch import save_file, load_file
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)


def randomise(model, seed):
    """Random weights with enough spread that attention is far from uniform and LayerNorm affine terms matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma") or "lambda1" in name:  # LayerScale: non-trivial, not 1e-5
                p.copy_(0.5 + 0.5 * torch.rand(p.shape, generator=g))
            elif p.dim() == 1 and ("norm" in name or "layernorm" in name) and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g) if p.dim() > 1 else 0.1 * torch.randn(p.shape, generator=g))
    return model.eval()


def image_input(cin, h, w, mean, std, seed):
    """A random 8-bit image and its preprocess-none tensor ((v/255 - mean)/std in float32, as torchvision does)."""
    rng = np.random.default_rng(seed)
    # Smooth-ish content so attention has structure: a gradient plus noise.
    yy, xx = np.mgrid[0:h, 0:w]
    base = (yy * 255 / max(h - 1, 1) * 0.5 + xx * 255 / max(w - 1, 1) * 0.5)
    img = np.stack([(base + rng.normal(0, 60, (h, w)) + 40 * c) % 256 for c in range(cin)], axis=-1).astype(np.uint8)
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
    t = (t - torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)) / torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return img, t


def capture_timm(model, x):
    """Runs a timm ViT and returns per-block CLS attention rows, block outputs, features and logits."""
    attn, outs = {}, {}
    hooks = []
    for i, blk in enumerate(model.blocks):
        blk.attn.fused_attn = False
        hooks.append(blk.attn.attn_drop.register_forward_hook(
            lambda m, inp, out, i=i: attn.__setitem__(i, inp[0][0, :, 0, :].detach().clone())))
        hooks.append(blk.register_forward_hook(lambda m, inp, out, i=i: outs.__setitem__(i, out[0].detach().clone())))
    with torch.no_grad():
        feats = model.forward_features(x[None])
        logits = model.forward_head(feats) if model.num_classes > 0 else None
    for h in hooks:
        h.remove()
    result = {}
    for i in sorted(attn):
        result[f"cls_attention.{i}"] = attn[i]
        result[f"block_out.{i}"] = outs[i]
    result["features"] = feats[0, 0].clone()
    if logits is not None:
        result["logits"] = logits[0].clone()
    return result


def save_fixture(name, model_tensors, expected, metadata=None, config=None, png=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model_tensors.items()}, os.path.join(d, "model.safetensors"), metadata=metadata)
    save_file({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
    if config is not None:
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
    if png is not None:
        Image.fromarray(png if png.shape[2] == 3 else png[:, :, 0]).save(os.path.join(d, "input.png"))
    print(f"{name}: {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")


def timm_fixture(name, model, seed, metadata, grid2=None, dtype=None, config=None):
    randomise(model, seed)
    if dtype is not None:  # round the weights, then compute the reference from the rounded weights
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
    cin = model.patch_embed.proj.in_channels
    h, w = model.patch_embed.img_size
    mean = [float(v) for v in metadata.get("mean", "0.5,0.5,0.5").split(",")][:cin] if metadata else [0.485, 0.456, 0.406]
    std = [float(v) for v in metadata.get("std", "0.5,0.5,0.5").split(",")][:cin] if metadata else [0.229, 0.224, 0.225]
    png, x = image_input(cin, h, w, mean, std, seed)
    expected = capture_timm(model, x)
    expected["input"] = x
    if grid2 is not None:  # a second input size: timm resamples pos_embed (bicubic, antialias) on the fly
        model.dynamic_img_size = True
        model.patch_embed.strict_img_size = False
        model.patch_embed.flatten = False
        model.patch_embed.output_fmt = timm.layers.Format.NHWC
        _, x2 = image_input(cin, grid2[0], grid2[1], mean, std, seed + 1)
        e2 = capture_timm(model, x2)
        # Block outputs only at the native grid (size budget); CLS attention per block still covers every block here.
        expected.update({k + ".grid2": v for k, v in e2.items() if not k.startswith("block_out")})
        expected["input.grid2"] = x2
    sd = {k: (v.to(dtype) if dtype is not None else v) for k, v in model.state_dict().items()}
    save_fixture(name, sd, expected, metadata, config, png)
    if grid2 is not None:  # back to the native grid for the method references
        model.dynamic_img_size = False
        model.patch_embed.strict_img_size = True
        model.patch_embed.flatten = True
        model.patch_embed.output_fmt = timm.layers.Format.NCHW
    return model, x


def hf_to_timm(sd, prefix, dinov2=False):
    """Renames an HF ViT/DeiT/Dinov2 state dict to timm names (concatenating q, k, v)."""
    out = {}
    for k, v in sd.items():
        if not k.startswith(prefix):
            continue
        out[k[len(prefix):]] = v
    t = {}
    t["cls_token"] = out["embeddings.cls_token"]
    if "embeddings.distillation_token" in out:
        t["dist_token"] = out["embeddings.distillation_token"]
    t["pos_embed"] = out["embeddings.position_embeddings"]
    t["patch_embed.proj.weight"] = out["embeddings.patch_embeddings.projection.weight"]
    t["patch_embed.proj.bias"] = out["embeddings.patch_embeddings.projection.bias"]
    i = 0
    while f"encoder.layer.{i}.attention.attention.query.weight" in out:
        L = f"encoder.layer.{i}."
        n1, n2 = ("norm1", "norm2") if dinov2 else ("layernorm_before", "layernorm_after")
        for leaf in ("weight", "bias"):
            t[f"blocks.{i}.norm1.{leaf}"] = out[L + f"{n1}.{leaf}"]
            t[f"blocks.{i}.norm2.{leaf}"] = out[L + f"{n2}.{leaf}"]
            t[f"blocks.{i}.attn.qkv.{leaf}"] = torch.cat([out[L + f"attention.attention.{q}.{leaf}"] for q in ("query", "key", "value")])
            t[f"blocks.{i}.attn.proj.{leaf}"] = out[L + f"attention.output.dense.{leaf}"]
            t[f"blocks.{i}.mlp.fc1.{leaf}"] = out[L + (f"mlp.fc1.{leaf}" if dinov2 else f"intermediate.dense.{leaf}")]
            t[f"blocks.{i}.mlp.fc2.{leaf}"] = out[L + (f"mlp.fc2.{leaf}" if dinov2 else f"output.dense.{leaf}")]
        if dinov2:
            t[f"blocks.{i}.ls1.gamma"] = out[L + "layer_scale1.lambda1"]
            t[f"blocks.{i}.ls2.gamma"] = out[L + "layer_scale2.lambda1"]
        i += 1
    t["norm.weight"] = out["layernorm.weight"]
    t["norm.bias"] = out["layernorm.bias"]
    return t


def hf_fixture(name, hf_model, prefix, timm_model, seed, dinov2=False, heads=("classifier",), distilled=False):
    import transformers
    randomise(hf_model, seed)
    cfg = hf_model.config
    cin, size = cfg.num_channels, cfg.image_size
    png, x = image_input(cin, size, size, [0.5] * cin, [0.5] * cin, seed)
    with torch.no_grad():
        out = hf_model(pixel_values=x[None], output_attentions=True, output_hidden_states=True)
    expected = {"input": x}
    for i, a in enumerate(out.attentions):
        expected[f"cls_attention.{i}"] = a[0, :, 0, :]
        expected[f"block_out.{i}"] = out.hidden_states[i + 1][0]
    backbone = getattr(hf_model, prefix.rstrip("."))
    with torch.no_grad():
        seq = backbone(pixel_values=x[None]).last_hidden_state  # after the final layernorm
    expected["features"] = seq[0, 0]
    expected["logits"] = out.logits[0]
    # Save as a user would have it (save_pretrained writes the classic HF names), then cross-check: timm, running the
    # saved weights renamed to its layout, must agree with transformers.
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    hf_model.save_pretrained(d, safe_serialization=True)
    # HF hub repos ship the normalisation in preprocessor_config.json; tokenscope reads image_mean/image_std there.
    transformers.ViTImageProcessor(image_mean=[0.5] * cin, image_std=[0.5] * cin, size={"height": size, "width": size}).save_pretrained(d)
    for extra in os.listdir(d):
        if extra not in ("model.safetensors", "config.json", "preprocessor_config.json"):
            os.remove(os.path.join(d, extra))
    sd = load_file(os.path.join(d, "model.safetensors"))
    tsd = hf_to_timm(sd, prefix, dinov2)
    if distilled:
        tsd["head.weight"], tsd["head.bias"] = sd["cls_classifier.weight"], sd["cls_classifier.bias"]
        tsd["head_dist.weight"], tsd["head_dist.bias"] = sd["distillation_classifier.weight"], sd["distillation_classifier.bias"]
    elif not dinov2:
        tsd["head.weight"], tsd["head.bias"] = sd["classifier.weight"], sd["classifier.bias"]
    timm_model.load_state_dict(tsd, strict=True)
    timm_model.eval()
    t = capture_timm(timm_model, x)
    if not dinov2:  # HF Dinov2's classifier reads [cls, mean(patches)], which timm has no head for
        assert torch.allclose(t["logits"], expected["logits"], atol=1e-4), (name, (t["logits"] - expected["logits"]).abs().max())
    assert torch.allclose(t["features"], expected["features"], atol=1e-4), (name, (t["features"] - expected["features"]).abs().max())
    save_file({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
    Image.fromarray(png if cin == 3 else png[:, :, 0]).save(os.path.join(d, "input.png"))
    print(f"{name}: {sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))} bytes")
    return timm_model, x


# The method grid, recorded on every fixture checkpoint (small models: 3 blocks, so the reduction layers are
# 0-2 or 1-2 instead of the papers' 3/6/9 and 3-11).
METHOD_SPECS = [
    "tome:r=2", "tome:r=4",
    "evit:keep=0.7,layers=1/2", "evit:keep=0.7,layers=1/2,fuse=false",
    "evit:keep=0.5,layers=1/2", "evit:keep=0.5,layers=1/2,fuse=false",
    "idle:keep=0.7,layers=0-2", "idle:keep=0.5,layers=0-2",
    "mstm:keep=0.7,layers=1/2",
]
# Further options, on the grey 6x6-patch fixture only.
EXTRA_METHOD_SPECS = [
    "tome:r=4,prop=false", "tome:r=3,schedule=decreasing", "evit:keep=0.5,layers=0/2,fuse=false",
    "idle:keep=0.5,layers=1-2", "mstm:keep=0.5,layers=0/2,weight=size,prop=false",
]


def record_methods(name, model, x, specs):
    """Per-block partitions, states and sizes of every method spec, from the torch reference, in one file per fixture
    (methods.safetensors) with keys "SPEC|patch_token" [blocks, P], "SPEC|patch_state" [blocks, P],
    "SPEC|token_size" [blocks, N0] (zero-padded), "SPEC|features" and "SPEC|logits" (the outputs)."""
    tensors = {}
    for spec in specs:
        out = methods_reference.run(model.eval(), x, spec)
        depth = len(model.blocks)
        n0 = max(out[f"token_size.{i}"].numel() for i in range(depth))
        sizes = torch.zeros(depth, n0)
        for i in range(depth):
            sizes[i, : out[f"token_size.{i}"].numel()] = out[f"token_size.{i}"]
        tensors[f"{spec}|patch_token"] = torch.stack([out[f"patch_token.{i}"] for i in range(depth)])
        tensors[f"{spec}|patch_state"] = torch.stack([out[f"patch_state.{i}"] for i in range(depth)])
        tensors[f"{spec}|token_size"] = sizes
        tensors[f"{spec}|features"] = out["features"]
        if "logits" in out:
            tensors[f"{spec}|logits"] = out["logits"]
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, name, "methods.safetensors"))


def main():
    C, H, DEPTH = 32, 2, 3
    common = dict(embed_dim=C, depth=DEPTH, num_heads=H, mlp_ratio=4.0)
    half = "0.5,0.5,0.5"

    # 1. Plain timm ViT with a head; metadata carries the configuration. Also a second grid (resampled pos_embed).
    vit_meta = {"num_heads": str(H), "mean": half, "std": half, "input_size": "3,32,32", "labels": json.dumps([f"class {i}" for i in range(10)])}
    recorded = {}
    recorded["vit"] = timm_fixture("vit", VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), 1, vit_meta, grid2=(24, 40))
    # F16 and BF16 copies of the same architecture.
    recorded["vit_f16"] = timm_fixture("vit_f16", VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), 1, vit_meta, dtype=torch.float16)
    recorded["vit_bf16"] = timm_fixture("vit_bf16", VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), 1, vit_meta, dtype=torch.bfloat16)

    # 2. DeiT distilled (cls + dist tokens, head and head_dist averaged); configuration from a timm-hub config.json.
    deit_cfg = {"architecture": "deit_tiny_distilled_patch16_224", "num_classes": 10, "num_features": C,
                "model_args": {"num_heads": H},
                "pretrained_cfg": {"input_size": [3, 32, 32], "interpolation": "bicubic", "crop_pct": 0.875,
                                   "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}
    recorded["deit_distilled"] = timm_fixture("deit_distilled", VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, **common), 2,
                 None, config=deit_cfg)

    # 3. DINOv2-style: patch 14, LayerScale, no head, two register tokens (no_embed_class like timm's -reg variants);
    #    run at the native 56 px (4x4) and at 42 px (3x3: bicubic-antialias pos_embed resampling).
    dino_meta = {"num_heads": str(H), "mean": "0.485,0.456,0.406", "std": "0.229,0.224,0.225", "input_size": "3,56,56"}
    recorded["dinov2"] = timm_fixture("dinov2", VisionTransformer(img_size=56, patch_size=14, num_classes=0, init_values=1e-5, reg_tokens=2,
                                             no_embed_class=True, **common), 3, dino_meta, grid2=(42, 42))

    # 4. Grey single-channel model, like the bundled Fashion-MNIST one (patch 2).
    grey_meta = {"num_heads": str(H), "mean": "0.2860", "std": "0.3530", "input_size": "1,12,12"}
    recorded["grey_p2"] = timm_fixture("grey_p2", VisionTransformer(img_size=12, patch_size=2, in_chans=1, num_classes=10, **common), 4, grey_meta)

    # 5. Hugging Face names: ViT (layernorm_before/after, split q/k/v, eps 1e-12 from config.json), DeiT with teacher
    #    (cls/distillation classifiers), Dinov2 (norm1/2, layer_scale, classifier on [cls, mean patches]).
    from transformers import (ViTConfig, ViTForImageClassification, DeiTConfig, DeiTForImageClassificationWithTeacher,
                              Dinov2Config, Dinov2ForImageClassification)
    hf_common = dict(hidden_size=C, num_hidden_layers=DEPTH, num_attention_heads=H, intermediate_size=4 * C,
                     image_size=32, patch_size=8, num_labels=10, attn_implementation="eager")
    eps12 = partial(nn.LayerNorm, eps=1e-12)
    recorded["hf_vit"] = hf_fixture("hf_vit", ViTForImageClassification(ViTConfig(**hf_common)), "vit.",
               VisionTransformer(img_size=32, patch_size=8, num_classes=10, norm_layer=eps12, **common), 5)
    recorded["hf_deit"] = hf_fixture("hf_deit", DeiTForImageClassificationWithTeacher(DeiTConfig(**hf_common)), "deit.",
               VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, norm_layer=eps12, **common), 6,
               distilled=True)
    dcfg = Dinov2Config(hidden_size=C, num_hidden_layers=DEPTH, num_attention_heads=H, mlp_ratio=4, image_size=28,
                        patch_size=14, num_labels=10, attn_implementation="eager")
    recorded["hf_dinov2"] = hf_fixture("hf_dinov2", Dinov2ForImageClassification(dcfg), "dinov2.",
               VisionTransformer(img_size=28, patch_size=14, num_classes=0, init_values=1e-5, **common), 7, dinov2=True)

    for name, (model, x) in recorded.items():
        record_methods(name, model, x, METHOD_SPECS + (EXTRA_METHOD_SPECS if name == "grey_p2" else []))

    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
