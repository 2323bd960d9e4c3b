"""torch.compile(model, backend="sheaf"): Dynamo's FX graph as sheaf IR.

Registered under torch's `torch_dynamo_backends` entry point. Dynamo hands
over the FX graph it traced (the Python loops over branches already
unrolled), with the parameters as placeholders; this module writes the
nodes sheaf has ops for as IR text (docs/ir.md), with the parameters as
IR parameters holding their values at compile time, and compiles it with
the passes, which fuse the unrolled branches. Nodes sheaf has no op for
run in PyTorch: torch's own CapabilityBasedPartitioner splits the graph,
each partition sheaf supports becomes one sheaf model, and one log line
(logging, at compile time) names the ops that fell back. Inference only:
parameters are read once, when the graph is compiled.

The batch is dim 0 of every graph input; a node keeps it at dim 0 or is
left to PyTorch.
"""
import logging
import operator

import torch
import torch.fx
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupport

from . import Compiled, _sheaf, _options
from ._fx_masks import MASKS, MASK_METHODS, _is_mask
from ._fx_ops import COMPOSITE, _dims, _ints, _is_tensor, _value

log = logging.getLogger("sheaf")
_said = set()  # what was logged already: a recompile (another batch size) does not say it again
stats = {"graphs": 0, "sheaf_partitions": 0, "whole_graphs": 0, "pytorch_graphs": 0}  # what the backend did (tests read it)


def _say(level, message):
    if message not in _said:
        _said.add(message)
        log.log(level, message)

F = torch.nn.functional


def _fns(*names):
    """F.name, torch._C._nn.name and torch.name: the forms Dynamo may record"""
    return [f for n in names for f in (getattr(F, n, None), getattr(torch._C._nn, n, None), getattr(torch, n, None))
            if f is not None]


# the unary ops without attributes, by target, and the tensor methods of the same names
_UNARY = {f: op for names, op in (
    (("relu",), "relu"), (("tanh",), "tanh"), (("sigmoid",), "sigmoid"), (("gelu",), "gelu"), (("silu",), "silu"),
    (("abs", "absolute"), "abs"), (("neg", "negative"), "neg"), (("exp",), "exp"), (("log",), "log"),
    (("log1p",), "log1p"), (("sqrt",), "sqrt"), (("rsqrt",), "rsqrt"), (("reciprocal",), "reciprocal"),
    (("sign",), "sign"), (("floor",), "floor"), (("round",), "round"), (("softsign",), "softsign"),
    (("tanhshrink",), "tanhshrink"), (("hardsigmoid",), "hardsigmoid"), (("hardswish",), "hardswish"),
    (("mish",), "mish"), (("logsigmoid",), "logsigmoid"), (("sin",), "sin"), (("cos",), "cos")) for f in _fns(*names)}
_UNARY.update({operator.neg: "neg", operator.abs: "abs"})
_UNARY_METHODS = {n: n for n in ("relu", "tanh", "sigmoid", "abs", "neg", "exp", "log", "log1p", "sqrt", "rsqrt",
                                 "reciprocal", "sign", "floor", "round", "sin", "cos")}
_UNARY_METHODS.update({"absolute": "abs", "negative": "neg"})
_SELU = (1.6732632423543772, 1.0507009873554805)  # alpha, scale


# activations with parameters, by target: (kind, the arguments after the input as (name, default)); the
# rules from arguments to attributes are frontend/py_act.c's, written again here for the FX graph
_ACTS = {}
for _kind, _names, _params in (("leaky_relu", ("leaky_relu",), (("negative_slope", 0.01),)),
                               ("elu", ("elu",), (("alpha", 1.0),)),
                               ("selu", ("selu",), ()),
                               ("celu", ("celu",), (("alpha", 1.0),)),
                               ("hardtanh", ("hardtanh",), (("min_val", -1.0), ("max_val", 1.0))),
                               ("relu6", ("relu6",), ()),
                               ("clamp", ("clamp", "clip"), (("min", None), ("max", None))),
                               ("clamp_min", ("clamp_min",), (("min", None),)),
                               ("clamp_max", ("clamp_max",), (("max", None),)),
                               ("softplus", ("softplus",), (("beta", 1.0), ("threshold", 20.0))),
                               ("softshrink", ("softshrink",), (("lambd", 0.5),)),
                               ("hardshrink", ("hardshrink",), (("lambd", 0.5),)),
                               ("threshold", ("threshold",), (("threshold", None), ("value", None))),
                               ("rrelu", ("rrelu",), (("lower", 1 / 8), ("upper", 1 / 3), ("training", False)))):
    for _f in _fns(*_names):
        _ACTS[_f] = (_kind, _params)
    for _n in _names if _kind.startswith("clamp") else ():
        _ACTS[_n] = (_kind, _params)  # x.clamp(...), x.clip(...)


