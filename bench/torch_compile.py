"""torch.compile(backend="sheaf") beside torch.compile's default backend (Inductor), sheaf.compile and
PyTorch eager: compile time and per-call time at batch 1, one run, one machine.

    python bench/torch_compile.py [--n 1000] [--threads N] [--skip-inductor]

Compile time is the first call's wall time (Dynamo's tracing plus the backend). Per-call times are the
best of several window medians.
"""
import argparse
import importlib.util
import os
import time

import torch
import torch._dynamo

import sheaf
from timing import best_median  # bench/timing.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-inductor", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = importlib.util.spec_from_file_location("parallel_fcn", os.path.join(ROOT, "tests", "models",
                                                                               "parallel_fcn.py"))
    mod = importlib.util.module_from_spec(spec)
    import sys
    sys.modules["parallel_fcn"] = mod
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    net = mod.ParallelFCN(args.n).eval()
    x = torch.randn(1, 20 * args.n)
    rows = []
    with torch.no_grad():
        want = net(x)
        rows.append(("PyTorch eager", None, best_median(lambda: net(x), 3, 0.5)))
        t = time.perf_counter()
        m = sheaf.compile(net, x, threads=args.threads)
        compile_s = time.perf_counter() - t
        assert (m(x) - want).abs().max() < 1e-4
        rows.append(("sheaf.compile", compile_s, best_median(lambda: m(x))))
        backends = [("torch.compile(backend='sheaf')", "sheaf")]
        if not args.skip_inductor:
            backends.append(("torch.compile() (Inductor)", "inductor"))
        for label, backend in backends:
            torch._dynamo.reset()
            f = torch.compile(net, backend=backend)
            t = time.perf_counter()
            y = f(x)
            compile_s = time.perf_counter() - t
            assert (y - want).abs().max() < 1e-4, label
            rows.append((label, compile_s, best_median(lambda: f(x))))
    print("ParallelFCN(%d), batch 1, %d threads, torch %s" % (args.n, args.threads, torch.__version__))
    base = dict((r[0], r[2]) for r in rows)
    for label, compile_s, call in rows:
        line = "%-32s compile %8s  per call %10.1f us" % (label, "-" if compile_s is None else "%.1f s" % compile_s,
                                                           call * 1e6)
        if "torch.compile() (Inductor)" in base and label != "torch.compile() (Inductor)":
            line += "  (%.0fx Inductor's speed)" % (base["torch.compile() (Inductor)"] / call)
        print(line)


if __name__ == "__main__":
    main()
