"""torch.compile(backend="sheaf") beside torch.compile's default backend (Inductor), sheaf.compile and
PyTorch eager: compile time and per-call time at batch 1, one run, one machine.

    python bench/torch_compile.py [--n 1000] [--threads N] [--skip-inductor]

Compile time is the first call's wall time (Dynamo's tracing plus the backend). Per-call times are the
best of several window medians. Each backend runs under three Dynamo settings, because at batch 1 most
of a torch.compile'd call is Dynamo's own work (its guards and the parameters it passes), not the
backend's:
  default  torch's defaults;
  tuned    traced with install_free_tensors and use_recursive_dict_tags_for_guards on (parameters become
           graph constants; nested modules are guarded by their dict tags): guards stay sound;
  unsafe   the same compiled function called under set_stance(skip_guard_eval_unsafe=True) (guards are
           not checked at all; torch documents it for a caller who knows no guard can fail).
"eager" is Dynamo with a backend that runs the FX graph as it is: its compile time is Dynamo's tracing
alone.
"""
import argparse
import contextlib
import importlib.util
import os
import sys
import time

import torch
import torch._dynamo

import sheaf
from timing import best_median  # bench/timing.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNED = dict(install_free_tensors=True, use_recursive_dict_tags_for_guards=True)


def load_model(n):
    spec = importlib.util.spec_from_file_location("parallel_fcn", os.path.join(ROOT, "tests", "models",
                                                                               "parallel_fcn.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["parallel_fcn"] = mod
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    return mod.ParallelFCN(n).eval()


def through_dynamo(net, x, want, backend, tuned):
    """(compile s, per call s, per call s with guards skipped) for torch.compile(net, backend)"""
    torch._dynamo.reset()
    f = torch.compile(net, backend=backend)
    with torch._dynamo.config.patch(**TUNED) if tuned else contextlib.nullcontext():
        t = time.perf_counter()
        y = f(x)
        compile_s = time.perf_counter() - t
    assert (y - want).abs().max() < 1e-4, backend
    call = best_median(lambda: f(x))
    with torch.compiler.set_stance("default", skip_guard_eval_unsafe=True):
        unsafe = best_median(lambda: f(x))
    return compile_s, call, unsafe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-inductor", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = load_model(args.n)
    x = torch.randn(1, 20 * args.n)
    rows = []  # (label, settings, compile s or None, per call s)
    with torch.no_grad():
        want = net(x)
        rows.append(("PyTorch eager", "-", None, best_median(lambda: net(x), 3, 0.5)))
        t = time.perf_counter()
        m = sheaf.compile(net, x, threads=args.threads)
        compile_s = time.perf_counter() - t
        assert (m(x) - want).abs().max() < 1e-4
        rows.append(("sheaf.compile", "-", compile_s, best_median(lambda: m(x))))
        backends = [("eager", "eager"), ("sheaf", "sheaf")]
        if not args.skip_inductor:
            backends.append(("Inductor", "inductor"))
        for label, backend in backends:
            for tuned in (False, True):
                compile_s, call, unsafe = through_dynamo(net, x, want, backend, tuned)
                rows.append(("torch.compile " + label, "tuned" if tuned else "default", compile_s, call))
                rows.append(("torch.compile " + label, "tuned+unsafe" if tuned else "unsafe", None, unsafe))
    print("ParallelFCN(%d), batch 1, %d threads, torch %s" % (args.n, args.threads, torch.__version__))
    inductor = {s: c for label, s, _, c in rows if label == "torch.compile Inductor"}
    for label, settings, compile_s, call in rows:
        line = "%-26s %-12s compile %8s  per call %10.1f us" % (
            label, settings, "-" if compile_s is None else "%.1f s" % compile_s, call * 1e6)
        if settings in inductor and label != "torch.compile Inductor":
            line += "  (%.0fx Inductor's speed, same settings)" % (inductor[settings] / call)
        print(line)


if __name__ == "__main__":
    main()
