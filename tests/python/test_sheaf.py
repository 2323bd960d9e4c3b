"""The Python package (python/, sheaf._sheaf over include/sheaf.h) against PyTorch eager.

Run by scripts/python_tests.sh (README's test command) after pip install ./python.
"""
import importlib.util
import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import sheaf

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "tests", "models")
BATCHES = (1, 7, 256)


def golden_cases():
    """tests/golden/cases.txt and random_cases.txt: name | model file | constructor | input specs |
    const specs | batch."""
    rows = []
    for cases in ("cases.txt", "random_cases.txt"):
        rows += read_cases(cases)
    return rows


def read_cases(cases):
    rows = []
    with open(os.path.join(ROOT, "tests", "golden", cases)) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, file, model, inputs, consts, _ = line.rstrip("\n").split("|")
            rows.append((name, file, model, [s for s in inputs.split(";") if s],
                         [s for s in consts.split(";") if s]))
    return rows


def load_module(file):
    spec = importlib.util.spec_from_file_location("model_" + file[:-3], os.path.join(MODELS, file))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # as import does: inspect finds a class's file through it
    spec.loader.exec_module(mod)
    return mod


def eager(file, model):
    """The model built by PyTorch itself, in eval mode, with seeded weights."""
    torch.manual_seed(0)
    net = eval(model, load_module(file).__dict__)
    net.eval()
    return net


def input_shape(spec, batch):
    dims = spec.split("[", 1)[1].rstrip("]").split(",")
    return [batch if d == "B" else int(d) for d in dims]


def const_kwargs(consts):
    return {c.split("=", 1)[0]: eval(c.split("=", 1)[1]) for c in consts}


def close(got, want, what):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want), what
        for i, (g, w) in enumerate(zip(got, want)):
            close(g, w, "%s, output %d" % (what, i))
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, what
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    err = float(np.abs(got - want).max(initial=0))
    assert err <= 1e-4 * scale, "%s: max |diff| %g (scale %g)" % (what, err, scale)


@pytest.mark.parametrize("name,file,model,inputs,consts", golden_cases(), ids=[c[0] for c in golden_cases()])
def test_golden_models_match_eager(name, file, model, inputs, consts):
    net = eager(file, model)
    m = sheaf.compile_file(os.path.join(MODELS, file), model=model, inputs=inputs, consts=consts,
                           weights=net.state_dict())
    assert m.backend == "cpu"
    kwargs = const_kwargs(consts)
    gen = torch.Generator().manual_seed(1)
    for batch in BATCHES:
        xs = [torch.randn(input_shape(s, batch), generator=gen) for s in inputs]
        with torch.no_grad():
            want = net(*xs, **kwargs)
        got = m(*xs)  # torch in, torch out
        assert all(isinstance(g, torch.Tensor) for g in (got if isinstance(got, tuple) else (got,)))
        close(got, want, "%s at batch %d (torch)" % (name, batch))
        got = m(*[x.numpy() for x in xs])  # numpy in, numpy out
        assert all(isinstance(g, np.ndarray) for g in (got if isinstance(got, tuple) else (got,)))
        close(got, want, "%s at batch %d (numpy)" % (name, batch))


@pytest.fixture(scope="module")
def mlp():
    net = eager("mlp.py", "SimpleMLP(10, 50, 2)")
    m = sheaf.compile_file(os.path.join(MODELS, "mlp.py"), model="SimpleMLP(10, 50, 2)", inputs=["x=f32[B,10]"],
                           weights=net.state_dict())
    return net, m


def test_inputs_that_are_not_contiguous(mlp):
    net, m = mlp
    wide = torch.randn(10, 9)
    x = wide.t()  # [9, 10], strides (1, 9): copied once, then read
    assert not x.is_contiguous()
    with torch.no_grad():
        want = net(x)
    close(m(x), want, "a transposed torch tensor")
    close(m(x.numpy()), want, "a transposed numpy array")
    every_other = np.random.default_rng(0).standard_normal((8, 20)).astype(np.float32)[:, ::2]
    with torch.no_grad():
        want = net(torch.from_numpy(np.ascontiguousarray(every_other)))
    close(m(every_other), want, "a strided numpy array")


