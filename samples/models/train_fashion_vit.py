#!/usr/bin/env python3
"""Train tokenscope's bundled sample model: a tiny timm ViT on Fashion-MNIST.

The network is a plain timm ``VisionTransformer`` so the saved state_dict is
timm-layout by construction (names unchanged, all F32):

    28x28 grey input (in_chans=1), patch 2 -> 14x14 = 196 patch tokens + class token,
    depth 12, learned absolute position embedding (class token included),
    global_pool='token', LayerNorm eps 1e-6, GELU (erf), no LayerScale,
    dynamic_img_size=True, so the same weights run on 14 px (7x7 grid) and
    20 px (10x10 grid) inputs with timm's bicubic position-embedding resampling.

Training is mixed-resolution: every batch is drawn at one of 14/20/28 px.  The
14 and 20 px images are made once with PIL bicubic from the 28x28 uint8 image
(the way tokenscope downsizes at evaluation) and normalised with the dataset
mean/std computed on the 28 px training set and rounded to 4 decimals.

Data: the Debian package ``dataset-fashion-mnist`` (IDX files in
/usr/share/datasets/fashion-mnist).

Example (the command used for the shipped model is in README.md):

    nice -n 19 python3 samples/models/train_fashion_vit.py --epochs 8

``--pilot N`` times N training batches per resolution (and one evaluation
pass) and exits without training.
"""
import argparse
import gzip
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

DATA_DIR = "/usr/share/datasets/fashion-mnist"
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SIZES = (14, 20, 28)          # input sizes in px -> grids 7x7, 10x10, 14x14
PATCH = 2


# ----------------------------------------------------------------------------- data
def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    x = load_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    y = load_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return np.ascontiguousarray(x), y.astype(np.int64)


def pil_resize(x_u8, size):
    """28x28 uint8 images -> size x size uint8 with PIL bicubic (as tokenscope does)."""
    if size == x_u8.shape[-1]:
        return x_u8.copy()
    out = np.empty((len(x_u8), size, size), np.uint8)
    for i, img in enumerate(x_u8):
        out[i] = np.asarray(Image.fromarray(img).resize((size, size), Image.BICUBIC))
    return out


def dataset_stats(x_u8):
    xf = x_u8.astype(np.float64) / 255.0
    return round(float(xf.mean()), 4), round(float(xf.std()), 4)


def to_tensor(x_u8, mean, std):
    x = torch.from_numpy(x_u8).float().div_(255.0)
    return x.sub_(mean).div_(std).unsqueeze(1)          # B,1,H,W