def _act_text(kind, p):
    """the IR op and attributes of activation `kind` with arguments p, or None (PyTorch runs it)"""
    if any(v is not None and not isinstance(v, (int, float)) for v in p):
        return None  # a tensor bound
    if kind == "leaky_relu":
        return "leaky_relu", "{alpha=%r}" % float(p[0])
    if kind == "rrelu":  # eval mode: the mean slope
        return None if p[2] or p[1] < p[0] else ("leaky_relu", "{alpha=%r}" % ((float(p[0]) + float(p[1])) / 2))
    if kind == "softplus":
        return None if p[0] == 0 else ("softplus", "{beta=%r, threshold=%r}" % (float(p[0]), float(p[1])))
    if kind in ("softshrink", "hardshrink"):
        return None if kind == "softshrink" and p[0] < 0 else (kind, "{lambd=%r}" % float(p[0]))
    if kind == "threshold":
        return None if None in p else ("threshold", "{threshold=%r, value=%r}" % (float(p[0]), float(p[1])))
    if kind in ("elu", "selu", "celu"):
        if kind == "celu" and p[0] == 0:
            return None
        a, s = _SELU if kind == "selu" else (float(p[0]), 1.0)
        return "elu", "{alpha=%r, scale=%r, input_scale=%r}" % (a, s, 1.0 / a if kind == "celu" else 1.0)
    if kind == "relu6":
        lo, hi = 0.0, 6.0
    elif kind == "clamp_min" or kind == "clamp_max":
        lo, hi = (p[0], None) if kind == "clamp_min" else (None, p[0])
    else:
        lo, hi = p
    if lo is None and hi is None:
        return None
    lo, hi = float("-inf") if lo is None else float(lo), float("inf") if hi is None else float(hi)
    return "clamp", "{min=%r, max=%r}" % (lo, hi)


_BINARY = {
    operator.add: "add", torch.add: "add", operator.sub: "sub", torch.sub: "sub", operator.mul: "mul",
    torch.mul: "mul", operator.truediv: "div", torch.div: "div", torch.maximum: "maximum", torch.minimum: "minimum",
}
_BINARY_METHODS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "maximum": "maximum", "minimum": "minimum"}
_REDUCE = {torch.sum: "sum", torch.mean: "mean", torch.amax: "amax", torch.amin: "amin", torch.prod: "prod"}
# tensor methods by the name translate() handles them under (binary ones marked m_)
_METHODS = {"view": "reshape", "reshape": "reshape", "flatten": "flatten", "softmax": "softmax", "sum": "sum",
            "mean": "mean", "amax": "amax", "amin": "amin", "prod": "prod", "log_softmax": "log_softmax",
            "max": "max", "min": "min", "logsumexp": "logsumexp", "var": "var", "std": "std", "norm": "norm",
            "pow": "pow", "narrow": "narrow", "select": "select", "transpose": "transpose", "unsqueeze": "unsqueeze", "contiguous": "contiguous",
            "clamp": "clamp", "clip": "clip", "clamp_min": "clamp_min", "clamp_max": "clamp_max",
            **_UNARY_METHODS, **{k: "m_" + v for k, v in _BINARY_METHODS.items()}, **MASK_METHODS}
_LINEAR = {torch._C._nn.linear, F.linear}
_MATMUL = {torch.matmul, operator.matmul}
_CAT = {torch.cat, torch.concat}
_MASK_MOVES = {"reshape", torch.reshape, "flatten", torch.flatten, "transpose", torch.transpose, "unsqueeze",
               torch.unsqueeze, "contiguous", torch.cat, torch.concat, torch.stack}  # masks pass through these


def _is_batch_dim(d, batch_size):
    return isinstance(d, torch.SymInt) or d == batch_size


