import torch
import torch.nn as nn


class Moves(nn.Module):
    """Heads reshaped out of one product, then the views and moves people
    write (narrow, select, unbind, movedim, swapaxes) and powers."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.proj = nn.Linear(width, heads * 4)

    def forward(self, x):
        h = self.proj(x).reshape(-1, self.heads, 4)
        a = h.narrow(2, 1, 2).sum(2) + torch.select(h, 1, -1).amax(1, keepdim=True)
        b = sum(h.unbind(1))
        c = torch.movedim(h, 1, 2).flatten(1) + h.moveaxis((1, 2), (2, 1)).reshape(-1, 12)
        d = h.swapaxes(1, 2).mean(2) + torch.swapdims(h, 2, 1).amin(2)
        e = h ** 3 + (h * h + 1) ** -2 + torch.pow(2.0, h) + (h.abs() + 1) ** 0.5 + h.pow(4) + (h.abs() + 2) ** -1
        return torch.cat([a, b, c, d, e.flatten(1)], 1)
