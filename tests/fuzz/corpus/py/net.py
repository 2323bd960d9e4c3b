import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(n)])
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        outs = [F.relu(layer(x)) for layer in self.layers]
        y = torch.stack(outs, dim=0).sum(dim=0)
        a, b = torch.chunk(y, 2, dim=1)
        return self.norm(torch.cat([b, a], dim=-1)) * 0.5
