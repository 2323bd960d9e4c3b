"""The fusion patterns of docs/passes.md, written as people write them: an
ensemble of MLPs of different widths, a sum of branches that end in an
activation, towers of towers, an Inception block (1x1 reductions of
different widths, then 3x3 and 5x5 convs), and a growing stack of
conv + BatchNorm + ReLU branches summed. tests/test_golden.c asserts the
op counts -O2 leaves of each."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class HeteroEnsemble(nn.Module):
    def __init__(self, d, widths=(16, 32, 64)):
        super().__init__()
        self.members = nn.ModuleList([nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, 3)) for h in widths])

    def forward(self, x):
        return torch.stack([m(x) for m in self.members]).mean(0)


class NonlinearSum(nn.Module):
    def __init__(self, d, n):
        super().__init__()
        self.ls = nn.ModuleList([nn.Linear(d, 8) for _ in range(n)])

    def forward(self, x):
        return sum(torch.tanh(l(x)) for l in self.ls)


class Towers(nn.Module):
    def __init__(self, outer, inner, w):
        super().__init__()
        self.w = w
        self.towers = nn.ModuleList([nn.ModuleList([nn.Sequential(nn.Linear(w, 8), nn.ReLU(), nn.Linear(8, 2))
                                                    for _ in range(inner)]) for _ in range(outer)])

    def forward(self, x):
        outs = []
        for i, tower in enumerate(self.towers):
            xi = x[:, i * self.w * len(tower):(i + 1) * self.w * len(tower)]
            outs.append(torch.cat([m(xi[:, j * self.w:(j + 1) * self.w]) for j, m in enumerate(tower)], 1))
        return torch.cat(outs, 1)


class Inception(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.b1 = nn.Conv2d(c, 8, 1)
        self.reduce3 = nn.Conv2d(c, 6, 1)
        self.reduce5 = nn.Conv2d(c, 2, 1)
        self.b3 = nn.Conv2d(6, 8, 3, padding=1)
        self.b5 = nn.Conv2d(2, 4, 5, padding=2)

    def forward(self, x):
        r3, r5 = F.relu(self.reduce3(x)), F.relu(self.reduce5(x))
        return torch.cat([F.relu(self.b1(x)), F.relu(self.b3(r3)), F.relu(self.b5(r5))], 1)


class Growing(nn.Module):
    def __init__(self, c, n):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv2d(c, c, 3, padding=1) for _ in range(n)])
        self.bns = nn.ModuleList([nn.BatchNorm2d(c) for _ in range(n)])

    def forward(self, x):
        out = 0
        for conv, bn in zip(self.convs, self.bns):
            out = out + F.relu(bn(conv(x)))
        return out


class RaggedWindows(nn.Module):
    """Per-window MLPs of different hidden widths over equal windows of the input (a neural additive model whose
    features get different capacities), summed, and heads of other widths over the same windows, concatenated:
    each set one padded grouped product per layer (docs/passes.md, hfuse)."""

    def __init__(self, w=2, widths=(8, 12, 16, 12, 8, 16), head_widths=(6, 4, 6, 5, 6, 6)):
        super().__init__()
        self.w = w
        self.nets = nn.ModuleList([nn.Sequential(nn.Linear(w, h), nn.ReLU(), nn.Linear(h, 1)) for h in widths])
        self.heads = nn.ModuleList([nn.Sequential(nn.Linear(w, h), nn.Tanh(), nn.Linear(h, 3), nn.ReLU())
                                    for h in head_widths])

    def forward(self, x):
        total = 0
        outs = []
        for i, (f, g) in enumerate(zip(self.nets, self.heads)):
            xi = x[:, i * self.w:(i + 1) * self.w]
            total = total + f(xi)
            outs.append(g(xi))
        return total, torch.cat(outs, dim=1)
