"""Micro-benchmark of smart order routing (issue #4 target: ``sweep`` p50 <= 20 µs).

Three venues, ten price levels a side each, different taker fees; a buy limit order that takes
several levels at all three venues (stopping inside a level) is routed with the built-in
``sweep`` strategy, ``time.perf_counter_ns`` around each ``route`` call. A minimal in-memory
:class:`~gateway.marketdata.api.MarketView` stands in for the market-data layer, so the figure is
the strategy's own cost.

``run()`` returns a :class:`BenchResult`; :func:`format_report` renders it; ``python -m
gateway.routing.bench`` prints it.
"""

from __future__ import annotations

import gc
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from decimal import Decimal

from gateway.benchutil import Timing, timer_overhead_ns
from gateway.marketdata.api import Level, VenueBook
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.routing.api import ChildSpec, RouteRequest, VenueInfo
from gateway.routing.strategies import Sweep

SYMBOL = "BENCH"
LEVELS = 10
WARMUP = 2_000
NOW_NS = 1_700_000_000_000_000_000

#: The issue's target, in microseconds.
TARGETS = {"sweep": {"p50": 20.0}}

# venue -> (best ask, taker fee in bps); bids mirror the asks one tick below the best ask.
_VENUES = {
    "XA": (Decimal("100.00"), Decimal("0")),
    "XB": (Decimal("99.995"), Decimal("1")),
    "XC": (Decimal("100.002"), Decimal("0.5")),
}
_TICK = Decimal("0.01")
_LEVEL_QTY = Decimal(100)


class BenchMarket:
    """A fixed set of fresh books (the :class:`MarketView` methods ``sweep`` and ranking need)."""

    def __init__(self, books: list[VenueBook]) -> None:
        self._books = {(b.venue, b.symbol): b for b in books}
        self._fresh: dict[str, list[VenueBook]] = {}
        for b in books:
            if not b.stale:
                self._fresh.setdefault(b.symbol, []).append(b)

    def book(self, venue: str, symbol: str) -> VenueBook | None:
        return self._books.get((venue, symbol))

    def books(self, symbol: str) -> list[VenueBook]:
        return self._fresh.get(symbol, [])

    def best_bid(self, symbol: str) -> tuple[Level, str] | None:
        quotes = [(b.bids[0], b.venue) for b in self.books(symbol) if b.bids]
        return max(quotes, key=lambda q: (q[0].price, q[1]), default=None)

    def best_ask(self, symbol: str) -> tuple[Level, str] | None:
        quotes = [(b.asks[0], b.venue) for b in self.books(symbol) if b.asks]
        return min(quotes, key=lambda q: (q[0].price, q[1]), default=None)

    def reference_price(self, symbol: str) -> Decimal | None:
        bid, ask = self.best_bid(symbol), self.best_ask(symbol)
        return (bid[0].price + ask[0].price) / 2 if bid and ask else None


def market() -> BenchMarket:
    books = []
    for venue, (best_ask, _) in _VENUES.items():
        asks = tuple(Level(best_ask + _TICK * i, _LEVEL_QTY) for i in range(LEVELS))
        bids = tuple(Level(best_ask - _TICK * (i + 1), _LEVEL_QTY) for i in range(LEVELS))
        books.append(VenueBook(venue, SYMBOL, bids, asks, None, None, NOW_NS, stale=False))
    return BenchMarket(books)


def venues() -> dict[str, VenueInfo]:
    return {
        name: VenueInfo(name=name, connected=True, order_headroom=1_000, taker_bps=fee)
        for name, (_, fee) in _VENUES.items()
    }


def request() -> RouteRequest:
    """Buy 1250 limit 100.05: 17 levels are marketable (1700 shown); the sweep stops inside one."""
    return RouteRequest(
        client="BENCH",
        symbol=SYMBOL,
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=Decimal(1250),
        price=Decimal("100.05"),
        tif=TimeInForce.DAY,
        primary_venue="XA",
    )


@dataclass(frozen=True)
class BenchResult:
    iterations: int
    python: str
    timer_overhead_ns: int
    children: tuple[tuple[str, str], ...]  # (venue, qty) of the routed children, as a sanity check
    sweep: Timing

    def verdict(self) -> dict[str, bool]:
        return {"sweep p50": self.sweep.p50 <= TARGETS["sweep"]["p50"]}

    def to_json(self) -> dict:
        return {
            "iterations": self.iterations,
            "python": self.python,
            "timer_overhead_ns": self.timer_overhead_ns,
            "unit": "us",
            "targets": TARGETS,
            "children": [list(c) for c in self.children],
            "sweep": asdict(self.sweep),
            "verdict": self.verdict(),
        }


def _time(
    strategy: Sweep, req: RouteRequest, view: BenchMarket, info: Mapping[str, VenueInfo], n: int
) -> list[int]:
    now = time.perf_counter_ns
    route = strategy.route
    samples = [0] * n
    for i in range(n):
        t0 = now()
        route(req, view, info, NOW_NS)
        samples[i] = now() - t0
    return samples


def run(iterations: int = 20_000) -> BenchResult:
    """Time ``sweep`` routing the benchmark order ``iterations`` times (after a warm-up)."""
    if iterations < 1:
        raise ValueError(f"iterations: must be >= 1, got {iterations}")
    strategy, req, view, info = Sweep(), request(), market(), venues()
    routed = strategy.route(req, view, info, NOW_NS)
    if not isinstance(routed, list) or {c.venue for c in routed} != set(_VENUES):
        raise AssertionError(f"benchmark order did not sweep all three venues: {routed}")
    if sum(c.qty for c in routed) != req.qty:
        raise AssertionError(f"benchmark children do not add up to {req.qty}: {routed}")
    _time(strategy, req, view, info, WARMUP)
    gc.collect()
    samples = _time(strategy, req, view, info, iterations)
    return BenchResult(
        iterations=iterations,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        timer_overhead_ns=timer_overhead_ns(),
        children=tuple((c.venue, str(c.qty)) for c in _ordered(routed)),
        sweep=Timing.of(samples),
    )


def _ordered(children: list[ChildSpec]) -> list[ChildSpec]:
    return sorted(children, key=lambda c: c.venue)


def format_report(result: BenchResult) -> str:
    t = result.sweep
    children = ", ".join(f"{venue} {qty}" for venue, qty in result.children)
    verdict = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in result.verdict().items())
    return "\n".join(
        [
            f"fixgw routing bench: sweep, 3 venues x {LEVELS} levels a side, "
            f"{result.iterations} timed calls, {result.python}",
            f"order: buy 1250 limit 100.05 -> IOC children {children}",
            f"timer overhead {result.timer_overhead_ns} ns (included); microseconds",
            f"sweep.route  p50 {t.p50:.2f}  p99 {t.p99:.2f}  max {t.max:.1f}",
            f"target (sweep p50 <= {TARGETS['sweep']['p50']:g} us): {verdict}",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    print(format_report(run(int(args[0]) if args else 20_000)))


if __name__ == "__main__":
    main()
