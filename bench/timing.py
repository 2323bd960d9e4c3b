"""What the Python benchmarks share: the best of several window medians (the VM stalls now and then)."""
import statistics
import time


def best_median(fn, windows=5, per_window_s=0.3):
    medians = []
    for _ in range(windows):
        times, end = [], time.perf_counter() + per_window_s
        while time.perf_counter() < end or len(times) < 5:
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        medians.append(statistics.median(times))
    return min(medians)


def sheaf_bench(sheaf, path, model, inputs, batches, threads, budget, consts=()):
    """`sheaf bench --json` for one model: {batch: median seconds}. Needs only python3 (no torch)."""
    import json
    import os
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "b.json")
        cmd = [sheaf, "bench", path, "--model", model, "--batch", ",".join(map(str, batches)), "--threads",
               str(threads), "--budget", str(budget), "--json", out]
        for s in inputs:
            cmd += ["--input", s]
        for c in consts:
            cmd += ["--const", c]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        with open(out) as f:
            return {r["batch"]: r["latency"]["median_s"] for r in json.load(f)}
