"""Gateway-internal latency: from an inbound message's callback to its last send.

Kept per direction ("client": a client request until the child order is sent;
"venue": a venue report until the client's report is sent) in bounded buffers,
so an operator or a benchmark can read percentiles without a profiler.
"""

from __future__ import annotations

from collections import deque


class LatencyRecorder:
    def __init__(self, maxlen: int = 100_000):
        self._samples: dict[str, deque[int]] = {}
        self._maxlen = maxlen

    def record(self, kind: str, ns: int) -> None:
        buf = self._samples.get(kind)
        if buf is None:
            buf = self._samples[kind] = deque(maxlen=self._maxlen)
        buf.append(ns)

    def clear(self) -> None:
        """Start afresh (a benchmark measures one scenario at a time)."""
        self._samples.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        """Percentiles in microseconds per direction."""
        out = {}
        for kind, buf in self._samples.items():
            s = sorted(buf)
            if not s:
                continue
            pick = lambda p, s=s: round(s[min(len(s) - 1, int(p / 100 * len(s)))] / 1000, 1)  # noqa: E731
            out[kind] = {"count": len(s), "p50": pick(50), "p90": pick(90), "p99": pick(99), "max": pick(100)}
        return out
