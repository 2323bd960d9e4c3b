"""Models written in other ordinary styles than the corpus, to check the
frontend against PyTorch on more of the subset: ModuleDict, OrderedDict,
inheritance, nn.Parameter with F.linear, buffers, views, chunk and split,
ellipsis indexing, builtin sum(), keyword arguments and defaults."""
from collections import OrderedDict
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_block(width: int, out: int, act: str = "relu") -> nn.Module:
    layers = [nn.Linear(width, out)]
    if act == "relu":
        layers.append(nn.ReLU())
    elif act == "gelu":
        layers.append(nn.GELU())
    else:
        layers.append(nn.Identity())
    return nn.Sequential(*layers)


class Base(nn.Module):
    def __init__(self, width, heads=3):
        super(Base, self).__init__()
        self.width = width
        self.heads = nn.ModuleDict({
            f"h{i}": make_block(width, 4, act="gelu" if i % 2 else "relu")
            for i in range(heads)
        }) if False else nn.ModuleDict(OrderedDict(
            [("h%d" % i, make_block(width, 4, act="gelu" if i % 2 else "relu")) for i in range(heads)]))
        self.scale = nn.Parameter(torch.ones(4))
        self.register_buffer("shift", torch.zeros(4))
        self.proj = nn.Parameter(torch.randn(2, 4))
        self.norm = nn.LayerNorm(4, eps=1e-6)

    def forward(self, x):
        outs = [head(x) for name, head in self.heads.items() if name != "unused"]
        y = sum(outs) / len(outs)             # builtin sum over tensors
        y = self.norm(y) * self.scale + self.shift
        return F.linear(y, self.proj)


class Derived(Base):
    """Overrides forward only; uses views, chunk, split and ellipsis."""

    def forward(self, x, scale: Optional[float] = None):
        a, b = torch.chunk(x, 2, dim=1)       # [B, 3] each
        first, rest = x.split([1, 5], dim=-1)
        h = torch.cat([b, a], dim=1)          # swap halves
        h = h - first * 2.0 + rest.mean(dim=1, keepdim=True)
        stacked = torch.stack([h, -h, h * h], dim=0).mean(0)
        z = super().forward(stacked)
        if scale is not None:
            z = z * scale
        col = x[..., -1:]                     # [B, 1]
        z = z + col.expand_as(z) if False else z + col
        return z.view(z.size(0), -1)


class Pipes(nn.Module):
    def __init__(self, n_pipes=3, width=8):
        super().__init__()
        self.pipes = nn.ModuleList()
        for i in range(n_pipes):
            self.pipes.append(nn.Sequential(OrderedDict([
                ("fc", nn.Linear(width, width)),
                ("act", nn.Tanh() if i == 0 else nn.SiLU()),
            ])))
        self.pipes.extend([nn.Sequential(nn.Linear(width, width), nn.Sigmoid())])
        self.mix = nn.Conv1d(len(self.pipes), 2, kernel_size=3, padding=1)
        self.head = nn.Linear(2 * width, 3)

    def forward(self, x):
        ys = []
        for i, (pipe, sign) in enumerate(zip(self.pipes, [1, -1, 1, -1])):
            y = pipe(x) * sign
            if i == 0:
                total = y
            else:
                total = total + y
            ys.append(y.unsqueeze(1))
        z = torch.cat(ys, dim=1)              # [B, pipes, width]
        z = self.mix(z)                       # [B, 2, width]
        z = z.permute(0, 2, 1).transpose(1, 2)
        z = torch.flatten(z, 1)
        out = self.head(z) + total[:, :3]
        return F.softmax(out, dim=-1), total[:, ::2]


class Chain(nn.Module):
    def __init__(self, sizes: List[int] = [6, 12, 12, 5]):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
        self.bns = nn.ModuleList([nn.BatchNorm1d(s) for s in sizes[1:-1]])
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        for layer, bn in zip(self.layers[:-1], self.bns):
            x = self.drop(F.relu(bn(layer(x))))
        x = self.layers[-1](x)
        x = x.reshape(-1, 5, 1).squeeze(-1)
        return torch.sigmoid(x).t().t()


class Ensemble(nn.Module):
    """An ensemble average: every member sees the same input."""

    def __init__(self, n=5, width=6, hidden=8, out=3):
        super().__init__()
        self.members = nn.ModuleList(
            [nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out)) for _ in range(n)])

    def forward(self, x):
        return torch.stack([m(x) for m in self.members], dim=0).mean(dim=0)
