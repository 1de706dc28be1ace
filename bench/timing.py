"""The one timing helper the benchmarks share."""

import statistics
import time


def best_and_median(fn, repeat: int = 10) -> tuple[float, float]:
    """Seconds: the best and the median of ``repeat`` calls of ``fn()``."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)
