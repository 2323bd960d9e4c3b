#!/usr/bin/env python3
"""What sheaf refuses of random models written the way users write them.

Draws N models of tests/models/random_zoo.py (the random golden corpus's
class) with every activation and norm it knows enabled, compiles each
with `sheaf ir` (the frontend, the passes, no run), and prints how many
compiled and the refusals by reason (the message with its place and
numbers taken out), most common first. Needs only Python and a built
sheaf; no torch.

    python3 scripts/census.py [N [SEED]] [--check]     (default 1000 models, seed 1)

--check runs each at a random batch instead (`sheaf run --check`: the CPU
backend on the optimised IR against the interpreter on the unoptimised
one), so a wrong number counts as a refusal with the output's name.
"""
import os
import random
import re
import subprocess
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHEAF = os.path.join(ROOT, "build", "sheaf")
ZOO = os.path.join(ROOT, "tests", "models", "random_zoo.py")
ACTS = ["relu", "tanh", "sigmoid", "gelu", "silu", "leaky_relu", "elu", "selu", "celu", "gelu_tanh", "hardtanh",
        "relu6", "softplus", "softsign", "softshrink", "hardshrink", "tanhshrink", "hardsigmoid", "hardswish", "mish",
        "logsigmoid", "prelu", "rrelu", "threshold", "none"]
NORMS = ["none", "bn", "ln", "gn", "rms"]
COMBINES = ["cat", "stack_sum", "stack_mean", "sum", "loop_add", "head", "tuple"]


def draw(r):
    n = r.randint(1, 64)
    shared = r.random() < 0.35
    w = r.randint(1, 24)
    widths = [w] * n if shared or r.random() < 0.7 else [r.randint(1, w) for _ in range(n)]
    hidden = [r.randint(1, 24) for _ in range(r.randint(0, 2))]
    out = r.randint(1, 8)
    expr = "Zoo(%r, %r, %d, act=%r, bias=%r, norm=%r, shared=%r, combine=%r, head=%d)" % (
        widths, hidden, out, r.choice(ACTS), r.random() < 0.7, r.choice(NORMS), shared, r.choice(COMBINES),
        r.randint(1, 8))
    return expr, w if shared else sum(widths)


def reason(message):
    m = message.strip().splitlines()[-1] if message.strip() else "no message"
    m = re.sub(r"^sheaf: ", "", m)
    m = re.sub(r"\S+\.py:\d+:\d+: ", "", m)
    m = re.sub(r"\(in [^)]*\)", "", m)
    return re.sub(r"\d+", "N", m).strip()


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    count = int(args[0]) if args else 1000
    r = random.Random(int(args[1]) if len(args) > 1 else 1)
    refused = Counter()
    for _ in range(count):
        expr, in_w = draw(r)
        how = ["run", "--check", "--batch", str(r.choice([1, 3, 8, 17, 64, 257]))] if check else ["ir", "--stats"]
        p = subprocess.run([SHEAF, how[0], ZOO, "--model", expr, "--input", "x=f32[B,%d]" % in_w] + how[1:],
                           capture_output=True, text=True)
        if p.returncode:
            refused[reason(p.stderr)] += 1
    print("%d random models (every activation and norm of tests/models/random_zoo.py): %d %s, %d refused"
          % (count, count - sum(refused.values()), "ran and agreed" if check else "compiled", sum(refused.values())))
    for why, k in refused.most_common():
        print("%5d  %s" % (k, why))


if __name__ == "__main__":
    main()
