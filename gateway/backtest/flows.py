"""Order-flow sources on the simulated clock: CSV rows and strategy plugins.

Both send through the coordinator (:class:`gateway.backtest.runner.Backtest`), which owns the FIX
client sessions; a strategy sees the backtest through :class:`StrategyContext`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from gateway.backtest.config import FlowSpec
from gateway.backtest.orders_csv import SIDES, OrderAction
from gateway.backtest.strategy import Quote, Report, Strategy
from gateway.config.model import ORDER_TYPE_NAMES, TIF_NAMES
from gateway.orders.enums import OrdType, Side, TimeInForce

if TYPE_CHECKING:
    from gateway.backtest.runner import Backtest


class BacktestError(Exception):
    """The backtest could not run (one line, for the CLI)."""


def run_csv_action(bt: Backtest, a: OrderAction) -> None:
    if a.action == "new":
        assert a.qty is not None
        bt.send_new(a.client, a.cl_ord_id, a.symbol, a.side, a.ord_type, a.qty, a.price, a.tif)
        return
    rec = bt.tracker.find(a.client, a.orig_cl_ord_id or "")
    if rec is None:
        raise BacktestError(f"line {a.line}: no order {a.orig_cl_ord_id!r} of {a.client} was sent")
    if a.action == "cancel":
        bt.send_cancel(rec, a.cl_ord_id, a.orig_cl_ord_id)
    else:
        bt.send_replace(rec, a.cl_ord_id, a.qty, a.price, a.orig_cl_ord_id)


def _dec(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError(f"use Decimal, int or str for prices and quantities, not float ({value!r})")
    return value if isinstance(value, Decimal) else Decimal(str(value))


class StrategyContext:
    """What a strategy may do; every call acts at the current simulated time."""

    def __init__(self, bt: Backtest, spec: FlowSpec, strategy: Strategy):
        self._bt = bt
        self.spec = spec
        self.client = spec.client or spec.name.upper()
        self.strategy = strategy
        self._n = 0
        self._quotes: dict[tuple[str, str], Quote] = {}

    @property
    def now_ns(self) -> int:
        return self._bt.sched.now_ns

    def send_order(self, symbol, side, qty, price=None, ord_type=None, tif="day") -> str:
        self._n += 1
        cl_ord_id = f"{self.spec.name}-{self._n}"
        side = side if isinstance(side, Side) else SIDES[str(side).lower()]
        price = _dec(price)
        if ord_type is None:
            ord_type = OrdType.MARKET if price is None else OrdType.LIMIT
        elif not isinstance(ord_type, OrdType):
            ord_type = ORDER_TYPE_NAMES[str(ord_type).lower()]
        tif = tif if isinstance(tif, TimeInForce) else TIF_NAMES[str(tif).lower()]
        qty = _dec(qty)
        assert qty is not None
        self._bt.send_new(self.client, cl_ord_id, symbol, side, ord_type, qty, price, tif)
        return cl_ord_id

    def _amend_id(self) -> str:
        self._n += 1
        return f"{self.spec.name}-{self._n}"

    def cancel(self, cl_ord_id: str) -> None:
        rec = self._bt.tracker.find(self.client, cl_ord_id)
        if rec is None or not rec.open:
            return
        self._bt.send_cancel(rec, self._amend_id(), rec.current_id)

    def replace(self, cl_ord_id: str, qty=None, price=None) -> None:
        rec = self._bt.tracker.find(self.client, cl_ord_id)
        if rec is None or not rec.open or rec.pending:
            return
        self._bt.send_replace(rec, self._amend_id(), _dec(qty) or rec.qty, _dec(price), rec.current_id)

    def set_timer(self, at_ns: int) -> None:
        self._bt.sched.at(
            int(at_ns), f"timer:{self.spec.name}", lambda: self.strategy.on_timer(self, self.now_ns)
        )

    def position(self, symbol: str) -> Decimal:
        return self._bt.tracker.positions.get((self.client, symbol), Decimal(0))

    def open_orders(self) -> list[str]:
        return [r.cl_ord_id for r in self._bt.tracker.orders if r.client == self.client and r.open]

    def quote(self, venue: str, symbol: str) -> Quote | None:
        return self._quotes.get((venue, symbol))

    # called by the coordinator

    def deliver_quote(self, quote: Quote) -> None:
        self._quotes[(quote.venue, quote.symbol)] = quote
        self.strategy.on_market_data(self, quote)

    def deliver_report(self, report: Report) -> None:
        self.strategy.on_report(self, report)
