"""The risk plugin interface: what a pre-trade check sees and what it answers.

A check is a small object built from its YAML parameters (``cls(**params)``; a bad
parameter raises ``TypeError``/``ValueError`` and becomes a config error naming the
file and key). It sees the order or the replace as an :class:`OrderIntent`, reads
state through a :class:`RiskView` (running aggregates: nothing a check calls may
scan orders), and returns ``None`` to pass or a :class:`Reject` that names the
check, the limit and the value. Built-in checks use exactly this interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from gateway.orders.enums import OrdRejReason, OrdType, Side, TimeInForce

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A new order, or a replace seen as a change from the order's current terms."""

    client: str  # client session name
    account: str | None
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal  # the (new) total order quantity
    price: Decimal | None  # None for market orders
    tif: TimeInForce
    venue: str | None
    is_replace: bool = False
    old_qty: Decimal = ZERO  # replace: the order's current total quantity
    old_price: Decimal | None = None  # replace: the order's current limit price
    cum_qty: Decimal = ZERO  # replace: already filled

    @property
    def added_qty(self) -> Decimal:
        """Open quantity this intent adds to the client's working orders (negative: removes)."""
        return self.qty - self.old_qty if self.is_replace else self.qty

    @property
    def signed_qty(self) -> Decimal:
        """``added_qty`` with the side's sign: + buys, - sells."""
        return self.added_qty * self.side.sign


@dataclass(frozen=True, slots=True)
class Reject:
    check: str  # the check's name, as configured
    reason: OrdRejReason
    text: str  # names the check, the limit and the value: "max_order_qty: OrderQty 5000 exceeds 1000"


class RiskView(Protocol):
    """Read-only state for checks; every call is O(1)."""

    now_ns: int

    def tick_size(self, symbol: str) -> Decimal | None: ...

    def lot_size(self, symbol: str) -> Decimal | None: ...

    def reference_price(self, symbol: str) -> Decimal | None:
        """Last trade or mid from market data when present, else the configured reference."""

    def position(self, client: str, symbol: str) -> Decimal:
        """Signed filled position (+ long, - short)."""

    def working(self, client: str, symbol: str) -> tuple[Decimal, Decimal]:
        """Open (unfilled) buy and sell quantity of the client's working orders."""

    def exposure(self, client: str) -> tuple[Decimal, Decimal]:
        """Gross and net notional of positions plus working orders, at reference prices."""

    def open_orders(self, client: str, symbol: str | None = None) -> int: ...


@runtime_checkable
class RiskCheck(Protocol):
    name: str

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None: ...


@runtime_checkable
class RecordsAccepted(Protocol):
    """Optional: stateful checks (throttles, duplicate detection) learn of accepted intents."""

    def record(self, intent: OrderIntent, view: RiskView) -> None: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """The risk engine's answer, journaled for compliance: which checks ran, and the result."""

    ran: tuple[str, ...]
    reject: Reject | None = None

    @property
    def passed(self) -> bool:
        return self.reject is None

    def describe(self) -> str:
        if self.reject is None:
            return f"risk passed: {', '.join(self.ran) or 'no checks'}"
        return f"risk rejected by {self.reject.check}: {self.reject.text} (ran {', '.join(self.ran)})"
