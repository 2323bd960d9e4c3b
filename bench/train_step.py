"""A training step (forward, loss, backward, optimizer) of sheaf beside PyTorch eager on the CPU, same
machine, same threads, same batch, one run (issue 18's figures).

    $SHEAF_VENV/bin/python bench/train_step.py [--threads 2] [--batch 64] [--only NAME]

sheaf's side is `sheaf train` (the C trainer: one fused backward model per step, the optimizer in
place, the derived weights recomputed), timed over whole epochs of fixed data and divided by the steps;
it keeps the best of three runs. Eager is timed in this process: zero_grad, forward, loss, backward,
step, the best of several window medians (bench/timing.py). Both start from the same weights and data,
and the first steps' losses are compared before anything is timed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_median  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "models")
TESTS = os.path.join(ROOT, "tests", "models")

# name: (file, constructor, input spec width, output width, optimizer spec, torch optimizer)
MODELS = {
    "ParallelFCN(1000) SGD": ("parallel_fcn.py", "ParallelFCN(1000)", 20000, 1000, "sgd:lr=0.01",
                              lambda ps: torch.optim.SGD(ps, lr=0.01)),
    "MLP(10, 64, 1) Adam": ("mlp.py", "MLP(10, 64, 1)", 10, 1, "adam:lr=1e-3",
                            lambda ps: torch.optim.Adam(ps, lr=1e-3)),
    "MyNetwork(5) Adam": ("module_list_mlp.py", "MyNetwork(5)", 10, 10, "adam:lr=1e-3",
                          lambda ps: torch.optim.Adam(ps, lr=1e-3)),
}


def load_class(path, expr):
    import importlib.util
    spec = importlib.util.spec_from_file_location("m", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["m"] = mod
    spec.loader.exec_module(mod)
    return eval(expr, vars(mod))


def sheaf_steps(sheaf, path, expr, width, spec, weights, data, steps_per_epoch, epochs, threads):
    cmd = [sheaf, "train", path, "--model", expr, "--input", "x=f32[B,%d]" % width, "--weights", weights,
           "--loss", "mse", "--data", data, "--optimizer", spec, "--epochs", str(epochs), "--batch",
           str(ARGS.batch), "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    secs = float(re.search(r"in ([0-9.]+) s", out).group(1))
    first = float(re.search(r"loss ([-0-9.e+]+) at the first step", out).group(1))
    return secs / (steps_per_epoch * epochs), first


def main():
    torch.set_num_threads(ARGS.threads)
    sheaf = os.path.join(ROOT, ARGS.build, "sheaf")
    print("threads %d, batch %d, torch %s" % (ARGS.threads, ARGS.batch, torch.__version__))
    for name, (file, expr, width, outs, spec, make) in MODELS.items():
        if ARGS.only and ARGS.only not in name:
            continue
        path = os.path.join(SHARED if os.path.exists(os.path.join(SHARED, file)) else TESTS, file)
        torch.manual_seed(0)
        model = load_class(path, expr)
        B, steps = ARGS.batch, 20
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(steps * B, width, generator=gen)
        t = torch.randn(steps * B, outs, generator=gen)
        with tempfile.TemporaryDirectory() as d:
            weights, data = os.path.join(d, "w.safetensors"), os.path.join(d, "d.safetensors")
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, weights)
            save_file({"x": x, "target": t}, data)
            best, first = None, None
            for _ in range(3):
                s, first = sheaf_steps(sheaf, path, expr, width, spec, weights, data, steps, ARGS.epochs,
                                       ARGS.threads)
                best = s if best is None else min(best, s)
        opt = make(model.parameters())
        want = F.mse_loss(model(x[:B]), t[:B]).item()
        assert abs(want - first) <= 1e-4 * max(1.0, abs(want)), (name, want, first)
        k = [0]

        def step():
            i = k[0] % steps
            k[0] += 1
            opt.zero_grad()
            F.mse_loss(model(x[i * B:(i + 1) * B]), t[i * B:(i + 1) * B]).backward()
            opt.step()
        eager = best_median(step, windows=3, per_window_s=1.0)
        print("%-24s sheaf %9.1f us/step   eager %9.1f us/step   %7.1fx" % (name, best * 1e6, eager * 1e6,
                                                                          eager / best))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--only")
    p.add_argument("--build", default="build-dev")
    ARGS = p.parse_args()
    main()
