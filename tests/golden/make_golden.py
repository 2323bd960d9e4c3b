#!/usr/bin/env python3
"""Golden files from PyTorch for the frontend tests.

For each line of cases.txt: build the model from its file in tests/models in
eval mode, give it random weights (BatchNorm running statistics too, so that
folding them is checked), run it on random inputs and save weights, inputs and
outputs as safetensors under tests/golden/. Needs torch and safetensors (pip);
CI only reads the committed files.

    python3 tests/golden/make_golden.py [CASES [OUTDIR]]

CASES defaults to cases.txt beside this file, OUTDIR to this folder
(make_random.py writes random_cases.txt and calls this for random/).
"""
import importlib.util
import os
import re
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "models")


def load_class(file, expr):
    spec = importlib.util.spec_from_file_location(file[:-3], os.path.join(MODELS, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return eval(expr, vars(mod))


def shape_of(spec, batch):
    name, t = spec.split("=")
    dims = re.match(r"f32\[(.*)\]", t).group(1).split(",")
    return name, [batch if d == "B" else int(d) for d in dims]


def case_rows(cases):
    """each case line's fields: name, model file, constructor, input specs, const specs, batch"""
    for line in open(cases):
        line = line.strip()
        if line and not line.startswith("#"):
            yield [f.strip() for f in line.split("|")]


def randomise(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 1.5, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.5, 0.5, generator=gen)


def main(cases=os.path.join(HERE, "cases.txt"), outdir=HERE):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    for name, file, expr, inputs, consts, batch in case_rows(cases):
        torch.manual_seed(1234)
        gen = torch.Generator().manual_seed(99)
        model = load_class(file, expr).eval()
        randomise(model, gen)
        args = {}
        for spec in filter(None, inputs.split(";")):
            n, shape = shape_of(spec, int(batch))
            args[n] = torch.randn(*shape, generator=gen)
        kwargs = dict(args)
        for spec in filter(None, consts.split(";")):
            n, v = spec.split("=", 1)
            kwargs[n] = eval(v)
        with torch.no_grad():
            out = model(**kwargs)
        outs = {"output": out} if torch.is_tensor(out) else {f"output.{i}": o for i, o in enumerate(out)}
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(weights, os.path.join(outdir, f"{name}.weights.safetensors"))
        save_file({k: v.contiguous() for k, v in args.items()}, os.path.join(outdir, f"{name}.inputs.safetensors"))
        save_file({k: v.contiguous() for k, v in outs.items()}, os.path.join(outdir, f"{name}.outputs.safetensors"))
        shapes = ", ".join(str(tuple(o.shape)) for o in outs.values())
        print(f"{name}: {sum(v.numel() for v in weights.values())} weights, outputs {shapes}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
