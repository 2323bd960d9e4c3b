"""sheaf: a graph compiler for PyTorch container models.

A thin layer over sheaf's C API (include/sheaf.h, through the extension
module sheaf._sheaf): what it does, a C host program can do too.

    import sheaf
    m = sheaf.compile(net, torch.randn(1, 20000))   # a live nn.Module
    y = m(x)                  # numpy in, numpy out; torch in, torch out
    m.save("m.sheaf")         # the package `sheaf run` and sheaf.load read
    print(m.ir(), m.stats())

docs/python.md is the guide.
"""
import sys

import numpy as np

from . import _sheaf

__all__ = ["Error", "Compiled", "compile", "compile_file", "compile_ir", "load", "__version__"]
__version__ = _sheaf.version

Error = _sheaf.Error
_F32 = np.dtype(np.float32)

_OPTIONS = {
    "seed", "allow_extra_weights", "unoptimised", "passes", "verify_each", "print_after",
    "hfuse_min_branches", "hfuse_max_bytes", "backend", "threads", "targets", "no_cache",
    "precision", "max_nodes", "check", "poison", "weights_file", "backward", "input_grads", "loss", "trainable",
}


def _torch():
    """torch when the caller has imported it (sheaf never imports it itself)."""
    return sys.modules.get("torch")


def _weights(weights):
    """A state_dict (torch tensors) or a dict of arrays as float32 arrays, no copy where they are already."""
    if weights is None:
        return None
    torch = _torch()
    out = {}
    for name, w in weights.items():
        if name == "num_batches_tracked" or name.endswith(".num_batches_tracked"):
            continue  # in state_dict, never used in eval mode
        if torch is not None and isinstance(w, torch.Tensor):
            w = w.detach().cpu().contiguous().numpy()
        out[name] = _as_f32(name, w)
    return out


def _indices(a):
    """integer inputs (token ids for an nn.Embedding): sheaf computes them as float32, exact below 2^24"""
    if a.size and np.abs(a.astype(np.int64)).max() > 1 << 24:
        raise ValueError("integer input beyond 2^24: sheaf's float32 indices stop being exact there")
    return np.ascontiguousarray(a, dtype=np.float32)


def _as_f32(name, w):
    """w as float32; integer and bool tensors (an arange buffer, index tables) only where exact (below 2^24)"""
    w = np.asarray(w)
    if w.dtype.kind in "iub":
        if w.size and np.abs(w.astype(np.int64)).max() > 1 << 24:
            raise Error("weights: key '%s': integers beyond 2^24, where sheaf's f32 values stop "
                        "being exact" % name)
    return np.ascontiguousarray(w, dtype=np.float32)


def _options(options, weights=None, **fields):
    unknown = set(options) - _OPTIONS
    if unknown:
        raise TypeError("unknown option(s): %s (sheaf's options: %s)" % (", ".join(sorted(unknown)),
                                                                       ", ".join(sorted(_OPTIONS))))
    o = {k: v for k, v in options.items() if v is not None}
    o.update({k: v for k, v in fields.items() if v is not None})
    w = _weights(weights)
    if w is not None:
        o["weights"] = w
    return o


