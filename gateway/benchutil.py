"""Shared by the micro-benchmark commands: percentiles and the timer's own cost."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Percentiles of one operation, in microseconds."""

    count: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples_ns: list[int]) -> Timing:
        s = sorted(samples_ns)
        n = len(s)

        def pick(p: float) -> float:  # nearest rank
            return round(s[min(n - 1, max(0, int(p / 100 * n + 0.5) - 1))] / 1000, 2)

        return cls(n, pick(50), pick(99), round(s[-1] / 1000, 2))


def timer_overhead_ns() -> int:
    """Median cost of one perf_counter_ns pair: included in every sample, reported beside them."""
    now = time.perf_counter_ns
    samples = []
    for _ in range(10_000):
        t0 = now()
        samples.append(now() - t0)
    return sorted(samples)[len(samples) // 2]
