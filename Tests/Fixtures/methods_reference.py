"""Reference implementations of tokenscope's token methods in torch, written from the specification the method articles hold (Sources/TokenMethods/TokenMethods.docc) (and
the official code it cites), run block by block on a timm VisionTransformer. Used by generate.py to record, per block,
the token partition (patch -> token), patch states, token sizes and outputs that the Swift tests compare token for
token.

States: 0 kept, 1 merged, 2 fused, 3 pruned, 4 idle (tokenscope's PatchState order).

ClusTR ("clustr:clusters=M,k=K,layers=L", TokenMethods.docc/ClusTR.md) never changes the token sequence: in each listed block the
keys/values come from [prefix tokens; DPC-kNN cluster means of the LN1 patch rows] (see `dpc_knn`, `clustr_attention`)
and `run` also returns "cluster.{i}" [P]: each patch's cluster id (0..M-1, centre-rank order), -1 in blocks that do not
cluster (not listed, or M >= patches).
"""
import math

import torch

KEPT, MERGED, FUSED, PRUNED, IDLE = 0, 1, 2, 3, 4


def attention(blk, x, size=None, prop_attn=False):
    """timm Attention by hand, exposing the probabilities and keys; returns x after the (LayerScale'd) residual."""
    B, N, _ = x.shape
    a = blk.attn
    H, d = a.num_heads, a.head_dim
    y = blk.norm1(x)
    qkv = a.qkv(y).reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    logits = (q * a.scale) @ k.transpose(-2, -1)
    if prop_attn and size is not None:
        logits = logits + size.log()[:, None, None, :]
    attn = logits.softmax(dim=-1)
    o = (attn @ v).transpose(1, 2).reshape(B, N, H * d)
    x = x + blk.ls1(a.proj(o))
    return x, attn, k


def mlp(blk, x):
    return x + blk.ls2(blk.mlp(blk.norm2(x)))


class Tracker:
    """Per-patch provenance: which token holds each patch (-1 if none) and its state."""

    def __init__(self, prefix, patches):
        self.token = torch.arange(prefix, prefix + patches)
        self.state = torch.full((patches,), KEPT)

    def remap(self, new_index, fate):
        """new_index[t]: where old token t goes (-1 pruned); fate[t] in {None, MERGED, FUSED, PRUNED}."""
        for p in range(len(self.token)):
            t = int(self.token[p])
            if t < 0:
                continue
            self.token[p] = new_index[t]
            f = fate[t]
            if f == MERGED and self.state[p] == KEPT:
                self.state[p] = MERGED
            elif f == FUSED:
                self.state[p] = FUSED
            elif f == PRUNED:
                self.state[p] = PRUNED
                self.token[p] = -1


