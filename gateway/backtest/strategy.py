"""Strategy plugins for ``fixgw backtest``: what a strategy sees and what it may do.

A strategy is a class named by ``package.module:Class`` in the backtest YAML, built with its
``params`` as keyword arguments. The backtest calls it on the simulated clock, one call at a time:
``on_start`` once, ``on_market_data`` with each venue's top of book as the strategy's market-data
latency delivers it, ``on_report`` with every ExecutionReport or cancel reject its own FIX client
session received from the gateway, and ``on_timer`` at the times it asked for. Orders it sends go
over its own FIX session to the gateway, like any client's.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from gateway.orders.enums import OrdType, Side, TimeInForce


@dataclass(frozen=True)
class Quote:
    """One venue's top of book for one symbol."""

    ts_ns: int
    venue: str
    symbol: str
    bid: Decimal | None
    bid_qty: Decimal
    ask: Decimal | None
    ask_qty: Decimal

    @property
    def mid(self) -> Decimal | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


@dataclass(frozen=True)
class Report:
    """An ExecutionReport (``kind`` "execution") or OrderCancelReject ("cancel_reject") for one of the
    strategy's orders. ``cl_ord_id`` is the order's first ClOrdID (what send_order returned)."""

    ts_ns: int
    kind: str
    cl_ord_id: str
    exec_type: str  # NEW, TRADE, CANCELED, REPLACED, REJECTED, ... (ExecType names)
    ord_status: str  # NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, ...
    symbol: str
    side: Side
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    last_qty: Decimal | None
    last_px: Decimal | None
    venue: str | None
    text: str | None

    @property
    def done(self) -> bool:
        return self.kind == "execution" and self.ord_status in ("FILLED", "CANCELED", "REJECTED", "EXPIRED")


class Context(Protocol):
    """What a strategy may ask of the backtest (the coordinator implements it)."""

    @property
    def now_ns(self) -> int: ...

    def send_order(
        self,
        symbol: str,
        side: Side | str,
        qty: Decimal | int | str,
        price: Decimal | int | str | None = None,
        ord_type: OrdType | str | None = None,
        tif: TimeInForce | str = "day",
    ) -> str: ...

    def cancel(self, cl_ord_id: str) -> None: ...

    def replace(self, cl_ord_id: str, qty: Decimal | int | str | None = None, price=None) -> None: ...

    def set_timer(self, at_ns: int) -> None: ...

    def position(self, symbol: str) -> Decimal: ...

    def open_orders(self) -> list[str]: ...

    def quote(self, venue: str, symbol: str) -> Quote | None: ...


class Strategy:
    """Base class: override what you need. ``params`` from the YAML arrive as keyword arguments."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def on_start(self, ctx: Context) -> None: ...

    def on_market_data(self, ctx: Context, quote: Quote) -> None: ...

    def on_report(self, ctx: Context, report: Report) -> None: ...

    def on_timer(self, ctx: Context, now_ns: int) -> None: ...


def load_strategy(path: str, params: dict[str, Any], search: tuple[Path, ...] = ()) -> Strategy:
    """Build ``package.module:Class`` with ``params``; ValueError with a readable reason.

    ``search``: folders to import from as well (the current folder and the backtest file's folder
    and its parent, so ``examples.strategies.twap:Twap`` works from a checkout)."""
    for folder in search:
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"strategy {path!r}: cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None or not callable(cls):
        raise ValueError(f"strategy {path!r}: {module_name} has no class {attr!r}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"strategy {path!r}: bad params: {exc}") from None
