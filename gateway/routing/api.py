"""The routing plugin interface: an order and the market in, child orders out.

A strategy sees the parent order as a :class:`RouteRequest`, the normalised market
(:class:`~gateway.marketdata.api.MarketView`), each venue's state and capabilities
(:class:`VenueInfo`) and the clock, and returns the child orders to send or a
:class:`RouteReject`. Strategies are pure: no I/O, no order state; the order core
sends what they return. Built-ins and user plugins (by dotted path) share this API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from gateway.marketdata.api import MarketView
from gateway.orders.enums import OrdType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class RouteRequest:
    client: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal  # what is left to route (the whole order, or a remainder to re-route)
    price: Decimal | None  # None for market orders
    tif: TimeInForce
    ex_destination: str | None = None  # the client named a venue (tag 100)
    primary_venue: str | None = None  # the instrument's default venue from config
    exclude: frozenset[str] = frozenset()  # venues not to use (e.g. the one that just rejected)


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """What routing may know about a venue right now."""

    name: str
    connected: bool
    halted: bool = False  # trading state HALTED for this venue (kill switch)
    breaker_open: bool = False  # circuit breaker: do not route here
    order_headroom: int | None = None  # orders the venue's rate limit allows now (None: unlimited)
    order_types: frozenset[OrdType] = frozenset(OrdType)
    tifs: frozenset[TimeInForce] = frozenset(TimeInForce)
    maker_bps: Decimal = Decimal(0)  # fee on resting (passive) fills, basis points of notional
    taker_bps: Decimal = Decimal(0)  # fee on aggressive fills
    supports_replace: bool = True  # amends by OrderCancelReplaceRequest, else by cancel and new
    fill_ratio: float | None = None  # filled / sent quantity observed by this gateway
    orders_sent: int = 0  # child orders this gateway sent there (how much the fill ratio says)
    ack_latency_us: float | None = None  # observed acknowledgement latency (EWMA)

    def usable(self, ord_type: OrdType, tif: TimeInForce) -> bool:
        """Connected, breaker closed, has headroom, and takes this order type and TIF."""
        return (
            self.connected
            and not self.halted
            and not self.breaker_open
            and (self.order_headroom is None or self.order_headroom > 0)
            and ord_type in self.order_types
            and tif in self.tifs
        )


@dataclass(frozen=True, slots=True)
class ChildSpec:
    venue: str
    qty: Decimal
    price: Decimal | None
    ord_type: OrdType
    tif: TimeInForce


@dataclass(frozen=True, slots=True)
class RouteReject:
    text: str  # why no venue can take the order, for the client's ExecutionReport


@runtime_checkable
class RoutingStrategy(Protocol):
    name: str

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> list[ChildSpec] | RouteReject: ...
