#!/usr/bin/env python3
"""Golden training runs from torch.optim for the trainer tests (tests/test_train.c).

For each run below: a golden case's model with its committed weights
(make_golden.py), 20 steps on 20 batches of fixed random data (row k*B to
(k+1)*B at step k), the loss PyTorch's, then torch.optim's update. Saved:
<case>.train_data.safetensors (x, target) once per case, and for run n of
train_runs.txt (which says the optimizer, the loss and the groups as sheaf
takes them) in trained.safetensors: every parameter after the 20 steps
("run<n>.param.<name>") and each step's loss ("run<n>.loss", [20]). Needs torch and
safetensors; CI only reads the committed files.

    python3 tests/golden/make_train.py
"""
import fnmatch
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import HERE, load_class  # noqa: E402

STEPS, BATCH = 20, 8
CASES = {  # case: (model file, constructor, input width, output width)
    "mlp": ("mlp.py", "MLP(10, 64, 1)", 10, 1),
    "parallel_fcn": ("parallel_fcn.py", "ParallelFCN(50)", 1000, 50),
}
LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss, "smooth_l1": F.smooth_l1_loss}


def settings(kind, kv):
    """sheaf's key=value settings as torch.optim's keyword arguments."""
    out, betas = {}, {}
    for k, v in kv.items():
        if k in ("beta1", "beta2"):
            betas[k] = v
        elif k == "nesterov":
            out[k] = v == 1
        else:
            out[k] = v
    if betas:
        out["betas"] = (betas.get("beta1", 0.9), betas.get("beta2", 0.999))
    return out


def parse(spec):
    kind, _, rest = spec.partition(":")
    return kind, dict((k, float(v)) for k, v in (x.split("=") for x in rest.split(",") if x))


def optimizer(model, spec, groups):
    """torch.optim for sheaf's spec and "pattern:k=v" groups (first match wins)."""
    kind, kv = parse(spec)
    made = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]
    specs = [(g.rsplit(":", 1)[0], parse("x:" + g.rsplit(":", 1)[1])[1]) for g in groups]
    buckets = [[] for _ in range(len(specs) + 1)]
    for name, p in model.named_parameters():
        hit = [i for i, (pattern, _) in enumerate(specs) if fnmatch.fnmatchcase(name, pattern)]
        buckets[hit[0] + 1 if hit else 0].append(p)
    param_groups = [dict(params=buckets[0])] + [dict(params=b, **settings(kind, kv2)) for b, (_, kv2) in zip(buckets[1:], specs)]
    defaults = settings(kind, kv)
    defaults.setdefault("lr", 1e-3)
    return made([g for g in param_groups if g["params"]], **defaults)


def runs(path=os.path.join(HERE, "train_runs.txt")):
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                case, spec, loss, groups = line.rstrip("\n").split("|")
                yield case, spec, loss, [g for g in groups.split(";") if g]


def main(outdir=HERE):
    for case, (file, expr, width, outs) in CASES.items():
        gen = torch.Generator().manual_seed(99)
        data = {"x": torch.randn(STEPS * BATCH, width, generator=gen),
                "target": torch.randn(STEPS * BATCH, outs, generator=gen)}
        save_file(data, os.path.join(outdir, f"{case}.train_data.safetensors"))
    results = {}
    for n, (case, spec, loss, groups) in enumerate(runs()):
        file, expr, _, _ = CASES[case]
        data = load_file(os.path.join(outdir, f"{case}.train_data.safetensors"))
        model = load_class(file, expr)
        model.load_state_dict(load_file(os.path.join(outdir, f"{case}.weights.safetensors")))
        model.train()
        opt = optimizer(model, spec, groups)
        losses = []
        for k in range(STEPS):
            x = data["x"][k * BATCH:(k + 1) * BATCH]
            t = data["target"][k * BATCH:(k + 1) * BATCH]
            opt.zero_grad()
            L = LOSSES[loss](model(x), t)
            L.backward()
            opt.step()
            losses.append(L.item())
        for name, p in model.named_parameters():
            results[f"run{n}.param.{name}"] = p.detach().contiguous()
        results[f"run{n}.loss"] = torch.tensor(losses)
        print(f"run {n} ({case} {spec} {loss} {groups}): loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    save_file(results, os.path.join(outdir, "trained.safetensors"))


if __name__ == "__main__":
    main(*sys.argv[1:2])