class _Graph:
    """An FX graph (a whole one or a partition) with what sheaf needs to know of it: the example value of
    each placeholder, which placeholders are parameters (read at compile time), which values carry the
    batch at dim 0."""

    def __init__(self, gm, examples, constants, batch_size, batch=None):
        self.gm = gm
        self.examples = examples      # placeholder -> example value
        self.constants = constants    # placeholders that are parameters or buffers
        self.batch_size = batch_size
        self.batch = dict(batch or {})
        self.named = {n.name: n for n in gm.graph.nodes}  # the partitioner's copies keep the names
        for n in gm.graph.nodes:
            if n not in self.batch:
                self.batch[n] = self._has_batch(n)

    @classmethod
    def of(cls, gm, example_inputs):
        phs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        examples = dict(zip(phs, example_inputs))
        constants = {p for p in phs if isinstance(examples.get(p), torch.nn.Parameter) or
                     "_parameters_" in str(p.target) or "_buffers_" in str(p.target)}
        batch_size = next((examples[p].shape[0] for p in phs if p not in constants and
                           isinstance(examples.get(p), torch.Tensor) and examples[p].dim() > 0), None)
        return cls(gm, examples, constants, batch_size)

    def constant(self, p):
        return p in self.constants

    def _has_batch(self, n):
        if n.op == "placeholder":
            ex = self.examples.get(n)
            if isinstance(ex, torch.SymInt):  # Dynamo passes the symbolic batch size (torch.zeros(B, 4)) as an input
                return True
            return isinstance(ex, torch.Tensor) and ex.dim() > 0 and n not in self.constants
        if n.op == "get_attr":
            return False
        return any(self.batch.get(a, False) for a in n.all_input_nodes)


class _Writer:
    """IR text for a set of FX nodes (a whole graph or one partition)."""

    def __init__(self, g):
        self.g = g
        self.names = {}
        self.params = []    # (name, tensor)
        self.inputs = []    # FX nodes fed in at run time
        self.input_names = {}
        self.body = []
        self.scalars = 0

    def dims_of(self, n):
        # a symbolic dim is the batch, and translate() keeps a node only where that is dim 0
        return ["B" if i == 0 and self.g.batch.get(n) else str(int(d)) for i, d in enumerate(_value(n).shape)]

    def type_of(self, n):
        return "%s[%s]" % ("bool" if _is_mask(n) else "f32", ",".join(self.dims_of(n)))

    def constant_tensor(self, n):
        if n.op == "placeholder":
            return self.g.examples[n]
        if n.op == "get_attr":
            t = self.g.gm
            for part in str(n.target).split("."):
                t = getattr(t, part)
            return t
        return None

    def ref(self, n):
        """the IR name of an FX value: a parameter, a function input, or a node already written"""
        if n in self.names:
            return self.names[n]
        t = self.constant_tensor(n) if (n.op == "get_attr" or (n.op == "placeholder" and self.g.constant(n))) else None
        if t is not None:
            name = "@p%d" % len(self.params)
            self.params.append((name[1:], t.detach().to(torch.float32).contiguous()))
        else:
            name = "%%in%d" % len(self.inputs)
            self.inputs.append(n)
            self.input_names[n] = name
        if _is_mask(n):  # a mask from outside comes as 0.0 / 1.0 (the caller converts it, see _Masks)
            name = self.tmp(n, "ne %s, %s" % (name, self.scalar(0)), dtype="bool")
        self.names[n] = name
        return name

    def scalar(self, x):
        name = "%%s%d" % self.scalars
        self.scalars += 1
        self.body.append("  %s = scalar {value=%r} : f32[]" % (name, float(x)))
        return name

    def operand(self, a):
        return self.ref(a) if isinstance(a, torch.fx.Node) else self.scalar(a)

    def number(self, a):
        """an operand of arithmetic: a mask as 0.0 / 1.0, as PyTorch promotes it"""
        if isinstance(a, torch.fx.Node) and _is_mask(a):
            return self.tmp(a, "where %s, %s, %s" % (self.ref(a), self.scalar(1), self.scalar(0)))
        return self.operand(a)

    def emit(self, n, text):
        name = "%%t%d" % len(self.names)
        self.names[n] = name
        self.body.append("  %s = %s : %s" % (name, text, self.type_of(n)))

    def tmp(self, like, text, dims=None, keep=True, dtype="f32"):
        """an intermediate line of a composite: the shape of FX value `like`, with `dims` reduced (kept as 1s)"""
        name = "%%c%d" % len(self.body)
        t = self.dims_of(like)
        if dims is not None:
            t = [("1" if keep else None) if i in dims else d for i, d in enumerate(t)]
            t = [d for d in t if d is not None]
        self.body.append("  %s = %s : %s[%s]" % (name, text, dtype, ",".join(t)))
        return name

    def text(self, outputs):
        head = ["param @%s : f32[%s]" % (name, ",".join(str(d) for d in t.shape)) for name, t in self.params]
        args = ", ".join("%s: f32[%s]" % (self.input_names[n], ",".join(self.dims_of(n))) for n in self.inputs)
        # a mask leaves as 0.0 / 1.0 (the caller makes it bool again)
        results = [self.tmp(o, "where %s, %s, %s" % (self.names[o], self.scalar(1), self.scalar(0)))
                   if _is_mask(o) else self.names[o] for o in outputs]
        ret = "  return %s" % ", ".join(results)
        return "\n".join(head + ["", "func @fx(%s) {" % args] + self.body + [ret, "}", ""])


