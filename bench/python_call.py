"""sheaf from Python beside sheaf from C and PyTorch eager, one run, one machine.

    python bench/python_call.py [--threads N] [--windows W] [--model "ParallelFCN(1000)"]

For seed 003's ParallelFCN(1000): the per-call time of a sheaf.compile_file
model called from Python (numpy in and out) at batch 1 and 64, the C
figure `sheaf bench` prints for the same model in the same run, and
PyTorch eager at the same batches. Each side is timed in several windows
and the best window median is kept (the VM stalls now and then).
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sysconfig

import numpy as np

import sheaf
from timing import best_median  # bench/timing.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_FILE = os.path.join(ROOT, "tests", "models", "parallel_fcn.py")


def c_bench(model, batches, threads):
    exe = os.path.join(sysconfig.get_path("scripts"), "sheaf")
    out = subprocess.run([exe, "bench", MODEL_FILE, "--model", model, "--input", "x=f32[B,20000]", "--batch",
                          ",".join(map(str, batches)), "--threads", str(threads), "--budget", "1"],
                         capture_output=True, text=True, check=True).stdout
    return {int(b): float(m) * 1e-6 for b, m in re.findall(r"batch (\d+): min [\d.]+ us, median ([\d.]+) us", out)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ParallelFCN(1000)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--windows", type=int, default=5)
    args = ap.parse_args()
    batches = (1, 64)
    m = sheaf.compile_file(MODEL_FILE, model=args.model, inputs=["x=f32[B,20000]"], threads=args.threads)
    rng = np.random.default_rng(0)
    py = {}
    for b in batches:
        x = rng.standard_normal((b, 20000)).astype(np.float32)
        py[b] = best_median(lambda: m(x), args.windows, 0.3)
    runs = [c_bench(args.model, batches, args.threads) for _ in range(3)]  # its own window medians, best of 3
    c = {b: min(r[b] for r in runs) for b in batches}
    eager = {}
    try:
        import torch
        torch.set_num_threads(args.threads)
        spec = importlib.util.spec_from_file_location("pfcn", MODEL_FILE)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        net = eval(args.model, mod.__dict__).eval()
        for b in batches:
            x = torch.randn(b, 20000)
            with torch.no_grad():
                eager[b] = best_median(lambda: net(x), 3, 0.5)
    except ImportError:
        pass
    print("%s, %d threads, best of %d window medians" % (args.model, args.threads, args.windows))
    for b in batches:
        line = "batch %4d: sheaf from Python %8.2f us, sheaf bench (C) %8.2f us (Python adds %+.1f%%)" % (
            b, py[b] * 1e6, c[b] * 1e6, 100 * (py[b] / c[b] - 1))
        if b in eager:
            line += ", PyTorch eager %10.1f us (%.0fx)" % (eager[b] * 1e6, eager[b] / py[b])
        print(line)


if __name__ == "__main__":
    main()