def tome_merge(x, size, k, r, prefix, tracker):
    """TokenMethods.docc/ToMe.md: bipartite soft matching on head-averaged, L2-normalised keys; size-weighted merge."""
    N = x.shape[1]
    r = min(r, (N - prefix) // 2)
    if r <= 0:
        return x, size
    metric = k.mean(dim=1)[0]  # [N, d]
    metric = metric / metric.norm(dim=-1, keepdim=True)
    a_idx = torch.arange(0, N, 2)
    b_idx = torch.arange(1, N, 2)
    scores = metric[a_idx] @ metric[b_idx].T
    scores[a_idx < prefix, :] = -math.inf
    scores[:, b_idx < prefix] = -math.inf
    node_max, node_idx = scores.max(dim=-1)
    order = torch.sort(node_max, descending=True, stable=True).indices
    src = order[:r]
    unm = torch.sort(order[r:]).values
    new_index = [-1] * N
    fate = [None] * N
    nxt = 0
    for t in range(prefix):
        new_index[t] = nxt
        nxt += 1
    for ai in unm.tolist():
        if int(a_idx[ai]) >= prefix:
            new_index[int(a_idx[ai])] = nxt
            nxt += 1
    for b in b_idx.tolist():
        if b >= prefix:
            new_index[b] = nxt
            nxt += 1
    for ai in src.tolist():
        new_index[int(a_idx[ai])] = new_index[int(b_idx[node_idx[ai]])]
        fate[int(a_idx[ai])] = MERGED
    M = N - r
    dst = torch.tensor(new_index)
    wx = torch.zeros(1, M, x.shape[2]).index_add_(1, dst, x * size[:, :, None])
    ws = torch.zeros(1, M).index_add_(1, dst, size)
    tracker.remap(new_index, fate)
    return wx / ws[:, :, None], ws


def evit_reduce(x, size, attn, keep_rate, prefix, fuse, tracker):
    """TokenMethods.docc/EViT.md / evit.py: keep ceil(rate * (N - prefix)) by mean CLS attention, fuse the rest (weighted sum)."""
    N = x.shape[1]
    left = math.ceil(keep_rate * (N - prefix))
    if left >= N - prefix or left < 1:
        return x, size
    cls_attn = attn[0, :, 0, prefix:].mean(dim=0)  # [N - prefix]
    order = torch.sort(cls_attn, descending=True, stable=True).indices
    idx = order[:left]
    compl = torch.sort(order[left:]).values
    kept = x[:, prefix:][:, idx]
    parts = [x[:, :prefix], kept]
    new_size = [size[:, :prefix], size[:, prefix:][:, idx]]
    new_index = [-1] * N
    fate = [FUSED if fuse else PRUNED] * N
    for t in range(prefix):
        new_index[t] = t
        fate[t] = None
    for i, t in enumerate(idx.tolist()):
        new_index[prefix + t] = prefix + i
        fate[prefix + t] = None
    if fuse:
        others = x[:, prefix:][:, compl]
        w = cls_attn[compl]
        parts.append((others * w[None, :, None]).sum(dim=1, keepdim=True))
        new_size.append(size[:, prefix:][:, compl].sum(dim=1, keepdim=True))
        for t in compl.tolist():
            new_index[prefix + t] = prefix + left
    tracker.remap(new_index, fate)
    return torch.cat(parts, dim=1), torch.cat(new_size, dim=1)


def mstm_merge(x, size, attn, k, keep_rate, prefix, importance, tracker):
    """TokenMethods.docc/MSTM.md [recon]: crucial = top ceil(rate * (N - prefix)) by mean CLS attention (score order); every other
    token joins the crucial token with the most similar head-averaged, L2-normalised key; weighted mean by s*size."""
    N = x.shape[1]
    left = math.ceil(keep_rate * (N - prefix))
    if left >= N - prefix or left < 1:
        return x, size
    s = attn[0, :, 0, :].mean(dim=0)  # [N], over all keys
    order = torch.sort(s[prefix:], descending=True, stable=True).indices + prefix
    crucial = order[:left]
    others = torch.sort(order[left:]).values
    m = k.mean(dim=1)[0]
    m = m / m.norm(dim=-1, keepdim=True)
    sim = m[others] @ m[crucial].T  # [|U|, |C|]
    target = crucial[sim.argmax(dim=1)]
    new_index = [-1] * N
    fate = [None] * N
    for t in range(prefix):
        new_index[t] = t
    for i, c in enumerate(crucial.tolist()):
        new_index[c] = prefix + i
    for u, c in zip(others.tolist(), target.tolist()):
        new_index[u] = new_index[c]
        fate[u] = MERGED
    dst = torch.tensor(new_index)
    w = size[0].clone()
    if importance:
        w[prefix:] = w[prefix:] * s[prefix:]
    M = prefix + left
    wx = torch.zeros(1, M, x.shape[2]).index_add_(1, dst, x * w[None, :, None])
    ww = torch.zeros(M).index_add_(0, dst, w)
    ns = torch.zeros(1, M).index_add_(1, dst, size)
    tracker.remap(new_index, fate)
    return wx / ww[None, :, None], ns


def idle_block(blk, x, keep, prefix, tracker):
    """TokenMethods.docc/IdleViT.md / IdleViT vit.py test path: select prefix + top-K by the CLS query's pre-softmax logits averaged
    over heads (all keys), run attention and MLP on the selection only, copy the idle tokens through."""
    B, N, C = x.shape
    a = blk.attn
    H, d = a.num_heads, a.head_dim
    y = blk.norm1(x)
    qkv = a.qkv(y).reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    score = (q[:, :, 0:1, :] * k).sum(-1).mean(dim=1)[0]  # [N]
    order = torch.sort(score[prefix:], descending=True, stable=True).indices + prefix
    sel = torch.cat([torch.arange(prefix), order[:keep]])
    logits = (q[:, :, sel] * a.scale) @ k[:, :, sel].transpose(-2, -1)
    attn = logits.softmax(dim=-1)
    o = (attn @ v[:, :, sel]).transpose(1, 2).reshape(B, len(sel), H * d)
    xs = x[:, sel] + blk.ls1(a.proj(o))
    xs = mlp(blk, xs)
    out = x.clone()
    out[:, sel] = xs
    active = set(sel.tolist())
    for p in range(len(tracker.token)):
        tracker.state[p] = KEPT if int(tracker.token[p]) in active else IDLE
    return out


def dpc_knn(Y, M, k):
    """TokenMethods.docc/ClusTR.md, pinned to TCFormer's cluster_dpc_knn but deterministic. Y [n, C] (float32), M < n.
    Returns (assign [n]: each patch's cluster id, clusters numbered in centre-rank order; centres [M]: patch indices)."""
    n, C = Y.shape
    D = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(-1).sqrt() / math.sqrt(C)  # explicit differences, not cdist
    kk = min(k, n)
    nearest = torch.sort(D ** 2, dim=1).values[:, :kk]  # includes the row's own 0
    rho = torch.exp(-nearest.mean(dim=1))  # no tie-breaking noise
    denser = rho[None, :] > rho[:, None]  # [i, j]: rho_j > rho_i
    delta = torch.where(denser, D, torch.full_like(D, math.inf)).min(dim=1).values
    delta = torch.where(denser.any(dim=1), delta, D.max())
    score = rho * delta
    centres = torch.sort(-score, stable=True).indices[:M]  # ties: lower patch index first
    assign = D[centres].argmin(dim=0)  # nearest centre; argmin returns the first (lowest rank) minimum
    assign[centres] = torch.arange(M)
    return assign, centres


def clustr_attention(blk, x, M, k, prefix):
    """TokenMethods.docc/ClusTR.md: queries from all N rows of LN1(x); keys/values from [y[:prefix]; cluster means of the patch
    rows], logits + log(cluster size) (1 for prefix keys). Returns (x after the residual, assign [P]), or (None, None)
    when M >= patches (the caller then runs normal attention)."""
    B, N, C = x.shape
    n = N - prefix
    if M >= n:
        return None, None
    a = blk.attn
    H, d = a.num_heads, a.head_dim
    y = blk.norm1(x)
    Y = y[0, prefix:]
    assign, _ = dpc_knn(Y, M, k)
    counts = torch.bincount(assign, minlength=M)
    means = torch.stack([Y[assign == m].mean(dim=0) for m in range(M)])  # plain mean (weights 1)
    kv_in = torch.cat([y[:, :prefix], means[None]], dim=1)  # [1, prefix + M, C]
    q = a.qkv(y).reshape(B, N, 3, H, d).permute(2, 0, 3, 1, 4)[0]
    kv = a.qkv(kv_in).reshape(B, prefix + M, 3, H, d).permute(2, 0, 3, 1, 4)
    k_, v = kv[1], kv[2]
    size = torch.cat([torch.ones(prefix), counts.float()])
    logits = (q * a.scale) @ k_.transpose(-2, -1) + size.log()[None, None, None, :]
    attn = logits.softmax(dim=-1)
    o = (attn @ v).transpose(1, 2).reshape(B, N, H * d)
    return x + blk.ls1(a.proj(o)), assign


def parse_spec(spec):
    name, _, rest = spec.partition(":")
    params = dict(kv.split("=") for kv in rest.split(",")) if rest else {}
    return name, params


def layers_of(text, depth=None):
    if text == "all":
        return set(range(depth))
    out = []
    for part in text.split("/"):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return set(out)


def tome_schedule(r, depth, decreasing):
    inflect = -1 if decreasing else 0
    min_val = int(r * (1.0 - inflect))
    max_val = 2 * r - min_val
    step = (max_val - min_val) / (depth - 1)
    return [int(min_val + step * i) for i in range(depth)]


@torch.no_grad()
def run(model, x, spec):
    """Runs `spec` on a timm VisionTransformer for one image x [Cin, H, W]; returns per-block records and outputs."""
    name, p = parse_spec(spec)
    prefix = model.num_prefix_tokens
    h = model.patch_embed(x[None])
    t = model._pos_embed(h)
    P = t.shape[1] - prefix
    size = torch.ones(1, t.shape[1])
    tracker = Tracker(prefix, P)
    depth = len(model.blocks)
    out = {}
    if name == "tome":
        sched = tome_schedule(int(p.get("r", 13)), depth, p.get("schedule", "constant") == "decreasing")
        prop = p.get("prop", "true") == "true"
    for i, blk in enumerate(model.blocks):
        if name == "tome":
            t, attn, k = attention(blk, t, size, prop)
            t, size = tome_merge(t, size, k, sched[i], prefix, tracker)
        elif name == "evit":
            t, attn, k = attention(blk, t)
            if i in layers_of(p.get("layers", "3/6/9")):
                t, size = evit_reduce(t, size, attn, float(p.get("keep", 0.7)), prefix, p.get("fuse", "true") == "true", tracker)
        elif name == "mstm":
            t, attn, k = attention(blk, t, size, p.get("prop", "true") == "true")
            if i in layers_of(p.get("layers", "3/6/9")):
                t, size = mstm_merge(t, size, attn, k, float(p.get("keep", 0.7)), prefix,
                                     p.get("weight", "importance") == "importance", tracker)
        elif name == "idle":
            idle_layers = sorted(layers_of(p.get("layers", "3-11")))
            if i in idle_layers:
                stage = 1 + (3 * idle_layers.index(i)) // len(idle_layers)
                keep = int(P * float(p.get("keep", 0.7)) ** stage)
                if keep < P:
                    t = idle_block(blk, t, keep, prefix, tracker)
                    out[f"block_out.{i}"] = t[0].clone()
                    out[f"patch_token.{i}"] = tracker.token.clone().float()
                    out[f"patch_state.{i}"] = tracker.state.clone().float()
                    out[f"token_size.{i}"] = size[0].clone()
                    continue
            tracker.state[:] = KEPT
            t, attn, k = attention(blk, t)
        elif name == "clustr":
            assign = None
            if i in layers_of(p.get("layers", "all"), depth):
                t2, assign = clustr_attention(blk, t, int(p["clusters"]), int(p.get("k", 5)), prefix)
            if assign is None:
                t, attn, k = attention(blk, t)
                out[f"cluster.{i}"] = torch.full((P,), -1.0)
            else:
                t = t2
                out[f"cluster.{i}"] = assign.float()
        else:
            raise ValueError(spec)
        t = mlp(blk, t)
        out[f"block_out.{i}"] = t[0].clone()
        out[f"patch_token.{i}"] = tracker.token.clone().float()
        out[f"patch_state.{i}"] = tracker.state.clone().float()
        out[f"token_size.{i}"] = size[0].clone()
    feats = model.norm(t)
    out["features"] = feats[0, 0].clone()
    if model.num_classes:
        out["logits"] = model.forward_head(feats)[0].clone()
    return out