def translate(w, n):
    """n as one IR line through w; False where sheaf has no op for it (PyTorch runs it)."""
    g = w.g
    args, kw = n.args, n.kwargs
    t = n.target
    if n.op not in ("call_function", "call_method") or not (_is_tensor(n) or _is_mask(n)):
        return False
    batch = g.batch.get(n)
    if batch and (_value(n).dim() == 0 or not _is_batch_dim(_value(n).shape[0], g.batch_size)):
        return False  # the batch must stay at dim 0
    if n.op == "call_method":
        t = _METHODS.get(t)
        if t is None:
            return False
    x = args[0] if args else None
    if t in _UNARY or t in _UNARY_METHODS.values():
        op = _UNARY.get(t, t)
        if op == "gelu":
            approximate = kw.get("approximate", args[1] if len(args) > 1 else "none")
            if approximate not in ("none", "tanh"):
                return False
            op = "gelu" if approximate == "none" else "gelu_tanh"
        elif len(args) > 2 or (len(args) == 2 and not isinstance(args[1], bool)) or any(k != "inplace" for k in kw):
            return False  # round(x, decimals), or an argument sheaf does not know
        if kw.get("inplace", args[1] if len(args) == 2 else False):
            return False  # the input changes too: PyTorch runs it
        w.emit(n, "%s %s" % (op, w.ref(x)))
    elif t in _ACTS:
        kind, params = _ACTS[t]
        if kw.get("inplace", False) or any(k not in [p for p, _ in params] + ["inplace"] for k in kw):
            return False
        p = [args[1 + i] if len(args) > 1 + i else kw.get(name, default) for i, (name, default) in enumerate(params)]
        text = _act_text(kind, p)
        if text is None:
            return False
        w.emit(n, "%s %s %s" % (text[0], w.ref(x), text[1]))
    elif t in _BINARY or (isinstance(t, str) and t.startswith("m_")):
        op = _BINARY.get(t) if not isinstance(t, str) else t[2:]
        a, b = args[0], args[1]
        if kw.get("alpha", 1) != 1 or not any(isinstance(v, torch.fx.Node) for v in (a, b)):
            return False
        if any(isinstance(v, torch.fx.Node) and not (_is_tensor(v) or _is_mask(v)) for v in (a, b)):
            return False
        w.emit(n, "%s %s, %s" % (op, w.number(a), w.number(b)))
    elif t in MASKS:
        return MASKS[t](w, n, x, args, kw, batch) is not False
    elif _is_mask(n) and t not in _MASK_MOVES:
        return False  # the other ops compute numbers
    elif t in COMPOSITE:
        return COMPOSITE[t](w, n, x, args, kw, batch) is not False
    elif t in _LINEAR:
        operands = [w.ref(a) for a in args if a is not None]
        w.emit(n, "linear %s" % ", ".join(operands))
    elif t in _MATMUL:
        w.emit(n, "matmul %s, %s" % (w.ref(args[0]), w.ref(args[1])))
    elif t in _CAT:
        xs, dim = args[0], kw.get("dim", args[1] if len(args) > 1 else 0)
        dim = _dims(n, dim)
        if dim == 0 and batch:
            return False
        w.emit(n, "concat %s {dim=%d}" % (", ".join(w.ref(a) for a in xs), dim))
    elif t is torch.stack:
        xs, dim = args[0], kw.get("dim", args[1] if len(args) > 1 else 0)
        dim = _dims(n, dim)
        if dim == 0 and batch:
            return False
        w.emit(n, "stack %s {dim=%d}" % (", ".join(w.ref(a) for a in xs), dim))
    elif t is _tensor_getitem:
        return _slice(w, n, x, args[1])
    elif t in ("reshape",) or t in (torch.reshape,):
        shape = list(args[1:]) if n.op == "call_method" else list(args[1])
        if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
            shape = list(shape[0])
        return _reshape(w, n, x, shape)
    elif t in ("flatten", torch.flatten):
        start = args[1] if len(args) > 1 else kw.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kw.get("end_dim", -1)
        start, end = _dims(x, start), _dims(x, end)
        if batch and start == 0 and end > 0:
            return False
        w.emit(n, "flatten %s {start=%d, end=%d}" % (w.ref(x), start, end))
    elif t in ("softmax", F.softmax, torch.softmax, "log_softmax", F.log_softmax, torch.log_softmax):
        dim = kw.get("dim", args[1] if len(args) > 1 else None)
        if dim is None or (batch and _dims(n, dim) == 0) or kw.get("dtype") is not None:
            return False
        op = "softmax" if t in ("softmax", F.softmax, torch.softmax) else "log_softmax"
        w.emit(n, "%s %s {dim=%d}" % (op, w.ref(x), _dims(n, dim)))
    elif t in ("sum", "mean", "amax", "amin", "prod") or t in _REDUCE:
        dim = kw.get("dim", args[1] if len(args) > 1 else None)
        if dim is None or dim == () or kw.get("dtype") is not None:
            return False
        dims = [_dims(x, d) for d in (dim if isinstance(dim, (tuple, list)) else [dim])]
        if batch and 0 in dims:
            return False
        op = t if isinstance(t, str) else _REDUCE[t]
        keep = bool(kw.get("keepdim", args[2] if len(args) > 2 else False))
        w.emit(n, "%s %s {dims=%s, keepdim=%s}" % (op, w.ref(x), _ints(dims), "true" if keep else "false"))
    elif t in ("transpose", torch.transpose):
        a, b = _dims(x, args[1]), _dims(x, args[2])
        if batch and 0 in (a, b):
            return False
        w.emit(n, "transpose %s {dim0=%d, dim1=%d}" % (w.ref(x), a, b))
    elif t in ("unsqueeze", torch.unsqueeze):
        d = args[1] if len(args) > 1 else kw.get("dim")
        d = d + _value(x).dim() + 1 if d < 0 else d
        if batch and d == 0:
            return False
        w.emit(n, "unsqueeze %s {dim=%d}" % (w.ref(x), d))
    elif t == "contiguous":
        w.names[n] = w.ref(x)
    elif t is F.layer_norm:
        shape = args[1]
        wt = args[2] if len(args) > 2 else kw.get("weight")
        b = args[3] if len(args) > 3 else kw.get("bias")
        eps = args[4] if len(args) > 4 else kw.get("eps", 1e-5)
        if (wt is None) != (b is None):
            return False
        ops = [w.ref(x)] + ([w.ref(wt), w.ref(b)] if wt is not None else [])
        w.emit(n, "layernorm %s {ndim=%d, eps=%r}" % (", ".join(ops), len(shape), float(eps)))
    elif t in (F.conv2d, torch.conv2d):
        wt, b = args[1], args[2] if len(args) > 2 else kw.get("bias")
        pair = lambda v: [v, v] if isinstance(v, int) else list(v)
        stride = pair(args[3] if len(args) > 3 else kw.get("stride", 1))
        padding = args[4] if len(args) > 4 else kw.get("padding", 0)
        if isinstance(padding, str):
            return False
        dilation = pair(args[5] if len(args) > 5 else kw.get("dilation", 1))
        groups = args[6] if len(args) > 6 else kw.get("groups", 1)
        ops = [w.ref(x), w.ref(wt)] + ([w.ref(b)] if b is not None else [])
        w.emit(n, "conv2d %s {stride=%s, padding=%s, dilation=%s, groups=%d}" % (
            ", ".join(ops), _ints(stride), _ints(pair(padding)), _ints(dilation), groups))
    else:
        return False
    return True


