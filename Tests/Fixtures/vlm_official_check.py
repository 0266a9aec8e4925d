#!/usr/bin/env python3
"""Runs the official VisionZip and DyMU code, unchanged, against this project's torch reference (vlm_reference.py) on
the fixture models. Not part of the test suite: it needs the official sources, which the repository does not carry.

    git clone https://github.com/dvlab-research/VisionZip  (commit 3151f6df)
    git clone https://github.com/MikeWangWZHL/dymu          (commit c57d75a1)
    python3 Tests/Fixtures/vlm_official_check.py VisionZip/visionzip/clip_encoder.py dymu/src/open_clip/tome.py

VisionZip: CLIPVisionTower_VisionZip.forward, with the transformers/LLaVA imports stubbed and the tower's outputs
(attentions, hidden states, the layer's head-mean keys) taken from a timm forward of the fixture, against
visionzip_compress (its imports need transformers' CLIP classes only as names). DyMU: ToMEBlock built with the
fixture's block weights (ipdb and einops stubbed; fixtures without LayerScale, since the official timm-style block
drops ls1), calibrated in training mode on the five calibration images in batches of 2 with torch.argsort made stable
(the one change: the official re-sort is not stable, see the DToMe article), then run at inference on the input with
the parity fixtures' thresholds, against calibrate and run_dymu.

Result when this was written (torch 2.15, timm 1.0.31): VisionZip tokens bit-identical on vit, grey_p2, vit_ls and
hf_vit for three budgets each; DyMU thresholds within 1.2e-7, mean tokens equal, inference features within 1.1e-6.
"""
import math
import os
import sys
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vlm_reference as ref  # noqa: E402
from methods_reference import Tracker, attention, mlp  # noqa: E402


def load_visionzip(path):
    names = ["transformers", "transformers.models", "transformers.models.clip", "transformers.models.clip.modeling_clip"]
    saved = {name: sys.modules.get(name) for name in names}
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    t = sys.modules["transformers"]
    t.CLIPVisionModel = t.CLIPImageProcessor = t.CLIPVisionConfig = object
    mc = sys.modules["transformers.models.clip.modeling_clip"]
    mc.CLIPEncoderLayer = mc.CLIPAttention = mc.CLIPEncoder = object
    utils = types.ModuleType("official_visionzip_utils")
    utils.CLIPAttention_forward = utils.CLIP_EncoderLayer_forward = None
    sys.modules["official_visionzip_utils"] = utils
    src = open(path).read().replace("from .utils import", "from official_visionzip_utils import")
    ns = {}
    exec(compile(src, path, "exec"), ns)
    for name, module in saved.items():  # the stubs only served this import
        if module is None:
            sys.modules.pop(name)
        else:
            sys.modules[name] = module
    return ns["CLIPVisionTower_VisionZip"]


