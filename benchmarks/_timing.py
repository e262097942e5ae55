"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int = 1):
    """``(median seconds over repeats, fn()'s last result)``."""
    times, out = [], None
    for _ in range(max(int(repeats), 1)):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out
