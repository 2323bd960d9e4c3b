"""sheaf beside PyTorch on the CPU: eager, torch.compile (Inductor), and what a user would write instead
of the loop (torch.func vmap over stack_module_state for ensembles, seed 003's grouped Conv1d for
ParallelFCN: bench/torch_alternatives.py), every model of ../shared/models, of
tests/golden/cases.txt and of bench/models (issue 16's table), or one model file, same machine, same threads, same batches, one run.

    $SHEAF_VENV/bin/python bench/torch_baselines.py [--set shared|golden|bench|all] [--batches 1,16,64,256,4096]
        [--threads 2] [--rounds 3] [--compile-limit 300] [--max-run-s 5] [--only NAME] [--no-inductor]
    $SHEAF_VENV/bin/python bench/torch_baselines.py --file model.py --model "Net(8)" --input "x=f32[B,16]"
        [--const name=value] [...the options above]

torch comes from the venv scripts/python_tests.sh makes outside the clone ($SHEAF_VENV, default
~/.cache/sheaf/venv); run that once first. sheaf's side is `sheaf bench --json` (the C API in a loop),
eager is timed in this process; the two are interleaved in rounds and each keeps its best window median
(the VM stalls now and then). Inductor runs in a child process per model, killed at --compile-limit
seconds, so a compile that runs for many minutes is reported as such instead of waited for; its compile
time is the first call's wall time. A batch whose eager run would take longer than --max-run-s (scaled
from a first call at the batch before it) is left out, with the batches after it, and said so. Each
alternative is checked against the model's own output before it is timed.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_median, sheaf_bench  # noqa: E402
from torch_alternatives import alternatives, check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "models")
MODELS = os.path.join(ROOT, "tests", "models")


def compile_lines(folder, prefix):
    """the `# compile:` lines of every model file in folder, as cases"""
    rows = []
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".py"):
            continue
        for line in open(os.path.join(folder, f)):
            if line.startswith("# compile:"):
                args = _split(line[len("# compile:"):])
                opt = {args[i]: args[i + 1] for i in range(0, len(args) - 1, 2)}
                rows.append((prefix + opt["--model"].split("(")[0], os.path.join(folder, f), opt["--model"],
                             [opt["--input"]],
                             [opt["--const"]] if "--const" in opt else []))
    return rows


def shared_cases():
    return compile_lines(SHARED, "shared/")


def bench_cases():
    """the models of issue 16's table (bench/models)"""
    return compile_lines(os.path.join(ROOT, "bench", "models"), "bench/")


def _split(text):
    import shlex
    return shlex.split(text)


def golden_cases():
    rows = []
    for line in open(os.path.join(ROOT, "tests", "golden", "cases.txt")):
        if line.startswith("#") or not line.strip():
            continue
        name, file, model, inputs, consts, _ = line.rstrip("\n").split("|")
        rows.append((name, os.path.join(MODELS, file), model, [s for s in inputs.split(";") if s],
                     [s for s in consts.split(";") if s]))
    return rows


def shape(spec, batch):
    dims = spec.split("[", 1)[1].rstrip("]").split(",")
    return [batch if d == "B" else int(d) for d in dims]


def build(path, model):
    import importlib.util
    name = "bench_" + os.path.basename(path)[:-3]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    return eval(model, mod.__dict__).eval()


def call_args(inputs, consts, batch):
    xs = [torch.randn(shape(s, batch)) for s in inputs]
    kw = {c.split("=", 1)[0]: eval(c.split("=", 1)[1]) for c in consts}
    return xs, kw


def inductor_child(args):
    """--inductor-child: compile and time one model, print one JSON line"""
    torch.set_num_threads(args.threads)
    case = next(c for c in cases(args.set, args) if c[0] == args.only)
    net = build(case[1], case[2])
    f = torch.compile(net)
    res = {"per_call": {}}
    with torch.no_grad():
        for b in [int(x) for x in args.batches.split(",")]:
            xs, kw = call_args(case[3], case[4], b)
            t = time.perf_counter()
            f(*xs, **kw)
            if "compile_s" not in res:
                res["compile_s"] = time.perf_counter() - t
            res["per_call"][b] = best_median(lambda: f(*xs, **kw), 3, 0.3)
            print(json.dumps(res), flush=True)  # what is done so far, in case the limit cuts the rest


def inductor(case, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--inductor-child", "--only", case[0], "--set", args.set,
           "--batches", ",".join(map(str, args.kept[case[0]])), "--threads", str(args.threads)]
    if args.file:
        cmd += ["--file", args.file, "--model", args.model] + sum([["--input", i] for i in args.input], []) + sum(
            [["--const", c] for c in args.const or []], [])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.compile_limit).stdout
        timed_out = False
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        timed_out = True
    lines = [l for l in out.splitlines() if l.startswith("{")]
    res = json.loads(lines[-1]) if lines else {"per_call": {}}
    res["timed_out"] = timed_out
    res["per_call"] = {int(k): v for k, v in res["per_call"].items()}
    return res


