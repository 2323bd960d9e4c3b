"""Models that the CPU backend once got wrong while the interpreter was
right (tests/test_found.c): a chain of narrow grouped products (fewer than
8 outputs per group, 8 or more groups) ran over a third of its work items
at batch <= 256, and `x @ self.w` treated the batch as a constant."""
import torch
import torch.nn as nn


class Heads(nn.Module):
    """n parallel heads, each on its own w-column slice: Linear(w, h) -> tanh -> Linear(h, o, bias=False)."""

    def __init__(self, n, w, h, o):
        super().__init__()
        self.w = w
        self.heads = nn.ModuleList(
            [nn.Sequential(nn.Linear(w, h), nn.Tanh(), nn.Linear(h, o, bias=False)) for _ in range(n)])

    def forward(self, x):
        outs = []
        for i, head in enumerate(self.heads):
            outs.append(head(x[:, i * self.w:(i + 1) * self.w]))
        return torch.cat(outs, dim=1)


class MatW(nn.Module):
    """x @ self.w and torch.matmul with an nn.Parameter."""

    def __init__(self, n, m):
        super().__init__()
        self.w = nn.Parameter(torch.randn(n, m))
        self.v = nn.Parameter(torch.randn(m, n))

    def forward(self, x):
        return torch.matmul(x @ self.w, self.v)


class StackMean(nn.Module):
    """n branches of Linear -> GELU -> Linear on the same input, averaged through a stack."""

    def __init__(self, n, i, h, o):
        super().__init__()
        self.branches = nn.ModuleList([nn.Sequential(nn.Linear(i, h), nn.GELU(), nn.Linear(h, o)) for _ in range(n)])

    def forward(self, x):
        return torch.stack([b(x) for b in self.branches]).mean(0)
