#!/usr/bin/env python3
"""Times tokenscope's engine against ONNX Runtime and PyTorch on the same checkpoint, same thread count, interleaved.

    pip install torch timm onnxruntime onnx onnxscript safetensors pillow
    swift build -c release
    python3 Tests/Benchmarks/compare.py [--binary .build/release/tokenscope] [--models deit_small_patch16_224,deit_tiny_patch16_224]
                                        [--threads 1,2] [--rounds 5] [--runs 10] [--methods "tome:r=13,evit:keep=0.7"]
                                        [--contended] [--eval] [--eval-images 64]

For every model it creates a timm model with random weights (seed 0; speed does not depend on the values) and saves it
as safetensors in a temporary folder. ONNX Runtime is measured at its best: the model is exported four ways (the
TorchScript exporter at opset 17 and the dynamo exporter at opset 18, each with timm's fused attention off and on), each
export is timed briefly at every thread count, and the fastest is kept for the comparison (all four medians are
printed and written to --json). Sessions use intra_op_num_threads=T, one inter-op thread, sequential execution and
every graph optimisation.

Default mode: for each thread count it runs `rounds` rounds; each round times `runs` batch-1 forwards of every engine
in turn (ONNX Runtime, PyTorch eager under torch.no_grad with torch.set_num_threads(T), and `tokenscope bench
--threads T`), so slow phases of a shared machine hit all engines alike. Reported: the median over every timed forward
(every sample, for every engine: tokenscope's come from bench's `times_ms`) and the ratios tokenscope/ORT and
tokenscope/PyTorch. With --methods, tokenscope alone is also timed with each method spec, interleaved with its
baseline, and the wall-clock speedups are printed next to the MAC ratios.

--contended: one other process spins on one core (pinned to CPU 0) while tokenscope and ONNX Runtime are timed at 1
and at 2 threads, interleaved; reported: each engine's median at each thread count and the ratio 2 threads / 1 thread
(above 1: the second thread costs time on a busy machine).

--eval: images per second where users wait. A folder of --eval-images random 224 x 224 PNGs (two classes) is written;
`tokenscope eval --threads T` runs it (its ms_per_image is the time per image, decoding and preprocessing included,
summed over the images and divided by the threads; images run in parallel, one forward pass per thread)
and ONNX Runtime runs the same files image by image (PIL decode, resize to 256 bicubic, centre crop 224, ImageNet
normalisation, one session.run per image) with T intra-op threads. Reported: images per second of each and their ratio.

--json FILE writes every number.
"""
import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
import timm
from safetensors.torch import save_file


