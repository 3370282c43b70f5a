"""Pure price-time-priority matching engine for the venue simulator.

No I/O, no FIX, no threads, no clock, no randomness: the same calls always
produce the same events, so simulator behaviour is reproducible in tests. The
FIX layer turns the returned events into ExecutionReports.

Every event carries a *snapshot* (a shallow copy) of the order taken when the
event happened. Methods return the whole event list only after processing, so
handing out the live object would let an ``Accepted`` show the order already
FILLED; snapshots keep each event's CumQty/LeavesQty/OrdStatus correct. Use
``MatchingEngine.get`` for the live order.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Context, Decimal

from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce

ZERO = Decimal(0)

# Fixed contexts so results do not depend on the caller's thread-local decimal context:
# notional is kept wide enough to stay exact, avg_px rounds like Python's default context.
_NOTIONAL_CONTEXT = Context(prec=60)
_AVG_PX_CONTEXT = Context(prec=28)


@dataclass
class SimOrder:
    """An order as the venue sees it; mutated in place by the engine."""

    order_id: str
    owner: str | None
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    price: Decimal | None
    qty: Decimal
    tif: TimeInForce
    cum_qty: Decimal = ZERO
    avg_px: Decimal = ZERO
    status: OrdStatus = OrdStatus.NEW
    seq: int = 0

    @property
    def leaves_qty(self) -> Decimal:
        """Open quantity; zero once the order is done so reports never show phantom leaves."""
        if self.status.is_terminal:
            return ZERO
        return self.qty - self.cum_qty


@dataclass(frozen=True)
class Fill:
    """One execution of one order; a trade yields two, aggressor first, sharing match_id."""

    order: SimOrder
    qty: Decimal
    price: Decimal
    match_id: str


@dataclass(frozen=True)
class Accepted:
    order: SimOrder


@dataclass(frozen=True)
class Rejected:
    """The order never entered the book."""

    order: SimOrder
    reason: str


@dataclass(frozen=True)
class Canceled:
    order: SimOrder
    reason: str


@dataclass(frozen=True)
class Replaced:
    order: SimOrder
    orig_cl_ord_id: str


@dataclass(frozen=True)
class CancelRejected:
    """Refused cancel/replace; too_late distinguishes a done order from an unknown one."""

    order_id: str | None
    cl_ord_id: str
    orig_cl_ord_id: str
    reason: str
    too_late: bool


BookEvent = Accepted | Rejected | Fill | Canceled | Replaced | CancelRejected

#: ``(aggressor, resting, book price) -> trade price``: lets a replay add market impact to a match.
TradePriceHook = Callable[[SimOrder, SimOrder, Decimal], Decimal]


def _snapshot(order: SimOrder) -> SimOrder:
    return copy.copy(order)


def _to_decimal(value: Decimal | int | str) -> Decimal:
    """Accept Decimal/int/str; floats are refused because they cannot represent prices exactly."""
    if isinstance(value, float):
        raise TypeError(f"float not allowed for prices/quantities: {value!r}")
    return value if isinstance(value, Decimal) else Decimal(value)


def _is_positive(value: Decimal) -> bool:
    return value.is_finite() and value > 0


def _is_buy(side: Side) -> bool:
    return side is Side.BUY


class _SideBook:
    """One side of one symbol: FIFO queue per price plus an ascending price list for best-first walks."""

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._levels: dict[Decimal, deque[SimOrder]] = {}
        self._prices: list[Decimal] = []

    def add(self, order: SimOrder) -> None:
        assert order.price is not None
        level = self._levels.get(order.price)
        if level is None:
            level = self._levels[order.price] = deque()
            insort(self._prices, order.price)
        level.append(order)

    def remove(self, order: SimOrder) -> None:
        assert order.price is not None
        level = self._levels[order.price]
        if level[0] is order:
            level.popleft()
        else:
            del level[next(i for i, o in enumerate(level) if o is order)]
        if not level:
            del self._levels[order.price]
            del self._prices[bisect_left(self._prices, order.price)]

    def _prices_best_first(self) -> Iterator[Decimal]:
        return reversed(self._prices) if self.is_bid else iter(self._prices)

    def best_price(self) -> Decimal | None:
        if not self._prices:
            return None
        return self._prices[-1] if self.is_bid else self._prices[0]

    def head(self) -> SimOrder | None:
        """Oldest order at the best price: the next one an aggressor trades with."""
        best = self.best_price()
        return None if best is None else self._levels[best][0]

    def crosses(self, resting_price: Decimal, limit: Decimal | None) -> bool:
        """Whether an aggressor with `limit` (None = market) may trade at `resting_price`."""
        if limit is None:
            return True
        return resting_price >= limit if self.is_bid else resting_price <= limit

    def available(self, limit: Decimal | None, needed: Decimal) -> Decimal:
        """Quantity tradeable against `limit`, stopping early once `needed` is reached."""
        total = ZERO
        for price in self._prices_best_first():
            if not self.crosses(price, limit):
                break
            total += sum((o.leaves_qty for o in self._levels[price]), ZERO)
            if total >= needed:
                break
        return total

    def aggregated(self, levels: int) -> list[tuple[Decimal, Decimal]]:
        out: list[tuple[Decimal, Decimal]] = []
        for price in self._prices_best_first():
            if len(out) >= levels:
                break
            out.append((price, sum((o.leaves_qty for o in self._levels[price]), ZERO)))
        return out


class _SymbolBook:
    def __init__(self) -> None:
        self.bids = _SideBook(is_bid=True)
        self.asks = _SideBook(is_bid=False)

    def own(self, side: Side) -> _SideBook:
        return self.bids if _is_buy(side) else self.asks

    def opposite(self, side: Side) -> _SideBook:
        return self.asks if _is_buy(side) else self.bids


class MatchingEngine:
    """Deterministic limit order books for any number of symbols; SELL_SHORT trades as a sell."""

    def __init__(self, order_id_prefix: str = "V", trade_price: TradePriceHook | None = None) -> None:
        self._prefix = order_id_prefix
        self._trade_price = trade_price
        self._next_order = 0
        self._next_match = 0
        self._next_seq = 0
        self._books: dict[str, _SymbolBook] = {}
        self._orders: dict[str, SimOrder] = {}
        # (owner, any ClOrdID the order ever had) -> order: find() and duplicate detection.
        self._by_cl_ord_id: dict[tuple[str | None, str], SimOrder] = {}
        # Exact sum(qty * px) per order so avg_px is one division, never an accumulated rounding.
        self._notional: dict[str, Decimal] = {}

    # ----------------------------------------------------------------- queries

    def find(self, owner: str | None, cl_ord_id: str) -> SimOrder | None:
        return self._by_cl_ord_id.get((owner, cl_ord_id))

    def get(self, order_id: str) -> SimOrder | None:
        return self._orders.get(order_id)

    def orders(self, owner: str | None = None, open_only: bool = False) -> list[SimOrder]:
        """Orders in creation order; owner None means every owner (seeded liquidity included)."""
        return [
            o
            for o in self._orders.values()
            if (owner is None or o.owner == owner) and not (open_only and o.status.is_terminal)
        ]

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        book = self._books.get(symbol)
        if book is None:
            return None, None
        return book.bids.best_price(), book.asks.best_price()

    def depth(
        self, symbol: str, levels: int = 5
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids best-first, asks best-first) as (price, aggregated leaves qty)."""
        book = self._books.get(symbol)
        if book is None:
            return [], []
        return book.bids.aggregated(levels), book.asks.aggregated(levels)

    def prices(self, symbol: str, side: Side) -> list[Decimal]:
        """Prices with resting orders on ``side``, best first."""
        book = self._books.get(symbol)
        if book is None:
            return []
        return list(book.own(side)._prices_best_first())

    def queue(self, symbol: str, side: Side, price: Decimal) -> tuple[SimOrder, ...]:
        """The live resting orders at one price in time priority (a copy of the queue, not a view)."""
        book = self._books.get(symbol)
        if book is None:
            return ()
        return tuple(book.own(side)._levels.get(price, ()))

    # ---------------------------------------------------------------- commands

    def submit(
        self,
        owner: str | None,
        cl_ord_id: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        qty: Decimal,
        price: Decimal | None,
        tif: TimeInForce,
    ) -> list[BookEvent]:
        """New order: Rejected, or Accepted followed by fills and possibly a Canceled remainder."""
        ord_type = OrdType(ord_type)
        order = SimOrder(
            order_id=self._new_order_id(),
            owner=owner,
            cl_ord_id=cl_ord_id,
            symbol=symbol,
            side=Side(side),
            ord_type=ord_type,
            price=None if ord_type is OrdType.MARKET or price is None else _to_decimal(price),
            qty=_to_decimal(qty),
            tif=TimeInForce(tif),
        )
        reason = self._new_order_problem(order)
        if reason is not None:
            order.status = OrdStatus.REJECTED
            return [Rejected(_snapshot(order), reason)]
        self._orders[order.order_id] = order
        self._by_cl_ord_id[(owner, cl_ord_id)] = order
        self._notional[order.order_id] = ZERO
        order.seq = self._new_seq()
        return [Accepted(_snapshot(order)), *self._execute(order)]

    def cancel(self, order_id: str, cl_ord_id: str, orig_cl_ord_id: str) -> list[BookEvent]:
        order, refusal = self._amendable(order_id, cl_ord_id, orig_cl_ord_id)
        if refusal is not None:
            return [refusal]
        assert order is not None
        self._books[order.symbol].own(order.side).remove(order)
        self._rename(order, cl_ord_id)
        return [self._finish_canceled(order, "cancel request")]

    def replace(
        self,
        order_id: str,
        cl_ord_id: str,
        orig_cl_ord_id: str,
        qty: Decimal,
        price: Decimal | None,
    ) -> list[BookEvent]:
        """Amend qty/price (price None keeps the current price); may trade at once if it now crosses."""
        order, refusal = self._amendable(order_id, cl_ord_id, orig_cl_ord_id)
        if refusal is not None:
            return [refusal]
        assert order is not None
        new_qty = _to_decimal(qty)
        new_price = order.price if price is None else _to_decimal(price)
        reason = self._replace_problem(order, new_qty, new_price)
        if reason is not None:
            return [CancelRejected(order.order_id, cl_ord_id, orig_cl_ord_id, reason, too_late=False)]

        # Only an in-place shrink keeps the queue position; anything else goes to the back.
        keeps_priority = new_price == order.price and new_qty <= order.qty
        side_book = self._books[order.symbol].own(order.side)
        if not keeps_priority:
            side_book.remove(order)
        order.qty = new_qty
        order.price = new_price
        self._rename(order, cl_ord_id)
        events: list[BookEvent] = [Replaced(_snapshot(order), orig_cl_ord_id)]
        if not keeps_priority:
            order.seq = self._new_seq()
            events += self._execute(order)
        return events

    def seed(self, symbol: str, mid: Decimal, tick: Decimal, levels: int, qty: Decimal) -> None:
        """Rest background GTC liquidity around `mid`; meant for an empty book at startup."""
        mid, tick, qty = _to_decimal(mid), _to_decimal(tick), _to_decimal(qty)
        if not _is_positive(tick) or levels < 0:
            raise ValueError("seed needs a positive tick and a non-negative level count")
        for i in range(1, levels + 1):
            for side, price in ((Side.BUY, mid - tick * i), (Side.SELL, mid + tick * i)):
                cl_ord_id = f"SEED-{self._prefix}{self._next_order + 1}"  # = the OrderID it gets
                self.submit(None, cl_ord_id, symbol, side, OrdType.LIMIT, qty, price, TimeInForce.GTC)

    def rest(
        self, owner: str | None, cl_ord_id: str, symbol: str, side: Side, qty: Decimal, price: Decimal
    ) -> SimOrder:
        """Put a GTC limit at the back of its level *without matching*; returns the live order.

        For replaying recorded books, which legitimately cross for a while (pre-open, an auction's
        packet): recorded orders must not trade with each other, the recording says how they traded.
        No duplicate-ClOrdID check, because recorded order ids may be reused.
        """
        order = SimOrder(
            order_id=self._new_order_id(),
            owner=owner,
            cl_ord_id=cl_ord_id,
            symbol=symbol,
            side=Side(side),
            ord_type=OrdType.LIMIT,
            price=_to_decimal(price),
            qty=_to_decimal(qty),
            tif=TimeInForce.GTC,
        )
        if not _is_positive(order.qty) or order.price is None or not _is_positive(order.price):
            raise ValueError(f"rest needs a positive price and quantity: {order.price} x {order.qty}")
        self._orders[order.order_id] = order
        self._by_cl_ord_id[(owner, cl_ord_id)] = order
        self._notional[order.order_id] = ZERO
        order.seq = self._new_seq()
        self._book(symbol).own(order.side).add(order)
        return order

    def set_leaves(self, order_id: str, leaves: Decimal) -> None:
        """Set a resting order's open quantity in place, keeping its queue position; no event.

        Zero takes it out of the book as CANCELED. For replayed orders whose size the recording
        changes; growing in place is the caller's decision (a venue would send a larger order to the
        back of its level, a replay may be correcting its own estimate).
        """
        order = self._orders[order_id]
        if order.status.is_terminal:
            raise ValueError(f"order {order_id} is {order.status.name.lower()}")
        leaves = _to_decimal(leaves)
        if leaves < 0:
            raise ValueError(f"set_leaves {leaves} is negative for order {order_id}")
        if leaves == 0:
            self._books[order.symbol].own(order.side).remove(order)
            order.status = OrdStatus.CANCELED
        else:
            order.qty = order.cum_qty + leaves

    def fill_resting(self, order_id: str, qty: Decimal, price: Decimal) -> Fill:
        """Execute a resting order against liquidity outside the book (a replayed trade or quote)."""
        order = self._orders[order_id]
        qty, price = _to_decimal(qty), _to_decimal(price)
        if order.status.is_terminal or not _is_positive(qty) or qty > order.leaves_qty:
            raise ValueError(f"cannot fill {qty} of order {order_id} ({order.leaves_qty} open)")
        self._apply_fill(order, qty, price)
        if order.leaves_qty == 0:
            self._books[order.symbol].own(order.side).remove(order)
        return Fill(_snapshot(order), qty, price, self._new_match_id())

    def expire_day_orders(self) -> list[BookEvent]:
        """End of day: cancel every resting DAY order; GTC orders survive."""
        events: list[BookEvent] = []
        for order in self._orders.values():
            if order.tif is TimeInForce.DAY and not order.status.is_terminal:
                self._books[order.symbol].own(order.side).remove(order)
                events.append(self._finish_canceled(order, "expired"))
        return events

    # ---------------------------------------------------------------- internals

    def _new_order_id(self) -> str:
        self._next_order += 1
        return f"{self._prefix}{self._next_order}"

    def _new_match_id(self) -> str:
        self._next_match += 1
        return f"{self._prefix}T{self._next_match}"

    def _new_seq(self) -> int:
        self._next_seq += 1
        return self._next_seq

    def _book(self, symbol: str) -> _SymbolBook:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _SymbolBook()
        return book

    def _new_order_problem(self, order: SimOrder) -> str | None:
        if not _is_positive(order.qty):
            return "invalid quantity"
        if order.ord_type is OrdType.LIMIT and (order.price is None or not _is_positive(order.price)):
            return "invalid price"
        if (order.owner, order.cl_ord_id) in self._by_cl_ord_id:
            return "duplicate ClOrdID"
        return None

    def _replace_problem(self, order: SimOrder, qty: Decimal, price: Decimal | None) -> str | None:
        if not _is_positive(qty):
            return "invalid quantity"
        if qty <= order.cum_qty:
            return "new quantity below cumulative quantity"
        if price is None or not _is_positive(price):
            return "invalid price"
        return None

    def _amendable(
        self, order_id: str, cl_ord_id: str, orig_cl_ord_id: str
    ) -> tuple[SimOrder | None, CancelRejected | None]:
        """The live order a cancel/replace may act on, or the CancelRejected to send instead."""
        order = self._orders.get(order_id)
        if order is None:
            return None, CancelRejected(None, cl_ord_id, orig_cl_ord_id, "unknown order", too_late=False)
        if order.status.is_terminal:
            reason = f"too late: order is {order.status.name.lower()}"
            return None, CancelRejected(order_id, cl_ord_id, orig_cl_ord_id, reason, too_late=True)
        if (order.owner, cl_ord_id) in self._by_cl_ord_id:
            return None, CancelRejected(order_id, cl_ord_id, orig_cl_ord_id, "duplicate ClOrdID", False)
        return order, None

    def _rename(self, order: SimOrder, cl_ord_id: str) -> None:
        """Adopt the request's ClOrdID; earlier ones stay indexed so find() follows the chain."""
        order.cl_ord_id = cl_ord_id
        self._by_cl_ord_id[(order.owner, cl_ord_id)] = order

    def _finish_canceled(self, order: SimOrder, reason: str) -> Canceled:
        order.status = OrdStatus.CANCELED
        return Canceled(_snapshot(order), reason)

    def _execute(self, order: SimOrder) -> list[BookEvent]:
        """Trade an accepted/re-priced order, then rest or cancel what is left per its TIF."""
        book = self._book(order.symbol)
        if order.tif is TimeInForce.FOK and not self._fully_fillable(book, order):
            return [self._finish_canceled(order, "FOK not fillable")]
        events = self._match(book, order)
        if order.leaves_qty == 0:
            return events
        if order.ord_type is OrdType.MARKET:
            events.append(self._finish_canceled(order, "market order remainder: no liquidity"))
        elif order.tif is TimeInForce.IOC:
            events.append(self._finish_canceled(order, "IOC remainder"))
        else:
            book.own(order.side).add(order)
        return events

    @staticmethod
    def _fully_fillable(book: _SymbolBook, order: SimOrder) -> bool:
        """FOK check done before any trade so an unfillable FOK leaves the book untouched."""
        return book.opposite(order.side).available(order.price, order.leaves_qty) >= order.leaves_qty

    def _match(self, book: _SymbolBook, aggressor: SimOrder) -> list[BookEvent]:
        events: list[BookEvent] = []
        opposite = book.opposite(aggressor.side)
        while aggressor.leaves_qty > 0:
            resting = opposite.head()
            if resting is None:
                break
            assert resting.price is not None
            if not opposite.crosses(resting.price, aggressor.price):
                break
            qty = min(aggressor.leaves_qty, resting.leaves_qty)
            price = resting.price
            if self._trade_price is not None:
                price = self._trade_price(aggressor, resting, price)
            match_id = self._new_match_id()
            self._apply_fill(aggressor, qty, price)
            self._apply_fill(resting, qty, price)
            if resting.leaves_qty == 0:
                opposite.remove(resting)
            events.append(Fill(_snapshot(aggressor), qty, price, match_id))
            events.append(Fill(_snapshot(resting), qty, price, match_id))
        return events

    def _apply_fill(self, order: SimOrder, qty: Decimal, price: Decimal) -> None:
        notional = _NOTIONAL_CONTEXT.add(
            self._notional[order.order_id], _NOTIONAL_CONTEXT.multiply(qty, price)
        )
        self._notional[order.order_id] = notional
        order.cum_qty += qty
        order.avg_px = _AVG_PX_CONTEXT.divide(notional, order.cum_qty)
        order.status = OrdStatus.FILLED if order.cum_qty >= order.qty else OrdStatus.PARTIALLY_FILLED
