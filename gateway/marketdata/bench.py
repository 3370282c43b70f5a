"""Micro-benchmark of :meth:`MarketData.apply` (issue #4: p50 <= 10 µs per update).

One venue, a few symbols, books kept 10 levels deep on each side. Every timed call applies one
single-level change as the codec would decode it from an X: mostly a new size at an existing
price (CHANGE), sometimes a level leaving the book (DELETE) followed later by a level entering it
(NEW), so the books stay about 10 levels deep and the insert/delete paths are measured too.
Updates are built before timing; ``time.perf_counter_ns`` is read around each call, so the
figures include the timer overhead (printed). ``on_change`` is a no-op callback, as the gateway
will install one.

For information it also times ``decode_market_data`` + ``apply`` on the same updates as FIX 4.4
X messages parsed from the wire with the data dictionary (what a venue session hands over).
"""

from __future__ import annotations

import gc
import platform
import random
import time
from dataclasses import dataclass
from decimal import Decimal

import quickfix as fix

from gateway.benchutil import timer_overhead_ns
from gateway.codec.marketdata import MDAction, MDSide, MDUpdate, decode_market_data, encode_incremental
from gateway.fix.dictionary import SPEC_DIR
from gateway.marketdata.book import MarketData

VENUE = "XBENCH"
LEVELS = 10
TICK = Decimal("0.01")
WARMUP = 2_000

#: The issue's target, in microseconds.
TARGET_P50_US = 10.0


@dataclass(frozen=True)
class Result:
    updates: int
    symbols: int
    p50_us: float
    p99_us: float
    max_us: float
    decode_apply_p50_us: float
    decode_apply_p99_us: float
    timer_overhead_ns: int
    python: str

    @property
    def ok(self) -> bool:
        return self.p50_us <= TARGET_P50_US


def _updates(n: int, symbols: list[str], mids: dict[str, Decimal], rng: random.Random) -> list[MDUpdate]:
    """Single-level changes that keep each side close to LEVELS deep."""
    # Per symbol and side: prices currently in the book, prices taken out (to come back as NEW).
    live: dict[tuple[str, MDSide], list[Decimal]] = {}
    gone: dict[tuple[str, MDSide], list[Decimal]] = {}
    for s in symbols:
        live[(s, MDSide.BID)] = [mids[s] - TICK * i for i in range(1, LEVELS + 1)]
        live[(s, MDSide.ASK)] = [mids[s] + TICK * i for i in range(1, LEVELS + 1)]
        gone[(s, MDSide.BID)] = []
        gone[(s, MDSide.ASK)] = []
    out = []
    for _ in range(n):
        s = rng.choice(symbols)
        side = rng.choice((MDSide.BID, MDSide.ASK))
        key = (s, side)
        r = rng.random()
        qty = Decimal(rng.randint(1, 50) * 100)
        if r < 0.1 and len(live[key]) > LEVELS - 2:
            px = live[key].pop(rng.randrange(len(live[key])))
            gone[key].append(px)
            out.append(MDUpdate(s, side, px, None, MDAction.DELETE))
        elif r < 0.2 and gone[key]:
            px = gone[key].pop(rng.randrange(len(gone[key])))
            live[key].append(px)
            out.append(MDUpdate(s, side, px, qty, MDAction.NEW))
        else:
            out.append(MDUpdate(s, side, rng.choice(live[key]), qty, MDAction.CHANGE))
    return out


def _pick(samples: list[int], p: float) -> float:
    """Nearest-rank percentile of sorted nanosecond samples, in µs."""
    n = len(samples)
    return round(samples[min(n - 1, max(0, int(p / 100 * n + 0.5) - 1))] / 1000, 2)


def _market(names: list[str], mids: dict[str, Decimal], now_ns: int) -> MarketData:
    md = MarketData({VENUE: LEVELS}, on_change=lambda symbol: None)
    for s in names:
        md.snapshot(
            VENUE,
            s,
            [(mids[s] - TICK * i, Decimal(100)) for i in range(1, LEVELS + 1)],
            [(mids[s] + TICK * i, Decimal(100)) for i in range(1, LEVELS + 1)],
            None,
            now_ns,
        )
    return md


def _wire(batches: list[list[MDUpdate]]) -> list[fix.Message]:
    """The updates as FIX 4.4 X messages, parsed back from their wire form."""
    dd = fix.DataDictionary(str(SPEC_DIR / "FIX44.xml"))
    out = []
    for batch in batches:
        msg = encode_incremental("B1", batch, "FIX.4.4")
        header = msg.getHeader()
        for tag, value in ((8, "FIX.4.4"), (49, "V"), (56, "G"), (34, "1"), (52, "20240102-03:04:05.678")):
            header.setField(tag, value)
        out.append(fix.Message(msg.toString(), dd, True))
    return out


def measure(updates: int = 50_000, symbols: int = 20, seed: int = 7) -> Result:
    rng = random.Random(seed)
    names = [f"S{i:03d}" for i in range(symbols)]
    mids = {s: Decimal(rng.randint(1_000, 50_000)) * TICK for s in names}
    now_ns = 1_700_000_000_000_000_000
    md = _market(names, mids, now_ns)
    batches = [[u] for u in _updates(updates + WARMUP, names, mids, rng)]
    apply, clock = md.apply, time.perf_counter_ns
    for batch in batches[:WARMUP]:
        apply(VENUE, batch, now_ns)
    samples = []
    gc.collect()
    gc.disable()
    try:
        for batch in batches[WARMUP:]:
            now_ns += 1_000
            t0 = clock()
            apply(VENUE, batch, now_ns)
            samples.append(clock() - t0)
    finally:
        gc.enable()
    samples.sort()

    # decode + apply, on a fresh model and the same updates as parsed X messages
    md = _market(names, mids, now_ns)
    messages = _wire(batches)
    apply, decode = md.apply, decode_market_data
    both = []
    gc.collect()
    gc.disable()
    try:
        for i, msg in enumerate(messages):
            now_ns += 1_000
            t0 = clock()
            apply(VENUE, decode("X", msg, "FIX.4.4"), now_ns)
            if i >= WARMUP:
                both.append(clock() - t0)
    finally:
        gc.enable()
    both.sort()

    return Result(
        updates=len(samples),
        symbols=symbols,
        p50_us=_pick(samples, 50),
        p99_us=_pick(samples, 99),
        max_us=round(samples[-1] / 1000, 2),
        decode_apply_p50_us=_pick(both, 50),
        decode_apply_p99_us=_pick(both, 99),
        timer_overhead_ns=timer_overhead_ns(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
    )


def format_report(r: Result) -> str:
    return "\n".join(
        [
            f"MarketData.apply: {r.updates} single-level updates, {r.symbols} symbols x {LEVELS} levels "
            f"a side, {r.python}",
            f"p50 {r.p50_us:.2f} us   p99 {r.p99_us:.2f} us   max {r.max_us:.1f} us   "
            f"(timer overhead {r.timer_overhead_ns} ns included)",
            f"decode_market_data + apply of the same updates as parsed FIX 4.4 X messages: "
            f"p50 {r.decode_apply_p50_us:.2f} us   p99 {r.decode_apply_p99_us:.2f} us",
            f"target p50 <= {TARGET_P50_US:g} us: {'ok' if r.ok else 'MISSED'}",
        ]
    )


def run(updates: int = 50_000) -> Result:
    """Measure and print p50/p99 of ``MarketData.apply``; returns the figures."""
    result = measure(updates)
    print(format_report(result))
    return result


if __name__ == "__main__":
    run()