def test_outputs_are_fresh_and_inputs_untouched(mlp):
    _, m = mlp
    x = np.ones((3, 10), np.float32)
    a, b = m(x), m(x)
    assert a is not b and not np.shares_memory(a, b)
    assert (x == 1).all()
    np.testing.assert_array_equal(a, b)


def test_bad_inputs_are_refused(mlp):
    _, m = mlp
    with pytest.raises(TypeError, match="expected 1 input"):
        m()
    with pytest.raises(TypeError, match="float32"):
        m(np.ones((2, 10)))
    with pytest.raises(ValueError, match=r"shape \[2, 11\] does not fit \[B,10\]"):
        m(np.ones((2, 11), np.float32))
    with pytest.raises(ValueError, match="does not fit"):
        m(np.ones((0, 10), np.float32))
    with pytest.raises(TypeError, match="unknown option"):
        sheaf.compile_file(os.path.join(MODELS, "mlp.py"), model="SimpleMLP(10, 50, 2)", inputs=["x=f32[B,10]"],
                           fast=True)


def test_a_refused_forward_names_the_users_line(tmp_path):
    src = tmp_path / "user_model.py"
    src.write_text("import torch.nn as nn\n"
                   "\n"
                   "class Net(nn.Module):\n"
                   "    def __init__(self):\n"
                   "        super().__init__()\n"
                   "        self.fc = nn.Linear(4, 4)\n"
                   "\n"
                   "    def forward(self, x):\n"
                   "        while x.sum() > 0:\n"
                   "            x = self.fc(x)\n"
                   "        return x\n")
    with pytest.raises(sheaf.Error) as info:
        sheaf.compile_file(str(src), model="Net()", inputs=["x=f32[B,4]"])
    e = info.value
    assert e.place is not None and e.place.startswith(str(src) + ":9:"), e.message
    assert e.code != sheaf._sheaf.OK and e.message in str(e)


def test_ir_text_errors_and_places():
    with pytest.raises(sheaf.Error) as info:
        sheaf.compile_ir("func @f(%x: f32[B,4]) {\n  %0 = relu %y : f32[B,4]\n  return %0\n}\n")
    assert info.value.code == sheaf._sheaf.ERR_PARSE
    assert info.value.place == "model.sfir:2:13"


def test_ir_dot_stats_and_after_a_pass():
    m = sheaf.compile_file(os.path.join(MODELS, "parallel_fcn.py"), model="ParallelFCN(8)",
                           inputs=["x=f32[B,160]"])
    assert "grouped_linear" in m.ir()
    assert m.dot().startswith("digraph")
    assert "# stats: ops" in m.stats()
    after = m.ir(after="hfuse")
    assert "hfuse" in after and "grouped_linear" in after


def sheaf_command():
    exe = os.path.join(sysconfig.get_path("scripts"), "sheaf")
    assert os.access(exe, os.X_OK), "pip install ./python puts the sheaf command beside python"
    return exe


