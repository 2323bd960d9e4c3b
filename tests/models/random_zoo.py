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
    if name == "relu":
        return nn.ReLU()
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "gelu":
        return nn.GELU()
    if name == "silu":
        return nn.SiLU()
    return nn.Identity()


def make_branch(sizes, act, bias, norm):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], bias=bias))
        last = i == len(sizes) - 2
        if not last:
            if norm == "bn":
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            elif norm == "ln":
                layers.append(nn.LayerNorm(sizes[i + 1]))
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
