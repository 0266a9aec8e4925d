#!/usr/bin/env python3
"""Torch references for tokenscope's VisionZip and DToMe (DyMU), run block by block on the committed fixture models.

    python3 Tests/Fixtures/vlm_reference.py      # after generate.py; torch 2.15, timm 1.0.31

These references were written in this project from the method specification (the VisionZip and DToMe articles in
Sources/TokenMethods/TokenMethods.docc), after reading the official code (dvlab-research/VisionZip @3151f6d:
visionzip/clip_encoder.py, utils.py, main.py; MikeWangWZHL/dymu @c57d75a: src/open_clip/tome.py,
src/open_clip_train/threshold_finder.py). They are not the official code: they restate its arithmetic for one image
on a timm VisionTransformer, with the choices the articles list (prefix tokens, stable orders, ties).

Every fixture model (Tests/Fixtures/models/NAME/model.safetensors) is loaded into timm exactly as generate.py builds it,
and run on that fixture's expected.safetensors "input". Output, per fixture: Tests/Fixtures/models/NAME/vlm.safetensors
(float32), with SPEC the exact method spec string:
    SPEC|patch_token  [blocks, P]   per block, the token holding each patch (-1 if none)
    SPEC|patch_state  [blocks, P]   0 kept, 1 merged, 2 fused, 3 pruned, 4 idle
    SPEC|token_size   [blocks, N0]  per block, each token's size (zero-padded)
    SPEC|features     [C]           final-norm CLS vector
    SPEC|logits       [K]           classifier output (absent for headless models)
  and DToMe calibrations, with CAL = "calibrate:r_total=R,schedule=S,batch=B" on the five calibration images below:
    CAL|thresholds    [blocks]      the calibrated thresholds (1 where r_l = 0)
    CAL|mean_tokens   [blocks]      mean tokens leaving each block over the five images
    CAL|r             [blocks]      the schedule

Calibration images (reproducible without storing them): the fixture input x [C, H, W]; x flipped left-right; x flipped
top-bottom; x rolled by one patch down and two patches right (torch.roll); x flipped both ways.

Decisions are checked for clear margins in float32 (the script stops otherwise): VisionZip's top-k cut and every
contextual assignment, and DToMe's threshold comparisons at inference (the inference specs use the calibrated
thresholds rounded to three decimals, nudged until no similarity lies within 1e-4 of them). Calibration thresholds
are compared with a tolerance (they are means of similarities), the token counts exactly.
"""
import math
import os
import sys
from functools import partial

import torch
import torch.nn as nn
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer
from timm.models.deit import VisionTransformerDistilled

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402  (hf_to_timm, write_safetensors; importing it runs nothing)
from methods_reference import Tracker, attention, mlp, tome_merge, MERGED, PRUNED  # noqa: E402

OUT = os.path.join(HERE, "models")
C, H, DEPTH = 32, 2, 3
common = dict(embed_dim=C, depth=DEPTH, num_heads=H, mlp_ratio=4.0)
eps12 = partial(nn.LayerNorm, eps=1e-12)

# name -> (timm constructor as generate.py calls it, HF prefix or None, HF flavour)
FIXTURES = {
    "vit": (lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), None, None),
    "vit_f16": (lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), None, None),
    "vit_bf16": (lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **common), None, None),
    "deit_distilled": (lambda: VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, **common), None, None),
    "dinov2": (lambda: VisionTransformer(img_size=56, patch_size=14, num_classes=0, init_values=1e-5, reg_tokens=2,
                                         no_embed_class=True, **common), None, None),
    "grey_p2": (lambda: VisionTransformer(img_size=12, patch_size=2, in_chans=1, num_classes=10, **common), None, None),
    "hf_vit": (lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, norm_layer=eps12, **common), "vit.", "vit"),
    "hf_deit": (lambda: VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, norm_layer=eps12, **common),
                "deit.", "deit"),
    "hf_dinov2": (lambda: VisionTransformer(img_size=28, patch_size=14, num_classes=0, init_values=1e-5, **common),
                  "dinov2.", "dinov2"),
    "vit_ls": (lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, init_values=1e-5, **common), None, None),
}