def test_packages_go_between_python_and_the_command_line(tmp_path, mlp):
    net, m = mlp
    x = np.random.default_rng(2).standard_normal((5, 10)).astype(np.float32)
    want = m(x)
    pkg = tmp_path / "mlp.sheaf"
    m.save(pkg)
    loaded = sheaf.load(pkg)
    assert loaded.notice is None
    np.testing.assert_array_equal(loaded(x), want)
    out = subprocess.run([sheaf_command(), "run", str(pkg), "--batch", "2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    pkg2 = tmp_path / "cli.sheaf"
    subprocess.run([sheaf_command(), "compile", os.path.join(MODELS, "mlp.py"), "--model", "SimpleMLP(10, 50, 2)",
                    "--input", "x=f32[B,10]", "-o", str(pkg2)], check=True)
    from_cli = sheaf.load(pkg2)
    assert from_cli(x).shape == (5, 2)
    with pytest.raises(sheaf.Error, match="not a sheaf package"):
        bad = tmp_path / "bad.sheaf"
        bad.write_bytes(b"nonsense")
        sheaf.load(bad)


def test_the_interpreter_and_options(mlp):
    net, _ = mlp
    m = sheaf.compile_file(os.path.join(MODELS, "mlp.py"), model="SimpleMLP(10, 50, 2)", inputs=["x=f32[B,10]"],
                           weights=net.state_dict(), backend="interp", unoptimised=True)
    assert m.backend == "interp"
    x = torch.randn(4, 10)
    with torch.no_grad():
        close(m(x), net(x), "the interpreter at -O0")


def test_the_quickstart_example_runs():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "python_quickstart.py")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "max |sheaf - eager|" in out.stdout and "batch 1: PyTorch eager" in out.stdout


@pytest.mark.parametrize("name,file,model,inputs,consts", golden_cases(), ids=[c[0] for c in golden_cases()])
def test_live_golden_models_match_eager(name, file, model, inputs, consts):
    import inspect
    net = eager(file, model)
    order = list(inspect.signature(type(net).forward).parameters)[1:]
    gen = torch.Generator().manual_seed(3)

    def args(batch):
        tensors = {s.split("=", 1)[0]: torch.randn(input_shape(s, batch), generator=gen) for s in inputs}
        values = const_kwargs(consts)
        return [tensors[p] if p in tensors else values[p] for p in order if p in tensors or p in values]

    m = sheaf.compile(net, args(2))
    for batch in BATCHES:
        a = args(batch)
        with torch.no_grad():
            want = net(*a)
        close(m(*[x for x in a if isinstance(x, torch.Tensor)]), want, "%s at batch %d (live)" % (name, batch))


def live(name, *args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import live_models
    torch.manual_seed(0)
    return getattr(live_models, name)(*args).eval()


def test_bench_reports_its_own_peak_memory_not_its_parent_s():
    # the parent touches 600 MB and then execs sheaf bench: getrusage would carry that peak across exec
    import re
    mlp = os.path.join(ROOT, "examples", "mlp.sfir")
    code = ("import os, sys\nb = bytearray(600 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\n"
            "os.execv(sys.argv[1], sys.argv[1:])\n")
    out = subprocess.run([sys.executable, "-c", code, sheaf_command(), "bench", mlp, "--batch", "1",
                          "--budget", "0.01"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    peak = re.search(r"peak RSS (\d+) MB", out.stdout)
    assert peak, out.stdout
    assert int(peak.group(1)) < 300, out.stdout


def test_live_model_from_a_module_importlib_did_not_register():
    # spec_from_file_location + exec_module without sys.modules: inspect cannot find the class's file,
    # the code of its methods still names it
    path = os.path.join(MODELS, "parallel_fcn.py")
    spec = importlib.util.spec_from_file_location("unregistered_pfcn", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert "unregistered_pfcn" not in sys.modules
    torch.manual_seed(0)
    net = mod.ParallelFCN(3).eval()
    m = sheaf.compile(net, torch.zeros(1, 60))
    x = torch.randn(5, 60)
    with torch.no_grad():
        close(m(x), net(x), "ParallelFCN(3) from an unregistered module")


def test_live_models_with_any_init():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import live_models
    cases = [(live("Configured", live_models.CONFIG), (12,)), (live("Masked", 6, 5), (6, 5)),
             (live("Nested", 8, 4), (8,)), (live("InPlaceByPosition", 6), (6,)), (live("Powers", 6), (6,)),
             (live("Held", 6, 4), (6,))]
    for net, shape in cases:
        m = sheaf.compile(net, torch.randn(2, *shape))
        for batch in BATCHES:
            x = torch.randn(batch, *shape)
            with torch.no_grad():
                close(m(x), net(x), "%s at batch %d" % (type(net).__name__, batch))
            close(m(x.numpy()), net(x).detach().numpy(), "%s at batch %d (numpy)" % (type(net).__name__, batch))


def test_modules_in_plain_containers():
    """Held keeps modules in a list, tuple, dict and nested lists (matched at every batch above); their tensors are
    handed over though state_dict lacks them, and containers sheaf cannot key are refused, naming the attribute."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sheaf import _live
    net = live("Held", 6, 4)
    keys = set(_live.weights(net, torch))
    assert set(net.state_dict()) < keys
    assert {"heads.2.0.weight", "pair.1.fc.bias", "experts.small.weight", "grid.1.1.bias", "again.0.weight"} <= keys
    for bad, why in (([torch.nn.Linear(6, 4), 3], "'bad' mixes modules with other values"),
                     ({"a.b": torch.nn.Linear(6, 4)}, "key 'a.b'"), ({1: torch.nn.Linear(6, 4)}, "key 1")):
        net.bad = bad
        with pytest.raises(TypeError, match=why):
            sheaf.compile(net, torch.randn(2, 6))


def test_integer_inputs_are_indices():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import live_models
    net = live("Tokens", 50, 8)
    m = sheaf.compile(net, torch.zeros(2, 16, dtype=torch.long))
    for batch in BATCHES:
        ids = torch.randint(0, 50, (batch, 16))
        with torch.no_grad():
            close(m(ids), net(ids), "Tokens at batch %d" % batch)
            close(m(ids.numpy().astype(np.int32)), net(ids).numpy(), "Tokens at batch %d (numpy int32)" % batch)
    with pytest.raises(ValueError, match="beyond 2"):
        m(torch.full((1, 16), 1 << 25, dtype=torch.long))
    with pytest.raises(TypeError, match="float32 .or integer indices"):
        m(torch.zeros(1, 16, dtype=torch.float64))


def test_live_refusals(tmp_path):
    with pytest.raises(TypeError, match="nn.Module"):
        sheaf.compile(object(), torch.randn(1, 4))
    with pytest.raises(TypeError, match="wrap it in a class of your own"):
        sheaf.compile(torch.nn.Linear(4, 4), torch.randn(1, 4))
    src = tmp_path / "refused.py"
    src.write_text("import torch\nimport torch.nn as nn\n\n"
                   "class Net(nn.Module):\n"
                   "    def __init__(self):\n"
                   "        super().__init__()\n"
                   "        self.fc = nn.Linear(4, 4)\n\n"
                   "    def forward(self, x):\n"
                   "        while x.sum() > 0:\n"
                   "            x = self.fc(x)\n"
                   "        return x\n")
    spec = importlib.util.spec_from_file_location("refused", str(src))
    mod = importlib.util.module_from_spec(spec)
    sys.modules["refused"] = mod
    spec.loader.exec_module(mod)
    with pytest.raises(sheaf.Error) as info:
        sheaf.compile(mod.Net(), torch.randn(1, 4))
    assert info.value.place == "%s:10:9" % src, info.value.message


# every model file of tests/models (Dynamo's tracing of the random zoo's wide models takes minutes)
@pytest.mark.parametrize("name,file,model,inputs,consts", read_cases("cases.txt"),
                         ids=[c[0] for c in read_cases("cases.txt")])
def test_torch_compile_backend_matches_eager(name, file, model, inputs, consts):
    import inspect
    import torch._dynamo
    net = eager(file, model)
    order = list(inspect.signature(type(net).forward).parameters)[1:]
    gen = torch.Generator().manual_seed(4)
    values = const_kwargs(consts)
    torch._dynamo.reset()
    fast = torch.compile(net, backend="sheaf")
    for batch in BATCHES:
        tensors = {s.split("=", 1)[0]: torch.randn(input_shape(s, batch), generator=gen) for s in inputs}
        for t in tensors.values():
            torch._dynamo.mark_dynamic(t, 0)  # one graph for every batch, as sheaf's model is
        args = [tensors[p] if p in tensors else values[p] for p in order if p in tensors or p in values]
        with torch.no_grad():
            close(fast(*args), net(*args), "%s at batch %d (torch.compile)" % (name, batch))


def test_torch_compile_leaves_unknown_ops_to_pytorch(caplog):
    import logging
    import torch._dynamo
    from sheaf import _dynamo
    for name, logged, partitions in (("Cumulative", "ops left to PyTorch: cumsum", 2),
                                     ("Rejoined", "ops left to PyTorch: cumprod", 2),
                                     ("WritesInput", "writes in place into an input", 0),
                                     ("InPlaceInside", None, 1), ("InPlaceByPosition", None, 1), ("Powers", None, 1)):
        net = live(name, 6)
        before = _dynamo.stats["sheaf_partitions"]
        torch._dynamo.reset()
        _dynamo._said.clear()  # said once per process: an earlier test must not hide it
        fast = torch.compile(net, backend="sheaf")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="sheaf"), torch.no_grad():
            for batch in BATCHES:
                x = torch.randn(batch, 6)
                torch._dynamo.mark_dynamic(x, 0)
                a, b = x.clone(), x.clone()
                close(fast(a), net(b), "%s at batch %d" % (name, batch))
                close(a, b, "%s: the input after the call" % name)
        messages = [r.getMessage() for r in caplog.records if r.name == "sheaf"]
        compiles = 2  # batch 1 (Dynamo specialises a size of 1), then one graph for every other batch
        assert _dynamo.stats["sheaf_partitions"] - before == compiles * partitions, name
        if logged:
            assert any(logged in m for m in messages), messages
            assert len([m for m in messages if logged in m]) == 1, messages  # once, at compile time
        else:
            assert not messages, messages


# what each model leaves to PyTorch: Reductions' x[:, :, 0] (an int index) and its max/min over the batch
@pytest.mark.parametrize("file,expr,left_over", [("activations.py", "Activations(6, 5)", ""),
                                                 ("activations.py", "Elementwise(6, 5)", ""),
                                                 ("reductions.py", "Reductions(6, 8, 3)", "_tensor_getitem, method max, min")])
def test_torch_compile_runs_every_activation_in_sheaf(caplog, file, expr, left_over):
    import logging
    import torch._dynamo
    from sheaf import _dynamo
    net = eager(file, expr)
    torch._dynamo.reset()
    _dynamo._said.clear()  # said once per process: an earlier test of the same model must not hide it
    fast = torch.compile(net, backend="sheaf")
    with caplog.at_level(logging.INFO, logger="sheaf"), torch.no_grad():
        for batch in BATCHES:
            x = torch.randn(batch, 6)
            torch._dynamo.mark_dynamic(x, 0)
            close(fast(x.clone()), net(x.clone()), "%s at batch %d (torch.compile)" % (expr, batch))
    left = {r.getMessage().split("left to PyTorch: ")[1] for r in caplog.records
            if r.name == "sheaf" and "left to PyTorch" in r.getMessage()}
    # LeakyReLU ... Tanhshrink, exp, log ..., the reductions, var, std, norms, softmin, glu, prelu: in sheaf
    assert left == ({left_over} if left_over else set()), left


# masks under torch.compile: comparisons, ~ & |, where, masked_fill, isnan, tril/triu, a causal buffer,
# tensors made in forward, bool -> float conversions: all of it runs in sheaf
@pytest.mark.parametrize("expr", ["MaskOps(8)", "CausalHeads(8, 4, 6)"])
def test_torch_compile_runs_masks_in_sheaf(caplog, expr):
    import logging
    import torch._dynamo
    from sheaf import _dynamo
    net = eager("masks.py", expr)
    torch._dynamo.reset()
    _dynamo._said.clear()
    before = dict(_dynamo.stats)
    fast = torch.compile(net, backend="sheaf")
    with caplog.at_level(logging.INFO, logger="sheaf"), torch.no_grad():
        for batch in BATCHES:
            x = torch.randn(batch, 6, 8)
            torch._dynamo.mark_dynamic(x, 0)
            close(fast(x.clone()), net(x.clone()), "%s at batch %d (torch.compile)" % (expr, batch))
    said = [r.getMessage() for r in caplog.records if r.name == "sheaf"]
    assert not [m for m in said if "left to PyTorch" in m], said
    assert _dynamo.stats["whole_graphs"] - before["whole_graphs"] == 2, said  # batch 1, then every other batch


# Dynamo's settings that make its own per-call work small (docs/python.md): parameters arrive as get_attr
# constants instead of placeholders; a graph sheaf runs whole and one it shares with PyTorch
@pytest.mark.parametrize("name,partitions", [("Cumulative", 2), ("InPlaceInside", 1), ("Shift", 1)])
def test_torch_compile_with_parameters_as_constants(name, partitions):
    import torch._dynamo
    from sheaf import _dynamo
    net = live(name, 6)
    before = dict(_dynamo.stats)
    torch._dynamo.reset()
    fast = torch.compile(net, backend="sheaf")
    with torch._dynamo.config.patch(install_free_tensors=True, use_recursive_dict_tags_for_guards=True), \
            torch.no_grad():
        for batch in BATCHES:
            x = torch.randn(batch, 6)
            torch._dynamo.mark_dynamic(x, 0)
            close(fast(x.clone()), net(x.clone()), "%s at batch %d" % (name, batch))
    assert _dynamo.stats["sheaf_partitions"] - before["sheaf_partitions"] == 2 * partitions, name
    whole = _dynamo.stats["whole_graphs"] - before["whole_graphs"]
    assert whole == (0 if name == "Cumulative" else 2), name


def test_torch_compile_passes_options_and_refuses_bad_ones():
    import torch._dynamo
    net = live("Shift", 6)
    x = torch.randn(3, 6)
    torch._dynamo.reset()
    with torch.no_grad():
        close(torch.compile(net, backend="sheaf", options={"threads": 1, "precision": "fp32"})(x), net(x),
              "options={threads, precision}")
        for kw, said in (({"options": {"bogus": 1}}, "unknown option(s): bogus"),
                         ({"options": {"threads": "many"}}, "option 'threads': expected an int, got str"),
                         ({"options": {"threads": -2}}, "option 'threads': -2 is outside [0, 2147483647]"),
                         ({"options": {"precision": 16}}, "option 'precision': expected a str, got int"),
                         ({"mode": "max-autotune"}, "mode 'max-autotune' is Inductor's")):
            torch._dynamo.reset()
            with pytest.raises(Exception) as info:
                torch.compile(net, backend="sheaf", **kw)(x)
            assert said in str(info.value), str(info.value)


def test_torch_compile_finds_the_backend_by_name():
    from importlib.metadata import entry_points
    names = [e.name for e in entry_points(group="torch_dynamo_backends")]
    assert "sheaf" in names
    import torch._dynamo
    assert "sheaf" in torch._dynamo.list_backends()


def test_save_with_cuda_targets(tmp_path, mlp):
    _, m = mlp
    pkg = tmp_path / "cuda.sheaf"
    try:
        m.save(pkg, target="sm_80")
    except sheaf.Error as e:  # a machine without NVRTC says so
        assert "nvrtc" in e.message.lower() or "cuda" in e.message.lower(), e.message
        pytest.skip(e.message)
    loaded = sheaf.load(pkg)
    assert loaded.notice and "CUDA code for sm_80" in loaded.notice
    x = np.ones((2, 10), np.float32)
    np.testing.assert_array_equal(loaded(x), m(x))


def test_parameters_are_read_in_place():
    net = live("Shift", 4)
    m = sheaf.compile(net, torch.zeros(1, 4))
    x = torch.zeros(2, 4)
    close(m(x), net(x).detach(), "Shift")
    with torch.no_grad():
        net.b.add_(10)  # the parameter's own memory: the compiled model reads it there
    close(m(x), net(x).detach(), "Shift after the parameter changed in place")
    del net  # the model keeps what it reads alive
    import gc
    gc.collect()
    assert float(m(x)[0, 3]) == 13.0


def test_the_extension_refuses_bad_options():
    text = "func @f(%x: f32[B,4]) {\n  %0 = relu %x : f32[B,4]\n  return %0\n}\n"
    with pytest.raises(TypeError, match="weights must be a dict"):
        sheaf._sheaf.compile("m.sfir", text, {"weights": [1, 2]})
    with pytest.raises(ValueError, match="expected float32"):
        sheaf._sheaf.compile("m.sfir", text, {"weights": {"w": np.ones(3, np.float64)}})
    with pytest.raises(TypeError, match="unknown option 'fast'"):
        sheaf._sheaf.compile("m.sfir", text, {"fast": 1})
    with pytest.raises(TypeError, match="option names must be str, got int"):
        sheaf._sheaf.compile("m.sfir", text, {3: 1})
    with pytest.raises(TypeError, match="option 'seed': expected an int, got bool"):
        sheaf._sheaf.compile("m.sfir", text, {"seed": True})
    with pytest.raises(OverflowError, match="option 'seed'"):
        sheaf._sheaf.compile("m.sfir", text, {"seed": 1 << 70})
    with pytest.raises(TypeError, match="option 'inputs': expected a str, got int"):
        sheaf._sheaf.compile("m.sfir", text, {"inputs": [1]})
    with pytest.raises(sheaf.Error, match="the root"):
        sheaf._sheaf.compile("m.py", "", {"tree": [("fc", "Linear", "4, 4", [], [])]})
    m = sheaf.compile_ir(text)
    with pytest.raises(ValueError, match="expected 8 float32 elements"):
        m._m.run(2, [np.ones(3, np.float32)], [np.empty((2, 4), np.float32)])
    with pytest.raises(ValueError, match="expected a batch >= 1"):
        m._m.run(0, [np.ones(4, np.float32)], [np.empty(4, np.float32)])


@pytest.mark.parametrize("file,expr,width", [("mlp.py", "MLP(10, 64, 1)", 10),
                                              ("parallel_fcn.py", "ParallelFCN(5)", 100)])
def test_backward_matches_autograd(file, expr, width):
    """backward=True, input_grads=True on a live model: the forward's outputs, then every parameter's
    gradient in state_dict order, then the input's, as torch.autograd gives them for the same seed."""
    torch.manual_seed(0)
    model = eval(expr, vars(load_module(file))).eval()
    x = torch.randn(7, width, requires_grad=True)
    fast = sheaf.compile(model, (x,), backward=True, input_grads=True)
    assert [n for n, _ in fast.inputs] == ["x", "grad.output"]
    y = model(x)
    seed = torch.randn(y.shape)
    got = fast(x.detach(), seed)
    y.backward(seed)
    want = [y.detach()] + [p.grad for p in model.parameters()] + [x.grad]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("file,expr,width,outs", [("mlp.py", "MLP(10, 64, 1)", 10, 1),
                                                   ("parallel_fcn.py", "ParallelFCN(20)", 400, 20),
                                                   ("module_list_mlp.py", "MyNetwork(5)", 10, 10)])
def test_training_through_autograd(file, expr, width, outs):
    """A compiled live model inside autograd: loss.backward() leaves eager's gradients on the user's own
    parameters (and the input's), and 6 steps of the user's own torch.optim.Adam with param groups end
    where eager's do: the compiled model follows each step's in-place updates."""
    import copy
    torch.manual_seed(0)
    ref = eval(expr, vars(load_module(file))).eval()
    model = copy.deepcopy(ref).train()  # training mode: calls go through autograd (eval() ones need not)
    x0 = torch.randn(7, width)
    fast = sheaf.compile(model, (x0,))
    names = [n for n, _ in model.named_parameters()]
    first, rest = names[:1], names[1:]

    def optimizer(m):
        ps = dict(m.named_parameters())
        return torch.optim.Adam([{"params": [ps[n] for n in first], "lr": 3e-2},
                                 {"params": [ps[n] for n in rest]}], lr=1e-2)

    opt_ref, opt = optimizer(ref), optimizer(model)
    gen = torch.Generator().manual_seed(3)
    for step in range(6):
        x = torch.randn(7, width, generator=gen)
        t = torch.randn(7, outs, generator=gen)
        xa, xb = x.clone().requires_grad_(step == 0), x.clone().requires_grad_(step == 0)
        opt_ref.zero_grad(), opt.zero_grad()
        la = torch.nn.functional.mse_loss(ref(xa), t)
        lb = torch.nn.functional.mse_loss(fast(xb), t)
        la.backward(), lb.backward()
        np.testing.assert_allclose(lb.item(), la.item(), rtol=1e-4)
        for (n, pa), pb in zip(ref.named_parameters(), model.parameters()):
            assert pb.grad is not None, n
            np.testing.assert_allclose(pb.grad.numpy(), pa.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)
        if step == 0:
            np.testing.assert_allclose(xb.grad.numpy(), xa.grad.numpy(), rtol=1e-4, atol=1e-5)
        opt_ref.step(), opt.step()
    for (n, pa), pb in zip(ref.named_parameters(), model.parameters()):
        np.testing.assert_allclose(pb.detach().numpy(), pa.detach().numpy(), atol=1e-4, err_msg=n)
    with torch.no_grad():  # inference after training: the trained values
        np.testing.assert_allclose(fast(x0).numpy(), ref(x0).numpy(), rtol=1e-4, atol=1e-5)
