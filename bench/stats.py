"""Summaries of the timings the bench scripts take: (wall ms, cpu ms) samples per case."""

import math
import statistics


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary(samples):
    """{case: {"p50", "p95", "cpu50", "cpu95"}} of {case: [(wall, cpu), ...]}."""
    out = {}
    for name, values in samples.items():
        wall, cpu = [w for w, _c in values], [c for _w, c in values]
        out[name] = {"p50": statistics.median(wall), "p95": percentile(wall, 95), "cpu50": statistics.median(cpu),
                     "cpu95": percentile(cpu, 95)}
    return out
