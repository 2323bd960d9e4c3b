#!/usr/bin/env python3
"""Golden gradients from PyTorch autograd for the gradient tests.

For each line of cases.txt: the model in eval mode with the committed
weights and inputs (make_golden.py made them), one random seed per float
output (dL/d output), and torch.autograd's gradients of every parameter
(state_dict names, "param.<name>"; buffers take none) and of every float
input ("input.<name>"), with the seeds ("grad.output", "grad.output.<i>"),
saved as <name>.grads.safetensors beside them. Needs torch and safetensors;
CI only reads the committed files.

    python3 tests/golden/make_grads.py [CASES [OUTDIR]]
"""
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import HERE, case_rows, load_class  # noqa: E402


def main(cases=os.path.join(HERE, "cases.txt"), outdir=HERE):
    for name, file, expr, inputs, consts, batch in case_rows(cases):
        torch.manual_seed(1234)
        model = load_class(file, expr).eval()
        model.load_state_dict(load_file(os.path.join(outdir, f"{name}.weights.safetensors")))
        args = load_file(os.path.join(outdir, f"{name}.inputs.safetensors"))
        for v in args.values():
            if v.is_floating_point():
                v.requires_grad_(True)
        kwargs = dict(args)
        for spec in filter(None, consts.split(";")):
            n, v = spec.split("=", 1)
            kwargs[n] = eval(v)
        out = model(**kwargs)
        outs = {"output": out} if torch.is_tensor(out) else {f"output.{i}": o for i, o in enumerate(out)}
        gen = torch.Generator().manual_seed(7)
        seeds = {k: torch.randn(o.shape, generator=gen) for k, o in outs.items() if o.is_floating_point()}
        live = [(outs[k], s) for k, s in seeds.items() if outs[k].requires_grad]
        if live:
            torch.autograd.backward([o for o, _ in live], [s for _, s in live])
        grads = {f"grad.{k}": s for k, s in seeds.items()}
        for n, p in model.named_parameters():
            grads[f"param.{n}"] = p.grad if p.grad is not None else torch.zeros_like(p)
        for n, v in args.items():
            if v.is_floating_point():
                grads[f"input.{n}"] = v.grad if v.grad is not None else torch.zeros_like(v)
        save_file({k: v.detach().contiguous() for k, v in grads.items()}, os.path.join(outdir, f"{name}.grads.safetensors"))
        print(f"{name}: {len(grads) - len(seeds)} gradients")


if __name__ == "__main__":
    main(*sys.argv[1:3])