def load_fixture(name):
    make, prefix, flavour = FIXTURES[name]
    model = make()
    sd = load_file(os.path.join(OUT, name, "model.safetensors"))
    if prefix is not None:
        tsd = generate.hf_to_timm(sd, prefix, flavour == "dinov2")
        if flavour == "deit":
            tsd["head.weight"], tsd["head.bias"] = sd["cls_classifier.weight"], sd["cls_classifier.bias"]
            tsd["head_dist.weight"], tsd["head_dist.bias"] = sd["distillation_classifier.weight"], sd["distillation_classifier.bias"]
        elif flavour == "vit":
            tsd["head.weight"], tsd["head.bias"] = sd["classifier.weight"], sd["classifier.bias"]
        sd = tsd
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    x = load_file(os.path.join(OUT, name, "expected.safetensors"))["input"]
    return model.eval(), x


def calibration_images(x, patch):
    return [x, x.flip(-1), x.flip(-2), torch.roll(x, shifts=(patch, 2 * patch), dims=(1, 2)), x.flip(-1).flip(-2)]


def embed(model, x):
    t = model._pos_embed(model.patch_embed(x[None]))
    return t, torch.ones(1, t.shape[1])


def record(out, i, t, size, tracker):
    out[f"patch_token.{i}"] = tracker.token.clone().float()
    out[f"patch_state.{i}"] = tracker.state.clone().float()
    out[f"token_size.{i}"] = size[0].clone()


def finish(model, t, out):
    feats = model.norm(t)
    out["features"] = feats[0, 0].clone()
    if model.num_classes:
        out["logits"] = model.forward_head(feats)[0].clone()
    return out


# ---------------------------------------------------------------------------------------------------------------- VisionZip

