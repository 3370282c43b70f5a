"""The normalised market-data model: per venue and symbol, top-N price levels and the last trade.

:class:`MarketData` implements :class:`~gateway.marketdata.api.MarketView` for routing and risk
and is fed by the venue sessions: :meth:`MarketData.apply` takes the
:class:`~gateway.codec.marketdata.MDUpdate` list the codec decoded from a W or an X,
:meth:`MarketData.snapshot` replaces one book directly, :meth:`MarketData.venue_down` marks a
disconnected venue's books stale.

Levels are keyed by price (the codec's price-level encoding): NEW and CHANGE set a level's size
(a CHANGE for an unknown price adds it, a size of zero or less deletes it), DELETE removes the
price. Each side keeps only the venue's top N levels (``depth``, default 5): a new level worse
than the N-th is ignored, a better one pushes the N-th out. A run of SNAPSHOT updates replaces
the symbol's levels (the last trade is kept when the snapshot has none).

A book is stale when it was not updated for longer than the venue's ``stale_after_ns`` (default
2 s), or when its venue went down and no data arrived for it since. Staleness by time is judged
when the book is read, with ``clock`` (default ``time.time_ns``, the gateway's clock); the
``now_ns`` given to :meth:`apply` must come from the same clock. Stale books are left out of
everything but :meth:`book`.

``on_change(symbol)`` is called after each apply/snapshot that touched the symbol, after
:meth:`venue_down` for each of the venue's symbols and from :meth:`check_stale` for books that
went stale by time, so the caller can hand new reference prices to risk.

Single-threaded: call it from the engine loop thread only.
"""

from __future__ import annotations

import time
from bisect import insort
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from gateway.codec.marketdata import MDAction, MDSide, MDUpdate
from gateway.marketdata.api import Level, VenueBook

DEFAULT_DEPTH = 5
DEFAULT_STALE_AFTER_NS = 2_000_000_000

_BID = MDSide.BID
_ASK = MDSide.ASK
_TRADE = MDSide.TRADE
_DELETE = MDAction.DELETE
_SNAPSHOT = MDAction.SNAPSHOT
_ZERO = Decimal(0)

LevelLike = Level | tuple[Decimal, Decimal]


