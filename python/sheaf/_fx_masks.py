"""The FX nodes that make or use masks (frontend/py_mask.c's forms for the
same PyTorch functions): comparisons, ~ & | ^ on masks, logical_*, where,
masked_fill, tril/triu, and the tensors made in forward (zeros, ones, full,
empty and their _like and new_ forms). A mask is an IR value of dtype bool. Each takes
the writer, the node, its input and arguments, and whether the node
carries the batch; False where PyTorch must run it.
"""
import operator

import torch
import torch.fx

from ._fx_ops import _arg, _is_tensor, _value


def _is_mask(n):
    v = _value(n)
    return isinstance(v, torch.Tensor) and v.dtype == torch.bool


def _usable(v):
    """a tensor sheaf computes with, or a Python number (True is 1)"""
    if isinstance(v, torch.fx.Node):
        return _is_tensor(v) or _is_mask(v)
    return isinstance(v, (int, float))


def _compare(op):
    def write(w, n, x, args, kw, batch):
        a, b = args[0], _arg(args, kw, 1, "other", None)
        if not _usable(a) or not _usable(b) or not any(isinstance(v, torch.fx.Node) for v in (a, b)):
            return False
        w.emit(n, "%s %s, %s" % (op, w.operand(a), w.operand(b)))
    return write


def _as_mask(w, v):
    """v as a mask: numbers are true where nonzero (torch.logical_*)"""
    return w.ref(v) if _is_mask(v) else w.tmp(v, "ne %s, %s" % (w.ref(v), w.scalar(0)), dtype="bool")


def _bitwise(op):
    """& | ^ on masks: minimum, maximum, ne (PyTorch refuses them on floats)"""
    def write(w, n, x, args, kw, batch):
        a, b = args[0], args[1]
        if not all(isinstance(v, torch.fx.Node) and _is_mask(v) for v in (a, b)):
            return False
        w.emit(n, "%s %s, %s" % (op, w.ref(a), w.ref(b)))
    return write


def _invert(w, n, x, args, kw, batch):
    if not _is_mask(x):
        return False
    w.emit(n, "eq %s, %s" % (w.ref(x), w.scalar(0)))


def _logical(op):
    def write(w, n, x, args, kw, batch):
        a, b = args[0], _arg(args, kw, 1, "other", None)
        if not all(isinstance(v, torch.fx.Node) and _usable(v) for v in (a, b)) or "out" in kw:
            return False
        w.emit(n, "%s %s, %s" % (op, _as_mask(w, a), _as_mask(w, b)))
    return write


def _logical_not(w, n, x, args, kw, batch):
    if not isinstance(x, torch.fx.Node) or not _usable(x) or "out" in kw:
        return False
    w.emit(n, "eq %s, %s" % (_as_mask(w, x), w.scalar(0)))


def _select(w, n, cond, a, b):
    """where(cond, a, b), a and b tensors or numbers of the result's kind"""
    if not (isinstance(cond, torch.fx.Node) and _is_mask(cond)) or not _usable(a) or not _usable(b):
        return False
    pick = [w.number(v) if not _is_mask(n) else w.operand(v) for v in (a, b)]
    if _is_mask(n) and not all(isinstance(v, torch.fx.Node) and _is_mask(v) for v in (a, b)):
        return False
    w.emit(n, "where %s, %s, %s" % (w.ref(cond), pick[0], pick[1]))


def _where(w, n, x, args, kw, batch):
    if len(args) + len(kw) < 3:
        return False  # where(cond) alone: indices
    return _select(w, n, args[0], _arg(args, kw, 1, "input", None), _arg(args, kw, 2, "other", None))


def _where_method(w, n, x, args, kw, batch):
    return _select(w, n, _arg(args, kw, 1, "condition", None), x, _arg(args, kw, 2, "other", None))


def _masked_fill(w, n, x, args, kw, batch):
    value = _arg(args, kw, 2, "value", None)
    if isinstance(value, torch.fx.Node) and _value(value).dim() != 0:
        return False
    return _select(w, n, _arg(args, kw, 1, "mask", None), value, x)


def _triangle(op):
    def write(w, n, x, args, kw, batch):
        k = _arg(args, kw, 1, "diagonal", 0)
        if not isinstance(k, int) or _value(x).dim() < 2 or "out" in kw:
            return False
        w.emit(n, "%s %s {diagonal=%d}" % (op, w.ref(x), k))
    return write


