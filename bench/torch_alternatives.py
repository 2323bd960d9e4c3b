"""What a PyTorch user would write instead of the Python loop, for bench/torch_baselines.py: the ensembles
(every model whose ModuleList holds same-shaped members: ParallelFCN, GrowingLayer, the golden Heads,
StackMean and Ensemble, bench/models' NAM, DeepParallel, Towers and Ensemble) through torch.func (stack_module_state + vmap over functional_call), and seed 003's hand rewrite of
ParallelFCN as two grouped 1x1 Conv1d layers carrying the same weights.

alternatives(net) -> [(label, fn)] for the models it knows (by class name), [] for the others. Each fn
takes the model's inputs and gives the model's outputs; check() compares it with the model itself, so a
recipe that drifts from its model fails the benchmark instead of timing something else.
"""
import copy

import torch
import torch.nn as nn
from torch.func import functional_call, stack_module_state, vmap


def _vmapped(members, in_dim):
    """f(x) -> [n, ...]: every member on x (in_dim None) or on x[i] (in_dim 0)."""
    params, buffers = stack_module_state(list(members))
    base = copy.deepcopy(members[0]).to("meta")

    def one(p, b, x):
        return functional_call(base, (p, b), (x,))

    run = vmap(one, in_dims=(0, 0, in_dim))
    return lambda x: run(params, buffers, x)


def _slices(x, n, w):
    """x[:, i*w:(i+1)*w] for i < n, stacked as [n, B, w] (a view, no copy)"""
    return x[:, :n * w].reshape(x.shape[0], n, w).movedim(1, 0)


def _on_slices(members, w):
    """member i on x[:, i*w:(i+1)*w], the results side by side (torch.cat(dim=1))"""
    n, f = len(members), _vmapped(members, 0)
    return [("vmap", lambda x: f(_slices(x, n, w)).movedim(0, 1).reshape(x.shape[0], -1))]


def _parallel_fcn(net):
    return _on_slices(net.models, 20) + [("seed 003 Conv1d", _seed003_conv(net))]


def _seed003_conv(net):
    """seed 003's ConvolutionalPFCN with ParallelFCN's weights: 1x1 Conv1d, groups = n"""
    n = len(net.models)
    l1, l2 = nn.Conv1d(n * 20, n * 10, 1, groups=n), nn.Conv1d(n * 10, n, 1, groups=n)
    with torch.no_grad():
        l1.weight.copy_(torch.cat([m.fc1.weight for m in net.models]).unsqueeze(-1))
        l1.bias.copy_(torch.cat([m.fc1.bias for m in net.models]))
        l2.weight.copy_(torch.cat([m.fc2.weight for m in net.models]).unsqueeze(-1))
        l2.bias.copy_(torch.cat([m.fc2.bias for m in net.models]))
    return lambda x: l2(l1(x.unsqueeze(-1))).squeeze(-1)


def _same_input(members, combine):
    f = _vmapped(members, None)
    return [("vmap", lambda x: combine(f(x)))]


def _nam(net):
    n, f = len(net.features), _vmapped(net.features, 0)
    return [("vmap", lambda x: f(_slices(x, n, 1)).sum(0) + net.bias)]


def _towers(net):
    if not all(hasattr(t, "branches") for t in net.towers):
        return []  # the golden Towers (tests/models/fusion.py) shares the name, not the shape: no recipe
    towers = [_vmapped(t.branches, None) for t in net.towers]

    def run(x):
        for f in towers:
            x = torch.relu(f(x).sum(0)) + x
        return net.head(x)
    return [("vmap", run)]


RECIPES = {
    "NAM": _nam,
    "Towers": _towers,
    "DeepParallel": lambda net: _on_slices(net.models, 20),
    "ParallelFCN": _parallel_fcn,
    "GrowingLayer": lambda net: _same_input(net.layer_list, lambda y: y.sum(0)),
    "GrowingLayerInPlace": lambda net: _same_input(net.layer_list, lambda y: y.sum(0)),
    "Ensemble": lambda net: _same_input(net.members, lambda y: y.mean(0)),
    "StackMean": lambda net: _same_input(net.branches, lambda y: y.mean(0)),
    "Heads": lambda net: _on_slices(net.heads, net.w),
}


def alternatives(net):
    recipe = RECIPES.get(type(net).__name__)
    return recipe(net) if recipe else []


def check(net, label, fn, xs, kw):
    with torch.no_grad():
        want, got = net(*xs, **kw), fn(*xs, **kw)
    if not torch.allclose(got, want, rtol=1e-4, atol=1e-5):
        raise SystemExit("torch_alternatives: %s of %s differs from the model by %.3g" % (
            label, type(net).__name__, (got - want).abs().max().item()))