def visionzip_compress(x, size, attn, k, dominant, contextual, prefix, score, tracker):
    """VisionZip.md: the block output x [1, N, C], the block's probabilities attn [1, H, N, N] and keys k [1, H, N, d]."""
    N = x.shape[1]
    heads = attn.shape[1]
    if score == "cls":
        s = attn[0, :, 0, :].sum(dim=0)  # the CLS query row, summed over heads
    else:
        s = attn[0].sum(dim=(0, 1)) / (heads * N)  # mean attention received over every row and head
    kd = dominant - prefix
    order = torch.sort(s[prefix:], descending=True, stable=True).indices + prefix
    if kd < len(order):  # the cut must be clear in float32
        gap = float(s[order[kd - 1]] - s[order[kd]]) if kd > 0 else math.inf
        assert gap > 1e-6, f"VisionZip: top-k cut within {gap}"
    dom = torch.sort(order[:kd]).values
    rem = torch.sort(order[kd:]).values
    R = len(rem)
    new_index = [-1] * N
    fate = [None] * N
    for t in range(prefix):
        new_index[t] = t
    for i, t in enumerate(dom.tolist()):
        new_index[t] = prefix + i
    kept = prefix + kd
    parts = [x[:, :prefix], x[:, dom]]
    sizes = [size[:, :prefix], size[:, dom]]
    if contextual == 0:
        for t in rem.tolist():
            fate[t] = PRUNED
        tracker.remap(new_index, fate)
        return torch.cat(parts, dim=1), torch.cat(sizes, dim=1)
    metric = k.mean(dim=1)[0][rem]  # head-mean raw keys of the remaining tokens
    metric = metric / metric.norm(dim=-1, keepdim=True)
    step = max(1, R // contextual)
    tpos = torch.arange(0, R, step)[:contextual]
    others = torch.tensor([p for p in range(R) if p not in set(tpos.tolist())], dtype=torch.long)
    assign = torch.zeros(0, dtype=torch.long)
    if len(others):
        sim = metric[others] @ metric[tpos].T
        top2 = torch.topk(sim, min(2, len(tpos)), dim=1).values
        if len(tpos) > 1:
            margin = float((top2[:, 0] - top2[:, 1]).min())
            assert margin > 1e-6, f"VisionZip: assignment within {margin}"
        assign = sim.argmax(dim=1)
    one_hot = torch.zeros(len(others), len(tpos))
    one_hot[torch.arange(len(others)), assign] = 1
    counts = one_hot.sum(dim=0).clamp(min=1)
    agg = (one_hot.T @ x[0, rem[others]]) / counts[:, None]
    ctx = x[0, rem[tpos]] + agg
    ctx_size = torch.zeros(len(tpos))
    for j, p in enumerate(tpos.tolist()):
        t = int(rem[p])
        new_index[t] = kept + j
        fate[t] = MERGED
        ctx_size[j] += size[0, t]
    for o, j in zip(others.tolist(), assign.tolist()):
        t = int(rem[o])
        new_index[t] = kept + j
        fate[t] = MERGED
        ctx_size[j] += size[0, t]
    tracker.remap(new_index, fate)
    return torch.cat(parts + [ctx[None]], dim=1), torch.cat(sizes + [ctx_size[None]], dim=1)


@torch.no_grad()
def run_visionzip(model, x, spec):
    p = dict(kv.split("=") for kv in spec.split(":")[1].split(","))
    dominant, contextual, layer, score = int(p["dominant"]), int(p["contextual"]), int(p["layer"]), p["score"]
    depth = len(model.blocks)
    block = layer if layer >= 0 else depth + layer
    prefix = model.num_prefix_tokens
    t, size = embed(model, x)
    tracker = Tracker(prefix, t.shape[1] - prefix)
    out = {}
    for i, blk in enumerate(model.blocks):
        t, attn, k = attention(blk, t)  # no size bias: VisionZip has none
        t = mlp(blk, t)
        if i == block:
            t, size = visionzip_compress(t, size, attn, k, dominant, contextual, prefix, score, tracker)
        record(out, i, t, size, tracker)
    return finish(model, t, out)


def visionzip_specs(patches, prefix):
    q = max(1, patches // 4)
    return [
        f"visionzip:dominant={prefix + q},contextual={max(1, patches // 8)},layer=-2,score=cls",
        f"visionzip:dominant={prefix + max(1, patches // 3)},contextual={max(1, patches // 6)},layer=0,score=mean",
        f"visionzip:dominant={prefix + patches // 2},contextual=0,layer=1,score=cls",
        f"visionzip:dominant={prefix + q + 1},contextual={min(2, patches - q - 1)},layer=-1,score=cls",
    ]


# ------------------------------------------------------------------------------------------------------------------ DToMe

def best_matches(k, prefix):
    """ToMe's bipartite scores (methods_reference.tome_merge's): per A row, the best B similarity (-inf: prefix) and
    its B index."""
    N = k.shape[2]
    metric = k.mean(dim=1)[0]
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a_idx, b_idx = torch.arange(0, N, 2), torch.arange(1, N, 2)
    scores = metric[a_idx] @ metric[b_idx].T
    scores[a_idx < prefix, :] = -math.inf
    scores[:, b_idx < prefix] = -math.inf
    return scores.max(dim=-1)


@torch.no_grad()
def run_dymu(model, x, thresholds, prop):
    """DToMe.md inference: in every block with a threshold below 1 and something to merge, merge the A tokens whose
    best match is strictly above the threshold (capped at half the non-prefix tokens), as ToMe merges r."""
    prefix = model.num_prefix_tokens
    t, size = embed(model, x)
    tracker = Tracker(prefix, t.shape[1] - prefix)
    out = {}
    margins = []
    for i, blk in enumerate(model.blocks):
        t, attn, k = attention(blk, t, size, prop)
        N = t.shape[1]
        cap = (N - prefix) // 2
        if thresholds[i] < 1 and cap >= 1:
            best = best_matches(k, prefix).values
            finite = best[torch.isfinite(best)]
            margins.append(float((finite - thresholds[i]).abs().min()))
            r = min(int((best > thresholds[i]).sum()), cap)
            t, size = tome_merge(t, size, k, r, prefix, tracker)
        t = mlp(blk, t)
        record(out, i, t, size, tracker)
    return finish(model, t, out), min(margins) if margins else math.inf


def merge_eps(x, size, k, r, prefix, eps):
    """tome_merge with the calibration's divisor: Σ σx / (Σ σ + eps) (the official batch path's epsilon), in ToMe's
    order even when r is 0 (the batch path always rebuilds [A, B])."""
    N = x.shape[1]
    best, node_idx = best_matches(k, prefix)
    a_idx, b_idx = torch.arange(0, N, 2), torch.arange(1, N, 2)
    order = torch.sort(best, descending=True, stable=True).indices
    order = order[a_idx[order] >= prefix]
    src = set(order[:r].tolist())
    new_index = [-1] * N
    nxt = 0
    for t in range(prefix):
        new_index[t] = nxt
        nxt += 1
    for ai, a in enumerate(a_idx.tolist()):
        if a >= prefix and ai not in src:
            new_index[a] = nxt
            nxt += 1
    for b in b_idx.tolist():
        if b >= prefix:
            new_index[b] = nxt
            nxt += 1
    for ai in src:
        new_index[int(a_idx[ai])] = new_index[int(b_idx[node_idx[ai]])]
    M = N - r
    dst = torch.tensor(new_index)
    wx = torch.zeros(1, M, x.shape[2]).index_add_(1, dst, x * size[:, :, None])
    ws = torch.zeros(1, M).index_add_(1, dst, size)
    return wx / (ws[:, :, None] + eps), ws


def schedule(r_total, depth, kind):
    """VisionTransformer._get_rs (constant, linear); None where the official loop would not finish."""
    if r_total == 0:
        return [0] * depth
    if kind == "constant":
        return [r_total // depth + (1 if i < r_total % depth else 0) for i in range(depth)]
    r0 = (2 * r_total) // depth
    step = r0 / depth
    s = []
    while sum(s) + int(r0 - len(s) * step) < r_total:
        term = int(r0 - len(s) * step)
        if term <= 0 or len(s) >= depth:
            return None
        s.append(term)
    if sum(s) < r_total:
        s.append(r_total - sum(s))
    s += [0] * (depth - len(s))
    return s if kind == "linear" else s[::-1]


@torch.no_grad()
def calibrate(model, images, r, batch):
    """DToMe.md calibration: per batch and block with r_l > 0, pool every image's best similarities (A rows beyond an
    image's length, prefix rows and rows without a partner are -inf), merge the rr*B largest finite ones into their
    own images (rr = min(r_l, (T - prefix) // 2), T the longest sequence), take the value at rank rr*B (clamped at 0) as
    the batch threshold; the block's threshold is the running mean over batches (a value still at 1 is replaced)."""
    prefix = model.num_prefix_tokens
    depth = len(model.blocks)
    thresholds = [1.0] * depth
    counts = [1.0] * depth
    tokens = [0.0] * depth
    for start in range(0, len(images), batch):
        states = [embed(model, x) for x in images[start:start + batch]]
        B = len(states)
        for l, blk in enumerate(model.blocks):
            keys = []
            for i, (t, size) in enumerate(states):
                t, attn, k = attention(blk, t, size, True)
                states[i] = (t, size)
                keys.append(k)
            if r[l] > 0:
                lengths = [t.shape[1] for t, _ in states]
                T = max(lengths)
                rr = min(r[l], (T - prefix) // 2)
                if rr > 0:
                    rows = (T + 1) // 2
                    pooled = torch.full((B * rows,), -math.inf)
                    for i, k in enumerate(keys):
                        best = best_matches(k, prefix).values
                        pooled[i * rows:i * rows + len(best)] = best
                    order = torch.sort(pooled, descending=True, stable=True).indices
                    rb = rr * B
                    per_image = [0] * B
                    for idx in order[:rb].tolist():
                        if pooled[idx] > -math.inf:
                            per_image[idx // rows] += 1
                    cut = pooled[order[min(rb, len(order) - 1)]]
                    value = torch.clamp(cut, min=0.0) if torch.isfinite(cut) else torch.tensor(0.0)
                    value = value.to(torch.float32)
                    for i, (t, size) in enumerate(states):
                        states[i] = merge_eps(t, size, keys[i], per_image[i], prefix, 1e-4)
                    th = torch.tensor(thresholds[l], dtype=torch.float32)
                    if thresholds[l] == 1.0:
                        thresholds[l] = float(value)
                    else:
                        c = torch.tensor(counts[l], dtype=torch.float32)
                        thresholds[l] = float((th * c + value) / (c + 1))
                        counts[l] += 1
            for i, (t, size) in enumerate(states):
                states[i] = (mlp(blk, t), size)
                tokens[l] += t.shape[1]
    return thresholds, [n / len(images) for n in tokens]


def clear_thresholds(model, x, calibrated, prop):
    """The calibrated thresholds rounded to three decimals, nudged by 1e-3 until no similarity at inference lies
    within 1e-4 of a threshold."""
    th = [round(v, 3) if v < 1 else 1.0 for v in calibrated]
    for _ in range(50):
        _, margin = run_dymu(model, x, th, prop)
        if margin > 1e-4:
            return th
        th = [v - 1e-3 if v < 1 else v for v in th]
    raise AssertionError("no clear DToMe thresholds")


def main():
    for name in FIXTURES:
        model, x = load_fixture(name)
        prefix = model.num_prefix_tokens
        patch = model.patch_embed.patch_size[0]
        patches = model.patch_embed.num_patches
        depth = len(model.blocks)
        tensors = {}

        def add(spec, out):
            generate.record_run(tensors, spec, out, depth)

        for spec in visionzip_specs(patches, prefix):
            add(spec, run_visionzip(model, x, spec))

        images = calibration_images(x, patch)
        budget = max(2, patches // 8) * depth
        for kind in ("constant", "linear"):
            r = schedule(budget, depth, kind)
            thresholds, mean_tokens = calibrate(model, images, r, 2)
            cal = f"calibrate:r_total={budget},schedule={kind},batch=2"
            tensors[f"{cal}|thresholds"] = torch.tensor(thresholds)
            tensors[f"{cal}|mean_tokens"] = torch.tensor(mean_tokens)
            tensors[f"{cal}|r"] = torch.tensor(r, dtype=torch.float32)
            if kind == "constant":
                for prop in (True, False):
                    th = clear_thresholds(model, x, thresholds, prop)
                    spec = "dymu:thresholds=" + "/".join(f"{v:g}" for v in th) + f",prop={'true' if prop else 'false'}"
                    add(spec, run_dymu(model, x, th, prop)[0])
        # A block turned off (threshold 1) between two merging ones.
        off = [0.5] + [1.0] * (depth - 2) + [0.5]
        _, margin = run_dymu(model, x, off, True)
        if margin > 1e-4:
            add("dymu:thresholds=" + "/".join(f"{v:g}" for v in off) + ",prop=true", run_dymu(model, x, off, True)[0])
        generate.write_safetensors({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(OUT, name, "vlm.safetensors"))
        print(name, os.path.getsize(os.path.join(OUT, name, "vlm.safetensors")), "bytes")


if __name__ == "__main__":
    main()
