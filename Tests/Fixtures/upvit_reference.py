"""UP-ViT reference (Sources/TokenMethods/TokenMethods.docc/UPViT.md): single-channel KL-ablation importance and structural slicing of a
timm VisionTransformer (plain, distilled with head_dist, LayerScale, register tokens), in torch. Used by generate.py.

Files written per fixture (Tests/Fixtures/models/NAME/):

upvit_importance.json
    {"format": "tokenscope-upvit-importance", "version": 1, "calibration_images": 4,
     "metric": "sum over images of KL(teacher || ablated)",
     "embed": [C floats], "attention": [[A floats] per block], "mlp": [[hidden floats] per block]}
    Each value is I(c) = sum over calibration images and classes of p_T * (log p_T - log p_c), in float64, with
    p = softmax(logits.double()) of the float32 model's logits (log p computed as log_softmax(logits.double())).
    The teacher is the unpruned model; the candidate removes one channel:
      embed c in [0, C): deleted everywhere (patch-embed conv output channel and bias, cls/dist/register tokens,
        pos_embed, every LayerNorm weight/bias (which then normalises over C-1), LayerScale gammas, qkv input column,
        proj output row and bias, fc1 input column, fc2 output row and bias, head/head_dist input column);
      attention c in [0, A) of block l (A = heads * head_dim): rows c, A+c and 2A+c of qkv weight and bias zeroed
        (q, k and v channel c), scale unchanged;
      mlp c in [0, hidden) of block l: row c of fc1 weight and its bias zeroed.

upvit.safetensors (float32)
    calib            [4, Cin, H, W]  the normalised calibration images (generate.image_input, seeds 100..103)
    T|logits         [K]             the pruned model's logits on expected.safetensors "input" (head/head_dist mean
                                     for distilled models, as timm eval)
    T|features       [D]             its final-norm CLS vector
    T|params         [1]             its parameter count
    for each target T = "heads=H',mlp-ratio=R,embed=D" (see `prune`).
"""
import copy
import json
import types

import torch
import torch.nn as nn

TARGETS = ["heads=1,mlp-ratio=2,embed=24", "heads=2,mlp-ratio=3,embed=32"]


def _attention_forward(self, x, attn_mask=None, is_causal=False, **_):
    """timm Attention by hand, reshaping to the attention width H*d (which pruning makes differ from the input's)."""
    B, N, _ = x.shape
    H, d = self.num_heads, self.head_dim
    q, k, v = self.qkv(x).reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4).unbind(0)
    attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
    return self.proj((attn @ v).transpose(1, 2).reshape(B, N, H * d))


def explicit(model):
    """A deep copy of `model` whose attention runs by hand (no fused kernel), so every candidate shares one code path."""
    m = copy.deepcopy(model).eval()
    for blk in m.blocks:
        a = blk.attn
        for part in ("q_norm", "k_norm", "norm"):
            assert isinstance(getattr(a, part, nn.Identity()), nn.Identity), part
        assert getattr(a, "gate", None) is None
        a.forward = types.MethodType(_attention_forward, a)
    return m


def _linear(weight, bias):
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    lin.weight = nn.Parameter(weight.clone())
    if bias is not None:
        lin.bias = nn.Parameter(bias.clone())
    return lin


def _layernorm(ln, e):
    out = nn.LayerNorm(len(e), eps=ln.eps)
    out.weight = nn.Parameter(ln.weight[e].clone())
    out.bias = nn.Parameter(ln.bias[e].clone())
    return out