class _Book:
    """One venue's book for one symbol. Prices ascending on both sides: best bid last, best ask first."""

    __slots__ = (
        "ask_qty",
        "asks",
        "bid_qty",
        "bids",
        "depth",
        "down",
        "last_ns",
        "last_price",
        "last_qty",
        "levels",
        "stale_after_ns",
        "stale_notified",
        "symbol",
        "updated_ns",
        "venue",
    )

    def __init__(self, venue: str, symbol: str, depth: int, stale_after_ns: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.depth = depth
        self.stale_after_ns = stale_after_ns
        self.bids: list[Decimal] = []
        self.asks: list[Decimal] = []
        self.bid_qty: dict[Decimal, Decimal] = {}
        self.ask_qty: dict[Decimal, Decimal] = {}
        self.last_price: Decimal | None = None
        self.last_qty: Decimal | None = None
        self.last_ns = 0
        self.updated_ns = 0
        self.down = False
        self.stale_notified = False
        self.levels: tuple[tuple[Level, ...], tuple[Level, ...]] | None = None  # cached view

    def clear_levels(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.bid_qty.clear()
        self.ask_qty.clear()

    def set_bid(self, price: Decimal, qty: Decimal) -> None:
        book = self.bid_qty
        if price in book:
            book[price] = qty
            return
        prices = self.bids
        if len(prices) >= self.depth:
            if not prices or price <= prices[0]:
                return  # outside the top N
            del book[prices.pop(0)]
        insort(prices, price)
        book[price] = qty

    def set_ask(self, price: Decimal, qty: Decimal) -> None:
        book = self.ask_qty
        if price in book:
            book[price] = qty
            return
        prices = self.asks
        if len(prices) >= self.depth:
            if not prices or price >= prices[-1]:
                return
            del book[prices.pop()]
        insort(prices, price)
        book[price] = qty

    def delete(self, prices: list[Decimal], book: dict[Decimal, Decimal], price: Decimal) -> None:
        if book.pop(price, None) is not None:
            prices.remove(price)

    def trim(self) -> None:
        """After a depth change: drop what is beyond the top N."""
        while len(self.bids) > self.depth:
            del self.bid_qty[self.bids.pop(0)]
        while len(self.asks) > self.depth:
            del self.ask_qty[self.asks.pop()]

    def is_stale(self, now_ns: int) -> bool:
        return self.down or now_ns - self.updated_ns > self.stale_after_ns

    def view(self, now_ns: int) -> VenueBook:
        levels = self.levels
        if levels is None:
            bq, aq = self.bid_qty, self.ask_qty
            levels = self.levels = (
                tuple(Level(p, bq[p]) for p in reversed(self.bids)),
                tuple(Level(p, aq[p]) for p in self.asks),
            )
        return VenueBook(
            self.venue,
            self.symbol,
            levels[0],
            levels[1],
            self.last_price,
            self.last_qty,
            self.updated_ns,
            self.is_stale(now_ns),
        )


class MarketData:
    """Per (venue, symbol) books; implements :class:`~gateway.marketdata.api.MarketView`."""

    def __init__(
        self,
        depth: Mapping[str, int] | None = None,
        stale_after_ns: Mapping[str, int] | None = None,
        *,
        default_depth: int = DEFAULT_DEPTH,
        default_stale_after_ns: int = DEFAULT_STALE_AFTER_NS,
        clock: Callable[[], int] = time.time_ns,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        """``depth`` and ``stale_after_ns`` are per venue; venues not named get the defaults."""
        if default_depth < 1:
            raise ValueError(f"depth must be at least 1, got {default_depth}")
        self.default_depth = default_depth
        self.default_stale_after_ns = default_stale_after_ns
        self.clock = clock
        self.on_change = on_change
        self._books: dict[tuple[str, str], _Book] = {}
        self._by_symbol: dict[str, list[_Book]] = {}  # sorted by venue name
        self._by_venue: dict[str, list[_Book]] = {}
        self._depth: dict[str, int] = {}
        self._stale_after: dict[str, int] = {}
        for venue, n in (depth or {}).items():
            self.configure_venue(venue, depth=n)
        for venue, ns in (stale_after_ns or {}).items():
            self.configure_venue(venue, stale_after_ns=ns)

    # ------------------------------------------------------------ configuration

    def configure_venue(
        self, venue: str, depth: int | None = None, stale_after_ns: int | None = None
    ) -> None:
        """Set a venue's top-N depth and/or staleness limit; applies to its existing books too."""
        if depth is not None:
            if depth < 1:
                raise ValueError(f"{venue}: depth must be at least 1, got {depth}")
            self._depth[venue] = depth
        if stale_after_ns is not None:
            if stale_after_ns < 0:
                raise ValueError(f"{venue}: stale_after_ns must not be negative")
            self._stale_after[venue] = stale_after_ns
        for b in self._by_venue.get(venue, ()):
            if depth is not None:
                b.depth = depth
                b.trim()
                b.levels = None
            if stale_after_ns is not None:
                b.stale_after_ns = stale_after_ns

    def depth_of(self, venue: str) -> int:
        return self._depth.get(venue, self.default_depth)

    def stale_after_of(self, venue: str) -> int:
        return self._stale_after.get(venue, self.default_stale_after_ns)

    # ------------------------------------------------------------ updates

    def _new_book(self, venue: str, symbol: str) -> _Book:
        b = _Book(venue, symbol, self.depth_of(venue), self.stale_after_of(venue))
        self._books[(venue, symbol)] = b
        peers = self._by_symbol.setdefault(symbol, [])
        peers.append(b)
        peers.sort(key=lambda x: x.venue)
        self._by_venue.setdefault(venue, []).append(b)
        return b

    def apply(self, venue: str, updates: Iterable[MDUpdate], now_ns: int) -> None:
        """Apply one decoded W or X from ``venue`` (see the module doc for the rules)."""
        books = self._books
        touched: list[_Book] = []
        b: _Book | None = None
        reset: set[str] | None = None
        for u in updates:
            symbol = u.symbol
            if b is None or b.symbol != symbol:
                b = books.get((venue, symbol))
                if b is None:
                    b = self._new_book(venue, symbol)
                if b not in touched:
                    touched.append(b)
            side = u.side
            action = u.action
            if action is _SNAPSHOT:
                if reset is None:
                    reset = set()
                if symbol not in reset:
                    reset.add(symbol)
                    b.clear_levels()
                if side is None:
                    continue
            if side is _TRADE:
                b.last_price = u.price
                b.last_qty = u.qty
                b.last_ns = now_ns
                continue
            price = u.price
            qty = u.qty
            if action is _DELETE or qty is None or qty <= _ZERO:
                if side is _BID:
                    b.delete(b.bids, b.bid_qty, price)  # type: ignore[arg-type]
                else:
                    b.delete(b.asks, b.ask_qty, price)  # type: ignore[arg-type]
            elif side is _BID:
                b.set_bid(price, qty)  # type: ignore[arg-type]
            else:
                b.set_ask(price, qty)  # type: ignore[arg-type]
        for tb in touched:
            tb.updated_ns = now_ns
            tb.down = False
            tb.stale_notified = False
            tb.levels = None
        if self.on_change is not None:
            for tb in touched:
                self.on_change(tb.symbol)

    def snapshot(
        self,
        venue: str,
        symbol: str,
        bids: Iterable[LevelLike],
        asks: Iterable[LevelLike],
        last: tuple[Decimal, Decimal] | None,
        now_ns: int,
    ) -> None:
        """Replace the venue's book for ``symbol``; ``last`` None keeps the last trade already known."""
        b = self._books.get((venue, symbol)) or self._new_book(venue, symbol)
        b.clear_levels()
        for lv in bids:
            price, qty = (lv.price, lv.qty) if isinstance(lv, Level) else lv
            if qty > _ZERO:
                b.set_bid(price, qty)
        for lv in asks:
            price, qty = (lv.price, lv.qty) if isinstance(lv, Level) else lv
            if qty > _ZERO:
                b.set_ask(price, qty)
        if last is not None:
            b.last_price, b.last_qty = last
            b.last_ns = now_ns
        b.updated_ns = now_ns
        b.down = False
        b.stale_notified = False
        b.levels = None
        if self.on_change is not None:
            self.on_change(symbol)

    def venue_down(self, venue: str) -> None:
        """The venue disconnected: its books are stale until new data arrives for each."""
        symbols = []
        for b in self._by_venue.get(venue, ()):
            if not b.down:
                b.down = True
                symbols.append(b.symbol)
        if self.on_change is not None:
            for symbol in symbols:
                self.on_change(symbol)

    def check_stale(self, now_ns: int | None = None) -> list[str]:
        """Symbols with a book that went stale by time since the last call (``on_change`` is called
        for each); meant for the engine loop's tick."""
        now = self.clock() if now_ns is None else now_ns
        symbols: list[str] = []
        for b in self._books.values():
            if not b.stale_notified and not b.down and now - b.updated_ns > b.stale_after_ns:
                b.stale_notified = True
                if b.symbol not in symbols:
                    symbols.append(b.symbol)
        if self.on_change is not None:
            for symbol in symbols:
                self.on_change(symbol)
        return symbols

    # ------------------------------------------------------------ MarketView

    def book(self, venue: str, symbol: str) -> VenueBook | None:
        b = self._books.get((venue, symbol))
        return None if b is None else b.view(self.clock())

    def books(self, symbol: str) -> list[VenueBook]:
        now = self.clock()
        return [b.view(now) for b in self._by_symbol.get(symbol, ()) if not b.is_stale(now)]

    def _fresh(self, symbol: str) -> list[_Book]:
        now = self.clock()
        return [b for b in self._by_symbol.get(symbol, ()) if not b.is_stale(now)]

    def best_bid(self, symbol: str) -> tuple[Level, str] | None:
        """Highest fresh bid; ties go to the larger size, then the venue first by name."""
        best: _Book | None = None
        best_px = best_qty = _ZERO
        for b in self._fresh(symbol):
            if b.bids:
                px = b.bids[-1]
                qty = b.bid_qty[px]
                if best is None or px > best_px or (px == best_px and qty > best_qty):
                    best, best_px, best_qty = b, px, qty
        return None if best is None else (Level(best_px, best_qty), best.venue)

    def best_ask(self, symbol: str) -> tuple[Level, str] | None:
        """Lowest fresh ask; ties go to the larger size, then the venue first by name."""
        best: _Book | None = None
        best_px = best_qty = _ZERO
        for b in self._fresh(symbol):
            if b.asks:
                px = b.asks[0]
                qty = b.ask_qty[px]
                if best is None or px < best_px or (px == best_px and qty > best_qty):
                    best, best_px, best_qty = b, px, qty
        return None if best is None else (Level(best_px, best_qty), best.venue)

    def depth(self, symbol: str, levels: int = DEFAULT_DEPTH) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """(bids, asks) aggregated across fresh books: size summed per price, best first, ``levels`` each."""
        bid_sum: dict[Decimal, Decimal] = {}
        ask_sum: dict[Decimal, Decimal] = {}
        for b in self._fresh(symbol):
            for px, qty in b.bid_qty.items():
                bid_sum[px] = bid_sum.get(px, _ZERO) + qty
            for px, qty in b.ask_qty.items():
                ask_sum[px] = ask_sum.get(px, _ZERO) + qty
        bids = sorted(bid_sum, reverse=True)[:levels]
        asks = sorted(ask_sum)[:levels]
        return tuple(Level(p, bid_sum[p]) for p in bids), tuple(Level(p, ask_sum[p]) for p in asks)

    def mid(self, symbol: str) -> Decimal | None:
        """Consolidated mid (best fresh bid and ask, possibly from different venues)."""
        bid, ask = self.best_bid(symbol), self.best_ask(symbol)
        if bid is None or ask is None:
            return None
        return (bid[0].price + ask[0].price) / 2

    def reference_price(self, symbol: str) -> Decimal | None:
        """The most recent last trade on a fresh book, else the consolidated mid, else None."""
        latest: _Book | None = None
        for b in self._fresh(symbol):
            if b.last_price is not None and (latest is None or b.last_ns > latest.last_ns):
                latest = b
        if latest is not None:
            return latest.last_price
        return self.mid(symbol)

    def symbols(self) -> list[str]:
        """Every symbol some venue has published, fresh or not."""
        return list(self._by_symbol)