def _slice(w, n, x, index):
    if not isinstance(index, tuple):
        index = (index,)
    if any(not isinstance(s, slice) for s in index):
        return False
    shape = _value(x).shape
    text, src = None, x
    for d, s in enumerate(index):
        if d == 0 and w.g.batch.get(x):  # the batch: whole, never sized (it may be symbolic)
            if s != slice(None):
                return False
            continue
        start, stop, step = s.indices(int(shape[d]))
        if (start, stop, step) == (0, int(shape[d]), 1):
            continue
        if text is not None or step < 1:
            return False  # one sliced dim per node
        text = "slice %s {dim=%d, start=%d, end=%d, step=%d}" % (w.ref(src), d, start, max(stop, start), step)
    if text is None:
        w.names[n] = w.ref(x)
    else:
        w.emit(n, text)
    return True


def _reshape(w, n, x, shape):
    out = _value(n).shape
    dims = []
    for i, d in enumerate(shape):
        if isinstance(d, torch.fx.Node):
            return False
        dims.append("B" if i == 0 and w.g.batch.get(n) else str(int(out[i])))
    if w.g.batch.get(n) and not w.g.batch.get(x):
        return False
    w.emit(n, "reshape %s {shape=[%s]}" % (w.ref(x), ",".join(dims)))
    return True


