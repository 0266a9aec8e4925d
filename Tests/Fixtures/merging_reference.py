#!/usr/bin/env python3
"""PiToMe and ATC references in torch, for tokenscope's merging fixtures.

Written in this project from the method articles (Sources/TokenMethods/TokenMethods.docc/PiToMe.md and ATC.md) after
reading the official code (hchautran/PiToMe at 550b5dee: algo/pitome/merge.py, patch/timm.py, patch/deit.py;
JoakimHaurum/ATC at 227c94b5: ATC_setup/models/atc.py). It is not the official code: it makes tokenscope's choices
where the articles list them (every prefix token protected, LayerScale applied, exact ties to the lower index, ATC's
clusters numbered by their lowest member), and it runs one image at a time.

    pip install torch timm safetensors transformers pillow scipy   # tested: torch 2.15, timm 1.0.31, scipy 1.17.1
    python3 Tests/Fixtures/merging_reference.py

It rebuilds every fixture's timm model as generate.py builds it, loads its model.safetensors (HF checkpoints renamed
with generate.hf_to_timm) and expected.safetensors "input", checks the rebuilt model against the recorded features,
runs each spec block by block and writes Tests/Fixtures/models/NAME/merging.safetensors (float32):

    SPEC|patch_token  [blocks, P]   per block, the token holding each patch
    SPEC|patch_state  [blocks, P]   per block, each patch's state (0 kept, 1 merged)
    SPEC|token_size   [blocks, N0]  per block, each token's size (zero-padded)
    SPEC|features     [C]           final-norm CLS vector
    SPEC|logits       [K]           classifier output (absent for headless models)
    SPEC|margin       [1]           the smallest decision margin of the run (below)

Decision margins. Every decision is a comparison of float32 values that torch and tokenscope compute with different
summation orders, so the fixtures must not hinge on near-ties. The margin of a run is the smallest of: the gap
between consecutive energies in the ranking (PiToMe), between the best and second-best partner similarity of every
A token, between consecutive best similarities in BSM blocks, and between the smallest and second-smallest cluster
distance at every ATC merge. The script refuses to write a run whose margin is below MIN_MARGIN = 5e-6, about 70
times the largest difference between float32 and float64 energies measured on random 36 x 16 keys (7e-8); with that
headroom the parity tests can compare float32 decisions.

ATC's clustering here is the plain greedy procedure (scan every pair for the closest, merge, Lance-Williams update,
in float64), and each run is cross-checked against scipy.cluster.hierarchy.linkage cut at K clusters, the tree the
official code gets from sklearn.
"""
import math
import os
import sys
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from timm.models.deit import VisionTransformerDistilled
from timm.models.vision_transformer import VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (hf_to_timm, write_safetensors; importing it only defines functions)
from methods_reference import MERGED, Tracker, attention, layers_of, mlp, parse_spec  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "models")
MIN_MARGIN = 5e-6

C, H, DEPTH = 32, 2, 3
COMMON = dict(embed_dim=C, depth=DEPTH, num_heads=H, mlp_ratio=4.0)
EPS12 = partial(nn.LayerNorm, eps=1e-12)

# The architectures generate.py builds, by fixture; HF fixtures also name their weight prefix and layout.
ARCHITECTURES = {
    "vit": lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **COMMON),
    "vit_f16": lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **COMMON),
    "vit_bf16": lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, **COMMON),
    "deit_distilled": lambda: VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, **COMMON),
    "dinov2": lambda: VisionTransformer(img_size=56, patch_size=14, num_classes=0, init_values=1e-5, reg_tokens=2,
                                        no_embed_class=True, **COMMON),
    "grey_p2": lambda: VisionTransformer(img_size=12, patch_size=2, in_chans=1, num_classes=10, **COMMON),
    "hf_vit": lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, norm_layer=EPS12, **COMMON),
    "hf_deit": lambda: VisionTransformerDistilled(img_size=32, patch_size=8, num_classes=10, norm_layer=EPS12, **COMMON),
    "hf_dinov2": lambda: VisionTransformer(img_size=28, patch_size=14, num_classes=0, init_values=1e-5, **COMMON),
    "vit_ls": lambda: VisionTransformer(img_size=32, patch_size=8, num_classes=10, init_values=1e-5, **COMMON),
}
HF = {"hf_vit": ("vit.", False, False), "hf_deit": ("deit.", False, True), "hf_dinov2": ("dinov2.", True, False)}

