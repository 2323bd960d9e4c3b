"""Models as people write them, one of each kind sheaf meets: a dense
mixture of experts, multi-task heads, Siamese and triplet networks, a
neural additive model, DenseNet-like growth, a 1-D U-Net, a mixture
density network and a deep ensemble with its spread. Each is a golden case
(tests/golden/cases.txt) checked against PyTorch at batch 1, 7 and 256
(tests/python), and tests/test_golden.c asserts the op counts -O2 leaves."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MixtureOfExperts(nn.Module):
    """every expert runs, a softmax gate weighs them (dense MoE)"""

    def __init__(self, d, experts, hidden, out):
        super().__init__()
        self.gate = nn.Linear(d, experts)
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(d, hidden), nn.GELU(), nn.Linear(hidden, out))
                                      for _ in range(experts)])

    def forward(self, x):
        weights = F.softmax(self.gate(x), dim=-1)                      # [B, E]
        outs = torch.stack([e(x) for e in self.experts], dim=1)        # [B, E, out]
        return (weights.unsqueeze(-1) * outs).sum(dim=1)


class MultiTaskHeads(nn.Module):
    """a shared trunk, one head per task in a ModuleDict"""

    def __init__(self, d, tasks):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.heads = nn.ModuleDict({name: nn.Linear(32, width) for name, width in tasks.items()})

    def forward(self, x):
        h = self.trunk(x)
        return tuple(self.heads[name](h) for name in self.heads)


class Siamese(nn.Module):
    """one encoder on two inputs; their distance and similarity"""

    def __init__(self, d, e):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, e))

    def forward(self, a, b):
        za, zb = self.encoder(a), self.encoder(b)
        return F.pairwise_distance(za, zb), F.cosine_similarity(za, zb), torch.sigmoid(-(za - zb).abs().sum(-1))


class Triplet(nn.Module):
    """anchor, positive and negative through one normalised embedding; the margin loss per sample"""

    def __init__(self, d, e, margin=0.5):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(d, 24), nn.SiLU(), nn.Linear(24, e))
        self.margin = margin

    def forward(self, anchor, positive, negative):
        a, p, n = (F.normalize(self.embed(t), dim=-1) for t in (anchor, positive, negative))
        return F.relu((a - p).pow(2).sum(-1) - (a - n).pow(2).sum(-1) + self.margin)


class NAM(nn.Module):
    """a neural additive model: one small MLP per feature, summed, plus a bias"""

    def __init__(self, features, hidden):
        super().__init__()
        self.nets = nn.ModuleList([nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                                 nn.ReLU(), nn.Linear(hidden, 1)) for _ in range(features)])
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        out = self.bias
        for i, net in enumerate(self.nets):
            out = out + net(x[:, i:i + 1])
        return out


class DenseNet1d(nn.Module):
    """each layer sees every earlier layer's features, concatenated"""

    def __init__(self, c, growth, layers):
        super().__init__()
        self.layers = nn.ModuleList([nn.Sequential(nn.BatchNorm1d(c + i * growth), nn.ReLU(),
                                                   nn.Conv1d(c + i * growth, growth, 3, padding=1))
                                     for i in range(layers)])
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, x):
        for layer in self.layers:
            x = torch.cat([x, layer(x)], dim=1)
        return self.pool(x).flatten(1)


class UNet1d(nn.Module):
    """down by max-pooling, up by nearest upsampling, skips concatenated"""

    def __init__(self, c):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv1d(c, 8, 3, padding=1), nn.ReLU())
        self.down2 = nn.Sequential(nn.MaxPool1d(2), nn.Conv1d(8, 16, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.MaxPool1d(2), nn.Conv1d(16, 16, 3, padding=1), nn.ReLU(),
                                    nn.Upsample(scale_factor=2))
        self.up2 = nn.Sequential(nn.Conv1d(32, 8, 3, padding=1), nn.ReLU())
        self.up1 = nn.Conv1d(16, c, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u2 = self.up2(torch.cat([self.bottom(d2), d2], dim=1))
        return self.up1(torch.cat([F.interpolate(u2, scale_factor=2), d1], dim=1))


class MixtureDensity(nn.Module):
    """mixture weights, means and scales of k Gaussians from one trunk"""

    def __init__(self, d, k, out):
        super().__init__()
        self.k, self.out = k, out
        self.trunk = nn.Sequential(nn.Linear(d, 32), nn.Tanh())
        self.pi = nn.Linear(32, k)
        self.mu = nn.Linear(32, k * out)
        self.sigma = nn.Linear(32, k * out)

    def forward(self, x):
        h = self.trunk(x)
        log_pi = F.log_softmax(self.pi(h), dim=-1)
        mu = self.mu(h).view(-1, self.k, self.out)
        sigma = F.softplus(self.sigma(h)).view(-1, self.k, self.out) + 1e-3
        return log_pi, mu, sigma


class DeepEnsemble(nn.Module):
    """members of one shape on one input: the mean and the spread of their predictions"""

    def __init__(self, d, members, hidden):
        super().__init__()
        self.members = nn.ModuleList([nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                                    nn.ReLU(), nn.Linear(hidden, 2)) for _ in range(members)])

    def forward(self, x):
        preds = torch.stack([m(x) for m in self.members])   # [M, B, 2]
        return preds.mean(0), preds.std(0)