class _Support(OperatorSupport):
    def __init__(self, g):
        super().__init__()
        self.g = g

    def is_node_supported(self, submodules, node):
        return translate(_Writer(self.g), node)


def _compile_nodes(g, nodes, outputs, options):
    """one sheaf model for FX nodes (in order) and the FX values it returns"""
    w = _Writer(g)
    for n in nodes:
        if not translate(w, n):
            raise RuntimeError("sheaf backend: %s was judged supported but does not translate" % n.format_node())
    text = w.text(outputs)
    o = _options(options, None)
    o["weights"] = {name: t.numpy() for name, t in w.params}
    model = Compiled(_sheaf.compile("dynamo.sfir", text, o), ("dynamo.sfir", text, o))
    masks_in = [i for i, x in enumerate(w.inputs) if _is_mask(x)]
    masks_out = [i for i, x in enumerate(outputs) if _is_mask(x)]
    return (_Masks(model, masks_in, masks_out) if masks_in or masks_out else model), w.inputs


class _Masks:
    """a model whose inputs or outputs include masks: sheaf takes and gives them as 0.0 / 1.0"""

    def __init__(self, model, masks_in, masks_out):
        self.model, self.masks_in, self.masks_out = model, set(masks_in), set(masks_out)

    def __call__(self, *args):
        out = self.model(*[a.float() if i in self.masks_in else a for i, a in enumerate(args)])
        if not isinstance(out, tuple):
            return out.bool() if self.masks_out else out
        return tuple(o.bool() if i in self.masks_out else o for i, o in enumerate(out))


def _tensor_getitem(x, index):
    """x[index] for a tensor x: the partitioner moves operator.getitem nodes to their producer's partition
    (it takes them for picks from a tuple), so tensor indexing goes by this name instead"""
    return x[index]


def _rename_indexing(gm):
    for n in gm.graph.nodes:
        if n.op == "call_function" and n.target is operator.getitem and n.args and \
                isinstance(_value(n.args[0]), torch.Tensor):
            n.target = _tensor_getitem
    gm.recompile()


_INPLACE = {torch.relu_: torch.relu, torch.sigmoid_: torch.sigmoid, torch.tanh_: torch.tanh, F.relu_: F.relu}
_INPLACE_METHODS = {"relu_": "relu", "sigmoid_": "sigmoid", "tanh_": "tanh", "add_": "add", "sub_": "sub",
                    "mul_": "mul", "div_": "div"}
_VIEWS = {operator.getitem, _tensor_getitem, torch.reshape, torch.flatten, torch.transpose, torch.unsqueeze, torch.squeeze,
          torch.permute, torch.narrow, torch.t, "view", "reshape", "flatten", "transpose", "unsqueeze", "squeeze",
          "permute", "narrow", "t", "expand", "view_as", "expand_as", "split", "chunk", "unbind", "select", torch.select,
          "movedim", "moveaxis", "swapaxes", "swapdims", torch.movedim, torch.swapaxes, torch.swapdims}