# Recorded on every fixture (3 blocks: bsm=auto is BSM in blocks 0-1 and protect in block 2).
SPECS = [
    "pitome:ratio=0.75",
    "pitome:ratio=0.6,bsm=none",
    "pitome:ratio=0.8,bsm=all,prop=true",
    "pitome:ratio=0.55,margin=0.6,alpha=0.5,bsm=1",
    "atc:keep=0.7,layers=0-2",
    "atc:keep=0.5,layers=1/2,linkage=complete",
    "atc:keep=0.8,layers=0/2,linkage=single,prop=false",
]
# Further settings on the grey 6x6-patch fixture only (more tokens per block).
EXTRA_SPECS = [
    "pitome:ratio=0.9",
    "pitome:ratio=0.7,margin=0.9,bsm=1-2,prop=true",
    "atc:keep=0.6,layers=0-2,prop=false",
    "atc:keep=0.9,layers=1,linkage=complete",
    "atc:keep=0.4,layers=0/1,linkage=single",
]


def load_model(name):
    """The fixture's timm model with its recorded weights, and its input."""
    model = ARCHITECTURES[name]()
    sd = load_file(os.path.join(OUT, name, "model.safetensors"))
    if name in HF:
        prefix, dinov2, distilled = HF[name]
        tsd = generate.hf_to_timm(sd, prefix, dinov2)
        if distilled:
            tsd["head.weight"], tsd["head.bias"] = sd["cls_classifier.weight"], sd["cls_classifier.bias"]
            tsd["head_dist.weight"], tsd["head_dist.bias"] = sd["distillation_classifier.weight"], sd["distillation_classifier.bias"]
        elif not dinov2:
            tsd["head.weight"], tsd["head.bias"] = sd["classifier.weight"], sd["classifier.bias"]
        sd = tsd
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    model.eval()
    expected = load_file(os.path.join(OUT, name, "expected.safetensors"))
    x = expected["input"]
    with torch.no_grad():
        feats = model.forward_features(x[None])
    # HF DINOv2's recorded features come from transformers; timm agrees with them to 1e-4 (generate.py checks it).
    assert torch.allclose(feats[0, 0], expected["features"], atol=1e-4), (name, (feats[0, 0] - expected["features"]).abs().max())
    return model, x


def weighted_merge(x, size, weight, new_index, count):
    """Each old token t joins new token new_index[t]: the weight-weighted mean of x, and the sum of sizes."""
    dst = torch.tensor(new_index)
    wx = torch.zeros(1, count, x.shape[2]).index_add_(1, dst, x * weight[:, :, None])
    w = torch.zeros(1, count).index_add_(1, dst, weight)
    s = torch.zeros(1, count).index_add_(1, dst, size)
    return wx / w[:, :, None], s


def sorted_gaps(values):
    """The smallest gap between consecutive values once sorted (inf for fewer than two)."""
    v = torch.sort(values.double()).values
    return float((v[1:] - v[:-1]).min()) if len(v) > 1 else math.inf


