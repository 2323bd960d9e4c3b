"""sheaf from Python in one file: seed 003's ParallelFCN, compiled from this
file's own source, checked against PyTorch eager, both timed.

    pip install ./python && python examples/python_quickstart.py
"""
import time

import torch
import torch.nn as nn


class FCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 10)
        self.fc2 = nn.Linear(10, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class ParallelFCN(nn.Module):
    """n small networks, each on its own 20-wide slice of the input (seed 003)."""

    def __init__(self, n):
        super().__init__()
        self.models = nn.ModuleList([FCN() for _ in range(n)])

    def forward(self, x):
        outs = [m(x[:, 20 * i:20 * (i + 1)]) for i, m in enumerate(self.models)]
        return torch.cat(outs, dim=1)


def per_call(fn, x, calls):
    """the median time of one call, over `calls` calls"""
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


if __name__ == "__main__":
    import sheaf

    n = 1000
    net = ParallelFCN(n).eval()
    t = time.perf_counter()
    fast = sheaf.compile_file(__file__, model="ParallelFCN(%d)" % n, inputs=["x=f32[B,%d]" % (20 * n)],
                              weights=net.state_dict())
    print("compiled %d branches in %.0f ms: %s" % (n, 1e3 * (time.perf_counter() - t), fast.stats().splitlines()[0]))
    torch.set_grad_enabled(False)  # inference, as sheaf runs it
    x = torch.randn(1, 20 * n)
    err = (fast(x) - net(x)).abs().max().item()
    print("max |sheaf - eager| = %.2e" % err)
    assert err < 1e-4
    slow, quick = per_call(net, x, 30), per_call(fast, x, 20000)
    print("batch 1: PyTorch eager %.0f us, sheaf %.1f us: %.0fx" % (slow * 1e6, quick * 1e6, slow / quick))