# F.X(input, ..., inplace) with inplace given by position: its index
_INPLACE_AT = {f: i for names, i in ((("relu", "hardsigmoid", "hardswish", "mish", "silu", "relu6", "selu"), 1),
                                     (("elu", "celu", "leaky_relu"), 2), (("hardtanh", "threshold"), 3), (("rrelu",), 4))
               for name in names for f in [getattr(F, name)]}


def _inplace_by_position(n):
    i = _INPLACE_AT.get(n.target) if n.op == "call_function" else None
    return i is not None and len(n.args) > i and n.args[i] is True


def _is_view(n):
    return n.op in ("call_function", "call_method") and n.target in _VIEWS


def _trailing_underscore(f):
    """torch's in-place spelling (relu_, add_); operator's and_, or_, not_ are Python keywords escaped"""
    name = getattr(f, "__name__", "")
    return name.endswith("_") and not name.startswith("__") and getattr(f, "__module__", None) != "_operator"


def _writes_in_place(n):
    if n.op == "call_function":
        return n.target in _INPLACE or n.kwargs.get("inplace") is True or _inplace_by_position(n) or \
            "out" in n.kwargs or _trailing_underscore(n.target)
    return n.op == "call_method" and isinstance(n.target, str) and n.target.endswith("_") and \
        not n.target.startswith("__")


def _functionalize(gm):
    """In-place ops on values the graph computed itself become out-of-place ones whose later readers read
    their result (what the partitioner, which sees only data flow, needs). False where the graph writes
    into anything else (an input, a parameter, a view, through out=) or with an op not known here: then
    PyTorch runs the whole graph."""
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for n in list(gm.graph.nodes):
        if not _writes_in_place(n):
            continue
        x = n.args[0] if n.args else None
        known = (n.op == "call_function" and (n.target in _INPLACE or n.kwargs.get("inplace") is True or
                                              _inplace_by_position(n))) or \
            (n.op == "call_method" and n.target in _INPLACE_METHODS)
        if not known or "out" in n.kwargs or not isinstance(x, torch.fx.Node) or \
                x.op in ("placeholder", "get_attr") or _is_view(x) or any(_is_view(u) for u in x.users):
            return False
        if n.op == "call_method":
            n.target = _INPLACE_METHODS[n.target]
        else:
            n.target = _INPLACE.get(n.target, n.target)
            n.kwargs = {k: v for k, v in n.kwargs.items() if k != "inplace"}
            if _inplace_by_position(n):
                n.args = n.args[:_INPLACE_AT[n.target]] + (False,) + n.args[_INPLACE_AT[n.target] + 1:]
        for u in list(x.users):
            if u is not n and order[u] > order[n]:
                u.replace_input_with(x, n)
    gm.graph.lint()
    gm.recompile()
    return True


def backend(gm, example_inputs, options=None, mode=None, **more):
    """The torch.compile backend: a callable for Dynamo's graph. sheaf's options (threads, precision, ...)
    come as torch.compile(..., options={...}) or, called directly, as keywords; torch.compile's modes are
    Inductor's and are refused."""
    if mode not in (None, "default"):
        raise TypeError("sheaf backend: torch.compile mode %r is Inductor's; sheaf takes options={...} "
                        "(threads, precision, ...)" % (mode,))
    options = dict(options or {}, **more)
    _options(options)  # an unknown name is refused before any work
    stats["graphs"] += 1
    if not _functionalize(gm):
        stats["pytorch_graphs"] += 1
        _say(logging.WARNING, "sheaf: the graph writes in place into an input, a parameter or a view: PyTorch "
                              "runs it")
        return gm.forward
    _rename_indexing(gm)
    g = _Graph.of(gm, example_inputs)
    if g.batch_size is None:
        _say(logging.INFO, "sheaf: a graph without tensor inputs runs in PyTorch")
        return gm.forward
    support = _Support(g)
    compute = [n for n in gm.graph.nodes if n.op in ("call_function", "call_method", "call_module")]
    left = sorted({_op_name(n) for n in compute if not support.is_node_supported(None, n)})
    if left:
        _say(logging.WARNING, "sheaf: ops left to PyTorch: %s" % ", ".join(left))
    else:
        whole = _whole(g, compute, options)
        if whole is not None:
            return whole
    partitioner = CapabilityBasedPartitioner(gm, support, allows_single_node_partition=True)
    fused = partitioner.fuse_partitions(partitioner.propose_partitions())
    # the fused graph's own view: its placeholders are the graph's (by name), and the batch flows again
    # through the partitions' calls and the values taken from their results
    phs = [n for n in fused.graph.nodes if n.op == "placeholder"]
    fg = _Graph(fused, {p: g.examples.get(g.named.get(p.name)) for p in phs},
                {p for p in phs if g.named.get(p.name) in g.constants}, g.batch_size)
    for node in list(fused.graph.nodes):
        if node.op == "call_module" and str(node.target).startswith("fused_"):
            _replace(fused, node, fg, options)
    fused.graph.lint()
    fused.recompile()
    return fused.forward


