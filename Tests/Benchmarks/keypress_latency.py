#!/usr/bin/env python3
"""Time from a key press to the screen showing its result in the explorer, measured through tmux.

Opens `tokenscope` (no arguments: the bundled model and image) in a detached 120x40 tmux session, then 10 times:
sends → and polls `tmux capture-pane` until the layer line shows the next layer. The time includes tmux's own
send-keys and capture round trips, so it is an upper bound on what the explorer itself takes.

    swift build -c release
    python3 Tests/Benchmarks/keypress_latency.py [--binary .build/release/tokenscope] [--presses 10]
"""
import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "tokenscope"))
    ap.add_argument("--presses", type=int, default=10)
    args = ap.parse_args()
    tmux = ["tmux", "-L", f"tokenscope-latency-{os.getpid()}"]
    subprocess.run(tmux + ["new-session", "-d", "-s", "l", "-x", "120", "-y", "40", "-c", ROOT, args.binary],
                   check=True)
    try:
        def screen():
            return subprocess.run(tmux + ["capture-pane", "-p", "-t", "l"], capture_output=True, text=True).stdout
        deadline = time.time() + 30
        while "block 0 of 0-11" not in screen():
            if time.time() > deadline:
                raise SystemExit("the explorer did not show block 0 within 30 s")
            time.sleep(0.05)
        latencies = []
        for i in range(args.presses):
            want = f"block {i + 1} of 0-11"
            start = time.perf_counter()
            subprocess.run(tmux + ["send-keys", "-t", "l", "Right"], check=True)
            while want not in screen():
                if time.perf_counter() - start > 5:
                    raise SystemExit(f"no '{want}' on screen 5 s after the key press")
            latencies.append((time.perf_counter() - start) * 1000)
            time.sleep(0.3)
        print("key press to screen, ms:", " ".join(f"{x:.1f}" for x in latencies),
              f"| median {statistics.median(latencies):.1f}")
    finally:
        subprocess.run(tmux + ["send-keys", "-t", "l", "q"], stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        subprocess.run(tmux + ["kill-server"], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
