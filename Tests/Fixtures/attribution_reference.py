#!/usr/bin/env python3
"""Attention rollout and token ablation references for tokenscope's attribution tests.

    python3 Tests/Fixtures/attribution_reference.py

Written here in torch from the definition in TokenMethods.docc/Attribution.md, so it is not independent of
tokenscope; two parts are checked against outside code before anything is written:
  - on the unreduced model, the rollout from the definition is compared (to 1e-6) with vit-explain's formula
    (jacobgil/vit-explain vit_rollout.py: head fusion "mean", discard ratio 0), applied to the attention
    probabilities that timm's own Attention modules produce (captured at attn_drop with fused attention off, as
    vit-explain does);
  - the class-token-only logits are timm's own modules (blocks, norm, head) run on the one-token sequence.

Writes Tests/Fixtures/models/vit/attribution.safetensors (float32):
  none|rollout           [depth, P]  the class token's row of the rollout after each block, over the P patches,
                                     row-major, not normalised (the definition)
  none|vit_explain       [P]         vit-explain's mask (result[0, 0, 1:] / max) from timm's probabilities
  SPEC|rollout           [depth, P]  the same through a method, for SPEC in SPECS (ToMe and EViT from
                                     methods_reference.py, M built from each block's new_index and weights)
  ablate_all_but_cls|logits [K]      timm's blocks, norm and head on [cls + pos_embed[0]] alone
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (write_safetensors)
import methods_reference as mr  # noqa: E402
from merging_reference import OUT, load_model  # noqa: E402

SPECS = ["tome:r=2", "evit:keep=0.5,layers=1/2"]


def mixing(attn):
    """Â = 0.5·A + 0.5·I, rows renormalised; A is the head mean of attn [1, H, N, N]."""
    a = attn[0].mean(dim=0)
    a = 0.5 * a + 0.5 * torch.eye(a.shape[0])
    return a / a.sum(dim=-1, keepdim=True)


def reorganisation(new_index, weight, count):
    """M (count x N) with M[new_index[t], t] ∝ weight[t], rows summing to 1; dropped tokens (-1) have no entry."""
    m = torch.zeros(count, len(new_index), dtype=torch.float64)
    for t, d in enumerate(new_index):
        if d >= 0:
            m[d, t] = float(weight[t])
    return m / m.sum(dim=1, keepdim=True)


class Recorder(mr.Tracker):
    """A Tracker that also keeps the last new_index (the method's map from old tokens to new ones)."""

    def remap(self, new_index, fate):
        self.last = list(new_index)
        super().remap(new_index, fate)


@torch.no_grad()
def rollout(model, x, spec):
    """The class token's rollout row over the patches after each block, through `spec` (none, tome, evit)."""
    name, p = mr.parse_spec(spec) if spec != "none" else ("none", {})
    prefix = model.num_prefix_tokens
    t = model._pos_embed(model.patch_embed(x[None]))
    n0 = t.shape[1]
    size = torch.ones(1, n0)
    tracker = Recorder(prefix, n0 - prefix)
    r = torch.eye(n0, dtype=torch.float64)
    rows = []
    for i, blk in enumerate(model.blocks):
        tracker.last = None
        prop = name == "tome" and p.get("prop", "true") == "true"
        t, attn, k = mr.attention(blk, t, size, prop)
        r = mixing(attn).double() @ r
        n = t.shape[1]
        if name == "tome":
            old_size = size[0].clone()
            t, size = mr.tome_merge(t, size, k, int(p["r"]), prefix, tracker)
            weight = old_size
        elif name == "evit" and i in mr.layers_of(p["layers"]):
            cls_attn = attn[0, :, 0].mean(dim=0)
            t, size = mr.evit_reduce(t, size, attn, float(p["keep"]), prefix, p.get("fuse", "true") == "true", tracker)
            # Kept tokens are alone in their rows; the fused row weighs its members by CLS attention, renormalised.
            fused = t.shape[1] - 1
            weight = [float(cls_attn[j]) if tracker.last is not None and tracker.last[j] == fused and j >= prefix else 1.0
                      for j in range(n)]
        if tracker.last is not None:
            r = reorganisation(tracker.last, weight, t.shape[1]) @ r
        t = mr.mlp(blk, t)
        rows.append(r[0, prefix:].float().clone())
    return torch.stack(rows)


def vit_explain(model, x):
    """vit-explain's rollout (mean head fusion, discard ratio 0) on the probabilities timm's Attention computes."""
    attentions = []
    hooks = []
    for blk in model.blocks:
        blk.attn.fused_attn = False
        hooks.append(blk.attn.attn_drop.register_forward_hook(lambda m, i, o: attentions.append(o.detach())))
    with torch.no_grad():
        model(x[None])
    for h in hooks:
        h.remove()
    result = torch.eye(attentions[0].size(-1))
    for attention in attentions:
        fused = attention.mean(axis=1)
        # discard ratio 0: topk of zero elements removes nothing
        eye = torch.eye(fused.size(-1))
        a = (fused + 1.0 * eye) / 2
        a = a / a.sum(dim=-1)  # vit-explain's broadcast: rows of (A + I)/2 already sum to 1
        result = torch.matmul(a, result)
    mask = result[0, 0, 1:]
    return mask / mask.max()


@torch.no_grad()
def class_token_only(model):
    """timm's blocks, final norm and head on the class token (with its position embedding) alone."""
    cls = model.cls_token + model.pos_embed[:, :1]
    return model.forward_head(model.norm(model.blocks(cls)))[0]


def main():
    model, x = load_model("vit")
    out = {}
    none = rollout(model, x, "none")
    explain = vit_explain(model, x)
    ours = none[-1] / none[-1].max()
    gap = (ours - explain).abs().max().item()
    assert gap < 1e-6, f"rollout from the definition differs from vit-explain's by {gap}"
    out["none|rollout"] = none
    out["none|vit_explain"] = explain.float()
    for spec in SPECS:
        out[f"{spec}|rollout"] = rollout(model, x, spec)
    out["ablate_all_but_cls|logits"] = class_token_only(model).float()
    generate.write_safetensors({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "vit", "attribution.safetensors"))
    print(f"vit: definition vs vit-explain max gap {gap:.2e}; wrote {len(out)} tensors")


if __name__ == "__main__":
    main()
