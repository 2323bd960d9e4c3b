# Masks and tensors made in forward, the way attention code writes them:
# a causal mask buffer (nanoGPT's torch.tril(torch.ones(T, T))), masked_fill
# with -inf, comparisons, where, ~ & |, isnan, zeros/ones/full in forward.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Head(nn.Module):
    def __init__(self, d, hd, t):
        super().__init__()
        self.key = nn.Linear(d, hd, bias=False)
        self.query = nn.Linear(d, hd, bias=False)
        self.value = nn.Linear(d, hd, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(t, t)))

    def forward(self, x):
        B, T, C = x.shape
        k = self.key(x)
        q = self.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = F.softmax(wei, dim=-1)
        return wei @ self.value(x)


class CausalHeads(nn.Module):
    """Multi-head causal self-attention as a ModuleList of heads."""

    def __init__(self, d=8, heads=4, t=6):
        super().__init__()
        self.heads = nn.ModuleList([Head(d, d // heads, t) for _ in range(heads)])
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))


class MaskOps(nn.Module):
    """Every mask operation on a [B, T, D] input."""

    def __init__(self, d=8):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        T = x.shape[1]
        h = self.fc(x)
        causal = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
        att = (h @ x.transpose(1, 2)).masked_fill(causal, float("-inf")).softmax(dim=-1)
        band = (x > 0) & ~(x > 1) | (x < -1.5)
        y = att @ x + band * 2.0 + torch.where(x < -0.5, h, torch.zeros_like(x))
        y = y.masked_fill(torch.isnan(y) | (y == 0), 1.0) + x.gt(0.1).float().sum(-1, keepdim=True)
        y = y + torch.full((x.size(0), 1, 1), 0.5) + torch.zeros(x.size(0), T, 1) + torch.ones_like(h) * 0.25
        keep = torch.logical_and(h >= -0.2, h.le(0.7)) ^ torch.isfinite(h)
        y = torch.where(keep, y, -y) + torch.tril(h, diagonal=-1) - h.triu(1).where(h != 0.5, 0.0)
        return y + x.ne(x).float() + torch.logical_not(band).to(torch.float32) + (~band).type_as(x)
