#!/usr/bin/env python3
"""The random golden corpus: 60 models of tests/models/random_zoo.py with
knobs drawn from a fixed seed (1-300 groups, 1-40 features, bias on and
off, every activation, BatchNorm and LayerNorm, equal and unequal slices or
a shared input, every way of combining), each at a batch size drawn from
each side of the CPU kernels' thresholds; writes random_cases.txt and, with
PyTorch, the goldens under random/. Needs torch and safetensors; CI only
reads the committed files.

    python3 tests/golden/make_random.py
"""
import os
import random

import make_golden

HERE = os.path.dirname(os.path.abspath(__file__))
COUNT = 60
ACTS = ["relu", "tanh", "sigmoid", "gelu", "silu", "none"]
COMBINES = ["cat", "stack_sum", "stack_mean", "sum", "loop_add", "head", "tuple"]
EDGES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 32, 33, 40]
BATCHES = [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 255, 256, 257]


def width(r):
    return r.choice(EDGES) if r.random() < 0.5 else r.randint(1, 40)


def case(r, i):
    u = r.random()
    n = r.randint(1, 7) if u < 0.25 else r.randint(8, 64) if u < 0.8 else r.randint(65, 300)
    shared = r.random() < 0.35
    unequal = not shared and r.random() < 0.25
    if unequal:
        n = min(n, 12)
    w = width(r)
    while n * w > 2000:
        w = max(1, w // 2)
    widths = [r.randint(1, w) if unequal else w for _ in range(n)]
    hidden = [width(r) for _ in range(r.randint(0, 2))]
    out = r.randint(1, 7) if r.random() < 0.5 else width(r)
    combine = r.choice(COMBINES)
    flops = n * sum(a * b for a, b in zip([w] + hidden, hidden + [out]))
    while flops > 6000 and hidden: # weights kept small: the corpus is committed
        hidden.pop()
        flops = n * sum(a * b for a, b in zip([w] + hidden, hidden + [out]))
    while flops > 6000 and out > 1:
        out = max(1, out // 2)
        flops = n * sum(a * b for a, b in zip([w] + hidden, hidden + [out]))
    in_w = w if shared else sum(widths)
    batch = r.choice(BATCHES)
    while batch > 1 and batch * max(in_w, out * n) > 24000:
        batch //= 2
    widths_text = f"[{w}] * {n}" if not unequal else repr(widths)
    expr = (f"Zoo({widths_text}, {hidden!r}, {out}, act={r.choice(ACTS)!r}, bias={r.random() < 0.7}, "
            f"norm={r.choice(['none', 'none', 'bn', 'ln'])!r}, shared={shared}, combine={combine!r}, "
            f"head={width(r)})")
    return f"random/zoo{i:02d}|random_zoo.py|{expr}|x=f32[B,{in_w}]||{batch}"


def main():
    r = random.Random(13)
    lines = [case(r, i) for i in range(COUNT)]
    path = os.path.join(HERE, "random_cases.txt")
    with open(path, "w") as f:
        f.write("# made by make_random.py: name | model file | --model | --input | --const | batch\n")
        f.write("\n".join(lines) + "\n")
    os.makedirs(os.path.join(HERE, "random"), exist_ok=True)
    make_golden.main(path, HERE)  # names are random/zooNN


if __name__ == "__main__":
    main()
