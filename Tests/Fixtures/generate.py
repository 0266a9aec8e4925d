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

methods.safetensors (every fixture; float32; SPEC is the exact method spec string, see METHOD_SPECS):
      SPEC|patch_token    [blocks, P]   per block, the token holding each patch (-1 if none)
      SPEC|patch_state    [blocks, P]   per block, each patch's state (0 kept, 1 merged, 2 fused, 3 pruned, 4 idle)
      SPEC|token_size     [blocks, N0]  per block, each token's size (zero-padded to the widest block)
      SPEC|features       [C]           final-norm CLS vector
      SPEC|logits         [K]           classifier output (absent for headless models)
      SPEC|cluster        [blocks, P]   ClusTR specs only: each patch's cluster id (0..M-1, centre-rank order) per
                                        block, -1 in blocks that run normal attention
  and, on vit, deit_distilled (S = "dvt:grids=2/3/4,thresholds=0.5/0.6") and grey_p2
  (S = "dvt:grids=3/4/6,thresholds=0.5/0.6"), the DVT resolution cascade emulated with the one model, per stage s
  with grid g (no patch_token keys, so the method parity tests skip it):
      S|stage{s}.input    [Cin, g*p, g*p]  input.png resized by PIL Image.resize(BICUBIC) (the native stage: not
                                           resized), then /255 and (t - mean)/std as `input`
      S|stage{s}.logits   [K]              timm's logits on it (pos_embed resampled as for ".grid2": bicubic, antialias)
      S|stage{s}.features [C]              timm's final-norm CLS vector on it

upvit_importance.json and upvit.safetensors (vit, deit_distilled, vit_ls, grey_p2): UP-ViT single-channel KL-ablation
  importance and the logits/features/parameter counts of models sliced from it; formats in upvit_reference.py.

Every safetensors file is rewritten only when its tensors or metadata change: safetensors writes the metadata map in
an arbitrary order, so an unconditional rewrite would churn committed bytes.

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
import upvit_reference  # noqa: E402
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


def same_safetensors(a, b):
    """True when two safetensors files hold equal headers (as JSON: metadata order aside) and equal data bytes."""
    def parts(path):
        with open(path, "rb") as f:
            raw = f.read()
        n = int.from_bytes(raw[:8], "little")
        return json.loads(raw[8:8 + n]), raw[8 + n:]
    return parts(a) == parts(b)


def write_safetensors(tensors, path, metadata=None):
    """save_file, keeping an existing file whose content is the same (see the module docstring)."""
    tmp = path + ".tmp"
    save_file(tensors, tmp, metadata=metadata)
    if os.path.exists(path) and same_safetensors(path, tmp):
        os.remove(tmp)
    else:
        os.replace(tmp, path)


def fixture_norm(metadata, cin):
    """The normalisation mean/std a fixture's input uses (metadata strings, else ImageNet's)."""
    mean = [float(v) for v in metadata.get("mean", "0.5,0.5,0.5").split(",")][:cin] if metadata else [0.485, 0.456, 0.406]
    std = [float(v) for v in metadata.get("std", "0.5,0.5,0.5").split(",")][:cin] if metadata else [0.229, 0.224, 0.225]
    return mean, std


NORMS = {}  # fixture name -> (mean, std), for the DVT and UP-ViT records