def augment(x_u8, rng, max_shift):
    """Random horizontal flip + random translation (zero padding + crop), uint8 in/out."""
    b, h, w = x_u8.shape
    flip = rng.random(b) < 0.5
    x = np.where(flip[:, None, None], x_u8[:, :, ::-1], x_u8)
    if max_shift > 0:
        p = max_shift
        padded = np.pad(x, ((0, 0), (p, p), (p, p)))
        dy = rng.integers(0, 2 * p + 1, b)
        dx = rng.integers(0, 2 * p + 1, b)
        x = np.stack([padded[i, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])
    return np.ascontiguousarray(x)


# ---------------------------------------------------------------------------- model
def build_model(width, depth, heads, drop_path=0.0):
    return VisionTransformer(
        img_size=28, patch_size=PATCH, in_chans=1, num_classes=10,
        global_pool="token", embed_dim=width, depth=depth, num_heads=heads,
        mlp_ratio=4.0, qkv_bias=True, class_token=True, init_values=None,
        no_embed_class=False, dynamic_img_size=True, drop_path_rate=drop_path,
    )


@torch.inference_mode()
def evaluate(model, test_sets, labels, batch=500, limit=0):
    """Top-1 in % at every input size, on the first `limit` test images (0: all 10000)."""
    model.eval()
    acc = {}
    for s in SIZES:
        x = test_sets[s][:limit] if limit else test_sets[s]
        y = labels[:len(x)]
        correct = 0
        for i in range(0, len(x), batch):
            pred = model(x[i:i + batch]).argmax(1)
            correct += int((pred == y[i:i + batch]).sum())
        acc[s] = 100.0 * correct / len(x)
    model.train()
    return acc


def acc_string(acc):
    g = {s: s // PATCH for s in SIZES}
    return "test top-1: " + ", ".join(
        f"{g[s]}x{g[s]} {acc[s]:.2f}%" for s in sorted(SIZES, reverse=True))


def metadata(args, mean, std, acc):
    return {
        "num_heads": str(args.heads),
        "labels": json.dumps(LABELS),
        "mean": f"{mean:.4f}",
        "std": f"{std:.4f}",
        "input_size": "1,28,28",
        "interpolation": "bicubic",
        "crop_pct": "1.0",
        "layer_norm_eps": "1e-06",
        "architecture": f"vit_fashion_p{PATCH}_w{args.width}_d{args.depth}_h{args.heads}",
        "dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)",
        "accuracy": acc_string(acc),
    }


def save_weights(model, path, meta):
    sd = {k: v.detach().to("cpu", torch.float32).contiguous().clone()
          for k, v in model.state_dict().items()}
    tmp = path + ".tmp"
    save_file(sd, tmp, metadata=meta)
    os.replace(tmp, path)
    os.chmod(path, 0o644)


# ------------------------------------------------------------------------- schedule
def batch_plan(epoch, n_train, batch, weights, seed):
    """Deterministic (index batches, resolution per batch) for one epoch."""
    rng = np.random.default_rng(seed * 1000 + epoch)
    perm = rng.permutation(n_train)
    nb = n_train // batch                                   # drop the ragged tail
    batches = [perm[i * batch:(i + 1) * batch] for i in range(nb)]
    tot = sum(weights.values())
    counts = {s: int(round(nb * weights[s] / tot)) for s in SIZES}
    counts[SIZES[-1]] += nb - sum(counts.values())
    res = np.concatenate([np.full(counts[s], s) for s in SIZES])
    rng.shuffle(res)
    return batches, res.tolist()


def lr_at(step, total, warmup, base, final):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return final + 0.5 * (base - final) * (1 + math.cos(math.pi * t))


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "fashion-vit.safetensors"))
    ap.add_argument("--log", default=None, help="log file (default: <out dir>/train.log)")
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--final-lr", type=float, default=1e-5)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup-steps", type=int, default=500)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--drop-path", type=float, default=0.0)
    ap.add_argument("--res-weights", default="14:1,20:1,28:1",
                    help="relative share of batches at each input size")
    ap.add_argument("--max-shift", default="14:1,20:1,28:2",
                    help="max random translation in px at each input size")
    ap.add_argument("--amp", choices=["none", "bf16"], default="none",
                    help="autocast dtype for the training forward pass (evaluation always runs in F32)")
    ap.add_argument("--device", default="cpu",
                    help="torch device for training and evaluation, e.g. cpu or cuda")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-budget-min", type=float, default=0.0,
                    help="if > 0: the cosine LR schedule follows wall-clock time over this many "
                         "minutes (evaluation included) instead of steps, and training stops in "
                         "time for a final evaluation; --epochs is then an upper bound")
    ap.add_argument("--init-from", default=None,
                    help="start from the weights in this safetensors file (e.g. an earlier run)")
    ap.add_argument("--resume-ckpt", default=None,
                    help="start from the model AND optimizer state of a --ckpt file")
    ap.add_argument("--epoch-offset", type=int, default=0,
                    help="number of epochs already trained (continues the data order and "
                         "epoch numbering of an earlier run)")
    ap.add_argument("--ckpt", default="/tmp/fashion_vit_ckpt.pt",
                    help="model+optimizer checkpoint written after every epoch")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="if > 0: keep an exponential moving average of the weights with this decay per step; "
                         "it is what gets evaluated and saved")
    ap.add_argument("--eval-estimate-s", type=float, default=150.0,
                    help="with --time-budget-min: seconds kept free for evaluation until one has been "
                         "measured (150 suits 2 CPU cores; a GPU needs a few)")
    ap.add_argument("--eval-subset", type=int, default=0,
                    help="evaluate after each epoch on the first N test images only (0: all); the "
                         "final evaluation, whose figures go into the file's metadata, uses all 10000")
    ap.add_argument("--pilot", type=int, default=0,
                    help="time this many batches per resolution, then exit")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    # F32 means F32 on a GPU too: tokenscope's engine computes in F32, and the accuracies in the
    # file's metadata must be the ones it reproduces.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    log_path = args.log or os.path.join(os.path.dirname(args.out), "train.log")
    logf = None if args.pilot else open(log_path, "a")

    def log(msg):
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
        print(line, flush=True)
        if logf:
            logf.write(line + "\n")
            logf.flush()

    res_w = {int(k): float(v) for k, v in (p.split(":") for p in args.res_weights.split(","))}
    shift = {int(k): int(v) for k, v in (p.split(":") for p in args.max_shift.split(","))}

    t0 = time.time()
    xtr, ytr = load_split(args.data_dir, "train")
    xte, yte = load_split(args.data_dir, "test")
    mean, std = dataset_stats(xtr)
    train_u8 = {s: pil_resize(xtr, s) for s in SIZES}
    test_sets = {s: to_tensor(pil_resize(xte, s), mean, std).to(device) for s in SIZES}
    ytr_t, yte_t = torch.from_numpy(ytr).to(device), torch.from_numpy(yte).to(device)
    log(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    log(f"args: {vars(args)}")
    log(f"data: train {xtr.shape} test {xte.shape}, mean {mean:.4f} std {std:.4f}, "
        f"prep {time.time() - t0:.1f}s; torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"device {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""))

    model = build_model(args.width, args.depth, args.heads, args.drop_path)
    if args.init_from:
        from safetensors.torch import load_file
        model.load_state_dict(load_file(args.init_from), strict=True)
        log(f"init: weights from {args.init_from}")
    model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {metadata(args, mean, std, {s: 0 for s in SIZES})['architecture']}, "
        f"{n_params} params")

    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos_embed" not in n
             and "cls_token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "pos_embed" not in n
                                                                and "cls_token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.999))
    if args.resume_ckpt:
        ck = torch.load(args.resume_ckpt, weights_only=False, map_location=device)
        model.load_state_dict(ck["model"], strict=True)
        opt.load_state_dict(ck["opt"])
        log(f"resume: model+optimizer from {args.resume_ckpt} (epoch {ck['epoch']}, "
            f"{ck['step']} steps in that run)")
    ema = None
    if args.ema > 0:
        import copy
        ema = copy.deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
    aug_rng = np.random.default_rng(args.seed + 12345)
    amp_ctx = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if args.amp == "bf16" \
        else (lambda: torch.autocast(device.type, enabled=False))
    ema_params = list(ema.parameters()) if ema is not None else []
    model_params = list(model.parameters())

    def train_step(idx, s, lr):
        for g in opt.param_groups:
            g["lr"] = lr
        xb = to_tensor(augment(train_u8[s][idx], aug_rng, shift.get(s, 0)), mean, std).to(device)
        yb = ytr_t[idx]
        with amp_ctx():
            logits = model(xb)
        loss = F.cross_entropy(logits.float(), yb, label_smoothing=args.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if ema is not None:
            with torch.no_grad():        # ema = decay * ema + (1 - decay) * model, one fused call
                torch._foreach_lerp_(ema_params, model_params, 1.0 - args.ema)
        return float(loss.detach())

    if args.pilot:
        model.train()
        per = {}
        for s in SIZES:
            idx_all = np.random.default_rng(0).permutation(len(xtr))
            for w in range(3):                                # warm-up batches
                train_step(idx_all[w * args.batch:(w + 1) * args.batch], s, 1e-4)
            t = time.time()
            for b in range(args.pilot):
                train_step(idx_all[b * args.batch:(b + 1) * args.batch], s, 1e-4)
            per[s] = (time.time() - t) / args.pilot
            log(f"pilot: {s}px ({s // PATCH}x{s // PATCH} grid) {per[s] * 1000:.0f} ms/batch "
                f"of {args.batch} -> {per[s] * len(xtr) / args.batch / 60:.1f} min per 60k")
        t = time.time()
        evaluate(model, test_sets, yte_t)
        ev = time.time() - t
        tot = sum(res_w.values())
        ep = sum(per[s] * res_w[s] / tot for s in SIZES) * (len(xtr) // args.batch)
        log(f"pilot: eval (10k x 3 sizes) {ev:.0f}s; mixed epoch with weights {res_w}: "
            f"{ep / 60:.1f} min train + {ev / 60:.1f} min eval")
        return

    steps_per_epoch = len(xtr) // args.batch
    total = steps_per_epoch * args.epochs
    step = 0
    budget_s = args.time_budget_min * 60.0
    eval_estimate = args.eval_estimate_s        # seconds, updated after each evaluation
    stop = False
    train_start = time.time()
    last_epoch = args.epoch_offset + args.epochs
    for epoch in range(args.epoch_offset, args.epoch_offset + args.epochs):
        batches, res = batch_plan(epoch, len(xtr), args.batch, res_w, args.seed)
        ep_t = time.time()
        sums = {s: [0.0, 0] for s in SIZES}
        for bi, (idx, s) in enumerate(zip(batches, res)):
            if budget_s > 0:
                elapsed = time.time() - train_start
                if elapsed + eval_estimate >= budget_s:
                    stop = True
                    break
                frac = min(1.0, elapsed / (budget_s - eval_estimate))
                lr = (args.final_lr + 0.5 * (args.lr - args.final_lr) * (1 + math.cos(math.pi * frac))) \
                    * min(1.0, (step + 1) / args.warmup_steps)
            else:
                lr = lr_at(step, total, args.warmup_steps, args.lr, args.final_lr)
            loss = train_step(idx, s, lr)
            if not math.isfinite(loss):
                log(f"non-finite loss at step {step}; stopping")
                sys.exit(1)
            sums[s][0] += loss
            sums[s][1] += 1
            step += 1
            if bi % 100 == 0:
                el = time.time() - train_start
                print(f"  epoch {epoch + 1} batch {bi}/{steps_per_epoch} {s}px loss {loss:.4f} "
                      f"lr {lr:.2e} elapsed {el / 60:.1f} min", flush=True)
        train_time = time.time() - ep_t
        if stop and not any(v[1] for v in sums.values()):
            break                               # budget ran out at an epoch boundary
        tev = time.time()
        shipped = ema if ema is not None else model
        acc = evaluate(shipped, test_sets, yte_t, limit=args.eval_subset)
        ev_time = time.time() - tev
        eval_estimate = max(eval_estimate, ev_time * 1.1)
        n_b = sum(v[1] for v in sums.values())
        mean_loss = sum(v[0] for v in sums.values()) / max(1, n_b)
        per_res = ", ".join(f"{s}px {sums[s][0] / max(1, sums[s][1]):.4f}" for s in SIZES)
        save_weights(shipped, args.out, metadata(args, mean, std, acc))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                    "epoch": epoch + 1}, args.ckpt)
        subset = f" (first {args.eval_subset})" if args.eval_subset else ""
        part = "" if n_b == steps_per_epoch else f" (partial: {n_b}/{steps_per_epoch} batches, time budget)"
        log(f"epoch {epoch + 1}/{last_epoch}{part}: lr {lr:.2e}, train loss {mean_loss:.4f} ({per_res}); "
            f"{acc_string(acc)}{subset}; train {train_time / 60:.1f} min, eval {ev_time / 60:.1f} min, "
            f"total {(time.time() - train_start) / 60:.1f} min; saved {args.out}")
        if stop:
            break
    if args.eval_subset:
        shipped = ema if ema is not None else model
        acc = evaluate(shipped, test_sets, yte_t)
        save_weights(shipped, args.out, metadata(args, mean, std, acc))
        log(f"final evaluation on all {len(yte)} test images: {acc_string(acc)}; saved {args.out}")
    log(f"done: {step} steps, wall time {(time.time() - train_start) / 60:.1f} min; "
        f"final {acc_string(acc)}")


if __name__ == "__main__":
    main()