@torch.no_grad()
def sliced(model, embed_keep=None, attn_keep=None, heads=None, mlp_keep=None):
    """A copy of `model` (already `explicit`) with index-selected channels: embed_keep (kept embed channels, ascending),
    and per block attn_keep[l] (kept attention channels, taken from q, k and v alike), heads[l] (the new head count)
    and mlp_keep[l] (kept hidden units). None keeps everything."""
    m = copy.deepcopy(model)
    C = model.embed_dim
    e = torch.arange(C) if embed_keep is None else torch.as_tensor(embed_keep)
    pe = m.patch_embed
    assert isinstance(pe.norm, nn.Identity) and isinstance(m.norm_pre, nn.Identity) and isinstance(m.fc_norm, nn.Identity)
    conv = pe.proj
    new_conv = nn.Conv2d(conv.in_channels, len(e), conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    new_conv.weight = nn.Parameter(conv.weight[e].clone())
    if conv.bias is not None:
        new_conv.bias = nn.Parameter(conv.bias[e].clone())
    pe.proj = new_conv
    for tok in ("cls_token", "dist_token", "reg_token", "pos_embed"):
        t = getattr(m, tok, None)
        if isinstance(t, nn.Parameter):
            setattr(m, tok, nn.Parameter(t[..., e].clone()))
    for l, blk in enumerate(m.blocks):
        blk.norm1 = _layernorm(blk.norm1, e)
        blk.norm2 = _layernorm(blk.norm2, e)
        for ls in ("ls1", "ls2"):
            g = getattr(getattr(blk, ls), "gamma", None)
            if g is not None:
                getattr(blk, ls).gamma = nn.Parameter(g[e].clone())
        a = blk.attn
        A = a.num_heads * a.head_dim
        ak = torch.arange(A) if attn_keep is None or attn_keep[l] is None else torch.as_tensor(attn_keep[l])
        rows = torch.cat([ak, A + ak, 2 * A + ak])
        a.qkv = _linear(a.qkv.weight[rows][:, e], None if a.qkv.bias is None else a.qkv.bias[rows])
        a.proj = _linear(a.proj.weight[e][:, ak], None if a.proj.bias is None else a.proj.bias[e])
        if heads is not None and heads[l] is not None:
            a.num_heads = heads[l]
        assert a.num_heads * a.head_dim == len(ak)
        a.attn_dim = len(ak)
        f = blk.mlp
        hid = f.fc1.out_features
        mk = torch.arange(hid) if mlp_keep is None or mlp_keep[l] is None else torch.as_tensor(mlp_keep[l])
        assert isinstance(getattr(f, "norm", nn.Identity()), nn.Identity)
        f.fc1 = _linear(f.fc1.weight[mk][:, e], f.fc1.bias[mk])
        f.fc2 = _linear(f.fc2.weight[e][:, mk], f.fc2.bias[e])
    m.norm = _layernorm(m.norm, e)
    for head in ("head", "head_dist"):
        h = getattr(m, head, None)
        if isinstance(h, nn.Linear):
            setattr(m, head, _linear(h.weight[:, e], h.bias))
    m.embed_dim = m.num_features = len(e)
    if hasattr(m, "head_hidden_size"):
        m.head_hidden_size = len(e)
    return m.eval()


def _kl(teacher_logits, logits):
    t, c = teacher_logits.double(), logits.double()
    p = t.softmax(dim=-1)
    return float((p * (t.log_softmax(dim=-1) - c.log_softmax(dim=-1))).sum())


@torch.no_grad()
def importance(model, calib):
    """Single-channel KL-ablation importance of every embed channel, attention channel and MLP unit (see the module
    docstring). calib [B, Cin, H, W] normalised images."""
    m = explicit(model)
    teacher = m(calib)
    C = m.embed_dim
    embed = []
    for c in range(C):
        keep = [i for i in range(C) if i != c]
        embed.append(_kl(teacher, sliced(m, embed_keep=keep)(calib)))
    attention, hidden = [], []
    for blk in m.blocks:
        a = blk.attn
        A = a.num_heads * a.head_dim
        W, b = a.qkv.weight, a.qkv.bias
        row = []
        for c in range(A):
            rows = [c, A + c, 2 * A + c]
            w0, b0 = W[rows].clone(), None if b is None else b[rows].clone()
            W[rows] = 0
            if b is not None:
                b[rows] = 0
            row.append(_kl(teacher, m(calib)))
            W[rows] = w0
            if b is not None:
                b[rows] = b0
        attention.append(row)
        fc1 = blk.mlp.fc1
        row = []
        for c in range(fc1.out_features):
            w0, b0 = fc1.weight[c].clone(), fc1.bias[c].clone()
            fc1.weight[c] = 0
            fc1.bias[c] = 0
            row.append(_kl(teacher, m(calib)))
            fc1.weight[c] = w0
            fc1.bias[c] = b0
        hidden.append(row)
    assert torch.equal(m(calib), teacher)  # every ablation was undone
    return {"format": "tokenscope-upvit-importance", "version": 1, "calibration_images": int(calib.shape[0]),
            "metric": "sum over images of KL(teacher || ablated)", "embed": embed, "attention": attention, "mlp": hidden}


def top_ascending(scores, count):
    """Indices of the `count` highest scores (ties: lower index first), in ascending index order."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return sorted(order[:count])


def parse_target(text):
    p = dict(kv.split("=") for kv in text.split(","))
    return int(p["heads"]), float(p["mlp-ratio"]), int(p["embed"])


def prune(model, imp, heads, mlp_ratio, embed):
    """TokenMethods.docc/UPViT.md ranking and slicing, from an importance dict (upvit_importance.json):
    embed: the `embed` channels of highest importance; attention, per block: the A channels split into `heads`
    contiguous groups (group g = floor(g*A/heads) ..< floor((g+1)*A/heads)), each keeping the original head_dim
    channels of highest importance, one new head per group; MLP, per block: int(mlp_ratio * embed) units.
    Ties go to the lower index; kept channels stay in ascending order. Head dim and scale are unchanged."""
    m = explicit(model)
    e = top_ascending(imp["embed"], embed)
    attn_keep, mlp_keep = [], []
    for l, blk in enumerate(m.blocks):
        scores = imp["attention"][l]
        A, d = len(scores), blk.attn.head_dim
        keep = []
        for g in range(heads):
            lo, hi = (g * A) // heads, ((g + 1) * A) // heads
            assert hi - lo >= d, "each group must hold a head"
            keep += [lo + i for i in top_ascending(scores[lo:hi], d)]
        attn_keep.append(keep)
        mlp_keep.append(top_ascending(imp["mlp"][l], int(mlp_ratio * embed)))
    return sliced(m, embed_keep=e, attn_keep=attn_keep, heads=[heads] * len(m.blocks), mlp_keep=mlp_keep)


@torch.no_grad()
def record(model, x, calib, directory):
    """Writes upvit_importance.json and returns the upvit.safetensors tensors (the caller saves them)."""
    imp = importance(model, calib)
    path = f"{directory}/upvit_importance.json"
    with open(path, "w") as f:
        json.dump(imp, f)
    with open(path) as f:  # slice from the file, as a user would
        imp = json.load(f)
    out = {"calib": calib.clone()}
    for target in TARGETS:
        pruned = prune(model, imp, *parse_target(target))
        feats = pruned.forward_features(x[None])
        out[f"{target}|features"] = feats[0, 0].clone()
        out[f"{target}|logits"] = pruned.forward_head(feats)[0].clone()
        out[f"{target}|params"] = torch.tensor([float(sum(p.numel() for p in pruned.parameters()))])
    return out
