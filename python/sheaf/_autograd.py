"""A compiled live module inside PyTorch autograd (docs/python.md, "Training").

Where sheaf.compile(model, ...)'s result is called with grad enabled and a
parameter (or an input) that requires grad, the call goes through one
torch.autograd.Function: its forward runs a trainable compile of the model,
its backward the model's backward function (sheaf's own, fused by the same
passes: forward, then every parameter's and input's gradient), and autograd
puts the parameters' gradients on the user's own nn.Parameters, so the
user's optimizer, param groups, schedulers and DDP work unchanged. Both
models are compiled on the first such call. Before each call the models
take the parameters' current values when any has changed (torch counts
in-place writes in each tensor's _version, as an optimizer step makes them):
sf_model_set_weights copies them in and the folds the passes made follow.
The semantics are eval mode's (BatchNorm's running statistics, no Dropout),
whatever model.training says.
"""
from . import _sheaf


class Training:
    """The trainable forward and the backward of one live model, and the values they last took."""

    def __init__(self, compiled, model, torch):
        from . import Compiled, _live
        name, text, options = compiled._recompile
        base = {k: v for k, v in options.items() if k not in ("backward", "input_grads", "loss")}
        self.fwd = Compiled(_sheaf.compile(name, text, dict(base, trainable=True)))
        self.bwd = Compiled(_sheaf.compile(name, text, dict(base, backward=True, input_grads=True)))
        self.model, self.torch = model, torch
        self.tensors = _live._walk(model, torch)[1]  # {state_dict key: tensor}, the module's own
        outs = [n for n, _ in self.bwd.outputs]
        self.nfwd = len(self.fwd.outputs)
        self.params = [(i, self.tensors[n[5:]]) for i, n in enumerate(outs)
                       if i >= self.nfwd and n.startswith("grad.") and n[5:] in self.tensors]
        names = [n for n, _ in self.fwd.inputs]
        self.input_grad = {names.index(n[5:]): i for i, n in enumerate(outs)
                           if i >= self.nfwd and n.startswith("grad.") and n[5:] in names and n[5:] not in self.tensors}
        self.seen = None

    def sync(self):
        """The models take the parameters' values where any changed since they last did."""
        now = tuple((t.data_ptr(), t._version) for t in self.tensors.values())
        if now == self.seen:
            return
        from . import _live
        w = _live.weights(self.model, self.torch)
        self.fwd._m.set_weights(w)
        self.bwd._m.set_weights(w)
        self.seen = now


_made = {}


def function(torch):
    """The autograd.Function, made once torch is there (sheaf never imports torch itself)."""
    if "fn" not in _made:
        _made["fn"] = _function(torch)
    return _made["fn"]


def _function(torch):

    class SheafFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, training, n, *xs):
            args = xs[:n]
            ctx.training, ctx.n = training, n
            ctx.save_for_backward(*[a for a in args])
            out = training.fwd._run(*[a.detach() for a in args])
            return out

        @staticmethod
        def backward(ctx, *gs):
            tr, n = ctx.training, ctx.n
            args = ctx.saved_tensors
            outs = tr.fwd.outputs
            seeds = [g if g is not None else torch.zeros(
                [args[0].shape[0] if d == -1 else d for d in dims] if args else dims)
                for g, (_, dims) in zip(gs, outs)]
            got = tr.bwd._run(*[a.detach() for a in args], *[s.contiguous() for s in seeds])
            got = got if isinstance(got, tuple) else (got,)
            inputs = [got[tr.input_grad[i]] if i in tr.input_grad and ctx.needs_input_grad[2 + i] else None
                      for i in range(n)]
            params = [got[i] if ctx.needs_input_grad[2 + n + k] else None for k, (i, _) in enumerate(tr.params)]
            return (None, None, *inputs, *params)

    return SheafFunction
