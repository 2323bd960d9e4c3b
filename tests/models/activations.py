import torch
import torch.nn as nn
import torch.nn.functional as F


class Activations(nn.Module):
    """Parallel Linear branches, each ending in one of the activations with
    parameters (two LeakyReLUs that differ only in their slope must stay
    apart when the branches are fused), then the functional forms."""

    def __init__(self, width, hidden):
        super().__init__()
        acts = [nn.LeakyReLU(0.1), nn.LeakyReLU(0.3), nn.ELU(0.5), nn.SELU(), nn.CELU(1.5),
                nn.Hardtanh(-0.5, 0.75), nn.ReLU6(), nn.LeakyReLU()]
        self.branches = nn.ModuleList([nn.Sequential(nn.Linear(width, hidden), act) for act in acts])

    def forward(self, x):
        y = torch.cat([b(x * 3) for b in self.branches], dim=1)
        z = F.leaky_relu(y, 0.2) + F.elu(y) + torch.clamp(y, min=-0.3) + y.clamp(max=0.4)
        z = z + F.hardtanh(y) + F.relu6(y * 4) + F.selu(y) + F.celu(y, alpha=0.5)
        z = z + y.clip(-0.1, 0.2) + torch.clamp_min(y, 0.1) + y.clamp_max(-0.2) + torch.clip(y, max=0.0)
        return z


class Elementwise(nn.Module):
    """The other activation modules as parallel branches (two Softpluses that
    differ only in beta must stay apart when the branches are fused), then
    the elementwise functions, on values inside their domains."""

    def __init__(self, width, hidden):
        super().__init__()
        acts = [nn.Softplus(), nn.Softplus(2.0, 1.0), nn.Softshrink(0.3), nn.Hardshrink(0.2), nn.Threshold(0.1, -0.5),
                nn.Hardsigmoid(), nn.Hardswish(), nn.Mish(), nn.Softsign(), nn.Tanhshrink(),
                nn.GELU(approximate='tanh')]
        self.branches = nn.ModuleList([nn.Sequential(nn.Linear(width, hidden), act) for act in acts])

    def forward(self, x):
        y = torch.cat([b(x * 3) for b in self.branches], dim=1)
        p = F.softplus(y) + 0.01
        z = torch.log(p) + p.sqrt() + torch.rsqrt(p) + p.reciprocal() + torch.log1p(y.abs()) + y.neg().exp()
        z = z + F.mish(y) + F.hardswish(y) + F.hardsigmoid(y) + F.softsign(y) + F.tanhshrink(y)
        z = z + F.gelu(y, approximate='tanh') + F.softshrink(y, 0.1) + F.hardshrink(y, 0.1)
        z = z + F.threshold(y, 0.2, 1.0) + torch.negative(y) + abs(y) + F.softplus(y, beta=0.5, threshold=2.0)
        s = torch.sign(x) + torch.floor(x * 3) + torch.round(x * 2.5) + x.abs().log() + abs(x * 2)
        return torch.cat([z, s], dim=1)