class Compiled:
    """A compiled model: call it with one array per input of forward.

    Inputs are numpy arrays or CPU torch tensors of float32, contiguous or
    not (a non-contiguous one is copied once; a contiguous one is read in
    place). Outputs are allocated by numpy or, when any input is a torch
    tensor, by torch, and filled in place by sheaf. The batch size is free
    per call. One Compiled must not be called from two threads at once
    (the C API's rule); the GIL is released while it runs.
    """

    def __init__(self, model, recompile=None, module=None):
        self._m = model
        self._recompile = recompile  # (name, text, options): for ir(after=...)
        self._module = module  # the live nn.Module sheaf.compile took: calls with grad go through autograd
        self._training = None  # _autograd.Training, made on the first such call
        self._ins = [self._axis(name, dims) for name, dims in model.inputs]
        self._outs = [(n, tuple(d)) for n, d in model.outputs]

    @staticmethod
    def _axis(name, dims):
        return name, tuple(dims), dims.index(-1) if -1 in dims else None

    @property
    def inputs(self):
        """[(name, dims)], -1 where the batch goes."""
        return [(n, d) for n, d, _ in self._ins]

    @property
    def outputs(self):
        """[(name, dims)], -1 where the batch goes."""
        return list(self._outs)

    @property
    def backend(self):
        """What runs it: 'cpu', 'cuda' or 'interp'."""
        return self._m.backend

    @property
    def notice(self):
        """A line sheaf wants the user to see (a package compiled again for this CPU), or None."""
        return self._m.notice

    def _convert(self, a):
        """a torch tensor or an array-like as a C-contiguous float32 array; whether it was torch's."""
        t = _torch()
        if t is not None and isinstance(a, t.Tensor):
            integer = not a.is_floating_point() and not a.is_complex()
            if (a.dtype != t.float32 and not integer) or a.device.type != "cpu":
                raise TypeError("inputs must be float32 (or integer indices) on the CPU, got %s on %s" % (a.dtype,
                                                                                                       a.device))
            if a.requires_grad:  # read only: autograd does not see a compiled model (inference)
                a = a.detach()
            a = (a if a.is_contiguous() else a.contiguous()).numpy()
            return (_indices(a) if integer else a), True
        a = np.asarray(a)
        if a.dtype.kind in "iub":
            return _indices(a), False
        if a.dtype != _F32:
            raise TypeError("inputs must be float32 (or integer indices), got %s" % a.dtype)
        return np.ascontiguousarray(a), False

    def _misfit(self, name, dims, shape):
        want = "[" + ",".join("B" if d == -1 else str(d) for d in dims) + "]"
        return ValueError("input '%s': shape %s does not fit %s" % (name, list(shape), want))

    def _wants_grad(self, args):
        """a call autograd must see: grad enabled, and an input that requires it, or a model in training
        mode (model.train(), a new module's state) with a parameter that does; an eval() model is served
        by the inference compile"""
        t = _torch()
        if t is None or self._module is None or not t.is_grad_enabled():
            return False
        o = self._recompile[2]
        if o.get("backward") or o.get("loss"):
            return False  # a backward or loss model is called as it is
        return (any(isinstance(a, t.Tensor) and a.requires_grad for a in args) or
                (self._module.training and any(p.requires_grad for p in self._module.parameters())))

    def __call__(self, *args):
        if self._wants_grad(args):
            from . import _autograd
            t = _torch()
            if self._training is None:
                self._training = _autograd.Training(self, self._module, t)
            tr = self._training
            tr.sync()
            return _autograd.function(t).apply(tr, len(args), *args, *[p for _, p in tr.params])
        if self._module is not None and self._training is not None:
            self._training.sync()  # trained since: the inference model is the trainable one now
            return self._training.fwd(*args)
        return self._run(*args)

    def _run(self, *args):
        if len(args) != len(self._ins):
            raise TypeError("expected %d input(s) (%s), got %d" % (len(self._ins),
                                                                   ", ".join(n for n, _, _ in self._ins), len(args)))
        torch = False
        batch = None
        arrays = []
        for (name, dims, axis), a in zip(self._ins, args):
            if type(a) is not np.ndarray or a.dtype is not _F32 or not a.flags.c_contiguous:
                a, was_torch = self._convert(a)
                torch = torch or was_torch
            shape = a.shape
            if axis is None:
                if shape != dims:
                    raise self._misfit(name, dims, shape)
            else:
                b = shape[axis] if len(shape) == len(dims) else -1
                if shape != dims[:axis] + (b,) + dims[axis + 1:] or b < 1:
                    raise self._misfit(name, dims, shape)
                if batch is not None and b != batch:
                    raise ValueError("input '%s': batch %d, another input has %d" % (name, b, batch))
                batch = b
            arrays.append(a)
        if batch is None:
            batch = 1
        shapes = [tuple(batch if d == -1 else d for d in dims) for _, dims in self._outs]
        if torch:
            t = _torch()
            outs = [t.empty(s, dtype=t.float32) for s in shapes]
            self._m.run(batch, arrays, [o.numpy() for o in outs])
        else:
            outs = [np.empty(s, _F32) for s in shapes]
            self._m.run(batch, arrays, outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def save(self, path, target=None):
        """Writes the package: IR, weights, plan, native code for this CPU, and CUDA code for the
        architectures in target ("sm_80,sm_90", as sheaf compile --target; made with NVRTC, no GPU
        needed) or those the model was compiled with (targets=)."""
        if target is None:
            self._m.save(str(path))
            return
        if self._recompile is None:
            raise Error("save(target=...): a loaded package keeps the CUDA code it has; compile from the model")
        name, text, options = self._recompile
        _sheaf.compile(name, text, dict(options, targets=target)).save(str(path))

    def ir(self, after=None):
        """The optimised IR as text; after='hfuse' (a pass name, or 'all'): the IR after that pass."""
        if after is None:
            return self._m.ir("text")
        if self._recompile is None:
            raise Error("ir(after=...): a loaded package holds only its optimised IR")
        name, text, options = self._recompile
        return _sheaf.compile(name, text, dict(options, print_after=after, backend="interp")).dump

    def dot(self):
        """The optimised IR as Graphviz DOT."""
        return self._m.ir("dot")

    def stats(self):
        """Op counts, parameters and the memory plan's activation bytes, as '# stats:' lines."""
        return self._m.ir("stats")


def compile(model, example_inputs, **options):
    """Compiles a live nn.Module: its modules, attributes, parameters and buffers from the instance (its
    __init__ is never run again), forward traced from its class's file. example_inputs: one tensor or
    array per tensor argument of forward (the first dim is the batch, free at every call), or plain
    values for the others. The options are compile_file's."""
    torch = _torch()
    if torch is None or not isinstance(model, torch.nn.Module):
        raise TypeError("sheaf.compile takes a torch nn.Module (for a model file: sheaf.compile_file)")
    from . import _live
    tree, classes = _live.module_tree(model, torch)
    if not classes:
        raise TypeError("sheaf.compile: the model is a bare %s; wrap it in a class of your own "
                        "(sheaf traces forward from that class's file)" % type(model).__name__)
    path, text = _live.forward_source(classes)
    inputs, consts = _live.input_specs(model, example_inputs, torch)
    o = _options(options, None, inputs=inputs, consts=consts or None)
    if "weights_file" not in options:
        o["weights"] = _live.weights(model, torch)
    o["tree"] = tree
    return Compiled(_sheaf.compile(path, text, o), (path, text, o), model)


def compile_file(path, model=None, inputs=None, consts=None, weights=None, **options):
    """Compiles a PyTorch model file (model: the constructor, "ParallelFCN(1000)"; inputs: one
    "x=f32[B,20000]" per tensor argument of forward; consts: "flag=True" for the others) or an
    IR file (.sfir). weights: a state_dict or a dict of float32 arrays (else weights_file=, else
    initialised from seed=). The other options are sf_options' fields (docs/python.md)."""
    o = _options(options, weights, model=model, inputs=inputs, consts=consts)
    path = str(path)
    return Compiled(_sheaf.compile(path, None, o), (path, None, o))


def compile_ir(text, weights=None, name="model.sfir", **options):
    """Compiles IR text (docs/ir.md)."""
    o = _options(options, weights)
    return Compiled(_sheaf.compile(name, text, o), (name, text, o))


def load(path, backend=None, threads=None, check=None, poison=None):
    """Loads a package (sheaf compile -o, Compiled.save): compiles nothing when it was made for this CPU."""
    o = {k: v for k, v in dict(backend=backend, threads=threads, check=check, poison=poison).items() if v is not None}
    return Compiled(_sheaf.load(str(path), o))
