"""Micro-benchmark of the pre-trade hot path (``fixgw bench-risk``).

One client session with every built-in check enabled (generous limits so orders pass; the throttle
at a rate the simulated stream never reaches), instruments with tick, lot and reference prices,
working orders spread over them through :meth:`Exposure.update_order` on real ``ClientOrder``
objects, and positions in a few hundred of them. Then, with ``time.perf_counter_ns`` around each
call:

* ``PreTrade.admit(intent)`` over random intents (new orders, ~10% market),
* ``PreTrade.on_fill`` (position, exposure, re-mark, loss-limit trigger) and
* ``PositionBook.on_fill`` (the position update alone),

once with the given number of working orders and once with ``scale`` times as many, to show the
cost does not grow with them. The clock the checks see is simulated (1 ms per intent), so the
throttle and the duplicate-order window hold the state a 1000 orders/s stream would leave.
"""

from __future__ import annotations

import gc
import platform
import random
import time
from dataclasses import asdict, dataclass
from decimal import Decimal

from gateway.benchutil import Timing, timer_overhead_ns
from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.model import ClientOrder
from gateway.risk.api import OrderIntent, RiskCheck
from gateway.risk.checks import (
    AllowedInstruments,
    CreditLimit,
    DuplicateOrder,
    MarketOrders,
    MaxNotional,
    MaxOpenOrders,
    MaxOrderQty,
    MaxPosition,
    PriceCollar,
    RestrictedList,
    Throttle,
    TickLot,
)
from gateway.risk.engine import RiskEngine
from gateway.risk.pretrade import AutoLimit, PreTrade
from gateway.risk.trading_state import TradingState

CLIENT = "BENCH"
ACCOUNT = "ACC1"
VENUE = "XBENCH"
TICK = Decimal("0.01")
LOT = Decimal(1)
STEP_NS = 1_000_000  # simulated time between intents: 1000 orders/s
WARMUP = 2_000
POSITIONS = 300  # instruments held (at most the number of instruments)

#: The issue's targets, in microseconds.
TARGETS = {"admit": {"p50": 15.0, "p99": 60.0}, "position_update": {"p50": 10.0}}