def _whole(g, compute, options):
    """Every node is sheaf's: one model for the graph and a plain function that calls it, without the
    partitioner's pass over the graph or a GraphModule's call (what Dynamo's per-call time is made of at
    batch 1). None where an output is not a tensor the graph computes (PyTorch's GraphModule returns such
    ones as they are)."""
    out = next(n for n in g.gm.graph.nodes if n.op == "output")
    results = out.args[0]
    results = list(results) if isinstance(results, (tuple, list)) else None
    computed = set(compute)
    if not compute or results is None or any(not isinstance(r, torch.fx.Node) or r not in computed for r in results):
        return None
    model, inputs = _compile_nodes(g, compute, results, options)
    position = {p: i for i, p in enumerate(n for n in g.gm.graph.nodes if n.op == "placeholder")}
    order = [position[i] for i in inputs]
    stats["sheaf_partitions"] += 1
    stats["whole_graphs"] += 1
    if len(results) == 1:
        def run(*args):
            return (model(*[args[i] for i in order]),)
    else:
        def run(*args):
            return tuple(model(*[args[i] for i in order]))
    return run


def _op_name(n):
    if n.op == "call_function":
        return getattr(n.target, "__name__", str(n.target))
    return "%s %s" % (n.op.replace("call_", ""), n.target)


def _replace(fused, node, g, options):
    """the fused partition `node` replaced by a call of one sheaf model"""
    sub = getattr(fused, node.target)
    phs = [n for n in sub.graph.nodes if n.op == "placeholder"]
    outer = dict(zip(phs, node.args))  # a partition's placeholders stand for the outer values it reads
    examples, constants, batch = {}, set(), {}
    for p, o in outer.items():
        p.meta.update(o.meta)
        batch[p] = g.batch.get(o, False)
        if o.op == "get_attr" or (o.op == "placeholder" and g.constant(o)):
            constants.add(p)
            examples[p] = g.examples.get(o) if o.op == "placeholder" else _Writer(g).constant_tensor(o)
    sg = _Graph(sub, examples, constants, g.batch_size, batch)
    out = next(n for n in sub.graph.nodes if n.op == "output")
    many = isinstance(out.args[0], (tuple, list))
    results = list(out.args[0]) if many else [out.args[0]]
    compute = [n for n in sub.graph.nodes if n.op in ("call_function", "call_method")]
    model, inputs = _compile_nodes(sg, compute, results, options)
    name = str(node.target) + "_sheaf"
    position = {p: i for i, p in enumerate(phs)}
    fused.add_submodule(name, _Call(model, [position[i] for i in inputs], many))
    stats["sheaf_partitions"] += 1
    with fused.graph.inserting_after(node):
        new = fused.graph.call_module(name, tuple(node.args))
    g.batch[new] = g.batch.get(node, False)  # a later partition that reads this one needs to know
    node.replace_all_uses_with(new)
    fused.graph.erase_node(node)
    fused.delete_submodule(node.target)


class _Call(torch.nn.Module):
    """a sheaf model in place of a partition: its inputs picked from the partition's arguments"""

    def __init__(self, model, order, many):
        super().__init__()
        self.model, self.order, self.many = model, order, many

    def forward(self, *args):
        out = self.model(*[args[i] for i in self.order])
        return (out if isinstance(out, tuple) else (out,)) if self.many else out
