"""Client round trip through the gateway: NewOrderSingle sent -> first ExecutionReport read.

One order outstanding at a time, as a latency probe (not a load test: issue #7's
``fixgw bench`` does throughput and open-loop rates). Orders are IOC limits far
from the market, so each is acknowledged and then canceled by the venue; the
cancel is drained before the next order so the probe measures one hop at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gateway.tools.fixclient import FixClient, field


@dataclass(frozen=True)
class RoundTrips:
    samples_us: list[float]

    def percentile(self, p: float) -> float:
        s = sorted(self.samples_us)
        return s[min(len(s) - 1, int(p / 100 * len(s)))]

    def summary(self) -> dict[str, float]:
        out = {f"p{p:g}": round(self.percentile(p), 1) for p in (50, 90, 99, 99.9)}
        out["max"] = round(max(self.samples_us), 1)
        out["count"] = len(self.samples_us)
        return out


def measure(
    client: FixClient, symbol: str, price: str, count: int, warmup: int, timeout: float
) -> RoundTrips:
    samples: list[float] = []
    for i in range(warmup + count):
        t0 = time.perf_counter_ns()
        cl = client.new_order(symbol, "buy", 1, price, tif="ioc")
        first = client.wait_for(lambda m, cl=cl: field(m, 35) in ("8", "9") and field(m, 11) == cl, timeout)
        t1 = time.perf_counter_ns()
        if field(first, 39) == "8":
            raise RuntimeError(f"order rejected: {field(first, 58)}")
        if i >= warmup:
            samples.append((t1 - t0) / 1000)
        if field(first, 39) not in ("2", "4"):
            client.wait_for(lambda m, cl=cl: field(m, 11) == cl and field(m, 39) in ("2", "4", "8"), timeout)
    return RoundTrips(samples)
