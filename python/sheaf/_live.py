"""A live nn.Module as sheaf's C API takes it: the module tree (sf_tree_*),
the forward source, the weights and the input specs.

The instance gives the modules, their classes, the plain attributes and
every parameter and buffer, so __init__ never runs and may hold any Python.
forward (and what it calls) is traced by sheaf from the class's own file:
the file is handed over with every line kept where it is (so an error
names the user's file:line:col) but what sheaf need not read blanked out:
__init__ bodies, methods and top-level code forward does not reach.
"""
import ast
import inspect
import os

_CONTAINERS = {"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"}


def _conv(m):
    return "%d, %d, kernel_size=%r, stride=%r, padding=%r, dilation=%r, groups=%d, bias=%r, padding_mode=%r" % (
        m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups, m.bias is not None,
        m.padding_mode)


def _max_pool(m):
    return "kernel_size=%r, stride=%r, padding=%r, dilation=%r, return_indices=%r, ceil_mode=%r" % (
        m.kernel_size, m.stride, m.padding, m.dilation, m.return_indices, m.ceil_mode)


def _avg_pool(m):
    text = "kernel_size=%r, stride=%r, padding=%r, ceil_mode=%r, count_include_pad=%r" % (
        m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad)
    return text + (", divisor_override=%r" % m.divisor_override if hasattr(m, "divisor_override") else "")


def _bn(m):
    return "%d, eps=%r, momentum=%r, affine=%r, track_running_stats=%r" % (
        m.num_features, m.eps, m.momentum, m.affine, m.track_running_stats)


def _ip(m, args):
    inplace = "inplace=%r" % bool(getattr(m, "inplace", False))
    return "%s, %s" % (args, inplace) if args else inplace


# torch.nn modules' constructor arguments from their attributes (extra_repr's text changes between torch
# versions); one that is not here goes by extra_repr(), and sheaf names it if it does not model it
_ARGS = {
    "Linear": lambda m: "%d, %d, bias=%r" % (m.in_features, m.out_features, m.bias is not None),
    "Conv1d": _conv, "Conv2d": _conv, "BatchNorm1d": _bn, "BatchNorm2d": _bn,
    "InstanceNorm1d": _bn, "InstanceNorm2d": _bn,
    "Embedding": lambda m: "%d, %d, padding_idx=%r, max_norm=%r" % (m.num_embeddings, m.embedding_dim, m.padding_idx,
                                                                     m.max_norm),
    "Upsample": lambda m: "size=%r, scale_factor=%r, mode=%r" % (m.size, m.scale_factor, m.mode),
    "Bilinear": lambda m: "%d, %d, %d, bias=%r" % (m.in1_features, m.in2_features, m.out_features, m.bias is not None),
    "MultiheadAttention": lambda m: "%d, %d, dropout=%r, bias=%r, add_bias_kv=%r, add_zero_attn=%r, kdim=%r, "
                                    "vdim=%r, batch_first=%r" % (
        m.embed_dim, m.num_heads, m.dropout, m.in_proj_bias is not None, m.bias_k is not None, m.add_zero_attn,
        m.kdim, m.vdim, m.batch_first),
    "MaxPool1d": _max_pool, "MaxPool2d": _max_pool, "AvgPool1d": _avg_pool, "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool1d": lambda m: "%r" % (m.output_size,), "AdaptiveAvgPool2d": lambda m: "%r" % (m.output_size,),
    "AdaptiveMaxPool1d": lambda m: "%r, return_indices=%r" % (m.output_size, m.return_indices),
    "AdaptiveMaxPool2d": lambda m: "%r, return_indices=%r" % (m.output_size, m.return_indices),
    "LayerNorm": lambda m: "%r, eps=%r, elementwise_affine=%r, bias=%r" % (
        tuple(m.normalized_shape), m.eps, m.elementwise_affine, getattr(m, "bias", None) is not None),
    "GELU": lambda m: "approximate=%r" % m.approximate,
    "GroupNorm": lambda m: "%d, %d, eps=%r, affine=%r" % (m.num_groups, m.num_channels, m.eps, m.affine),
    "RMSNorm": lambda m: "%r, eps=%r, elementwise_affine=%r" % (tuple(m.normalized_shape), m.eps, m.elementwise_affine),
    "Softmax": lambda m: "dim=%r" % m.dim, "LogSoftmax": lambda m: "dim=%r" % m.dim,
    "Softmin": lambda m: "dim=%r" % m.dim, "GLU": lambda m: "dim=%r" % m.dim,
    "PReLU": lambda m: "num_parameters=%d" % m.num_parameters, "LogSigmoid": lambda m: "",
    "RReLU": lambda m: _ip(m, "lower=%r, upper=%r" % (m.lower, m.upper)),
    "Flatten": lambda m: "start_dim=%d, end_dim=%d" % (m.start_dim, m.end_dim),
    "Dropout": lambda m: "p=%r" % m.p, "Dropout1d": lambda m: "p=%r" % m.p, "Dropout2d": lambda m: "p=%r" % m.p,
    "AlphaDropout": lambda m: "p=%r" % m.p,
    "Identity": lambda m: "", "Tanh": lambda m: "", "Sigmoid": lambda m: "", "Softsign": lambda m: "",
    "Tanhshrink": lambda m: "",
    # the activations that take inplace=: sheaf's forward makes the input name the result too, as PyTorch's does
    "ReLU": lambda m: _ip(m, ""), "SiLU": lambda m: _ip(m, ""), "SELU": lambda m: _ip(m, ""),
    "ReLU6": lambda m: _ip(m, ""), "Hardsigmoid": lambda m: _ip(m, ""), "Hardswish": lambda m: _ip(m, ""),
    "Mish": lambda m: _ip(m, ""),
    "LeakyReLU": lambda m: _ip(m, "negative_slope=%r" % m.negative_slope),
    "ELU": lambda m: _ip(m, "alpha=%r" % m.alpha), "CELU": lambda m: _ip(m, "alpha=%r" % m.alpha),
    "Hardtanh": lambda m: _ip(m, "min_val=%r, max_val=%r" % (m.min_val, m.max_val)),
    "Threshold": lambda m: _ip(m, "threshold=%r, value=%r" % (m.threshold, m.value)),
    "Softplus": lambda m: "beta=%r, threshold=%r" % (m.beta, m.threshold),
    "Softshrink": lambda m: "lambd=%r" % m.lambd, "Hardshrink": lambda m: "lambd=%r" % m.lambd,
}