def tokenscope_bench(binary, model_path, threads, runs, warmup, method="none"):
    out = subprocess.run([binary, "bench", "--model", model_path, "--threads", str(threads), "--runs", str(runs),
                          "--warmup", str(warmup), "--method", method, "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def bench_samples(b):
    """Every timed forward of one bench run (older binaries report only their median)."""
    return b.get("times_ms") or [b["median_ms"]]


def time_calls(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def set_fused_attn(model, fused):
    for m in model.modules():
        if hasattr(m, "fused_attn"):
            m.fused_attn = fused


def export_variants(model, x, folder, name):
    """The model exported four ways: (label, path) for each export that succeeded."""
    variants = []
    for fused in (False, True):
        set_fused_attn(model, fused)
        for exporter, opset in (("torchscript", 17), ("dynamo", 18)):
            label = f"{exporter}-opset{opset}-fused-attn-{'on' if fused else 'off'}"
            path = os.path.join(folder, f"{name}-{label}.onnx")
            try:
                with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the exporters' deprecation and tracer notes
                    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["x"], output_names=["y"],
                                      dynamo=exporter == "dynamo")
                variants.append((label, path))
            except Exception as e:  # an exporter this torch lacks, or one that cannot trace the model
                print(f"{name}: export {label} failed ({type(e).__name__}: {str(e).splitlines()[0][:120]}); skipped",
                      flush=True)
    set_fused_attn(model, True)
    return variants


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def best_ort(variants, threads, xn, runs, warmup, name):
    """The fastest export at this thread count, by the median of a short timing: (label, session, medians by label)."""
    medians, best = {}, None
    for label, path in variants:
        sess = ort_session(path, threads)
        medians[label] = statistics.median(time_calls(lambda: sess.run(None, {"x": xn}), runs, warmup))
        if best is None or medians[label] < medians[best[0]]:
            best = (label, sess)
    print(f"{name:24s} threads {threads}: ORT exports " +
          ", ".join(f"{k} {v:.1f} ms" for k, v in medians.items()) + f"; kept {best[0]}", flush=True)
    return best[0], best[1], medians


@contextlib.contextmanager
def busy_core():
    """One other process spinning on CPU 0 for the duration."""
    spinner = subprocess.Popen([sys.executable, "-c", "import os\nos.sched_setaffinity(0, {0})\nwhile True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def write_images(folder, count):
    from PIL import Image
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        cls = os.path.join(folder, f"class{i % 2}")
        os.makedirs(cls, exist_ok=True)
        path = os.path.join(cls, f"{i:04d}.png")
        Image.fromarray(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def ort_eval(sess, paths):
    """Images per second of ONNX Runtime running `paths` one by one, decoding and preprocessing included."""
    from PIL import Image
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None]
    t = time.perf_counter()
    for path in paths:
        img = Image.open(path).convert("RGB").resize((256, 256), Image.BICUBIC).crop((16, 16, 240, 240))
        x = (np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255 - mean) / std
        sess.run(None, {"x": x[None]})
    return len(paths) / (time.perf_counter() - t)


def tokenscope_eval(binary, model_path, data, threads):
    out = subprocess.run([binary, "eval", "--data", data, "--model", model_path, "--threads", str(threads),
                          "--method", "none", "--format", "json"], check=True, capture_output=True, text=True).stdout
    r = json.loads(out)["results"][0]
    return 1000 / r["ms_per_image"], r["images"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=".build/release/tokenscope")
    ap.add_argument("--models", default="deit_small_patch16_224,deit_tiny_patch16_224")
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--methods", default="tome:r=13,evit:keep=0.7",
                    help="comma-separated method specs timed on the first model at the first thread count ('' for none)")
    ap.add_argument("--contended", action="store_true", help="time 1 vs 2 threads with one other process busy on one core")
    ap.add_argument("--eval", action="store_true", help="images per second of tokenscope eval vs ORT image by image")
    ap.add_argument("--eval-images", type=int, default=64)
    ap.add_argument("--json", help="also write all results to this file")
    args = ap.parse_args()

    import onnxruntime as ort

    mode = "contended" if args.contended else "eval" if args.eval else "compare"
    results = {"machine": os.uname().machine, "ort": ort.__version__, "torch": torch.__version__, "timm": timm.__version__,
               "mode": mode, "models": []}
    thread_counts = [1, 2] if args.contended else [int(t) for t in args.threads.split(",")]
    methods = [m for m in args.methods.split(",") if m] if args.methods and mode == "compare" else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mi, name in enumerate(args.models.split(",")):
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False).eval()
            st_path = os.path.join(tmp, name + ".safetensors")
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, st_path, metadata={"architecture": name})
            x = torch.randn(1, 3, 224, 224)
            xn = x.numpy()
            variants = export_variants(model, x, tmp, name)
            if not variants:
                sys.exit(f"{name}: no ONNX export succeeded")

            if mode == "eval":
                data = os.path.join(tmp, name + "-images")
                paths = write_images(data, args.eval_images)
                for threads in thread_counts:
                    label, sess, exports = best_ort(variants, threads, xn, args.runs, args.warmup, name)
                    ts, ort_ips = [], []
                    for r in range(args.rounds):
                        ts.append(tokenscope_eval(args.binary, st_path, data, threads)[0])
                        ort_ips.append(ort_eval(sess, paths))
                    row = {"model": name, "threads": threads, "images": len(paths), "ort_export": label,
                           "ort_exports_ms": exports, "images_per_s": {"tokenscope": statistics.median(ts),
                                                                       "onnxruntime": statistics.median(ort_ips)}}
                    row["ratio_ts_over_ort"] = row["images_per_s"]["tokenscope"] / row["images_per_s"]["onnxruntime"]
                    rows.append(row)
                    print(f"{name:24s} threads {threads}: eval {len(paths)} images: tokenscope "
                          f"{row['images_per_s']['tokenscope']:7.1f} img/s  ORT image by image "
                          f"{row['images_per_s']['onnxruntime']:7.1f} img/s  ratio {row['ratio_ts_over_ort']:.3f}",
                          flush=True)
                    del sess
                continue

            if mode == "contended":
                sessions = {t: best_ort(variants, t, xn, args.runs, args.warmup, name) for t in thread_counts}
                samples = {(e, t): [] for e in ("tokenscope", "onnxruntime") for t in thread_counts}
                with busy_core():
                    for r in range(args.rounds):
                        for t in thread_counts:
                            sess = sessions[t][1]
                            samples[("onnxruntime", t)] += time_calls(lambda: sess.run(None, {"x": xn}), args.runs,
                                                                      args.warmup)
                            samples[("tokenscope", t)] += bench_samples(
                                tokenscope_bench(args.binary, st_path, t, args.runs, args.warmup))
                for engine in ("tokenscope", "onnxruntime"):
                    med = {t: statistics.median(samples[(engine, t)]) for t in thread_counts}
                    row = {"model": name, "engine": engine, "contended": True, "median_ms_by_threads": med,
                           "ratio_2_over_1": med[2] / med[1]}
                    if engine == "onnxruntime":
                        row["ort_export_by_threads"] = {t: sessions[t][0] for t in thread_counts}
                    rows.append(row)
                    print(f"{name:24s} one core busy: {engine:11s} 1 thread {med[1]:7.1f} ms  2 threads {med[2]:7.1f} ms  "
                          f"2/1 {row['ratio_2_over_1']:.3f}", flush=True)
                continue

            for threads in thread_counts:
                label, sess, exports = best_ort(variants, threads, xn, args.runs, args.warmup, name)
                torch.set_num_threads(threads)

                def run_torch():
                    with torch.no_grad():
                        model(x)

                samples = {"tokenscope": [], "onnxruntime": [], "pytorch": []}
                macs = None
                for r in range(args.rounds):
                    samples["onnxruntime"] += time_calls(lambda: sess.run(None, {"x": xn}), args.runs, args.warmup)
                    samples["pytorch"] += time_calls(run_torch, args.runs, args.warmup)
                    b = tokenscope_bench(args.binary, st_path, threads, args.runs, args.warmup)
                    samples["tokenscope"] += bench_samples(b)
                    macs = b["macs"]
                med = {k: statistics.median(v) for k, v in samples.items()}
                row = {"model": name, "threads": threads, "median_ms": med, "samples": {k: len(v) for k, v in samples.items()},
                       "macs": macs, "ort_export": label, "ort_exports_ms": exports,
                       "ratio_vs_ort": med["tokenscope"] / med["onnxruntime"],
                       "ratio_vs_pytorch": med["tokenscope"] / med["pytorch"]}
                rows.append(row)
                print(f"{name:24s} threads {threads}: tokenscope {med['tokenscope']:7.1f} ms  ORT {med['onnxruntime']:7.1f} ms  "
                      f"PyTorch {med['pytorch']:7.1f} ms  ts/ORT {row['ratio_vs_ort']:.3f}  ts/PyTorch {row['ratio_vs_pytorch']:.3f}",
                      flush=True)
                del sess

            if mi == 0 and methods:
                threads = thread_counts[0]
                base, per = [], {m: [] for m in methods}
                macs = {}
                for r in range(args.rounds):
                    b = tokenscope_bench(args.binary, st_path, threads, args.runs, args.warmup)
                    base += bench_samples(b)
                    macs["none"] = b["macs"]
                    for m in methods:
                        b = tokenscope_bench(args.binary, st_path, threads, args.runs, args.warmup, method=m)
                        per[m] += bench_samples(b)
                        macs[m] = b["macs"]
                base_med = statistics.median(base)
                for m in methods:
                    mm = statistics.median(per[m])
                    row = {"model": name, "threads": threads, "method": m, "median_ms": mm, "baseline_ms": base_med,
                           "speedup": base_med / mm, "mac_ratio": macs["none"] / macs[m]}
                    rows.append(row)
                    print(f"{name:24s} threads {threads}: {m:20s} {mm:7.1f} ms vs baseline {base_med:7.1f} ms: "
                          f"speedup {row['speedup']:.2f}x (MAC ratio {row['mac_ratio']:.2f})", flush=True)
    results["rows"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
