"""Models built on indices: positions from torch.arange, table lookups
(nn.Embedding), argmax / max along a dim, gathers, cumulative sums, sin/cos
positional encodings, instance norms and bilinear layers."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Lookups(nn.Module):
    """token ids made from the input, token and position embeddings, the best
    position per feature and the values there"""

    def __init__(self, vocab, d, length):
        super().__init__()
        self.vocab = vocab
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(length, d)
        self.register_buffer("offsets", torch.arange(length))

    def forward(self, x):
        ids = (x.abs() * 3).floor().clamp(max=self.vocab - 1).long()
        h = self.tok(ids) + self.pos(torch.arange(x.size(1)))
        best = h.argmax(dim=1)
        top = torch.gather(h, 1, best.unsqueeze(1))
        v, i = h.max(dim=-1)
        least = h.min(2, keepdim=True)
        picked = h.index_select(1, torch.arange(0, h.size(1), 2))
        along = torch.gather(h, -1, h.argmin(-1, keepdim=True))
        shifted = self.offsets + 0.5 * torch.arange(self.offsets.size(0))
        return best, top, v, i, least.values, least.indices, picked, along, shifted, F.embedding(ids[:, :2], self.tok.weight)


class SinusoidalEncoder(nn.Module):
    """a transformer's sin/cos position encoding, computed in forward, and a
    running mean over positions"""

    def __init__(self, d):
        super().__init__()
        self.proj = nn.Linear(d, d)
        self.d = d

    def forward(self, x):
        t = x.size(1)
        pos = torch.arange(t, dtype=torch.float32).unsqueeze(1)
        freq = torch.exp(torch.arange(0, self.d, 2).float() * (-math.log(10000.0) / self.d))
        pe = torch.stack([torch.sin(pos * freq), torch.cos(pos * freq)], dim=-1).flatten(-2)
        h = self.proj(x + pe)
        run = h.cumsum(dim=1) / torch.arange(1, t + 1).unsqueeze(-1)
        return run, torch.eye(t) @ h, h.sin() * torch.cos(h * 30)


class InstanceBilinear(nn.Module):
    """instance norms (1-D and 2-D, affine, running statistics) and bilinear heads"""

    def __init__(self, c):
        super().__init__()
        self.n1 = nn.InstanceNorm1d(c)
        self.n1a = nn.InstanceNorm1d(c, affine=True)
        self.n2 = nn.InstanceNorm2d(c, affine=True, track_running_stats=True)
        self.bil = nn.Bilinear(c, c, 3)
        self.bil2 = nn.Bilinear(c, 2, 4, bias=False)
        self.w = nn.Parameter(torch.randn(5, c, c) * 0.1)

    def forward(self, x):
        a = self.n1(x) + self.n1a(x)
        b = self.n2(x.unsqueeze(-1) * x.unsqueeze(-2)[..., :3])
        f = F.instance_norm(x, eps=1e-3)
        u, v = a[:, :, 0], a[:, :, 1]
        return a, b, f, self.bil(u, v), self.bil2(u, v[:, :2]), F.bilinear(u, v, self.w)
