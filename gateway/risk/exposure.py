"""Running aggregates behind the risk view: working orders, positions and exposure.

Every order counts toward limits from the moment it is sent: an open order's
unfilled quantity is "working" until it fills, is canceled or is rejected. The
aggregates are updated by difference whenever an order or a position changes,
so a risk check reads them in O(1) however many orders are working; a price move
re-marks only the clients that hold the symbol.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from gateway.marketdata.api import MarketView
from gateway.orders.enums import Side
from gateway.orders.model import ClientOrder

ZERO = Decimal(0)


class ReferencePrices:
    """Reference price per symbol, in order: fresh venue market data (last trade, else mid),
    the last trade this gateway saw (its own fills), the configured reference.

    A stale book is never used: the market view leaves it out.
    """

    def __init__(self, configured: dict[str, Decimal], market: MarketView | None = None):
        self.configured = dict(configured)
        self.market = market
        self.marks: dict[str, Decimal] = {}
        self._last_limit: dict[str, Decimal] = {}

    def reference(self, symbol: str) -> Decimal | None:
        if self.market is not None:
            px = self.market.reference_price(symbol)
            if px is not None:
                return px
        return self.marks.get(symbol) or self.configured.get(symbol)

    def for_exposure(self, symbol: str) -> Decimal:
        """Never zero for a symbol with orders: fall back to the last limit price seen."""
        return self.reference(symbol) or self._last_limit.get(symbol) or ZERO

    def mark(self, symbol: str, price: Decimal) -> None:
        self.marks[symbol] = price

    def note_limit(self, symbol: str, price: Decimal | None) -> None:
        if price is not None and price > 0:
            self._last_limit[symbol] = price


@dataclass(slots=True)
class _Line:
    """One client's state in one symbol."""

    position: Decimal = ZERO
    working_buy: Decimal = ZERO
    working_sell: Decimal = ZERO
    open_orders: int = 0
    gross: Decimal = ZERO  # notional contribution at the last mark
    net: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class _OrderShare:
    client: str
    symbol: str
    side: Side
    leaves: Decimal
    open: bool


class Exposure:
    def __init__(self, prices: ReferencePrices):
        self.prices = prices
        self._lines: dict[tuple[str, str], _Line] = {}
        self._orders: dict[str, _OrderShare] = {}
        self._gross: defaultdict[str, Decimal] = defaultdict(Decimal)
        self._net: defaultdict[str, Decimal] = defaultdict(Decimal)
        self._open: defaultdict[str, int] = defaultdict(int)
        self._holders: defaultdict[str, set[str]] = defaultdict(set)  # symbol -> clients with a line

    # -- reads (O(1))
    def working(self, client: str, symbol: str) -> tuple[Decimal, Decimal]:
        line = self._lines.get((client, symbol))
        return (line.working_buy, line.working_sell) if line else (ZERO, ZERO)

    def position(self, client: str, symbol: str) -> Decimal:
        line = self._lines.get((client, symbol))
        return line.position if line else ZERO

    def exposure(self, client: str) -> tuple[Decimal, Decimal]:
        return self._gross[client], self._net[client]

    def open_orders(self, client: str, symbol: str | None = None) -> int:
        if symbol is None:
            return self._open[client]
        line = self._lines.get((client, symbol))
        return line.open_orders if line else 0

    # -- updates
    def update_order(self, order: ClientOrder) -> None:
        """Bring the aggregates in line with ``order``'s current state (by difference)."""
        self.prices.note_limit(order.symbol, order.price)
        leaves = order.leaves_qty
        pending = order.pending
        if pending is not None and pending.qty is not None and order.is_open:
            # A replace counts at the larger of its old and new size until the venue answers.
            leaves = max(leaves, pending.qty - order.fills.cum_qty)
        new = _OrderShare(order.session, order.symbol, order.side, leaves, order.is_open)
        old = self._orders.get(order.order_id)
        if old == new or (old is None and not new.open):
            return
        if old is not None:
            self._apply(old, -1)
        self._apply(new, +1)
        if new.open:
            self._orders[order.order_id] = new
        else:
            self._orders.pop(order.order_id, None)

    def _apply(self, share: _OrderShare, sign: int) -> None:
        line = self._line(share.client, share.symbol)
        if share.open:
            if share.side is Side.BUY:
                line.working_buy += sign * share.leaves
            else:
                line.working_sell += sign * share.leaves
            line.open_orders += sign
            self._open[share.client] += sign
        self._remark(share.client, share.symbol, line)

    def update_position(self, client: str, symbol: str, net_qty: Decimal) -> None:
        line = self._line(client, symbol)
        line.position = net_qty
        self._remark(client, symbol, line)

    def on_price(self, symbol: str, price: Decimal) -> None:
        """A new mark: re-value the holders of ``symbol`` only."""
        self.prices.mark(symbol, price)
        for client in self._holders.get(symbol, ()):
            self._remark(client, symbol, self._lines[(client, symbol)])

    def _line(self, client: str, symbol: str) -> _Line:
        line = self._lines.get((client, symbol))
        if line is None:
            line = self._lines[(client, symbol)] = _Line()
            self._holders[symbol].add(client)
        return line

    def _remark(self, client: str, symbol: str, line: _Line) -> None:
        px = self.prices.for_exposure(symbol)
        gross = (abs(line.position) + line.working_buy + line.working_sell) * px
        net = (line.position + line.working_buy - line.working_sell) * px
        self._gross[client] += gross - line.gross
        self._net[client] += net - line.net
        line.gross, line.net = gross, net
