"""The coordinator's simulated clock: a heap of timed events, popped in (time, sequence) order.

Events at the same nanosecond run in the order they were scheduled, so a run is a pure function
of what was scheduled: no wall clock, no hash order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class Timed:
    at_ns: int
    seq: int
    kind: str = field(compare=False)
    action: Callable[[], None] = field(compare=False)


class Scheduler:
    def __init__(self, now_ns: int = 0):
        self.now_ns = now_ns
        self._heap: list[Timed] = []
        self._seq = 0

    def at(self, at_ns: int, kind: str, action: Callable[[], None]) -> Timed:
        """Schedule ``action`` at ``at_ns`` (never before now: the past runs now, in order)."""
        self._seq += 1
        item = Timed(max(at_ns, self.now_ns), self._seq, kind, action)
        heapq.heappush(self._heap, item)
        return item

    def after(self, delay_ns: int, kind: str, action: Callable[[], None]) -> Timed:
        return self.at(self.now_ns + max(delay_ns, 0), kind, action)

    def peek_ns(self) -> int | None:
        return self._heap[0].at_ns if self._heap else None

    def pop(self) -> Timed:
        """The next event; the clock moves to its time."""
        item = heapq.heappop(self._heap)
        self.now_ns = max(self.now_ns, item.at_ns)
        return item

    def __len__(self) -> int:
        return len(self._heap)
