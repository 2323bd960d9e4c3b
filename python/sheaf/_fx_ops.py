"""The FX nodes sheaf writes as several IR lines (frontend/py_math.c's forms
for the same PyTorch functions: var, std, logsumexp, norm, normalize,
cosine_similarity, pairwise_distance, softmin, glu, prelu, max/min of two
tensors), and the helpers _dynamo.py's translation shares with them. Each
takes the writer, the node, its input and arguments, and whether the node
carries the batch; False where PyTorch must run it.
"""
import math
import operator

import torch
import torch.fx

F = torch.nn.functional


def _value(n):
    return n.meta.get("example_value") if isinstance(n, torch.fx.Node) else None


def _is_tensor(n):
    v = _value(n)
    return isinstance(v, torch.Tensor) and v.dtype == torch.float32


def _ints(xs):
    return "[%s]" % ", ".join(str(int(x)) for x in xs)


def _dims(n, d):
    r = _value(n).dim()
    return d + r if d < 0 else d


def _arg(args, kw, i, name, default):
    return args[i] if len(args) > i else kw.get(name, default)


def _red_dims(x, dim):
    return sorted(_dims(x, d) for d in (dim if isinstance(dim, (tuple, list)) else [dim]))


def _red(w, like, op, x, dims, keep):
    return w.tmp(like, "%s %s {dims=%s, keepdim=%s}" % (op, x, _ints(dims), "true" if keep else "false"), dims, keep)


def _max_min(w, n, x, args, kw, batch):
    """max(x, y) and min(x, y): maximum and minimum (max(x) and max(x, dim) stay with PyTorch)"""
    other = _arg(args, kw, 1, "other", None)
    if not isinstance(other, torch.fx.Node) or not _is_tensor(other):
        return False
    op = "maximum" if n.target in (torch.max, "max") else "minimum"
    w.emit(n, "%s %s, %s" % (op, w.ref(x), w.ref(other)))


def _softmin(w, n, x, args, kw, batch):
    dim = _arg(args, kw, 1, "dim", None)
    if dim is None or (batch and _dims(n, dim) == 0) or kw.get("dtype") is not None:
        return False
    w.emit(n, "softmax %s {dim=%d}" % (w.tmp(x, "neg %s" % w.ref(x)), _dims(n, dim)))


