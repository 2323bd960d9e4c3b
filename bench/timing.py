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