def check_visionzip(Tower):
    for fixture in ["vit", "grey_p2", "vit_ls", "hf_vit"]:
        model, x = ref.load_fixture(fixture)
        with torch.no_grad():
            t, _ = ref.embed(model, x)
            hidden, attns, keys = [t], [], None
            for i, blk in enumerate(model.blocks):
                t, attn, k = attention(blk, t)
                t = mlp(blk, t)
                hidden.append(t)
                attns.append(attn)
                if i == len(model.blocks) - 2:
                    keys = k
        P = t.shape[1] - 1
        for D, c in [(1 + P // 4, max(1, P // 8)), (1 + P // 3, 3), (2, 1)]:
            out = types.SimpleNamespace(attentions=attns, hidden_states=hidden)

            class VT:
                def __call__(self, images, output_hidden_states, output_attentions):
                    return out
            vt = VT()
            vt._info = {"dominant": D - 1, "contextual": c}  # main.visionzip passes dominant - 1
            layer = types.SimpleNamespace(metric=keys.mean(1))
            vt.vision_model = types.SimpleNamespace(encoder=types.SimpleNamespace(layers=[layer] * len(model.blocks)))
            official, _ = Tower.forward(types.SimpleNamespace(vision_tower=vt, device="cpu", dtype=torch.float32), x[None])
            with torch.no_grad():
                mine, _ = ref.visionzip_compress(hidden[-2], torch.ones(1, P + 1), attns[-2], keys, D, c, 1, "cls", Tracker(1, P))
            print(f"visionzip {fixture} dominant={D} contextual={c}: max |official - reference| = {float((official - mine).abs().max())}")


def load_dymu(path):
    sys.modules["ipdb"] = types.ModuleType("ipdb")
    ein = types.ModuleType("einops")

    def rearrange(t, pattern):
        assert pattern == "b i j -> (b i) j"
        return t.reshape(-1, t.shape[-1])
    ein.rearrange = rearrange
    sys.modules["einops"] = ein
    module = types.ModuleType("official_dymu_tome")  # registered, so timm's @register_model can find it
    sys.modules[module.__name__] = module
    exec(compile(open(path).read(), path, "exec"), module.__dict__)
    return module.ToMEBlock


def check_dymu(ToMEBlock):
    argsort = torch.argsort
    torch.argsort = lambda x, dim=-1, descending=False, stable=False: argsort(x, dim=dim, descending=descending, stable=True)

    def blocks_of(model, r, thresholds=None):
        blocks = []
        for i, b in enumerate(model.blocks):
            ob = ToMEBlock(dim=b.norm1.weight.shape[0], num_heads=b.attn.num_heads, mlp_ratio=4.0, qkv_bias=True, r=r[i],
                           merge_mode="batch_level", norm_layer=lambda d, eps=b.norm1.eps: torch.nn.LayerNorm(d, eps=eps),
                           specified_threshold=None if thresholds is None else thresholds[i])
            ob.load_state_dict(b.state_dict(), strict=False)  # the threshold buffer stays at 1.0
            blocks.append(ob)
        return blocks

    def forward(blocks, x):  # VisionTransformer.forward_features' block loop
        size = padding = None
        pos = torch.eye(x.shape[1], dtype=torch.int32)[None].expand(x.shape[0], -1, -1)
        counts = []
        for b in blocks:
            b._tome_info["size"] = size
            o = b(x, padding_mask=padding, pos_tracking=pos)
            x, padding, pos = o["hidden_states"], o["padding_mask"], o["pos_tracking"]
            size = b._tome_info["size"]
            counts.append((padding < 0.5).sum(-1).tolist() if padding is not None else [x.shape[1]] * x.shape[0])
        return x, counts

    for fixture in ["vit", "grey_p2", "hf_vit", "vit_f16"]:
        model, x = ref.load_fixture(fixture)
        depth, P = len(model.blocks), model.patch_embed.num_patches
        images = ref.calibration_images(x, model.patch_embed.patch_size[0])
        budget = max(2, P // 8) * depth
        for kind in ("constant", "linear"):
            r = ref.schedule(budget, depth, kind)
            mine, mean = ref.calibrate(model, images, r, 2)
            blocks = blocks_of(model, r)
            for b in blocks:
                b.train()
            counts = [0.0] * depth
            with torch.no_grad():
                for s in range(0, len(images), 2):
                    _, c = forward(blocks, torch.cat([ref.embed(model, im)[0] for im in images[s:s + 2]]))
                    for l in range(depth):
                        counts[l] += sum(c[l])
            official = [float(b.threshold) for b in blocks]
            print(f"dymu {fixture} {kind}: max |threshold difference| = {max(abs(a - b) for a, b in zip(official, mine))}, "
                  f"mean tokens equal: {[n / len(images) for n in counts] == mean}")
            if kind == "constant":
                th = ref.clear_thresholds(model, x, mine, True)
        blocks = blocks_of(model, [1] * depth, th)
        for b in blocks:
            b.eval()
        with torch.no_grad():
            t, c = forward(blocks, ref.embed(model, x)[0])
            features = model.norm(t)[0, 0]
            mine_out, _ = ref.run_dymu(model, x, th, True)
        print(f"dymu {fixture} inference: tokens {[n[0] for n in c]}, "
              f"max |feature difference| = {float((features - mine_out['features']).abs().max())}")
    torch.argsort = argsort


if __name__ == "__main__":
    check_visionzip(load_visionzip(sys.argv[1]))
    check_dymu(load_dymu(sys.argv[2]))