def pitome_merge(x, size, k, ratio, margin, alpha, bsm, prefix, tracker):
    """TokenMethods.docc/PiToMe.md. Returns (x, size, decision margin)."""
    N = x.shape[1]
    T = N - prefix
    if ratio >= 1:
        return x, size, math.inf
    r = min(math.floor(T - T * ratio), T // 2)  # T*ratio rounded first, as the official code writes it
    if r <= 0:
        return x, size, math.inf
    metric = F.normalize(k.mean(dim=1)[0, prefix:], p=2, dim=-1)  # [T, d]
    sim = metric @ metric.T  # [T, T]
    energy = F.elu(sim - margin, alpha=alpha).mean(dim=-1)  # [T]
    rank = torch.sort(energy, descending=True, stable=True).indices  # ties: lower position first
    paired = T if bsm else 2 * r
    a_idx, b_idx = rank[0:paired:2], rank[1:paired:2]
    scores = sim[a_idx][:, b_idx]  # [|A|, |B|]
    best, partner = scores.max(dim=-1)
    gap = sorted_gaps(energy)
    if scores.shape[1] > 1:
        top2 = torch.topk(scores.double(), 2, dim=-1).values
        gap = min(gap, float((top2[:, 0] - top2[:, 1]).min()))
    if bsm:
        order = torch.sort(best, descending=True, stable=True).indices
        gap = min(gap, sorted_gaps(best))
        stay = a_idx[order[r:]].tolist()
    else:
        order = torch.arange(r)
        stay = rank[paired:].tolist()
    new_index = [-1] * N
    fate = [None] * N
    for t in range(prefix):
        new_index[t] = t
    nxt = prefix
    for t in stay + b_idx.tolist():
        new_index[prefix + t] = nxt
        nxt += 1
    for ai in order[:r].tolist():
        new_index[prefix + int(a_idx[ai])] = new_index[prefix + int(b_idx[partner[ai]])]
        fate[prefix + int(a_idx[ai])] = MERGED
    x, size = weighted_merge(x, size, size, new_index, N - r)
    tracker.remap(new_index, fate)
    return x, size, gap


def agglomerate(D, K, linkage):
    """Greedy agglomerative clustering of the T x T float64 distances D (upper triangle read) into K clusters: merge
    the closest pair (lowest (i, j) on ties; a cluster is named by its lowest member), Lance-Williams update. Returns
    (labels numbered by lowest member, merges [(i, j, height)], smallest gap between the closest and the next pair)."""
    T = D.shape[0]
    D = D.copy()
    live = [True] * T
    count = [1] * T
    parent = list(range(T))
    merges, gap = [], math.inf
    for _ in range(T - K):
        best, second, pair = math.inf, math.inf, None
        for i in range(T):
            if not live[i]:
                continue
            for j in range(i + 1, T):
                if not live[j]:
                    continue
                v = D[i, j]
                if v < best:
                    best, second, pair = v, best, (i, j)
                elif v < second:
                    second = v
        gap = min(gap, second - best)
        i, j = pair
        ni, nj = float(count[i]), float(count[j])
        for c in range(T):
            if not live[c] or c in (i, j):
                continue
            ic, jc = (min(i, c), max(i, c)), (min(j, c), max(j, c))
            if linkage == "single":
                D[ic] = min(D[ic], D[jc])
            elif linkage == "complete":
                D[ic] = max(D[ic], D[jc])
            else:
                D[ic] = (ni * D[ic] + nj * D[jc]) / (ni + nj)
        live[j] = False
        count[i] += count[j]
        parent[j] = i
        merges.append((i, j, best))
    roots = []
    for p in range(T):
        while parent[p] != p:
            p = parent[p]
        roots.append(p)
    numbering = {r: n for n, r in enumerate(sorted(set(roots)))}
    return [numbering[r] for r in roots], merges, gap


def scipy_partition(D, K, linkage):
    """The partition scipy's tree gives when cut at K clusters (sklearn's _hc_cut: undo the last K - 1 merges)."""
    from scipy.cluster.hierarchy import linkage as scipy_linkage
    T = D.shape[0]
    Z = scipy_linkage(D[np.triu_indices(T, k=1)], method=linkage)
    parent = list(range(2 * T - 1))
    for s, (a, b, _, _) in enumerate(Z[: T - K]):
        parent[int(a)] = parent[int(b)] = T + s

    def root(p):
        while parent[p] != p:
            p = parent[p]
        return p
    groups = {}
    for p in range(T):
        groups.setdefault(root(p), set()).add(p)
    return {frozenset(g) for g in groups.values()}


def atc_merge(x, size, k, K, linkage, prop, prefix, tracker):
    """TokenMethods.docc/ATC.md. Returns (x, size, decision margin)."""
    N = x.shape[1]
    T = N - prefix
    metric = k.mean(dim=1)[0]  # [N, d]
    metric = metric / metric.norm(dim=-1, keepdim=True)
    cos = metric @ metric.T  # [N, N], prefix rows and columns included, then dropped (as the official code)
    D = (1 - cos[prefix:, prefix:]).double().numpy()
    labels, merges, gap = agglomerate(D, K, linkage)
    ours = {}
    for t, c in enumerate(labels):
        ours.setdefault(c, set()).add(t)
    assert {frozenset(g) for g in ours.values()} == scipy_partition(D, K, linkage), "scipy cuts another partition"
    new_index = [-1] * N
    fate = [None] * N
    for t in range(prefix):
        new_index[t] = t
    seen = set()
    for t, c in enumerate(labels):
        new_index[prefix + t] = prefix + c
        if c in seen:
            fate[prefix + t] = MERGED
        seen.add(c)
    weight = size if prop else torch.ones_like(size)
    x, size = weighted_merge(x, size, weight, new_index, prefix + K)
    tracker.remap(new_index, fate)
    return x, size, gap


@torch.no_grad()
def run(model, x, spec):
    """Runs a pitome or atc spec on one image x [Cin, H, W]; returns the records of the module docstring (stacked
    over blocks, sizes zero-padded) and the run's decision margin."""
    name, p = parse_spec(spec)
    prefix = model.num_prefix_tokens
    t = model._pos_embed(model.patch_embed(x[None]))
    P = t.shape[1] - prefix
    size = torch.ones(1, t.shape[1])
    tracker = Tracker(prefix, P)
    depth = len(model.blocks)
    prop = p.get("prop", "false" if name == "pitome" else "true") == "true"
    tokens, states, sizes, margin = [], [], [], math.inf
    if name == "pitome":
        ratio, m0, alpha = float(p.get("ratio", 0.9)), float(p.get("margin", 0.75)), float(p.get("alpha", 1))
        bsm_text = p.get("bsm", "auto")
        bsm = (set(range(math.ceil(depth / 2))) if bsm_text == "auto"
               else set() if bsm_text == "none" else layers_of(bsm_text, depth))
    elif name == "atc":
        keep, linkage = float(p.get("keep", 0.7)), p.get("linkage", "average")
        listed = sorted(layers_of(p.get("layers", "3/6/9")))
    else:
        raise ValueError(spec)
    for i, blk in enumerate(model.blocks):
        t, attn, k = attention(blk, t, size, prop)
        if name == "pitome":
            block_margin = m0 - m0 * (i / depth)
            t, size, gap = pitome_merge(t, size, k, ratio, block_margin, alpha, i in bsm, prefix, tracker)
            margin = min(margin, gap)
        elif i in listed:
            K = int(P * keep ** (listed.index(i) + 1))
            if 0 < K < t.shape[1] - prefix:
                t, size, gap = atc_merge(t, size, k, K, linkage, prop, prefix, tracker)
                margin = min(margin, gap)
        t = mlp(blk, t)
        tokens.append(tracker.token.clone().float())
        states.append(tracker.state.clone().float())
        sizes.append(size[0].clone())
    widest = max(len(s) for s in sizes)
    out = {"patch_token": torch.stack(tokens), "patch_state": torch.stack(states),
           "token_size": torch.stack([F.pad(s, (0, widest - len(s))) for s in sizes])}
    feats = model.norm(t)
    out["features"] = feats[0, 0].clone()
    if model.num_classes:
        out["logits"] = model.forward_head(feats)[0].clone()
    return out, margin


def main():
    torch.set_num_threads(1)
    total = 0
    for name in ARCHITECTURES:
        model, x = load_model(name)
        tensors = {}
        for spec in SPECS + (EXTRA_SPECS if name == "grey_p2" else []):
            out, margin = run(model, x, spec)
            assert margin >= MIN_MARGIN, f"{name} {spec}: decision margin {margin:.3g} < {MIN_MARGIN}"
            out["margin"] = torch.tensor([min(margin, 1e30)])  # 1e30: no decision at all (nothing merged)
            tensors.update({f"{spec}|{key}": value for key, value in out.items()})
            print(f"{name:15s} {spec:55s} margin {margin:.2e}")
        path = os.path.join(OUT, name, "merging.safetensors")
        generate.write_safetensors({k: v.contiguous().float() for k, v in tensors.items()}, path)
        total += os.path.getsize(path)
    print(f"merging.safetensors: {total} bytes in all")


if __name__ == "__main__":
    main()
