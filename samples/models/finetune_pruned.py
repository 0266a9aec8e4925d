#!/usr/bin/env python3
"""Fine-tune a structurally pruned tokenscope checkpoint (UP-ViT-style recovery).

`tokenscope prune` slices channels out of the bundled Fashion-MNIST ViT (UP-ViT,
docs/methods.md section 2): embedding channels, attention channels (whole or
partial heads) and MLP hidden units.  That yields a smaller dense ViT that loses
accuracy until it is fine-tuned.  UP-ViT fine-tunes with the unpruned model as
teacher.  This script runs that recovery step on the CPU and writes the
fine-tuned weights in the input's exact layout, so `tokenscope` loads the result
as it loads the pruned file.

Usage:

    nice -n 19 python3 samples/models/finetune_pruned.py \\
        --pruned pruned.safetensors \\
        --teacher samples/models/fashion-vit.safetensors \\
        --out pruned-ft.safetensors --epochs 3 --time-budget-min 60

    # smoke test: 2000 training images, one epoch, quick evaluations
    python3 samples/models/finetune_pruned.py --pruned /tmp/p.safetensors \\
        --out /tmp/p-ft.safetensors --limit-train 2000 --epochs 1 --eval-subset 500

Input (the pruned file): timm `VisionTransformer` state_dict names, all F32,
sliced shapes that may differ per block:
  embed width D   = patch_embed.proj.weight.shape[0]
  attention A_l   = blocks.l.attn.qkv.weight.shape[0] // 3
  MLP hidden H_l  = blocks.l.mlp.fc1.weight.shape[0]
  heads_l         = __metadata__ "num_heads", either "2,2,...,2" (one entry per
                    block) or a single number for all blocks
  head_dim_l      = A_l / heads_l (the original head width, e.g. 16); the
                    attention scale stays head_dim_l ** -0.5.
The other metadata (labels, mean, std, input_size, layer_norm_eps, ...) is as in
the bundled model.  Input normalisation uses the file's mean/std.

Student: timm VisionTransformer(img_size=28, patch_size=2, in_chans=1,
num_classes=10, embed_dim=D, depth=12, num_heads=1, mlp_ratio=4, CLS pooling,
dynamic_img_size=True) as in train_fashion_vit.build_model.  Then, per block, the
attention becomes a `PrunedAttention` (a subclass of timm's Attention whose qkv
is Linear(D, 3*A_l), proj is Linear(A_l, D), and whose forward reshapes the heads
back to (B, N, A_l), not to the input width), and mlp.fc1/fc2 become
Linear(D, H_l)/Linear(H_l, D).  The state dict is loaded strictly.  Before
training, the student's logits on 8 test images at 28/20/14 px are compared with
a plain functional forward that reads the tensors directly, in float64
("self-consistency").  After saving, the written file is reloaded into a fresh
student and compared again.

Teacher: the unpruned model (--teacher, built with build_model; width from
cls_token, heads from its metadata), frozen, eval mode, run on the same
augmented batch as the student.

Recipe (the defaults):
  loss      = CE(student, label, label smoothing 0.1)
              + 0.2 * KL(softmax(teacher) || softmax(student))   (UP-ViT: CE + 0.2 KL;
              KL summed over classes, averaged over the batch, temperature 1)
  optimiser = AdamW, lr 5e-4, betas (0.9, 0.999), weight decay 0.05 on matrices
              (not on biases, LayerNorm, cls_token or pos_embed), gradient-norm clip 1.0
  schedule  = linear warm-up over 100 steps, then cosine to 1e-5.  With
              --time-budget-min the cosine is compressed to the budget: progress is
              max(step / total steps, elapsed / (budget - final eval time)), so the LR
              reaches its floor when either the epochs or the time run out, and
              training stops early enough for the final evaluation and save.
  batches   = 64 images; each batch at one input size, 14/20/28 px (7x7 / 10x10 /
              14x14 token grids), shares 14:1,20:1,28:2, so the pruned model keeps
              working at all three grids.  14 and 20 px images are made once with PIL
              bicubic from the 28 px images (as tokenscope does).
  augment   = random horizontal flip + random translation of at most 0/1/1 px at
              14/20/28 px (the recipe of the shipped model's last two stages; the
              helpers are train_fashion_vit.augment / batch_plan).
  seed 0, 2 threads, deterministic algorithms where torch has them.

Evaluation: top-1 on the full Fashion-MNIST test split (10,000 images, from
/usr/share/datasets/fashion-mnist) at 14x14, 10x10 and 7x7 (28/20/14 px), before
and after fine-tuning; both are printed and logged.  After each epoch a check on
--eval-subset images (0: all) is logged and the weights are saved.

Output: the same tensor names, shapes and dtype (F32) as the input, and all of
its metadata keys; "accuracy" is replaced by the final timm evaluation and
"finetune" is added (recipe, epochs, steps, teacher, minutes, accuracy before).

The accuracy numbers this script writes are timm's.  Re-measure them with
tokenscope's own engine before quoting them:

    tokenscope eval --model OUT.safetensors --data /usr/share/datasets/fashion-mnist
    # also with --input-size 20 and --input-size 14
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time
from functools import partial

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from timm.layers import resample_abs_pos_embed
from timm.models.vision_transformer import Attention, VisionTransformer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_fashion_vit as tfv  # noqa: E402  (load_split, pil_resize, to_tensor, augment, ...)

SIZES = tfv.SIZES                 # (14, 20, 28) px


# ---------------------------------------------------------------------------- model
class PrunedAttention(Attention):
    """timm Attention with an attention width A (= heads * head_dim) independent of
    the embedding width D: qkv D -> 3A, proj A -> D.  Same parameter names as timm
    (qkv.weight/bias, proj.weight/bias), so the state dict is unchanged."""

    def __init__(self, dim, attn_dim, num_heads, qkv_bias=True):
        nn.Module.__init__(self)
        if num_heads <= 0 or attn_dim % num_heads:
            raise ValueError(f"attention width {attn_dim} is not a multiple of {num_heads} heads")
        self.num_heads = num_heads
        self.head_dim = attn_dim // num_heads
        self.attn_dim = attn_dim
        self.scale = self.head_dim ** -0.5
        self.fused_attn = True
        self.qkv = nn.Linear(dim, 3 * attn_dim, bias=qkv_bias)
        self.q_norm = nn.Identity()
        self.k_norm = nn.Identity()
        self.attn_drop = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.gate = None
        self.proj = nn.Linear(attn_dim, dim)
        self.proj_drop = nn.Dropout(0.0)

    def forward(self, x, attn_mask=None, is_causal=False, **_):
        B, N, _ = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                               # B, heads, N, head_dim
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                           is_causal=is_causal, scale=self.scale)
        x = x.transpose(1, 2).reshape(B, N, self.attn_dim)    # (B, N, A_l), not (B, N, D)
        return self.proj(x)


def parse_heads(meta, depth):
    if "num_heads" not in meta:
        raise SystemExit("pruned file has no num_heads in __metadata__")
    h = [int(v) for v in meta["num_heads"].split(",") if v.strip()]
    if len(h) == 1:
        h = h * depth
    if len(h) != depth:
        raise SystemExit(f"num_heads has {len(h)} entries for {depth} blocks: {meta['num_heads']!r}")
    return h


def describe(sd, heads):
    """Per-file shapes: (D, depth, patch, in_chans, [A_l], [H_l], [head_dim_l])."""
    w = sd["patch_embed.proj.weight"]
    D, in_chans, patch = w.shape[0], w.shape[1], w.shape[-1]
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
    A = [sd[f"blocks.{l}.attn.qkv.weight"].shape[0] // 3 for l in range(depth)]
    H = [sd[f"blocks.{l}.mlp.fc1.weight"].shape[0] for l in range(depth)]
    hd = [a // h if h else 0 for a, h in zip(A, heads)]
    return D, depth, patch, in_chans, A, H, hd


def build_student(sd, meta):
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
    heads = parse_heads(meta, depth)
    D, depth, patch, in_chans, A, H, hd = describe(sd, heads)
    img = int(meta.get("input_size", "1,28,28").split(",")[-1])
    eps = float(meta.get("layer_norm_eps", "1e-6"))
    n_cls = sd["head.weight"].shape[0]
    qkv_bias = "blocks.0.attn.qkv.bias" in sd
    model = VisionTransformer(
        img_size=img, patch_size=patch, in_chans=in_chans, num_classes=n_cls,
        global_pool="token", embed_dim=D, depth=depth, num_heads=1,
        mlp_ratio=4.0, qkv_bias=qkv_bias, class_token=True, init_values=None,
        no_embed_class=False, dynamic_img_size=True,
        norm_layer=partial(nn.LayerNorm, eps=eps))
    for l, blk in enumerate(model.blocks):
        blk.attn = PrunedAttention(D, A[l], heads[l], qkv_bias=qkv_bias)
        blk.mlp.fc1 = nn.Linear(D, H[l])
        blk.mlp.fc2 = nn.Linear(H[l], D)
    model.load_state_dict(sd, strict=True)
    return model, heads, (D, A, H, hd)


def build_teacher(path):
    sd = load_file(path)
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    width = sd["cls_token"].shape[-1]
    depth = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"blocks\.(\d+)\.", k)))
    model = tfv.build_model(width, depth, int(meta["num_heads"]))
    model.load_state_dict(sd, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, meta


@torch.no_grad()
def reference_logits(sd, heads, x, eps):
    """A plain functional forward straight from the tensors (float64)."""
    g = {k: v.double() for k, v in sd.items()}
    x = x.double()
    patch = g["patch_embed.proj.weight"].shape[-1]
    t = F.conv2d(x, g["patch_embed.proj.weight"], g["patch_embed.proj.bias"], stride=patch)
    B, D, gh, gw = t.shape
    t = t.flatten(2).transpose(1, 2)
    pe = g["pos_embed"]
    n0 = int(round(math.sqrt(pe.shape[1] - 1)))
    if (gh, gw) != (n0, n0):
        pe = resample_abs_pos_embed(pe, new_size=(gh, gw), old_size=(n0, n0), num_prefix_tokens=1)
    t = torch.cat([g["cls_token"].expand(B, -1, -1), t], 1) + pe
    N = t.shape[1]
    for l, nh in enumerate(heads):
        p = f"blocks.{l}."
        y = F.layer_norm(t, (D,), g[p + "norm1.weight"], g[p + "norm1.bias"], eps)
        qkv = F.linear(y, g[p + "attn.qkv.weight"], g.get(p + "attn.qkv.bias"))
        A = qkv.shape[-1] // 3
        hd = A // nh
        q, k, v = (z.reshape(B, N, nh, hd).transpose(1, 2) for z in qkv.split(A, -1))
        att = torch.softmax((q @ k.transpose(-2, -1)) * hd ** -0.5, -1)
        o = (att @ v).transpose(1, 2).reshape(B, N, A)
        t = t + F.linear(o, g[p + "attn.proj.weight"], g[p + "attn.proj.bias"])
        y = F.layer_norm(t, (D,), g[p + "norm2.weight"], g[p + "norm2.bias"], eps)
        y = F.gelu(F.linear(y, g[p + "mlp.fc1.weight"], g[p + "mlp.fc1.bias"]))
        t = t + F.linear(y, g[p + "mlp.fc2.weight"], g[p + "mlp.fc2.bias"])
    t = F.layer_norm(t, (D,), g["norm.weight"], g["norm.bias"], eps)
    return F.linear(t[:, 0], g["head.weight"], g["head.bias"])


@torch.no_grad()
def consistency(model, sd, heads, eps, test_sets, n=8):
    """Max |student - reference| logit difference and argmax agreement per input size."""
    was = model.training
    model.eval()
    out = {}
    for s in SIZES:
        x = test_sets[s][:n]
        a = model(x).double().cpu()
        b = reference_logits(sd, heads, x.cpu(), eps)
        out[s] = (float((a - b).abs().max()), int((a.argmax(1) == b.argmax(1)).sum()))
    model.train(was)
    return out


def consistency_string(c, n=8):
    return ", ".join(f"{s}px max|dlogit| {d:.2e} argmax {m}/{n}" for s, (d, m) in sorted(c.items(), reverse=True))


def state_for_save(model, ref_sd):
    sd = model.state_dict()
    if set(sd) != set(ref_sd):
        raise RuntimeError(f"state dict names differ from the input: "
                           f"{sorted(set(sd) ^ set(ref_sd))[:10]}")
    out = {}
    for k, v in ref_sd.items():
        t = sd[k].detach().to("cpu", torch.float32).contiguous().clone()
        if t.shape != v.shape:
            raise RuntimeError(f"{k}: shape {tuple(t.shape)} != input {tuple(v.shape)}")
        out[k] = t
    return out


def save(model, ref_sd, path, meta):
    tmp = path + ".tmp"
    save_file(state_for_save(model, ref_sd), tmp, metadata=meta)
    os.replace(tmp, path)
    os.chmod(path, 0o644)


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pruned", required=True, help="pruned safetensors written by `tokenscope prune`")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--teacher", default=os.path.join(here, "fashion-vit.safetensors"),
                    help="the unpruned model (default: the bundled fashion-vit.safetensors)")
    ap.add_argument("--out", required=True, help="where to write the fine-tuned safetensors")
    ap.add_argument("--log", default=None, help="log file (default: OUT with .log instead of .safetensors)")
    ap.add_argument("--data-dir", default=tfv.DATA_DIR)
    ap.add_argument("--epochs", type=float, default=1.0,
                    help="epochs over the (possibly limited) training set; fractions allowed")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--final-lr", type=float, default=1e-5)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=100)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--kd-weight", type=float, default=0.2,
                    help="weight of KL(teacher || student) (UP-ViT: 0.2; 0 disables the teacher)")
    ap.add_argument("--res-weights", default="14:1,20:1,28:2",
                    help="relative share of batches at each input size")
    ap.add_argument("--max-shift", default="14:0,20:1,28:1",
                    help="max random translation in px at each input size")
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="if > 0: wall-clock budget for training + evaluations after the initial "
                         "evaluation; the cosine is compressed to it and training stops in time for "
                         "the final evaluation; --epochs is then an upper bound")
    ap.add_argument("--limit-train", type=int, default=0,
                    help="use only the first N training images (0: all 60000)")
    ap.add_argument("--eval-subset", type=int, default=0,
                    help="per-epoch checks on the first N test images (0: all); the before/after "
                         "evaluations always use all 10000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (evaluation in F32)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False      # F32 as tokenscope computes it
    torch.backends.cudnn.allow_tf32 = False
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    log_path = args.log or (os.path.splitext(args.out)[0] + ".log")
    logf = open(log_path, "a")

    def log(msg):
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    res_w = {int(k): float(v) for k, v in (p.split(":") for p in args.res_weights.split(","))}
    shift = {int(k): int(v) for k, v in (p.split(":") for p in args.max_shift.split(","))}
    for s in SIZES:
        res_w.setdefault(s, 0.0)

    # --- models
    t_start = time.time()
    p_sd = load_file(args.pruned)
    with safe_open(args.pruned, "pt") as f:
        p_meta = dict(f.metadata() or {})
    bad = [k for k, v in p_sd.items() if v.dtype != torch.float32]
    if bad:
        raise SystemExit(f"expected all-F32 tensors, got {bad[:5]}")
    student, heads, (D, A, H, hd) = build_student(p_sd, p_meta)
    eps = float(p_meta.get("layer_norm_eps", "1e-6"))
    teacher, t_meta = build_teacher(args.teacher) if args.kd_weight > 0 else (None, {})
    mean, std = float(p_meta["mean"]), float(p_meta["std"])
    student.to(device)
    if teacher is not None:
        teacher.to(device)

    log(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    log(f"args: {vars(args)}")
    n_s = sum(p.numel() for p in student.parameters())
    log(f"student: {args.pruned}: embed {D}, heads {heads}, attention widths {A}, head dims {hd}, "
        f"MLP hidden {H}; {n_s} params")
    if teacher is not None:
        n_t = sum(p.numel() for p in teacher.parameters())
        log(f"teacher: {args.teacher} ({t_meta.get('architecture', '?')}), {n_t} params")

    # --- data
    t0 = time.time()
    xtr, ytr = tfv.load_split(args.data_dir, "train")
    xte, yte = tfv.load_split(args.data_dir, "test")
    if args.limit_train:
        xtr, ytr = xtr[:args.limit_train], ytr[:args.limit_train]
    train_u8 = {s: tfv.pil_resize(xtr, s) for s in SIZES}
    test_sets = {s: tfv.to_tensor(tfv.pil_resize(xte, s), mean, std).to(device) for s in SIZES}
    ytr_t, yte_t = torch.from_numpy(ytr).to(device), torch.from_numpy(yte).to(device)
    log(f"data: train {xtr.shape} test {xte.shape}, mean {mean:.4f} std {std:.4f} (from the "
        f"pruned file), prep {time.time() - t0:.1f}s; torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, device {device}")

    # --- self-consistency and the starting point
    c = consistency(student, p_sd, heads, eps, test_sets)
    ok = all(d < 1e-3 and m == 8 for d, m in c.values())
    log(f"self-consistency (student vs plain functional forward, 8 test images): "
        f"{consistency_string(c)} -> {'OK' if ok else 'MISMATCH'}")
    if not ok:
        raise SystemExit("the student does not reproduce the pruned weights; not training")
    t0 = time.time()
    acc0 = tfv.evaluate(student, test_sets, yte_t)
    ev_full = time.time() - t0
    log(f"before fine-tuning (all {len(yte)} test images): {tfv.acc_string(acc0)}; "
        f"eval {ev_full:.0f}s")

    # --- optimiser
    def is_decay(n, p):
        return p.ndim > 1 and "pos_embed" not in n and "cls_token" not in n
    decay = [p for n, p in student.named_parameters() if is_decay(n, p)]
    no_decay = [p for n, p in student.named_parameters() if not is_decay(n, p)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))
    aug_rng = np.random.default_rng(args.seed + 12345)

    def train_step(idx, s, lr):
        for g in opt.param_groups:
            g["lr"] = lr
        xb = tfv.to_tensor(tfv.augment(train_u8[s][idx], aug_rng, shift.get(s, 0)), mean, std).to(device)
        yb = ytr_t[idx]
        logits = student(xb)
        ce = F.cross_entropy(logits, yb, label_smoothing=args.label_smoothing)
        kl = torch.zeros((), device=device)
        if teacher is not None:
            with torch.no_grad():
                t_logp = F.log_softmax(teacher(xb), -1)
            kl = F.kl_div(F.log_softmax(logits, -1), t_logp, reduction="batchmean", log_target=True)
        loss = ce + args.kd_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        return float(loss.detach()), float(ce.detach()), float(kl.detach())

    # --- training
    n_train = len(xtr)
    steps_per_epoch = n_train // args.batch
    if steps_per_epoch == 0:
        raise SystemExit(f"--limit-train {n_train} is smaller than one batch of {args.batch}")
    total = max(1, int(round(steps_per_epoch * args.epochs)))
    n_epochs = math.ceil(total / steps_per_epoch)
    budget_s = args.time_budget_min * 60.0
    final_reserve = ev_full * 1.2 + 10.0         # final full evaluation + save + reload check
    print_every = max(1, min(50, steps_per_epoch // 10))
    step = 0
    stop = False
    images = 0
    train_s = 0.0
    train_start = time.time()
    student.train()
    for epoch in range(n_epochs):
        batches, res = tfv.batch_plan(epoch, n_train, args.batch, res_w, args.seed)
        ep_t = time.time()
        sums = {s: [0.0, 0] for s in SIZES}
        ce_sum = kl_sum = 0.0
        for bi, (idx, s) in enumerate(zip(batches, res)):
            if step >= total:
                break
            frac = 0.0                           # cosine progress; 0 during the warm-up
            if step >= args.warmup_steps:
                frac = (step - args.warmup_steps) / max(1, total - args.warmup_steps)
            if budget_s > 0:
                elapsed = time.time() - train_start
                if elapsed + final_reserve >= budget_s:
                    stop = True
                    break
                frac = max(frac, elapsed / (budget_s - final_reserve))
            frac = min(1.0, frac)
            lr = (args.final_lr + 0.5 * (args.lr - args.final_lr) * (1 + math.cos(math.pi * frac))) \
                * min(1.0, (step + 1) / args.warmup_steps)
            loss, ce, kl = train_step(idx, s, lr)
            if not math.isfinite(loss):
                log(f"non-finite loss at step {step}; stopping")
                sys.exit(1)
            sums[s][0] += loss
            sums[s][1] += 1
            ce_sum += ce
            kl_sum += kl
            step += 1
            images += len(idx)
            if bi % print_every == 0:
                print(f"  epoch {epoch + 1} batch {bi}/{steps_per_epoch} {s}px loss {loss:.4f} "
                      f"(ce {ce:.4f} kl {kl:.4f}) lr {lr:.2e} "
                      f"elapsed {(time.time() - train_start) / 60:.1f} min", flush=True)
        ep_train = time.time() - ep_t
        train_s += ep_train
        n_b = sum(v[1] for v in sums.values())
        if n_b == 0:
            break
        tev = time.time()
        acc = tfv.evaluate(student, test_sets, yte_t, limit=args.eval_subset)
        ev_time = time.time() - tev
        per_res = ", ".join(f"{s}px {sums[s][0] / max(1, sums[s][1]):.4f}" for s in SIZES)
        meta = dict(p_meta)
        meta["accuracy"] = tfv.acc_string(acc) + (f" (first {args.eval_subset})" if args.eval_subset else "")
        meta["finetune"] = f"in progress: epoch {epoch + 1}, {step} steps"
        save(student, p_sd, args.out, meta)
        part = "" if n_b == steps_per_epoch else f" (partial: {n_b}/{steps_per_epoch} batches)"
        subset = f" (first {args.eval_subset})" if args.eval_subset else ""
        log(f"epoch {epoch + 1}/{n_epochs}{part}: lr {lr:.2e}, loss {sum(v[0] for v in sums.values()) / n_b:.4f} "
            f"(ce {ce_sum / n_b:.4f}, kl {kl_sum / n_b:.4f}; per size {per_res}); {tfv.acc_string(acc)}{subset}; "
            f"train {ep_train / 60:.2f} min ({1000 * ep_train / (n_b * args.batch):.1f} s per 1000 images), "
            f"eval {ev_time:.0f}s; saved {args.out}")
        if stop or step >= total:
            break

    # --- final evaluation, save, reload check
    t0 = time.time()
    acc1 = tfv.evaluate(student, test_sets, yte_t)
    ev1 = time.time() - t0
    minutes = (time.time() - train_start) / 60.0
    ep_done = images / n_train
    meta = dict(p_meta)
    meta["accuracy"] = tfv.acc_string(acc1)
    meta["finetune"] = json.dumps({
        "script": "samples/models/finetune_pruned.py",
        "from": os.path.basename(args.pruned),
        "teacher": (os.path.basename(args.teacher) + f" ({t_meta.get('architecture', '?')})")
        if teacher is not None else None,
        "loss": f"CE (label smoothing {args.label_smoothing}) + {args.kd_weight} * KL(teacher || student)",
        "epochs": round(ep_done, 3), "steps": step, "batch": args.batch,
        "train_images": n_train,
        "lr": args.lr, "final_lr": args.final_lr, "warmup_steps": args.warmup_steps,
        "schedule": "warm-up then cosine" + (f", compressed to a {args.time_budget_min:g} min budget"
                                             if budget_s > 0 else ""),
        "optimizer": f"AdamW, weight decay {args.wd} on matrices, grad clip 1.0",
        "res_weights": args.res_weights, "max_shift": args.max_shift, "seed": args.seed,
        "threads": args.threads, "device": str(device), "minutes": round(minutes, 1),
        "accuracy_before": tfv.acc_string(acc0),
    })
    save(student, p_sd, args.out, meta)

    r_sd = load_file(args.out)
    with safe_open(args.out, "pt") as f:
        r_meta = f.metadata()
    same_layout = (set(r_sd) == set(p_sd) and all(r_sd[k].shape == p_sd[k].shape and
                                                  r_sd[k].dtype == torch.float32 for k in p_sd))
    reloaded, _, _ = build_student(r_sd, r_meta)
    reloaded.to(device)
    rc = consistency(reloaded, r_sd, heads, eps, test_sets)
    with torch.no_grad():
        student.eval()
        reloaded.eval()
        d_re = float((student(test_sets[28][:8]) - reloaded(test_sets[28][:8])).abs().max())
    log(f"reload {args.out}: layout {'identical to the input' if same_layout else 'DIFFERENT'} "
        f"({len(r_sd)} tensors, F32), metadata keys {sorted(r_meta)}; fresh student vs trained "
        f"max|dlogit| {d_re:.1e}; vs plain forward: {consistency_string(rc)}")
    log(f"before fine-tuning: {tfv.acc_string(acc0)}")
    log(f"after  fine-tuning: {tfv.acc_string(acc1)} (all {len(yte)} test images, eval {ev1:.0f}s)")
    if train_s > 0:
        log(f"done: {step} steps = {ep_done:.3f} epochs of {n_train} images, "
            f"{1000 * train_s / max(1, images):.1f} s per 1000 training images (incl. teacher), "
            f"wall {minutes:.1f} min since training start, {(time.time() - t_start) / 60:.1f} min in all")
    log("re-measure with tokenscope: tokenscope eval --model "
        f"{args.out} --data /usr/share/datasets/fashion-mnist  (and --input-size 20, 14)")


if __name__ == "__main__":
    main()
