"""Models whose __init__ sheaf's Python subset could not run, for sheaf.compile on live instances
(tests/python/test_sheaf.py). forward stays inside the subset; everything else here is any Python."""
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIG = json.loads('{"widths": [12, 16, 8], "act": "gelu", "scale": 0.5}')


def make_layers(widths):
    layers = []
    i = 0
    while i + 1 < len(widths):  # a while loop: outside the subset
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        i += 1
    return layers


class Configured(nn.Module):
    """A config dict, a list built by a helper function, a string and a float read by forward."""

    def __init__(self, config):
        super().__init__()
        with torch.no_grad():  # a with block: outside the subset
            self.layers = nn.ModuleList(make_layers(config["widths"]))
        self.act = config["act"]
        self.scale = float(config["scale"])
        self.extra = {k: v for k, v in config.items()}  # a dict comprehension, never read by forward

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
            if self.act == "gelu":
                x = F.gelu(x)
            else:
                x = torch.relu(x)
        return x * self.scale


class Masked(nn.Module):
    """A torch.tril buffer and a loaded constant (a parameter filled from computed values)."""

    def __init__(self, n, d):
        super().__init__()
        self.register_buffer("mask", torch.tril(torch.ones(n, n)))
        table = [[math.sin(i * j) for j in range(d)] for i in range(n)]
        self.table = nn.Parameter(torch.tensor(table))
        self.proj = nn.Linear(d, d, bias=False)
        self.n = n

    def forward(self, x):
        return self.proj(self.mask @ x + self.table)


class Sub(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.fc = nn.Linear(d, d)

    def forward(self, x):
        return self.helper(self.fc(x))

    def helper(self, y):
        return torch.tanh(y) + 1

    def unused(self):
        while True:  # never reached from forward: blanked, so sheaf never reads it
            pass


class Nested(nn.Module):
    def __init__(self, d, n):
        super().__init__()
        self.subs = nn.ModuleList([Sub(d) for _ in range(n)])
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(sum(s(x) for s in self.subs))


if __name__ == "__main__":
    net = Configured(CONFIG)
    with torch.no_grad():
        while False:
            pass


class Cumulative(nn.Module):
    """torch.cumsum, which sheaf has no op for, between two products: PyTorch runs it, sheaf the rest."""

    def __init__(self, d):
        super().__init__()
        self.a = nn.Linear(d, d)
        self.b = nn.Linear(d, d)

    def forward(self, x):
        return self.b(torch.relu(torch.cumsum(self.a(x), dim=1)))


class Rejoined(Cumulative):
    """cumprod between two sheaf partitions, the second reading the first's output too (its batch dim must
    be known there)."""

    def forward(self, x):
        h = self.a(x)
        return self.b(h + torch.cumprod(h, dim=1))


class WritesInput(nn.Module):
    """An in-place write into the input: PyTorch runs the whole graph, as the caller's tensor changes."""

    def __init__(self, d):
        super().__init__()
        self.a = nn.Linear(d, d)

    def forward(self, x):
        x.mul_(2)
        return self.a(x)


class InPlaceByPosition(nn.Module):
    """F.hardswish(h, True), F.elu(h, 1.0, True) and an in-place module: h itself changes, as its later readers see."""

    def __init__(self, d):
        super().__init__()
        self.a = nn.Linear(d, d)
        self.act = nn.Mish(inplace=True)

    def forward(self, x):
        h = self.a(x)
        y = F.hardswish(h, True)
        z = F.elu(h * 2, 1.0, True)
        self.act(h)
        return h + y + z


class InPlaceInside(nn.Module):
    """relu_ on a value the graph made: sheaf runs it as relu."""

    def __init__(self, d):
        super().__init__()
        self.a = nn.Linear(d, d)
        self.b = nn.Linear(d, d)

    def forward(self, x):
        h = self.a(x)
        h.relu_()
        return self.b(h)


class Shift(nn.Module):
    """A parameter read by an elementwise op: no pass derives a weight from it, no product packs it."""

    def __init__(self, d):
        super().__init__()
        self.b = nn.Parameter(torch.arange(d, dtype=torch.float32))

    def forward(self, x):
        return torch.relu(x + self.b)


class Powers(nn.Module):
    """x ** n by squaring, roots, c ** x, and the views sheaf writes as slices."""

    def __init__(self, d):
        super().__init__()
        self.a = nn.Linear(d, 12)

    def forward(self, x):
        h = self.a(x)
        y = h ** 3 + (h * h + 1) ** -2 + 2.0 ** h + torch.pow(h.abs() + 1, 0.5) + h.pow(5)
        return y.narrow(1, 2, 6) + y.reshape(-1, 2, 6).select(1, 0)


class Tokens(nn.Module):
    """token ids in (int64, as PyTorch's nn.Embedding takes them), a bag of embeddings out"""

    def __init__(self, vocab, d):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(16, d)
        self.out = nn.Linear(d, 3)

    def forward(self, ids):
        h = self.tok(ids) + self.pos(torch.arange(ids.size(1)))
        return self.out(h.mean(1))


class Held(nn.Module):
    """Modules kept in plain Python containers, as people write them: not registered, so out of state_dict and
    parameters(), but forward reads them all the same (a list, a tuple, a dict, a list of lists, and a list that
    names registered modules again)."""

    def __init__(self, d, h):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc2 = nn.Linear(d, h)
        self.heads = [nn.Sequential(nn.Linear(d, h), nn.Tanh()) for _ in range(3)]
        self.pair = (nn.Linear(d, h), Sub(d))
        self.experts = {"small": nn.Linear(d, h, bias=False), "big": nn.Linear(d, h)}
        self.grid = [[nn.Linear(d, h)], [nn.Linear(d, h), nn.Linear(d, h)]]
        self.again = [self.fc1, self.fc2]

    def forward(self, x):
        y = self.fc1(x) + self.fc2(x)
        for head in self.heads:
            y = y + head(x)
        y = y * self.pair[0](x) + self.pair[1](x)[:, :1]
        y = y + self.experts["small"](x) - self.experts["big"](x)
        for row in self.grid:
            for cell in row:
                y = y + torch.relu(cell(x))
        return y + sum(m(x) for m in self.again)