def set_dynamic(model, on):
    """timm's dynamic image size: pos_embed resampled on the fly (bicubic, antialias) for inputs off the native grid."""
    model.dynamic_img_size = on
    model.patch_embed.strict_img_size = not on
    model.patch_embed.flatten = not on
    model.patch_embed.output_fmt = timm.layers.Format.NHWC if on else timm.layers.Format.NCHW


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
    write_safetensors({k: v.contiguous() for k, v in model_tensors.items()}, os.path.join(d, "model.safetensors"), metadata=metadata)
    write_safetensors({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
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
    mean, std = fixture_norm(metadata, cin)
    NORMS[name] = (mean, std)
    png, x = image_input(cin, h, w, mean, std, seed)
    expected = capture_timm(model, x)
    expected["input"] = x
    if grid2 is not None:  # a second input size: timm resamples pos_embed (bicubic, antialias) on the fly
        set_dynamic(model, True)
        _, x2 = image_input(cin, grid2[0], grid2[1], mean, std, seed + 1)
        e2 = capture_timm(model, x2)
        # Block outputs only at the native grid (size budget); CLS attention per block still covers every block here.
        expected.update({k + ".grid2": v for k, v in e2.items() if not k.startswith("block_out")})
        expected["input.grid2"] = x2
    sd = {k: (v.to(dtype) if dtype is not None else v) for k, v in model.state_dict().items()}
    save_fixture(name, sd, expected, metadata, config, png)
    if grid2 is not None:  # back to the native grid for the method references
        set_dynamic(model, False)
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
    write_safetensors({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
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
    "clustr:clusters=5,k=3,layers=0-2", "clustr:clusters=8,k=5,layers=1/2",
]
# Further options, on the grey 6x6-patch fixture only.
EXTRA_METHOD_SPECS = [
    "tome:r=4,prop=false", "tome:r=3,schedule=decreasing", "evit:keep=0.5,layers=0/2,fuse=false",
    "idle:keep=0.5,layers=1-2", "mstm:keep=0.5,layers=0/2,weight=size,prop=false",
    "clustr:clusters=12,k=5,layers=all", "clustr:clusters=4,k=2,layers=0/2",
]
# DVT's resolution cascade with one model (TokenMethods.docc/DVT.md): the spec string and its grids, per fixture.
DVT_SPECS = {
    "vit": ("dvt:grids=2/3/4,thresholds=0.5/0.6", [2, 3, 4]),
    "deit_distilled": ("dvt:grids=2/3/4,thresholds=0.5/0.6", [2, 3, 4]),
    "grey_p2": ("dvt:grids=3/4/6,thresholds=0.5/0.6", [3, 4, 6]),
}
UPVIT_FIXTURES = ["vit", "deit_distilled", "vit_ls", "grey_p2"]


@torch.no_grad()
def record_dvt(name, model, spec, grids):
    """DVT stage inputs and timm's outputs on them (see the module docstring)."""
    cin = model.patch_embed.proj.in_channels
    p = model.patch_embed.patch_size[0]
    native = model.patch_embed.grid_size[0]
    mean, std = NORMS[name]
    image = Image.open(os.path.join(OUT, name, "input.png"))
    image.load()
    out = {}
    set_dynamic(model, True)
    for s, g in enumerate(grids):
        img = image if g == native else image.resize((g * p, g * p), Image.BICUBIC)
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[:, :, None]
        t = torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255.0
        t = (t - torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)) / torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        assert t.shape == (cin, g * p, g * p)
        feats = model.forward_features(t[None])
        out[f"{spec}|stage{s}.input"] = t
        out[f"{spec}|stage{s}.features"] = feats[0, 0].clone()
        out[f"{spec}|stage{s}.logits"] = model.forward_head(feats)[0].clone()
    set_dynamic(model, False)
    return out


def record_upvit(name, model, x):
    """UP-ViT importance (upvit_importance.json) and pruned-model outputs (upvit.safetensors)."""
    cin = model.patch_embed.proj.in_channels
    h, w = model.patch_embed.img_size
    mean, std = NORMS[name]
    calib = torch.stack([image_input(cin, h, w, mean, std, seed)[1] for seed in range(100, 104)])
    tensors = upvit_reference.record(model, x, calib, os.path.join(OUT, name))
    write_safetensors({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, name, "upvit.safetensors"))


def record_run(tensors, spec, out, depth):
    """Adds one reference run's records to `tensors` under "SPEC|...": per block the partition, patch states and token
    sizes (zero-padded to the longest block), then the final features and logits."""
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


def record_methods(name, model, x, specs, extra=None):
    """Per-block partitions, states and sizes of every method spec, from the torch reference, in one file per fixture
    (methods.safetensors) with keys "SPEC|patch_token" [blocks, P], "SPEC|patch_state" [blocks, P],
    "SPEC|token_size" [blocks, N0] (zero-padded), "SPEC|features" and "SPEC|logits" (the outputs), "SPEC|cluster"
    [blocks, P] for ClusTR; `extra` tensors (the DVT records) are added as they are."""
    tensors = dict(extra or {})
    for spec in specs:
        out = methods_reference.run(model.eval(), x, spec)
        depth = len(model.blocks)
        record_run(tensors, spec, out, depth)
        if "cluster.0" in out:
            tensors[f"{spec}|cluster"] = torch.stack([out[f"cluster.{i}"] for i in range(depth)])
    write_safetensors({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, name, "methods.safetensors"))


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

    # 6. LayerScale without registers, for UP-ViT's gamma slicing (built last: model construction draws from the
    #    global RNG, so the fixtures above are unchanged).
    ls_meta = dict(vit_meta)
    recorded["vit_ls"] = timm_fixture("vit_ls", VisionTransformer(img_size=32, patch_size=8, num_classes=10, init_values=1e-5, **common), 8, ls_meta)

    for name, (model, x) in recorded.items():
        extra = record_dvt(name, model, *DVT_SPECS[name]) if name in DVT_SPECS else None
        record_methods(name, model, x, METHOD_SPECS + (EXTRA_METHOD_SPECS if name == "grey_p2" else []), extra)
    for name in UPVIT_FIXTURES:
        record_upvit(name, *recorded[name])

    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"total: {total} bytes")


if __name__ == "__main__":
    main()