def _glu(w, n, x, args, kw, batch):
    d = _dims(x, _arg(args, kw, 1, "dim", -1))
    size = _value(x).shape[d]
    if (batch and d == 0) or size % 2:
        return False
    lo = w.tmp(n, "slice %s {dim=%d, start=0, end=%d, step=1}" % (w.ref(x), d, size // 2))
    hi = w.tmp(n, "slice %s {dim=%d, start=%d, end=%d, step=1}" % (w.ref(x), d, size // 2, size))
    w.emit(n, "mul %s, %s" % (lo, w.tmp(n, "sigmoid %s" % hi)))


def _prelu(w, n, x, args, kw, batch):
    """relu(x) + w (x - relu(x)), w per channel (dim 1) or one"""
    weight = _arg(args, kw, 1, "weight", None)
    if not isinstance(weight, torch.fx.Node) or _value(weight).dim() != 1:
        return False
    c, r = _value(weight).shape[0], _value(x).dim()
    wt = w.ref(weight)
    if c > 1 and r > 2:
        shape = [c] + [1] * (r - 2)
        name = "%%c%d" % len(w.body)
        w.body.append("  %s = reshape %s {shape=%s} : f32[%s]" % (name, wt, _ints(shape), ",".join(map(str, shape))))
        wt = name
    pos = w.tmp(x, "relu %s" % w.ref(x))
    neg = w.tmp(x, "sub %s, %s" % (w.ref(x), pos))
    w.emit(n, "add %s, %s" % (pos, w.tmp(x, "mul %s, %s" % (neg, wt))))


def _reduction_args(x, args, kw, dim_at, keep_at, batch):
    dim = _arg(args, kw, dim_at, "dim", None)
    if dim is None or dim == ():
        return None
    dims = _red_dims(x, dim)
    if batch and 0 in dims:
        return None
    return dims, bool(_arg(args, kw, keep_at, "keepdim", False))


def _logsumexp(w, n, x, args, kw, batch):
    """m + log(sum e^(x - m)), m = amax clamped to the finite floats (frontend/py_math.c's form)"""
    r = _reduction_args(x, args, kw, 1, 2, batch)
    if r is None:
        return False
    dims, keep = r
    m = w.tmp(x, "clamp %s {min=%r, max=%r}" % (_red(w, x, "amax", w.ref(x), dims, True), -3.4028234663852886e38,
                                                   3.4028234663852886e38), dims, True)
    e = w.tmp(x, "exp %s" % w.tmp(x, "sub %s, %s" % (w.ref(x), m)))
    s = w.tmp(x, "log %s" % _red(w, x, "sum", e, dims, keep), dims, keep)
    w.emit(n, "add %s, %s" % (s, m if keep else _red(w, x, "sum", m, dims, False)))


def _var_std(w, n, x, args, kw, batch):
    r = _reduction_args(x, args, kw, 1, 3, batch)
    unbiased = _arg(args, kw, 2, "unbiased", True)
    c = kw.get("correction", 1 if unbiased else 0)
    if r is None or not isinstance(c, (int, float)) or not isinstance(unbiased, bool):
        return False
    dims, keep = r
    count = 1
    for d in dims:
        count *= int(_value(x).shape[d])
    m = _red(w, x, "mean", w.ref(x), dims, True)
    d = w.tmp(x, "sub %s, %s" % (w.ref(x), m))
    steps = ["mean %s {dims=%s, keepdim=%s}" % (w.tmp(x, "mul %s, %s" % (d, d)), _ints(dims), "true" if keep else "false")]
    if c:  # times n / (n - c), as PyTorch (inf where n <= c)
        steps.append("mul {v}, " + w.scalar(count / (count - c) if count > c else float("inf")))
    if n.target in (torch.std, "std"):
        steps.append("sqrt {v}")
    v = None
    for i, step in enumerate(steps):
        text = step if v is None else step.replace("{v}", v)
        if i == len(steps) - 1:
            w.emit(n, text)
        else:
            v = w.tmp(x, text, dims, keep)


def _norm(w, n, x, args, kw, batch):
    p = _arg(args, kw, 1, "p", "fro")
    r = _reduction_args(x, args, kw, 2, 3, batch)
    if r is None or p not in ("fro", 2, 2.0, 1, 1.0, float("inf")) or kw.get("dtype") is not None:
        return False
    dims, keep = r
    if p in ("fro", 2, 2.0):
        w.emit(n, "sqrt %s" % _red(w, x, "sum", w.tmp(x, "mul %s, %s" % (w.ref(x), w.ref(x))), dims, keep))
    else:
        w.emit(n, "%s %s {dims=%s, keepdim=%s}" % ("sum" if p == 1 else "amax", w.tmp(x, "abs %s" % w.ref(x)),
                                                   _ints(dims), "true" if keep else "false"))


def _l2(w, like, x, d):
    """||x||_2 along d, kept as a dim of 1"""
    return w.tmp(like, "sqrt %s" % _red(w, like, "sum", w.tmp(like, "mul %s, %s" % (x, x)), [d], True), [d], True)


def _normalize(w, n, x, args, kw, batch):
    """x / max(||x||_2, eps) (p = 2 only)"""
    p, d, eps = _arg(args, kw, 1, "p", 2.0), _dims(x, _arg(args, kw, 2, "dim", 1)), _arg(args, kw, 3, "eps", 1e-12)
    if p != 2 or (batch and d == 0) or not isinstance(eps, (int, float)):
        return False
    nrm = w.tmp(x, "clamp %s {min=%r, max=inf}" % (_l2(w, x, w.ref(x), d), float(eps)), [d], True)
    w.emit(n, "div %s, %s" % (w.ref(x), nrm))


def _cosine_similarity(w, n, x, args, kw, batch):
    """sum((x1 / max(||x1||, eps)) (x2 / max(||x2||, eps))) along dim, as py_math.c"""
    y, d, eps = _arg(args, kw, 1, "x2", None), _arg(args, kw, 2, "dim", 1), _arg(args, kw, 3, "eps", 1e-8)
    if not isinstance(y, torch.fx.Node) or _value(y).shape != _value(x).shape or not isinstance(eps, (int, float)):
        return False
    d = _dims(x, d)
    if batch and d == 0:
        return False
    units = [w.tmp(x, "div %s, %s" % (w.ref(v), w.tmp(x, "clamp %s {min=%r, max=inf}" % (_l2(w, x, w.ref(v), d),
                                                                                          float(eps)), [d], True)))
             for v in (x, y)]
    w.emit(n, "sum %s {dims=[%d], keepdim=false}" % (w.tmp(x, "mul %s, %s" % tuple(units)), d))


def _pairwise_distance(w, n, x, args, kw, batch):
    """||x1 - x2 + eps||_2 over the last dim"""
    y, p = _arg(args, kw, 1, "x2", None), _arg(args, kw, 2, "p", 2.0)
    eps, keep = _arg(args, kw, 3, "eps", 1e-6), bool(_arg(args, kw, 4, "keepdim", False))
    if not isinstance(y, torch.fx.Node) or _value(y).shape != _value(x).shape or p != 2 or _value(x).dim() < 2:
        return False
    d = _value(x).dim() - 1
    diff = w.tmp(x, "add %s, %s" % (w.tmp(x, "sub %s, %s" % (w.ref(x), w.ref(y))), w.scalar(eps)))
    w.emit(n, "sqrt %s" % _red(w, x, "sum", w.tmp(x, "mul %s, %s" % (diff, diff)), [d], keep))


def _pow(w, n, x, args, kw, batch):
    """x ** p for integer p in [-64, 64] but 0 (by squaring) and +-0.5; c ** x for c > 0 (py_math.c's py_pow)"""
    base, p = args[0], _arg(args, kw, 1, "exponent", None)
    if isinstance(base, (int, float)) and isinstance(p, torch.fx.Node):
        if not (0 < base < float("inf")):
            return False
        w.emit(n, "exp %s" % w.tmp(p, "mul %s, %s" % (w.ref(p), w.scalar(math.log(base)))))
        return None
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        return False
    if p in (0.5, -0.5):
        w.emit(n, "%s %s" % ("sqrt" if p > 0 else "rsqrt", w.ref(x)))
        return None
    if p != int(p) or p == 0 or abs(p) > 64:
        return False
    k, sq, steps = abs(int(p)), w.ref(x), []
    while k:
        if k & 1:
            steps.append(sq)
        k >>= 1
        if k:
            sq = w.tmp(x, "mul %s, %s" % (sq, sq))
    r = steps[0]
    for s in steps[1:]:
        r = w.tmp(x, "mul %s, %s" % (r, s))
    if p < 0:
        w.emit(n, "reciprocal %s" % r)
    else:
        w.names[n] = r  # the last multiply (x itself for x ** 1)


def _narrow(w, n, x, args, kw, batch):
    d, start, length = _dims(x, _arg(args, kw, 1, "dim", 0)), _arg(args, kw, 2, "start", 0), _arg(args, kw, 3, "length", 0)
    size = _value(x).shape[d]
    if (batch and d == 0) or not all(isinstance(v, int) for v in (start, length)):
        return False
    start = start + size if start < 0 else start
    w.emit(n, "slice %s {dim=%d, start=%d, end=%d, step=1}" % (w.ref(x), d, start, start + length))


def _select(w, n, x, args, kw, batch):
    """a slice of one and a squeeze"""
    d, i = _dims(x, _arg(args, kw, 1, "dim", 0)), _arg(args, kw, 2, "index", 0)
    size = _value(x).shape[d]
    if (batch and d == 0) or not isinstance(i, int):
        return False
    i = i + size if i < 0 else i
    name = w.tmp(x, "slice %s {dim=%d, start=%d, end=%d, step=1}" % (w.ref(x), d, i, i + 1), [d], True,
                 "bool" if _value(x).dtype == torch.bool else "f32")
    w.emit(n, "squeeze %s {dims=[%d]}" % (name, d))


COMPOSITE = {operator.pow: _pow, "narrow": _narrow, torch.narrow: _narrow, "select": _select, torch.select: _select, torch.pow: _pow, "pow": _pow,F.normalize: _normalize, F.cosine_similarity: _cosine_similarity, torch.cosine_similarity: _cosine_similarity,
              F.pairwise_distance: _pairwise_distance, torch.pairwise_distance: _pairwise_distance,torch.max: _max_min, torch.min: _max_min, "max": _max_min, "min": _max_min, F.softmin: _softmin,
              F.glu: _glu, torch._C._nn.glu: _glu, F.prelu: _prelu, torch.prelu: _prelu, torch.logsumexp: _logsumexp,
              "logsumexp": _logsumexp, torch.var: _var_std, "var": _var_std, torch.std: _var_std, "std": _var_std,
              torch.norm: _norm, "norm": _norm}
