#!/usr/bin/env python3
"""Time from a key press to the screen showing its result in the explorer, measured through tmux.

Opens `tokenscope` in a detached 120x40 tmux session and measures:
  first frame   launch to the first screen (the header drawn), and to block 0's maps (nothing computing);
  step          10 times →, until the layer line shows the next layer;
  switch        5 times m (the next preset), until the new method is on the layer line with nothing computing,
                each after the explorer has finished computing ahead (the header's "ahead" mark gone).
The times include tmux's own start, send-keys and capture round trips, so they are upper bounds on what the explorer
itself takes.

Without --timm it runs the bundled model and image. With --timm NAME it first makes a random-weight timm checkpoint
(speed does not depend on the weights) in a temporary folder, e.g. --timm deit_base_patch16_224, and runs it on the
bundled photo samples/images/photos/chelsea.jpg. --no-ahead turns computing ahead off (a settings file in a temporary XDG_CONFIG_HOME), to see
what a switch costs without it.

    swift build -c release
    python3 Tests/Benchmarks/keypress_latency.py [--binary .build/release/tokenscope] [--timm deit_base_patch16_224]
                                                 [--presses 10] [--switches 5] [--no-ahead]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def make_checkpoint(name, folder):
    import timm
    import torch
    from safetensors.torch import save_file
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False).eval()
    path = os.path.join(folder, name + ".safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path, metadata={"architecture": name})
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "tokenscope"))
    ap.add_argument("--timm", help="a timm model name: run a random-weight checkpoint of it")
    ap.add_argument("--presses", type=int, default=10)
    ap.add_argument("--switches", type=int, default=5)
    ap.add_argument("--no-ahead", action="store_true", help="compute_ahead = false")
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="tokenscope-latency-")
    command = [os.path.abspath(args.binary)]
    depth = 12
    if args.timm:
        path = make_checkpoint(args.timm, folder)
        command += [os.path.join(ROOT, "samples", "images", "photos", "chelsea.jpg"), "--model", path]
    env = dict(os.environ, XDG_CONFIG_HOME=folder)
    os.makedirs(os.path.join(folder, "tokenscope"), exist_ok=True)
    with open(os.path.join(folder, "tokenscope", "config.toml"), "w") as f:
        f.write(f"compute_ahead = {'false' if args.no_ahead else 'true'}\n")
    tmux = ["tmux", "-L", f"tokenscope-latency-{os.getpid()}"]
    start = time.perf_counter()
    subprocess.run(tmux + ["new-session", "-d", "-s", "l", "-x", "120", "-y", "40", "-c", ROOT,
                           "-e", f"XDG_CONFIG_HOME={folder}"] + [" ".join(command)], check=True, env=env)
    try:
        def screen():
            return subprocess.run(tmux + ["capture-pane", "-p", "-t", "l"], capture_output=True, text=True).stdout

        def wait(predicate, limit, what):
            t0 = time.perf_counter()
            while True:
                s = screen()
                if predicate(s):
                    return s
                if time.perf_counter() - t0 > limit:
                    raise SystemExit(f"{what} did not show within {limit} s:\n{s}")
                time.sleep(0.01)

        wait(lambda s: s.startswith("tokenscope "), 60, "the first screen")
        first = time.perf_counter() - start
        wait(lambda s: f"block 0 of 0-{depth - 1}" in s and "computing" not in s, 120, "block 0's maps")
        maps = time.perf_counter() - start
        print(f"first frame {first * 1000:.0f} ms, block 0's maps {maps * 1000:.0f} ms after launch")
        latencies = []
        for i in range(args.presses):
            want = f"block {min(i + 1, depth - 1)} of 0-{depth - 1}"
            t0 = time.perf_counter()
            subprocess.run(tmux + ["send-keys", "-t", "l", "Right"], check=True)
            wait(lambda s: want in s, 5, want)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.2)
        print("step (→) to screen, ms:", " ".join(f"{x:.0f}" for x in latencies),
              f"| median {statistics.median(latencies):.0f}")
        switches = []
        for _ in range(args.switches):
            wait(lambda s: "computing" not in s and " ahead" not in s.splitlines()[0], 300, "the end of computing ahead")
            before = next(line for line in screen().splitlines() if line.startswith("methods "))
            t0 = time.perf_counter()
            subprocess.run(tmux + ["send-keys", "-t", "l", "m"], check=True)
            wait(lambda s: any(line.startswith("methods ") and line != before for line in s.splitlines())
                 and "computing" not in s, 60, "the next method's maps")
            switches.append((time.perf_counter() - t0) * 1000)
        print(f"method switch (m) to its maps{' (computing ahead off)' if args.no_ahead else ''}, ms:",
              " ".join(f"{x:.0f}" for x in switches), f"| median {statistics.median(switches):.0f}")
    finally:
        subprocess.run(tmux + ["send-keys", "-t", "l", "q"], stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
