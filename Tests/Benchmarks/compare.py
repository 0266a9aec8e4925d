#!/usr/bin/env python3
"""Times tokenscope's engine against ONNX Runtime and PyTorch on the same checkpoint, same thread count, interleaved.

    pip install torch timm onnxruntime onnx safetensors
    swift build -c release
    python3 Tests/Benchmarks/compare.py [--binary .build/release/tokenscope] [--models deit_small_patch16_224,deit_tiny_patch16_224]
                                        [--threads 1,2] [--rounds 5] [--runs 10] [--methods "tome:r=13,evit:keep=0.7"]

For every model it creates a timm model with random weights (seed 0; speed does not depend on the values), saves it as
safetensors and exports it to ONNX (opset 17) in a temporary folder. Then, for each thread count, it runs `rounds`
rounds; each round times `runs` batch-1 forwards of every engine in turn (ONNX Runtime with intra_op_num_threads=T
and sequential execution, PyTorch eager under torch.no_grad with torch.set_num_threads(T), and `tokenscope bench
--threads T`), so slow phases of a shared machine hit all engines alike. Reported: the median of all timed forwards
per engine and the ratios tokenscope/ORT and tokenscope/PyTorch. With --methods, tokenscope alone is also timed with
each method spec, interleaved with its baseline, and the wall-clock speedups are printed next to the MAC ratios.
--json FILE writes every number.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import timm
from safetensors.torch import save_file


def tokenscope_bench(binary, model_path, threads, runs, warmup, method="none"):
    out = subprocess.run([binary, "bench", "--model", model_path, "--threads", str(threads), "--runs", str(runs),
                          "--warmup", str(warmup), "--method", method, "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def time_calls(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


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
    ap.add_argument("--json", help="also write all results to this file")
    args = ap.parse_args()

    import onnxruntime as ort

    results = {"machine": os.uname().machine, "ort": ort.__version__, "torch": torch.__version__, "timm": timm.__version__,
               "models": []}
    thread_counts = [int(t) for t in args.threads.split(",")]
    methods = [m for m in args.methods.split(",") if m] if args.methods else []
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mi, name in enumerate(args.models.split(",")):
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False).eval()
            st_path = os.path.join(tmp, name + ".safetensors")
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, st_path)
            x = torch.randn(1, 3, 224, 224)
            onnx_path = os.path.join(tmp, name + ".onnx")
            with torch.no_grad():
                torch.onnx.export(model, (x,), onnx_path, opset_version=17, input_names=["x"], output_names=["y"],
                                  dynamo=False)
            xn = x.numpy()
            for threads in thread_counts:
                so = ort.SessionOptions()
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
                so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
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
                    samples["tokenscope"].append(b["median_ms"])  # one median per round (the bench keeps its own runs)
                    macs = b["macs"]
                med = {k: statistics.median(v) for k, v in samples.items()}
                row = {"model": name, "threads": threads, "median_ms": med, "macs": macs,
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
                    base.append(b["median_ms"])
                    macs["none"] = b["macs"]
                    for m in methods:
                        b = tokenscope_bench(args.binary, st_path, threads, args.runs, args.warmup, method=m)
                        per[m].append(b["median_ms"])
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