def _is_torch_module(m):
    return type(m).__module__.split(".")[0] == "torch"


def _literal(v, depth=0):
    """Python source for a plain value (what forward may read), or None."""
    if depth > 8:
        return None
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float):
        return repr(v) if v == v and abs(v) != float("inf") else None
    if isinstance(v, (tuple, list)):
        items = [_literal(x, depth + 1) for x in v]
        if any(i is None for i in items):
            return None
        body = ", ".join(items) + ("," if isinstance(v, tuple) and len(items) == 1 else "")
        return ("(%s)" if isinstance(v, tuple) else "[%s]") % body
    mod = getattr(v, "__module__", None) or ""
    name = getattr(v, "__name__", None)
    if callable(v) and name and mod.split(".")[0] == "torch" and not isinstance(v, type):
        return "%s.%s" % ("torch.nn.functional" if mod.startswith("torch.nn.functional") else mod, name)
    return None


def _holds_module(v, torch, depth=0):
    """Whether a plain list, tuple or dict (nested too) holds an nn.Module somewhere."""
    if isinstance(v, torch.nn.Module):
        return True
    if depth > 8 or not isinstance(v, (list, tuple, dict)):
        return False
    return any(_holds_module(x, torch, depth + 1) for x in (v.values() if isinstance(v, dict) else v))


