"""Branchy models the way people write them, one class with every knob, for
the random golden corpus (tests/golden/random_cases.txt, made by
tests/golden/make_random.py with PyTorch): n branches in a ModuleList, each
a Sequential of Linear layers with an activation, BatchNorm1d or LayerNorm
between them, bias on or off, on its own slice of the input (equal or
unequal widths) or on the whole input, combined by cat, stack + sum or
mean, builtin sum(), a += loop, a head layer, or several outputs."""
import torch
import torch.nn as nn


def make_act(name):
    """by name; a class sheaf does not model is only named where it is drawn"""
    classes = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "gelu": "GELU", "silu": "SiLU", "elu": "ELU",
               "selu": "SELU", "hardtanh": "Hardtanh", "relu6": "ReLU6", "softplus": "Softplus", "softsign": "Softsign",
               "softshrink": "Softshrink", "hardshrink": "Hardshrink", "tanhshrink": "Tanhshrink",
               "hardsigmoid": "Hardsigmoid", "hardswish": "Hardswish", "mish": "Mish", "logsigmoid": "LogSigmoid",
               "prelu": "PReLU", "rrelu": "RReLU"}
    if name in classes:
        return getattr(nn, classes[name])()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.05)
    if name == "celu":
        return nn.CELU(0.7)
    if name == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    if name == "threshold":
        return nn.Threshold(0.1, 0.0)
    return nn.Identity()


def make_norm(norm, n):
    if norm == "bn":
        return nn.BatchNorm1d(n)
    if norm == "ln":
        return nn.LayerNorm(n)
    if norm == "gn":
        return nn.GroupNorm(1, n)
    if norm == "rms":
        return nn.RMSNorm(n)
    return None


def make_branch(sizes, act, bias, norm):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=bias))
        last = i == len(sizes) - 2
        if not last:
            if norm != "none":
                layers.append(make_norm(norm, sizes[i + 1]))
            layers.append(make_act(act))
    return nn.Sequential(*layers)


class Zoo(nn.Module):
    def __init__(self, widths, hidden, out, act="relu", bias=True, norm="none", shared=False, combine="cat",
                 head=0):
        super().__init__()
        self.widths = widths
        self.shared = shared
        self.combine = combine
        self.branches = nn.ModuleList(
            [make_branch([w] + hidden + [out], act, bias, norm) for w in widths])
        if combine == "head":
            self.head = nn.Linear(out * len(widths), head)

    def forward(self, x):
        outs = []
        at = 0
        for i, branch in enumerate(self.branches):
            if self.shared:
                outs.append(branch(x))
            else:
                w = self.widths[i]
                outs.append(branch(x[:, at:at + w]))
                at = at + w
        if self.combine == "cat":
            return torch.cat(outs, dim=1)
        if self.combine == "stack_sum":
            return torch.stack(outs, dim=0).sum(dim=0)
        if self.combine == "stack_mean":
            return torch.stack(outs).mean(0)
        if self.combine == "sum":
            return sum(outs)
        if self.combine == "loop_add":
            total = outs[0]
            for o in outs[1:]:
                total += o
            return total
        if self.combine == "head":
            return self.head(torch.cat(outs, dim=1))
        return tuple(outs[:4])