MASKS = {}
for _name, _op in (("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
    for _t in (getattr(operator, _name), getattr(torch, _name), "mask_" + _name):
        MASKS[_t] = _compare(_op)
for _t, _op in ((operator.and_, "minimum"), (operator.or_, "maximum"), (operator.xor, "ne")):
    MASKS[_t] = _bitwise(_op)
for _t, _op in ((torch.logical_and, "minimum"), (torch.logical_or, "maximum"), (torch.logical_xor, "ne"),
                ("mask_logical_and", "minimum"), ("mask_logical_or", "maximum"), ("mask_logical_xor", "ne")):
    MASKS[_t] = _logical(_op)
MASKS.update({operator.invert: _invert, torch.bitwise_not: _invert, "mask_bitwise_not": _invert,
              torch.logical_not: _logical_not, "mask_logical_not": _logical_not, torch.where: _where,
              "mask_where": _where_method, torch.masked_fill: _masked_fill, "mask_masked_fill": _masked_fill,
              torch.tril: _triangle("tril"), "mask_tril": _triangle("tril"), torch.triu: _triangle("triu"),
              "mask_triu": _triangle("triu")})


def _nan_test(op, absolute):
    """isnan: x != x (NaN is unequal to itself); isinf: |x| == inf; isfinite: |x| < inf (false for NaN too)"""
    def write(w, n, x, args, kw, batch):
        if not isinstance(x, torch.fx.Node) or not _usable(x) or kw:
            return False
        v = w.number(x)
        if absolute:
            w.emit(n, "%s %s, %s" % (op, w.tmp(x, "abs %s" % v), w.scalar(float("inf"))))
        else:
            w.emit(n, "%s %s, %s" % (op, v, v))
    return write


for _t, _test in (("isnan", _nan_test("ne", False)), ("isinf", _nan_test("eq", True)),
                  ("isfinite", _nan_test("lt", True))):
    MASKS[getattr(torch, _t)] = MASKS["mask_" + _t] = _test

_CREATION_KW = {"dtype", "device", "requires_grad", "layout", "pin_memory", "memory_format"}


def _filled(w, n, value, kw):
    """the FULL op over n's shape (the batch at dim 0 is B), a mask where n is one"""
    shape = _value(n).shape
    if not isinstance(value, (int, float)) or any(k not in _CREATION_KW for k in kw) or \
            not (_is_tensor(n) or _is_mask(n)) or kw.get("requires_grad") or \
            kw.get("layout") not in (None, torch.strided) or \
            any(isinstance(d, torch.SymInt) for d in shape[1:]):  # only the batch may vary
        return False
    text = "full {shape=[%s], value=%r}" % (",".join(w.dims_of(n)), float(value))
    if _is_mask(n):
        w.emit(n, "ne %s, %s" % (w.tmp(n, text), w.scalar(0)))
    else:
        w.emit(n, text)


def _create(value, fill_at=None):
    """torch.zeros(2, 3), zeros((2, 3)), zeros_like(x), full(size, v), full_like(x, v), x.new_zeros(size)...:
    the size is n's own (its example value); fill_at is the position of the fill value"""
    def write(w, n, x, args, kw, batch):
        v = value if fill_at is None else _arg(args, kw, fill_at, "fill_value", None)
        return _filled(w, n, v, kw)
    return write


MASKS.update({torch.zeros: _create(0), torch.ones: _create(1), torch.empty: _create(0), torch.full: _create(0, fill_at=1),
              torch.zeros_like: _create(0), torch.ones_like: _create(1), torch.empty_like: _create(0),
              torch.full_like: _create(0, fill_at=1), "mask_new_zeros": _create(0), "mask_new_ones": _create(1),
              "mask_new_empty": _create(0), "mask_new_full": _create(0, fill_at=2)})


def _convert(to_mask):
    """x.float(), x.bool(), x.to(dtype), x.type_as(y): between masks and numbers"""
    def write(w, n, x, args, kw, batch):
        if not isinstance(x, torch.fx.Node) or not _usable(x) or any(k not in ("dtype", "copy") for k in kw):
            return False
        if _is_mask(n) == _is_mask(x):
            w.names[n] = w.ref(x)
        elif to_mask:
            w.emit(n, "ne %s, %s" % (w.ref(x), w.scalar(0)))
        else:
            w.emit(n, "where %s, %s, %s" % (w.ref(x), w.scalar(1), w.scalar(0)))
    return write


MASKS.update({"mask_float": _convert(False), "mask_bool": _convert(True)})
MASKS["mask_to"] = MASKS["mask_type_as"] = lambda w, n, *a: _convert(_is_mask(n))(w, n, *a)
# the tensor methods: Dynamo records x.gt(0) as call_method "gt", looked up as "mask_gt"
MASK_METHODS = {t[5:]: t for t in MASKS if isinstance(t, str)}