def _walk(model, torch):
    """The module tree and the tensors it holds, in one walk: [(path, class, nn args or None, [(attr, literal)],
    [(tensor, dims, buffer)])] parents first, {key: tensor} (a torch module's whole subtree under its path; shared
    modules under each of their paths), and the classes of the user's own that it uses. Modules in plain lists,
    tuples and dicts of a module (not registered in PyTorch, so not in state_dict) come as nodes of class list,
    tuple or dict, their tensors under path.<index or key>."""
    tree, tensors, classes = [], {}, []

    def own(m, path):
        for n, t in list(m._parameters.items()) + [(n, b) for n, b in m._buffers.items() if n != "num_batches_tracked"]:
            if t is not None:
                tensors[path + "." + n if path else n] = t

    def held(v, path):
        if isinstance(v, torch.nn.Module):
            return visit(v, path)
        if not isinstance(v, (list, tuple, dict)) or not all(_holds_module(x, torch) for x in (
                v.values() if isinstance(v, dict) else v)):
            raise TypeError("attribute '%s' mixes modules with other values; sheaf takes a plain list, tuple or dict "
                            "that holds only modules (or nn.ModuleList / nn.ModuleDict)" % path)
        tree.append((path, "dict" if isinstance(v, dict) else "tuple" if isinstance(v, tuple) else "list", None, [],
                     []))
        for k, x in (v.items() if isinstance(v, dict) else enumerate(v)):
            if isinstance(v, dict) and (not isinstance(k, str) or "." in k or not k):
                raise TypeError("attribute '%s' is a dict of modules with key %r; sheaf takes string keys without a "
                                "dot" % (path, k))
            held(x, "%s.%s" % (path, k))

    def visit(m, path):
        cls = type(m)
        if _is_torch_module(m):
            if not isinstance(m, torch.nn.Module):
                raise TypeError("module '%s' is a %s, not an nn.Module" % (path, cls.__name__))
            name = cls.__name__
            args = "" if name in _CONTAINERS else _ARGS[name](m) if name in _ARGS else m.extra_repr()
            # a ParameterList's or ParameterDict's own tensors are its elements; other torch modules make theirs
            mine = ([(n, tuple(p.shape), False) for n, p in m._parameters.items()]
                    if name in ("ParameterList", "ParameterDict") else [])
            tree.append((path, cls.__name__, args, [], mine))
            if cls.__name__ in _CONTAINERS:
                own(m, path)
                for name, child in m._modules.items():
                    if child is not None:
                        visit(child, path + "." + name if path else name)
            else:
                for n, t in list(m.named_parameters(prefix=path, remove_duplicate=False)) + list(
                        m.named_buffers(prefix=path, remove_duplicate=False)):
                    if not n.endswith("num_batches_tracked"):
                        tensors[n] = t
            return
        classes.append(cls)
        attrs, containers = [], []
        for name, v in vars(m).items():
            if name.startswith("_") or name == "training":
                continue
            if isinstance(v, (list, tuple, dict)) and _holds_module(v, torch):
                containers.append((name, v))
                continue
            lit = _literal(v)
            if lit is not None:
                attrs.append((name, lit))
        mine = [(n, tuple(p.shape), False) for n, p in m._parameters.items() if p is not None]
        mine += [(n, tuple(b.shape), True) for n, b in m._buffers.items()
                 if b is not None and n != "num_batches_tracked"]
        tree.append((path, cls.__name__, None, attrs, mine))
        own(m, path)
        for name, child in m._modules.items():
            if child is not None:
                visit(child, path + "." + name if path else name)
        for name, v in containers:  # after the registered children, as sheaf keys them
            held(v, path + "." + name if path else name)

    visit(model, "")
    return tree, tensors, classes


def module_tree(model, torch):
    """[(path, class, nn args or None, [(attr, literal)], [(tensor, dims, buffer)])], parents first, and the
    classes of the user's own that it uses."""
    tree, _, classes = _walk(model, torch)
    return tree, classes


def weights(model, torch):
    """Every parameter and buffer under its key (state_dict's; shared ones under each of their paths; those of
    modules in plain containers under their path there), as float32; integer buffers (an arange, index tables)
    too, where exact"""
    from . import _as_f32
    return {name: _as_f32(name, t.detach().cpu().contiguous().numpy())
            for name, t in _walk(model, torch)[1].items()}


def _names(node):
    """Names and self.<attribute> names a piece of code mentions."""
    names, attrs = set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.Attribute):
            attrs.add(n.attr)
    return names, attrs


def _span(node):
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first, node.end_lineno


def _class_file(c):
    """the file a class was defined in: inspect's answer, or (for a module loaded by importlib without a
    sys.modules entry, which inspect cannot look up) the file its own methods' code was compiled from"""
    try:
        return inspect.getsourcefile(c)
    except (TypeError, OSError):
        pass
    for f in vars(c).values():
        code = getattr(f, "__code__", None)
        if code is not None and os.path.isfile(code.co_filename):
            return code.co_filename
    return None