class SimClock:
    """Nanoseconds that move only when the benchmark says so."""

    def __init__(self, now: int = 1_700_000_000_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass(frozen=True)
class Scenario:
    working: int
    positions: int
    admit: Timing
    admit_rejects: int  # intents a check refused (should be 0: the limits are generous)
    pretrade_on_fill: Timing  # with the loss-limit trigger configured
    pretrade_on_fill_no_loss_limit: Timing
    book_on_fill: Timing


@dataclass(frozen=True)
class BenchResult:
    orders: int
    instruments: int
    checks: tuple[str, ...]
    timer_overhead_ns: int
    python: str
    scenarios: tuple[Scenario, ...]

    def verdict(self) -> dict[str, bool]:
        """Each target, judged on the first (the requested) scenario."""
        base = self.scenarios[0]
        return {
            "admit p50": base.admit.p50 <= TARGETS["admit"]["p50"],
            "admit p99": base.admit.p99 <= TARGETS["admit"]["p99"],
            "position update p50": base.book_on_fill.p50 <= TARGETS["position_update"]["p50"],
        }

    def to_json(self) -> dict:
        return {
            "orders": self.orders,
            "instruments": self.instruments,
            "checks": list(self.checks),
            "timer_overhead_ns": self.timer_overhead_ns,
            "python": self.python,
            "unit": "us",
            "targets": TARGETS,
            "scenarios": [asdict(s) for s in self.scenarios],
            "verdict": self.verdict(),
        }


def all_checks(symbols: list[str]) -> list[RiskCheck]:
    """Every built-in check, with limits a realistic stream stays inside."""
    return [
        RestrictedList(symbols=["BANNED1", "BANNED2"]),
        AllowedInstruments(symbols=symbols),
        MarketOrders(allowed=True),
        MaxOrderQty(max_qty=100_000),
        TickLot(),
        MaxNotional(max_notional=50_000_000),
        PriceCollar(max_pct=10),
        MaxPosition(max_long=10_000_000, max_short=10_000_000),
        CreditLimit(max_gross=10**13, max_net=10**13),
        MaxOpenOrders(per_client=10_000_000, per_instrument=1_000_000),
        Throttle(orders_per_s=1_000_000, messages_per_s=1_000_000),
        DuplicateOrder(window_s=1),
    ]


def _price_near(ref: Decimal, rng: random.Random, pct: float = 2.0) -> Decimal:
    """A price on the tick grid within ``pct`` % of ``ref``."""
    ticks = int(ref * Decimal(pct) / 100 / TICK)
    return max(TICK, ref + TICK * rng.randint(-ticks, ticks))


def build(instruments: int, working: int, positions: int, seed: int) -> tuple[PreTrade, list[ClientOrder]]:
    """A PreTrade for one client with the state of a busy trading day; returns its working orders."""
    rng = random.Random(seed)
    symbols = [f"S{i:05d}" for i in range(instruments)]
    refs = {s: (Decimal(rng.randint(500, 50_000)) * TICK) for s in symbols}
    clock = SimClock()
    pretrade = PreTrade(
        clock,
        risk=RiskEngine({CLIENT: all_checks(symbols)}),
        ticks=dict.fromkeys(symbols, TICK),
        lots=dict.fromkeys(symbols, LOT),
        reference_prices=refs,
        loss_limits={CLIENT: AutoLimit(TradingState.REDUCING, max_loss=Decimal(10**12))},
    )
    orders = []
    for i in range(working):
        symbol = symbols[i % instruments]
        order = ClientOrder(
            order_id=f"O-{i}",
            session=CLIENT,
            cl_ord_id=f"W-{i}",
            symbol=symbol,
            side=rng.choice((Side.BUY, Side.SELL)),
            ord_type=OrdType.LIMIT,
            qty=LOT * rng.randint(1, 1_000),
            price=_price_near(refs[symbol], rng),
            tif=TimeInForce.DAY,
            account=ACCOUNT,
            status=OrdStatus.NEW,
        )
        pretrade.exposure.update_order(order)
        orders.append(order)
    for symbol in rng.sample(symbols, min(positions, instruments)):
        holder = ClientOrder(
            order_id=f"H-{symbol}",
            session=CLIENT,
            cl_ord_id=f"H-{symbol}",
            symbol=symbol,
            side=rng.choice((Side.BUY, Side.SELL)),
            ord_type=OrdType.LIMIT,
            qty=Decimal(1_000),
            price=refs[symbol],
            tif=TimeInForce.DAY,
            account=ACCOUNT,
        )
        pretrade.on_fill(holder, LOT * rng.randint(1, 1_000), _price_near(refs[symbol], rng, 0.5))
    return pretrade, orders


def _intents(pretrade: PreTrade, n: int, rng: random.Random) -> list[OrderIntent]:
    refs = pretrade.prices.configured
    symbols = list(refs)
    out = []
    for _ in range(n):
        symbol = rng.choice(symbols)
        market = rng.random() < 0.1
        out.append(
            OrderIntent(
                client=CLIENT,
                account=ACCOUNT,
                symbol=symbol,
                side=rng.choice((Side.BUY, Side.SELL)),
                ord_type=OrdType.MARKET if market else OrdType.LIMIT,
                qty=LOT * rng.randint(1, 2_000),
                price=None if market else _price_near(refs[symbol], rng),
                tif=TimeInForce.DAY,
                venue=VENUE,
            )
        )
    return out


def _time_admit(pretrade: PreTrade, intents: list[OrderIntent]) -> tuple[list[int], int]:
    clock: SimClock = pretrade.clock  # type: ignore[assignment]
    admit, now = pretrade.admit, time.perf_counter_ns
    samples, rejects = [], 0
    for intent in intents:
        clock.now += STEP_NS
        t0 = now()
        _, problem = admit(intent)
        samples.append(now() - t0)
        rejects += problem is not None
    return samples, rejects


def _fills(pretrade: PreTrade, orders: list[ClientOrder], n: int, rng: random.Random) -> list:
    """Fills on working orders in the symbols the client holds (so the position count stays put)."""
    held = {p.symbol for p in pretrade.positions.positions(CLIENT)}
    candidates = [o for o in orders if o.symbol in held] or orders
    out = []
    for _ in range(n):
        order = rng.choice(candidates)
        ref = pretrade.prices.configured[order.symbol]
        out.append((order, LOT * rng.randint(1, 100), _price_near(ref, rng, 0.5)))
    return out


def _time_pretrade_fills(pretrade: PreTrade, fills: list) -> list[int]:
    on_fill, now = pretrade.on_fill, time.perf_counter_ns
    samples = []
    for order, qty, px in fills:
        t0 = now()
        on_fill(order, qty, px)
        samples.append(now() - t0)
    return samples


def _time_book_fills(pretrade: PreTrade, fills: list) -> list[int]:
    book, clock, now = pretrade.positions, pretrade.clock, time.perf_counter_ns
    on_fill = book.on_fill
    samples = []
    for order, qty, px in fills:
        ts = clock()
        t0 = now()
        on_fill(order.session, order.account, order.symbol, order.side, qty, px, ts)
        samples.append(now() - t0)
    return samples


def scenario(orders: int, instruments: int, working: int, seed: int) -> Scenario:
    rng = random.Random(seed + 1)
    pretrade, book = build(instruments, working, POSITIONS, seed)
    assert pretrade.exposure.open_orders(CLIENT) == working
    _time_admit(pretrade, _intents(pretrade, WARMUP, rng))
    intents = _intents(pretrade, orders, rng)
    gc.collect()
    admit_ns, rejects = _time_admit(pretrade, intents)

    fills = _fills(pretrade, book, orders, rng)
    _time_pretrade_fills(pretrade, fills[:WARMUP])
    gc.collect()
    pretrade_ns = _time_pretrade_fills(pretrade, fills)
    limits, pretrade.loss_limits = pretrade.loss_limits, {}
    gc.collect()
    no_loss_ns = _time_pretrade_fills(pretrade, fills)
    pretrade.loss_limits = limits
    gc.collect()
    book_ns = _time_book_fills(pretrade, fills)
    return Scenario(
        working=working,
        positions=len(pretrade.positions.positions(CLIENT)),
        admit=Timing.of(admit_ns),
        admit_rejects=rejects,
        pretrade_on_fill=Timing.of(pretrade_ns),
        pretrade_on_fill_no_loss_limit=Timing.of(no_loss_ns),
        book_on_fill=Timing.of(book_ns),
    )


def run(
    orders: int = 20_000, instruments: int = 500, working: int = 5_000, scale: int = 10, seed: int = 7
) -> BenchResult:
    """The requested scenario, then the same with ``scale`` x the working orders."""
    scenarios = [scenario(orders, instruments, working, seed)]
    if scale > 1:
        scenarios.append(scenario(orders, instruments, working * scale, seed))
    return BenchResult(
        orders=orders,
        instruments=instruments,
        checks=tuple(c.name for c in all_checks(["X"])),
        timer_overhead_ns=timer_overhead_ns(),
        python=f"{platform.python_implementation()} {platform.python_version()}",
        scenarios=tuple(scenarios),
    )


def format_report(result: BenchResult) -> str:
    """A table: one row per operation, p50/p99/max per scenario (µs)."""
    cols = result.scenarios
    head = "".join(f" | {f'working={s.working}':^26}" for s in cols)
    sub = "".join(f" | {'p50':>8}{'p99':>9}{'max':>9}" for _ in cols)
    rows = [
        ("PreTrade.admit", "admit"),
        ("PreTrade.on_fill", "pretrade_on_fill"),
        ("PreTrade.on_fill, no loss limit", "pretrade_on_fill_no_loss_limit"),
        ("PositionBook.on_fill", "book_on_fill"),
    ]
    lines = [
        f"fixgw bench-risk: 1 client, {result.instruments} instruments, {result.orders} timed calls per row, "
        f"{result.python}",
        f"checks: {', '.join(result.checks)}",
        f"positions held: {cols[0].positions}; timer overhead {result.timer_overhead_ns} ns (included); "
        f"microseconds",
        "",
        f"{'operation':<32}{head}",
        f"{'':<32}{sub}",
    ]
    for label, attr in rows:
        cells = "".join(
            f" | {t.p50:>8.2f}{t.p99:>9.2f}{t.max:>9.1f}" for t in (getattr(s, attr) for s in cols)
        )
        lines.append(f"{label:<32}{cells}")
    lines.append("")
    rejects = ", ".join(str(s.admit_rejects) for s in cols)
    lines.append(f"admit rejects (should be 0): {rejects}")
    if len(cols) > 1:
        base, big = cols[0], cols[-1]
        lines.append(
            f"admit p50 with {big.working} vs {base.working} working orders: "
            f"{big.admit.p50 / base.admit.p50:.2f}x"
        )
    targets = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in result.verdict().items())
    lines.append(
        f"targets (admit p50 <= 15, p99 <= 60; position update p50 <= 10 us, PositionBook.on_fill): {targets}"
    )
    return "\n".join(lines)
