"""sheaf from Python beside sheaf from C and PyTorch eager, one run, one machine.

    python bench/python_call.py [--threads N] [--windows W] [--model "ParallelFCN(1000)"]

For seed 003's ParallelFCN(1000): the per-call time at batch 1 and 64 of
sheaf.compile on the live instance (torch tensors in and out) and of a
sheaf.compile_file model (numpy in and out), the C figure `sheaf bench`
prints for the same model, and PyTorch eager at the same batches. The
sides are timed in rounds, interleaved; each keeps its best window median
over all rounds (the VM stalls now and then).
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


def load_live(model, threads):
    """the eager instance and sheaf.compile on it, or (None, None) without torch"""
    try:
        import torch
    except ImportError:
        return None, None
    torch.set_num_threads(threads)
    spec = importlib.util.spec_from_file_location("pfcn", MODEL_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = eval(model, mod.__dict__).eval()
    return net, sheaf.compile(net, torch.zeros(1, 20000), threads=threads)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ParallelFCN(1000)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    batches = (1, 64)
    net, live = load_live(args.model, args.threads)
    sides = {"compile_file, numpy": sheaf.compile_file(MODEL_FILE, model=args.model, inputs=["x=f32[B,20000]"],
                                                       threads=args.threads)}
    rng = np.random.default_rng(0)
    xs = {b: rng.standard_normal((b, 20000)).astype(np.float32) for b in batches}
    args_of = {k: (lambda b: xs[b]) for k in sides}
    if live is not None:
        import torch
        sides["sheaf.compile, torch"] = live
        args_of["sheaf.compile, torch"] = lambda b: torch.from_numpy(xs[b])
    py = {(k, b): float("inf") for k in sides for b in batches}
    c = {b: float("inf") for b in batches}
    for _ in range(args.rounds):  # the sides interleaved, so a stall of the VM hits them alike
        for k, m in sides.items():
            for b in batches:
                x = args_of[k](b)
                py[k, b] = min(py[k, b], best_median(lambda: m(x), args.windows, 0.3))
        r = c_bench(args.model, batches, args.threads)
        c = {b: min(c[b], r[b]) for b in batches}
    eager = {}
    if net is not None:
        import torch
        for b in batches:
            x = torch.from_numpy(xs[b])
            with torch.no_grad():
                eager[b] = best_median(lambda: net(x), 3, 0.5)
    print("%s, %d threads, best of %d rounds of %d window medians, interleaved" % (
        args.model, args.threads, args.rounds, args.windows))
    for b in batches:
        for k in sides:
            line = "batch %4d: %-22s %8.2f us, sheaf bench (C) %8.2f us (Python adds %+.1f%%)" % (
                b, k, py[k, b] * 1e6, c[b] * 1e6, 100 * (py[k, b] / c[b] - 1))
            if b in eager:
                line += ", PyTorch eager %10.1f us (%.0fx)" % (eager[b] * 1e6, eager[b] / py[k, b])
            print(line)


if __name__ == "__main__":
    main()
