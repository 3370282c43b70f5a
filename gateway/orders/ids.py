"""Gateway-assigned identifiers: OrderID (37), ExecID (17) and child ClOrdIDs.

Each run takes a prefix from the start time in base 36, so identifiers stay
unique across restarts without a round trip to the journal per order.
"""

from __future__ import annotations

import itertools
import string
import time

_DIGITS = string.digits + string.ascii_uppercase


def base36(n: int) -> str:
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
        if n == 0:
            return "".join(reversed(out))


class IdGenerator:
    def __init__(self, run_prefix: str | None = None):
        self.prefix = run_prefix or base36(time.time_ns() // 1_000_000)
        self._orders = itertools.count(1)
        self._execs = itertools.count(1)
        self._children = itertools.count(1)

    def order_id(self) -> str:
        return f"O{self.prefix}-{next(self._orders)}"

    def exec_id(self) -> str:
        return f"E{self.prefix}-{next(self._execs)}"

    def child_cl_ord_id(self) -> str:
        return f"G{self.prefix}-{next(self._children)}"
