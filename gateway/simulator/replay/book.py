"""A matching book that replays recorded market data around the gateway's own orders.

The recorded orders ("data orders", owner None) and the gateway's ("ours", owner = FIX session) rest
in one :class:`MatchingEngine`, so our orders get a real queue position among the recorded ones. The
data is the truth about everyone else; our orders are the only thing the recording never saw. Rules:

* **Data never trades with data.** Data orders are rested with :meth:`MatchingEngine.rest`, which
  does not match: the recording already says how they traded (its prints and its cancels/modifies),
  and recorded books do cross for a while (CME pre-open, an auction's packet).
* **Level 3 add/modify that crosses our order:** the new order walks our opposite side best first,
  FIFO, as the exchange would; data orders it meets on the way absorb its size without being touched
  (that trade is the recording's business), our orders are filled *at our price* for what is left.
  Whatever of the add our orders took is missing from the data order afterwards.
* **Prints (DataTrade) and queue position:** the print replays as an aggressor of ``qty`` at limit
  ``price`` against the resting side. Our orders at prices better than the print (the market traded
  through them) fill first, up to the print size: a buyer who paid more would have taken us first, but
  no more than he bought. At the print price the level is walked FIFO: data orders ahead of ours are
  consumed, ours fill only with what exceeds them. Prints without an aggressor (the opening auction)
  fill only our orders strictly through the price, on either side, and consume no data.
* **No double removal:** a print's consumption of a data order is *pending*: the recording removes the
  same size itself right after (in CME MBO every fill is followed by a C of the order or an M to its
  new size). A C first cancels pending size; an M's absolute size replaces the file's view outright
  (which also handles iceberg refills, where a print takes more than was shown and the M shows the
  next tranche). So the data book ends exactly where the file says (checked after every packet of the
  ESH4 session), while in between, and in streams without the follow-up, our position has already
  moved. What *our* trading took from a data order (our aggressive fills, or an add that filled ours)
  stays taken: its size in the book is the file's size less that, clamped at zero.
* **Level 2** (DataLevel, DataQuote): a level is one or more data orders. An increase rests a new data
  order of the difference behind everything at that price (our order that joined earlier is ahead of
  it); a decrease removes from the newest data orders first, i.e. cancels come from the back of the
  queue: level-2 data cannot say who cancelled, and this is the conservative choice for us (a shrinking
  level moves us up only once it shrinks below what was ahead of us). A level or quote crossing our
  resting order fills it at our price (the market moved through us), up to the level's size less
  what we already took from that level; what we took from a level is kept off it until the level
  empties (or a quote moves away from that price). A quote replaces the whole data book, removing the
  stale data first, so only ours can be crossed.
* **Impact:** our marketable orders walk the book (that is the slippage, and the liquidity they take
  stays gone as said above); an optional :class:`~gateway.simulator.models.ImpactModel` also worsens
  each of their fills against data liquidity by ``k_bps * (qty/adv)**alpha`` of the price, a temporary
  impact that does not move the book.

:meth:`ReplayBook.apply` and the order pass-throughs return only the events of non-data orders, the
ones a venue reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.simulator.book import BookEvent, Fill, MatchingEngine, SimOrder
from gateway.simulator.models import ImpactModel
from gateway.simulator.replay.events import (
    DataAdd,
    DataCancel,
    DataClear,
    DataLevel,
    DataModify,
    DataQuote,
    DataTrade,
    ReplayEvent,
)

ZERO = Decimal(0)


def _opposite(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


def _norm(side: Side) -> Side:
    """SELL_SHORT rests and trades as a sell."""
    return Side.BUY if side is Side.BUY else Side.SELL


def _better(side: Side, price: Decimal, than: Decimal) -> bool:
    """Whether ``price`` is strictly better than ``than`` for a resting order on ``side``."""
    return price > than if side is Side.BUY else price < than


def _crosses(resting_side: Side, resting_price: Decimal, limit: Decimal) -> bool:
    """Whether an incoming order at ``limit`` reaches a resting order at ``resting_price``."""
    return resting_price >= limit if resting_side is Side.BUY else resting_price <= limit


@dataclass(slots=True)
class _DataOrder:
    """A level-3 data order: the file's view next to the live engine order.

    Its open size in the book is ``file_qty - taken - pending``: what the file says, less what our
    trading took (kept off for good) and what replayed prints consumed that the file has not yet
    removed itself.
    """

    order: SimOrder | None  # None or terminal when nothing of it is left in the book
    side: Side
    price: Decimal
    file_qty: Decimal
    taken: Decimal = ZERO  # by our orders: our aggressive fills, or an add that filled ours
    pending: Decimal = ZERO  # by replayed prints, until the file's own C/M removes it

    @property
    def leaves(self) -> Decimal:
        return ZERO if self.order is None else self.order.leaves_qty

    @property
    def target(self) -> Decimal:
        return max(ZERO, self.file_qty - self.taken - self.pending)


class ReplayBook:
    """Recorded market data and the gateway's orders in one price-time book."""

    def __init__(self, order_id_prefix: str = "R", impact: ImpactModel | None = None) -> None:
        self._impact = impact
        self.engine = MatchingEngine(order_id_prefix, trade_price=self._trade_price if impact else None)
        self._l3: dict[tuple[str, str], _DataOrder] = {}  # (symbol, data order id) -> order
        self._l3_by_engine_id: dict[str, _DataOrder] = {}
        self._l2_deficit: dict[tuple[str, Side, Decimal], Decimal] = {}  # taken by us from a level
        self._ours: dict[str, dict[str, SimOrder]] = {}  # symbol -> our open resting orders by id
        self._last_trade: dict[str, Decimal] = {}
        self._l2_ids: set[str] = set()  # engine order ids of level-2 data orders
        self._next_level_id = 0

    # ----------------------------------------------------------------- queries

    def top_of_book(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        return self.engine.top_of_book(symbol)

    def depth(
        self, symbol: str, n: int = 5
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids, asks) best first as (price, size), data and ours together."""
        return self.engine.depth(symbol, n)

    def last_trade(self, symbol: str) -> Decimal | None:
        """Price of the latest print, recorded or ours."""
        return self._last_trade.get(symbol)

    def mid(self, symbol: str) -> Decimal | None:
        bid, ask = self.engine.top_of_book(symbol)
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    def get(self, order_id: str) -> SimOrder | None:
        return self.engine.get(order_id)

    def find(self, owner: str, cl_ord_id: str) -> SimOrder | None:
        return self.engine.find(owner, cl_ord_id)

    def orders(self, owner: str | None = None, open_only: bool = False) -> list[SimOrder]:
        """As :meth:`MatchingEngine.orders` (a venue's mass-status answer lists them)."""
        return self.engine.orders(owner, open_only)

    def data_depth(
        self, symbol: str, n: int = 5
    ) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """Like :meth:`depth` but data orders only: what the recording alone says the book is."""
        out = []
        for side in (Side.BUY, Side.SELL):
            levels: list[tuple[Decimal, Decimal]] = []
            for price in self.engine.prices(symbol, side):
                qty = sum(
                    (o.leaves_qty for o in self.engine.queue(symbol, side, price) if o.owner is None), ZERO
                )
                if qty:
                    levels.append((price, qty))
                    if len(levels) >= n:
                        break
            out.append(levels)
        return out[0], out[1]

    # -------------------------------------------------------------- our orders

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
        """Our new order; marketable ones walk the data book. Owner None is reserved for the data."""
        if owner is None:
            raise ValueError("owner None is the recorded data's; our orders need an owner")
        events = self.engine.submit(owner, cl_ord_id, symbol, side, ord_type, qty, price, tif)
        return self._ours_only(events)

    def cancel(self, order_id: str, cl_ord_id: str, orig_cl_ord_id: str) -> list[BookEvent]:
        order = self.engine.get(order_id)
        if order is not None and order.owner is None:
            return []  # never let a session touch recorded orders
        return self._ours_only(self.engine.cancel(order_id, cl_ord_id, orig_cl_ord_id))

    def replace(
        self, order_id: str, cl_ord_id: str, orig_cl_ord_id: str, qty: Decimal, price: Decimal | None
    ) -> list[BookEvent]:
        order = self.engine.get(order_id)
        if order is not None and order.owner is None:
            return []
        return self._ours_only(self.engine.replace(order_id, cl_ord_id, orig_cl_ord_id, qty, price))

    def expire_day_orders(self) -> list[BookEvent]:
        """End of day for our DAY orders; data orders are GTC and the recording decides their fate."""
        return self._ours_only(self.engine.expire_day_orders())

    def _ours_only(self, events: Iterable[BookEvent]) -> list[BookEvent]:
        """Drop data-order events, note prints and the level-2 liquidity we took, track our resting."""
        out: list[BookEvent] = []
        for e in events:
            order = getattr(e, "order", None)
            if order is None:  # CancelRejected
                out.append(e)
                continue
            if isinstance(e, Fill):
                self._last_trade[order.symbol] = e.price
            if order.owner is None:
                if isinstance(e, Fill):
                    rec = self._l3_by_engine_id.get(order.order_id)
                    if rec is not None:
                        rec.taken += e.qty
                    elif order.order_id in self._l2_ids:
                        key = (order.symbol, order.side, order.price)
                        self._l2_deficit[key] = self._l2_deficit.get(key, ZERO) + e.qty
                continue
            live = self.engine.get(order.order_id)
            mine = self._ours.setdefault(order.symbol, {})
            if live is not None and not live.status.is_terminal and live.ord_type is OrdType.LIMIT:
                mine[live.order_id] = live
            else:
                mine.pop(order.order_id, None)
            out.append(e)
        return out

    def _trade_price(self, aggressor: SimOrder, resting: SimOrder, price: Decimal) -> Decimal:
        """Engine hook: impact on our aggressive fills against data liquidity only."""
        if self._impact is None or aggressor.owner is None or resting.owner is not None:
            return price
        return self._impact.adjust(aggressor.side, price, aggressor.qty)

    # ------------------------------------------------------------- data events

    def apply(self, event: ReplayEvent) -> list[BookEvent]:
        """Apply one recorded event; returns the events of our orders it caused (fills, mostly)."""
        if isinstance(event, DataAdd):
            return self._add(event.symbol, event.order_id, event.side, event.price, event.qty)
        if isinstance(event, DataCancel):
            self._cancel(event)
            return []
        if isinstance(event, DataModify):
            return self._modify(event)
        if isinstance(event, DataTrade):
            return self._trade(event)
        if isinstance(event, DataLevel):
            return self._level(event.symbol, _norm(event.side), event.price, event.qty)
        if isinstance(event, DataQuote):
            return self._quote(event)
        if isinstance(event, DataClear):
            self._clear(event.symbol)
            return []
        raise TypeError(f"not a replay event: {event!r}")

    def apply_all(self, events: Iterable[ReplayEvent]) -> list[BookEvent]:
        out: list[BookEvent] = []
        for e in events:
            out += self.apply(e)
        return out

    # level 3

    def _add(self, symbol: str, oid: str, side: Side, price: Decimal, qty: Decimal) -> list[BookEvent]:
        side = _norm(side)
        old = self._l3.pop((symbol, oid), None)
        if old is not None:  # an id added twice: the first one is gone
            self._drop(old)
        rec = _DataOrder(None, side, price, qty)
        self._l3[(symbol, oid)] = rec
        return self._enter(symbol, oid, rec)

    def _enter(self, symbol: str, oid: str, rec: _DataOrder) -> list[BookEvent]:
        """Put ``rec`` at the back of its level, after letting it fill our crossing orders."""
        fills, filled = self._cross_ours(symbol, rec.side, rec.price, rec.target, data_shields=True)
        rec.taken += filled
        self._rest(symbol, oid, rec)
        return fills

    def _rest(self, symbol: str, oid: str, rec: _DataOrder) -> None:
        rec.order = None
        if rec.target > 0:
            rec.order = self.engine.rest(None, oid, symbol, rec.side, rec.target, rec.price)
            self._l3_by_engine_id[rec.order.order_id] = rec

    def _cancel(self, e: DataCancel) -> None:
        key = (e.symbol, e.order_id)
        rec = self._l3.get(key)
        if rec is None:
            return  # never seen (filtered, dropped by a perturbation, or before the replay began)
        if e.qty >= rec.file_qty:
            self._drop(rec)
            del self._l3[key]
            return
        rec.file_qty -= e.qty
        rec.pending = max(ZERO, rec.pending - e.qty)  # the file removing what a print consumed
        self._sync(e.symbol, e.order_id, rec)

    def _modify(self, e: DataModify) -> list[BookEvent]:
        rec = self._l3.get((e.symbol, e.order_id))
        side = _norm(e.side)
        if rec is None:
            return self._add(e.symbol, e.order_id, side, e.price, e.qty)
        keeps_priority = e.price == rec.price and side is rec.side and e.qty <= rec.file_qty
        # The file's absolute size supersedes what prints consumed (it also covers iceberg refills,
        # where a print takes more than was displayed and the M shows the next tranche).
        rec.file_qty, rec.pending = e.qty, ZERO
        if keeps_priority:
            self._sync(e.symbol, e.order_id, rec)
            return []
        self._drop(rec)
        rec.side, rec.price = side, e.price
        return self._enter(e.symbol, e.order_id, rec)

    def _sync(self, symbol: str, oid: str, rec: _DataOrder) -> None:
        """Bring the live order to ``rec.target`` in place (it keeps its queue position)."""
        if rec.leaves > 0:
            assert rec.order is not None
            self.engine.set_leaves(rec.order.order_id, rec.target)
            if rec.target == 0:
                del self._l3_by_engine_id[rec.order.order_id]
        elif rec.target > 0:  # a print consumed it all, the file says less was taken: back in at the end
            self._rest(symbol, oid, rec)

    def _drop(self, rec: _DataOrder) -> None:
        if rec.order is not None:
            self._l3_by_engine_id.pop(rec.order.order_id, None)
            if rec.leaves > 0:
                self.engine.set_leaves(rec.order.order_id, ZERO)
        rec.order = None

    def _trade(self, e: DataTrade) -> list[BookEvent]:
        self._last_trade[e.symbol] = e.price
        if e.aggressor is None:
            events: list[BookEvent] = []
            for side in (Side.BUY, Side.SELL):
                events += self._print(e.symbol, side, e.price, e.qty, at_price=False)
            return events
        return self._print(e.symbol, _opposite(_norm(e.aggressor)), e.price, e.qty, at_price=True)

    def _print(
        self, symbol: str, resting: Side, price: Decimal, qty: Decimal, at_price: bool
    ) -> list[BookEvent]:
        """Replay a print against ``resting``: through-price ours first, then the level FIFO."""
        events: list[BookEvent] = []
        remaining = qty
        for level_px in self.engine.prices(symbol, resting):
            if remaining <= 0:
                break
            through = _better(resting, level_px, price)
            if not through and not (at_price and level_px == price):
                break
            for o in self.engine.queue(symbol, resting, level_px):
                if remaining <= 0:
                    break
                take = min(remaining, o.leaves_qty)
                if o.owner is not None:
                    events.append(self.engine.fill_resting(o.order_id, take, o.price or level_px))
                    remaining -= take
                elif not through:
                    rec = self._l3_by_engine_id.get(o.order_id)
                    if rec is not None:
                        rec.pending += take
                        if take == o.leaves_qty:
                            del self._l3_by_engine_id[o.order_id]
                    self.engine.set_leaves(o.order_id, o.leaves_qty - take)
                    remaining -= take
        return self._ours_only(events)

    # level 2

    def _level(self, symbol: str, side: Side, price: Decimal, qty: Decimal) -> list[BookEvent]:
        key = (symbol, side, price)
        data = [o for o in self.engine.queue(symbol, side, price) if o.owner is None]
        if qty <= 0:
            for o in data:
                self.engine.set_leaves(o.order_id, ZERO)
                self._l2_ids.discard(o.order_id)
            self._l2_deficit.pop(key, None)
            return []
        fills: list[BookEvent] = []
        available = max(ZERO, qty - self._l2_deficit.get(key, ZERO))
        if available > 0:
            fills, taken = self._cross_ours(symbol, side, price, available, data_shields=False)
            if taken:
                self._l2_deficit[key] = self._l2_deficit.get(key, ZERO) + taken
                available -= taken
        current = sum((o.leaves_qty for o in data), ZERO)
        if available > current:
            self._next_level_id += 1
            rested = self.engine.rest(
                None, f"L{self._next_level_id}", symbol, side, available - current, price
            )
            self._l2_ids.add(rested.order_id)
        elif available < current:
            excess = current - available
            for o in reversed(data):  # cancels come off the back of the queue
                cut = min(excess, o.leaves_qty)
                if cut == o.leaves_qty:
                    self._l2_ids.discard(o.order_id)
                self.engine.set_leaves(o.order_id, o.leaves_qty - cut)
                excess -= cut
                if excess <= 0:
                    break
        return fills

    def _quote(self, e: DataQuote) -> list[BookEvent]:
        quoted = ((Side.BUY, e.bid, e.bid_qty), (Side.SELL, e.ask, e.ask_qty))
        for side, px, _ in quoted:  # stale data first, so a crossing quote meets only ours
            for level_px in self.engine.prices(e.symbol, side):
                if level_px != px:
                    self._level(e.symbol, side, level_px, ZERO)
            self._forget_deficits(e.symbol, side, keep=px)
        events: list[BookEvent] = []
        for side, px, qty in quoted:
            if px is not None:
                events += self._level(e.symbol, side, px, qty)
        return events

    def _clear(self, symbol: str) -> None:
        for key in [k for k in self._l3 if k[0] == symbol]:
            self._drop(self._l3.pop(key))
        for side in (Side.BUY, Side.SELL):
            for px in self.engine.prices(symbol, side):
                self._level(symbol, side, px, ZERO)
            self._forget_deficits(symbol, side, keep=None)

    def _forget_deficits(self, symbol: str, side: Side, keep: Decimal | None) -> None:
        """Levels the data no longer shows (even ones we emptied) start afresh when they return."""
        for key in [k for k in self._l2_deficit if k[0] == symbol and k[1] is side and k[2] != keep]:
            del self._l2_deficit[key]

    # crossing

    def _cross_ours(
        self, symbol: str, side: Side, price: Decimal, qty: Decimal, data_shields: bool
    ) -> tuple[list[BookEvent], Decimal]:
        """New data liquidity at ``price`` meets our opposite orders: fill them at their price.

        Returns our fill events and how much of ``qty`` they took. With ``data_shields`` (level 3)
        data orders ahead in price-time absorb the size first, untouched; level-2 data has no queue.
        """
        mine = self._ours.get(symbol)
        if not mine or qty <= 0:
            return [], ZERO
        resting = _opposite(side)
        if not any(
            o.side is resting or (resting is Side.SELL and o.side is not Side.BUY) for o in mine.values()
        ):
            return [], ZERO
        events: list[BookEvent] = []
        remaining = qty
        for level_px in self.engine.prices(symbol, resting):
            if remaining <= 0 or not _crosses(resting, level_px, price):
                break
            for o in self.engine.queue(symbol, resting, level_px):
                if remaining <= 0:
                    break
                take = min(remaining, o.leaves_qty)
                if o.owner is not None:
                    events.append(self.engine.fill_resting(o.order_id, take, level_px))
                    remaining -= take
                elif data_shields:
                    remaining -= take
        return self._ours_only(events), sum((e.qty for e in events if isinstance(e, Fill)), ZERO)