def forward_source(classes):
    """The file of the classes, every line where it was, with what forward cannot reach blanked."""
    files = set()
    for c in classes:
        f = _class_file(c)
        if f is not None:
            files.add(f)
        else:
            raise TypeError("sheaf.compile: the source of class %s is not available (defined at the prompt or "
                            "in a notebook cell?): sheaf traces forward from the class's file" % c.__name__)
    if len(files) != 1 or None in files:
        raise TypeError("sheaf.compile: the model's classes come from %s; they must all be defined in one file "
                        "(the file sheaf traces forward from)" % (", ".join(sorted(str(f) for f in files))))
    path = files.pop()
    with open(path) as f:
        text = f.read()
    lines = text.split("\n")
    tree = ast.parse(text, filename=path)
    wanted = {c.__name__ for c in classes}
    top = {}
    for node in tree.body:
        for name in _top_names(node):
            top.setdefault(name, []).append(node)
    keep, blank_init, todo = set(), [], [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name in wanted]
    keep_methods = {}
    while todo:
        node = todo.pop()
        if id(node) in keep:
            continue
        keep.add(id(node))
        mentioned = set()
        if isinstance(node, ast.ClassDef):
            mentioned |= {b.id for b in node.bases if isinstance(b, ast.Name)}
            methods = {s.name: s for s in node.body if isinstance(s, ast.FunctionDef)}
            reach, frontier = set(), ["forward"] if "forward" in methods else []
            while frontier:
                m = frontier.pop()
                if m in reach or m not in methods or m == "__init__":
                    continue
                reach.add(m)
                names, attrs = _names(methods[m])
                mentioned |= names
                frontier += [a for a in attrs if a in methods]
            keep_methods[id(node)] = reach
            for s in node.body:
                if isinstance(s, ast.FunctionDef) and s.name == "__init__":
                    blank_init.append(s)
        else:
            mentioned |= _names(node)[0]
        for name in mentioned:
            todo += top.get(name, []) + [b for b in tree.body if isinstance(b, ast.ClassDef) and b.name == name]
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue  # imports stay: forward's names (torch, F, nn) come from them
        if id(node) not in keep:
            _blank(lines, *_span(node))
        elif isinstance(node, ast.ClassDef):
            for s in node.body:
                if isinstance(s, ast.FunctionDef) and s.name not in keep_methods[id(node)]:
                    _blank(lines, *_span(s))
            _fill_empty_class(lines, node)
    return path, "\n".join(lines)


def _top_names(node):
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _blank(lines, first, last):
    for i in range(first - 1, last):
        lines[i] = ""


def _fill_empty_class(lines, node):
    """A class whose body is all blanked still needs a statement: 'pass' on its first body line."""
    body = [i for i in range(node.body[0].lineno - 1, node.end_lineno) if lines[i].strip()]
    if not body:
        at = node.body[0].lineno - 1
        lines[at] = " " * node.body[0].col_offset + "pass"


def input_specs(model, example_inputs, torch):
    """forward's arguments as sheaf's input and const specs, from example inputs (batch first)."""
    if not isinstance(example_inputs, (tuple, list)):
        example_inputs = (example_inputs,)
    sig = inspect.signature(type(model).forward)
    params = [p for p in list(sig.parameters.values())[1:]]
    if len(example_inputs) > len(params):
        raise TypeError("sheaf.compile: %d example inputs for forward%s" % (len(example_inputs), sig))
    inputs, consts = [], []
    for p, x in zip(params, example_inputs):
        shape = getattr(x, "shape", None)
        if shape is not None and (torch is None or isinstance(x, torch.Tensor) or hasattr(x, "dtype")):
            if len(shape) == 0:
                raise TypeError("sheaf.compile: input '%s' is a scalar tensor; the batch goes first" % p.name)
            inputs.append("%s=f32[%s]" % (p.name, ",".join(["B"] + [str(int(d)) for d in shape[1:]])))
        else:
            lit = _literal(x)
            if lit is None:
                raise TypeError("sheaf.compile: argument '%s' (%r) is neither a tensor nor a plain value" % (p.name, x))
            consts.append("%s=%s" % (p.name, lit))
    return inputs, consts
