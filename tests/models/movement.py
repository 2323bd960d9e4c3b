# Data movement people write around their layers: positional parameters
# expanded over the batch, repeat and tile, flips and rolls, unflatten,
# F.pad in each mode, and convolutions with a padding_mode.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Movement(nn.Module):
    """expand, repeat, tile, flip, roll, unflatten and F.pad on [B, 4, d]."""

    def __init__(self, d=6):
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.pos = nn.Parameter(torch.randn(1, 1, d))

    def forward(self, x):
        h = self.fc(x)
        a = self.pos.expand(x.size(0), 4, -1) + h[:, :1].expand_as(h) + h.sum(1, keepdim=True).expand(-1, 4, 6)
        b = h.repeat(1, 2, 1)[:, 3:7] + torch.tile(h, (1, 2))[..., 3:9] + self.pos.repeat(1, 4, 1)
        c = h.flip(-1) + torch.flip(h, (1, 2)) + h.roll(2, -1) + torch.roll(h, (1, -1), (1, 2)) + h.fliplr()
        d = h.unflatten(2, (2, 3)).sum(-1) + h.unflatten(-1, (-1, 2)).amax(-1)[..., :2]
        e = [F.pad(h, (1, 2)), F.pad(h, (2, 1, 1, 1), mode="reflect"), F.pad(h, (1, 2, 1, 0), "replicate"),
             F.pad(h, (3, 0), mode="circular"), F.pad(h, (-1, 4), value=0.5), h.broadcast_to((x.size(0), 4, 6))]
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1)] + [t.flatten(1) for t in e], 1)


class PaddedConvs(nn.Module):
    """Convolutions with padding_mode reflect, replicate and circular, 1-D and 2-D."""

    def __init__(self, c=4):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(c, 3, 3, padding=1, padding_mode=m)
                                    for m in ("zeros", "reflect", "replicate", "circular")])
        self.conv2 = nn.Conv2d(1, 2, (3, 5), padding=(1, 2), padding_mode="reflect")
        self.conv3 = nn.Conv2d(1, 2, 3, padding="same", padding_mode="circular")

    def forward(self, x):
        y = sum(conv(x) for conv in self.convs)
        z = self.conv2(x.unsqueeze(1)) + self.conv3(x.unsqueeze(1))
        return torch.cat([y.flatten(1), z.flatten(1)], 1)
