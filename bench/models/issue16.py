"""The branchy models of issue 16's table, written the way their users write them: per-feature MLPs
(neural additive models), parallel deep MLPs on slices, nested towers of MLPs, and an ensemble of
MLPs on one input averaged. bench/torch_baselines.py --set bench runs them beside PyTorch.

# compile: --model "NAM(64, 32)" --input "x=f32[B,64]"
# compile: --model "RaggedNAM(64, (24, 28, 32))" --input "x=f32[B,64]"
# compile: --model "DeepParallel(1000)" --input "x=f32[B,20000]"
# compile: --model "Towers(4, 8, 32)" --input "x=f32[B,32]"
# compile: --model "Ensemble(64, 32, 64, 10)" --input "x=f32[B,32]"
"""
import torch
import torch.nn as nn


class FeatureNet(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


class NAM(nn.Module):
    """one small MLP per input feature, the contributions summed"""

    def __init__(self, features, hidden):
        super().__init__()
        self.features = nn.ModuleList([FeatureNet(hidden) for _ in range(features)])
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = self.bias
        for i, f in enumerate(self.features):
            out = out + f(x[:, i:i + 1])
        return out


class RaggedNAM(nn.Module):
    """a NAM whose features get MLPs of different widths (hfuse groups them padded to the widest)"""

    def __init__(self, features, widths):
        super().__init__()
        self.features = nn.ModuleList([FeatureNet(widths[i % len(widths)]) for i in range(features)])

    def forward(self, x):
        out = 0
        for i, f in enumerate(self.features):
            out = out + f(x[:, i:i + 1])
        return out


class DeepParallel(nn.Module):
    """seed 003 with depth: 20 -> 16 -> 16 -> 1 per 20-wide slice, ReLU between"""

    def __init__(self, n):
        super().__init__()
        self.models = nn.ModuleList([nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                                                   nn.Linear(16, 1)) for _ in range(n)])

    def forward(self, x):
        return torch.cat([m(x[:, i * 20:(i + 1) * 20]) for i, m in enumerate(self.models)], dim=1)


class Tower(nn.Module):
    def __init__(self, branches, width):
        super().__init__()
        self.branches = nn.ModuleList([nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width))
                                       for _ in range(branches)])

    def forward(self, x):
        return torch.stack([b(x) for b in self.branches]).sum(0)


class Towers(nn.Module):
    """towers of towers: each tower sums its MLP branches, the towers run one after another, then a head"""

    def __init__(self, towers, branches, width):
        super().__init__()
        self.towers = nn.ModuleList([Tower(branches, width) for _ in range(towers)])
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        for t in self.towers:
            x = torch.relu(t(x)) + x
        return self.head(x)


class Ensemble(nn.Module):
    """n MLPs on the same input, the mean of their outputs"""

    def __init__(self, n, width, hidden, out):
        super().__init__()
        self.members = nn.ModuleList([nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, out))
                                      for _ in range(n)])

    def forward(self, x):
        return torch.stack([m(x) for m in self.members], dim=0).mean(dim=0)
