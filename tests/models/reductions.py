import torch
import torch.nn as nn
import torch.nn.functional as F


class Reductions(nn.Module):
    """Heads stacked on a dim, then every reduction and the functions built
    from them (var, std, logsumexp, norms, normalize, cosine similarity,
    pairwise distance), the softmax family and the activation modules with
    parameters or a dim (PReLU per channel and shared, GLU, RReLU in eval)."""

    def __init__(self, width, hidden, heads):
        super().__init__()
        self.proj = nn.ModuleList([nn.Linear(width, hidden) for _ in range(heads)])
        self.prelu = nn.PReLU()
        self.prelu_heads = nn.PReLU(heads, init=0.1)
        self.lsm = nn.LogSoftmax(dim=-1)
        self.smin = nn.Softmin(dim=1)
        self.glu = nn.GLU()
        self.logsig = nn.LogSigmoid()
        self.rrelu = nn.RReLU(0.1, 0.3)

    def forward(self, x):
        h = self.prelu_heads(torch.stack([p(x) for p in self.proj], dim=1))  # [B, heads, hidden]
        a = torch.amax(h, dim=2) + h.amin(dim=-1) + torch.max(h, self.prelu(h)).sum(2) + torch.minimum(h, h * 0.5).mean(2)
        b = h.prod(dim=2) + torch.prod(h * 0.5 + 1, 2) + h.max() - torch.min(h)
        c = torch.var(h, dim=2) + h.std(dim=2, unbiased=False) + torch.var(h, 2, correction=0) + torch.logsumexp(h, dim=2)
        c = c + h.norm(dim=2) + torch.norm(h, p=1, dim=2) + h.norm(p=float('inf'), dim=2) + h.std(2, keepdim=True)[:, :, 0]
        d = F.normalize(h, dim=2).sum(2) + F.cosine_similarity(h, torch.tanh(h), dim=2) + F.pairwise_distance(h, torch.sigmoid(h))
        e = self.lsm(h).sum(2) + self.smin(h).sum(2) + F.log_softmax(h, dim=1).mean(2) + F.softmin(h, dim=2).amax(2)
        f = self.glu(h).sum(2) + self.logsig(h).mean(2) + self.rrelu(h).sum(2) + F.glu(h, dim=2).sum(2) + F.logsigmoid(h).amin(2)
        g = torch.logsumexp(h, dim=(1, 2), keepdim=True)[:, 0] + F.rrelu(h, 0.2, 0.4).mean(2)
        return torch.cat([a, b, c, d, e, f, g], dim=1)


class Norms(nn.Module):
    """GroupNorm and RMSNorm, modules and functions, on [B, C] and [B, C, L]
    values, with affine parameters away from their 1 and 0."""

    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, 24)
        self.gn = nn.GroupNorm(2, 4)
        self.gn_flat = nn.GroupNorm(3, 24, eps=1e-3)
        self.gn_plain = nn.GroupNorm(1, 4, affine=False)
        self.rms = nn.RMSNorm(6)
        self.rms_2d = nn.RMSNorm([4, 6], eps=1e-4, elementwise_affine=False)
        for p in (self.gn.weight, self.gn_flat.weight, self.rms.weight):
            nn.init.uniform_(p, 0.5, 1.5)
        nn.init.uniform_(self.gn.bias, -0.5, 0.5)
        nn.init.uniform_(self.gn_flat.bias, -0.5, 0.5)

    def forward(self, x):
        h = self.proj(x)
        s = h.reshape(-1, 4, 6)
        a = self.gn(s) + self.gn_plain(s) + self.rms(s) + self.rms_2d(s)
        b = F.group_norm(s, 4, eps=1e-5) + F.rms_norm(s, (6,), self.rms.weight) + F.group_norm(s, 2, self.gn.weight, self.gn.bias)
        return torch.cat([a.flatten(1), b.flatten(1), self.gn_flat(h)], dim=1)