def cases(which, args=None):
    if args is not None and args.file:
        return [(args.model, os.path.abspath(args.file), args.model, args.input, args.const or [])]
    return ((shared_cases() if which in ("shared", "all") else []) +
            (golden_cases() if which in ("golden", "all") else []) +
            (bench_cases() if which in ("bench", "all") else []))


def fmt(s):
    if s is None:
        return "-"
    return "%.1f us" % (s * 1e6) if s < 1e-3 else ("%.2f ms" % (s * 1e3) if s < 1 else "%.2f s" % s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="all", choices=["shared", "golden", "bench", "all"])
    ap.add_argument("--batches", default="1,16,64,256,4096")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compile-limit", type=float, default=300)
    ap.add_argument("--max-run-s", type=float, default=5)
    ap.add_argument("--only")
    ap.add_argument("--no-inductor", action="store_true")
    ap.add_argument("--sheaf", default=os.path.join(ROOT, "build", "sheaf"))
    ap.add_argument("--file", help="one model file instead of a set (with --model and --input)")
    ap.add_argument("--model")
    ap.add_argument("--input", action="append")
    ap.add_argument("--const", action="append")
    ap.add_argument("--inductor-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.file and not (args.model and args.input):
        ap.error("--file needs --model and --input")
    if args.inductor_child:
        return inductor_child(args)
    torch.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    todo = [c for c in cases(args.set, args) if args.only in (None, c[0])]
    if not todo:
        sys.exit("torch_baselines: no model named %r in --set %s (names: %s)"
                 % (args.only, args.set, ", ".join(c[0] for c in cases(args.set))))
    args.kept = {}
    print("sheaf bench vs PyTorch %s eager%s, %d threads, best of %d interleaved rounds' window medians" % (
        torch.__version__, "" if args.no_inductor else " and torch.compile (Inductor)", args.threads,
        args.rounds), flush=True)
    print("| model | batch | sheaf | eager | sheaf speedup vs eager | Inductor (compile) | vs Inductor | "
          "instead of the loop (sheaf speedup) |")
    print("|---|---|---|---|---|---|---|---|")
    for case in todo:
        net = build(case[1], case[2])
        kept, last, left_out = [], None, None
        for b in batches:  # a batch whose eager run would outlast --max-run-s (from a first call) is left out
            if last is not None and last[1] * b / last[0] > args.max_run_s:
                left_out = "| %s | %s | left out: eager about %.1f s a run | | | | |" % (
                    case[0], ",".join(str(x) for x in batches if x >= b), last[1] * b / last[0])
                break
            xs, kw = call_args(case[3], case[4], b)
            with torch.no_grad():
                t = time.perf_counter()
                net(*xs, **kw)
                last = (b, time.perf_counter() - t)
            kept.append(b)
        args.kept[case[0]] = kept
        alts = alternatives(net)
        for label, fn in alts:
            xs, kw = call_args(case[3], case[4], 3)
            check(net, label, fn, xs, kw)
        sheaf = {b: float("inf") for b in kept}
        eager = {b: float("inf") for b in kept}
        other = {(label, b): float("inf") for label, _ in alts for b in kept}
        for _ in range(args.rounds):
            for b, s in sheaf_bench(args.sheaf, case[1], case[2], case[3], kept, args.threads, 0.3,
                                    case[4]).items():
                sheaf[b] = min(sheaf[b], s)
            for b in kept:
                xs, kw = call_args(case[3], case[4], b)
                with torch.no_grad():
                    eager[b] = min(eager[b], best_median(lambda: net(*xs, **kw), 3, 0.2))
                    for label, fn in alts:
                        other[label, b] = min(other[label, b], best_median(lambda: fn(*xs, **kw), 3, 0.2))
        ind = None if args.no_inductor else inductor(case, args)
        for b in kept:
            line = "| %s | %d | %s | %s | %.2fx |" % (case[0], b, fmt(sheaf[b]), fmt(eager[b]), eager[b] / sheaf[b])
            if ind is None:
                line += " | |"
            elif b in ind["per_call"]:
                line += " %s (%.0f s) | %.2fx |" % (fmt(ind["per_call"][b]), ind.get("compile_s", 0),
                                                   ind["per_call"][b] / sheaf[b])
            else:
                line += " %s | |" % ("still compiling at %.0f s" % args.compile_limit if ind["timed_out"]
                                     else "failed")
            line += " %s |" % "; ".join("%s %s (%.2fx)" % (label, fmt(other[label, b]), other[label, b] / sheaf[b])
                                        for label, _ in alts)
            print(line, flush=True)
        if left_out:
            print(left_out + " |", flush=True)


if __name__ == "__main__":
    main()
