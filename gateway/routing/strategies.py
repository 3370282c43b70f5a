"""Built-in routing strategies (issue #4), registered by name in :mod:`gateway.routing.registry`.

Each strategy is built once from its configured parameters, validated in ``__init__`` (a bad one
raises :class:`ParameterError`, a ``ValueError`` -- or :class:`ParameterTypeError`, also a
``TypeError`` -- naming the parameter), and then answers ``route(req, market, venues, now_ns)``
with child orders or a :class:`~gateway.routing.api.RouteReject`. Strategies are pure: no I/O, no
state between calls, deterministic for equal inputs, ties broken by venue name.

Rules every built-in keeps:

* a venue is used only if it is in ``venues``, not in ``req.exclude`` and
  :meth:`VenueInfo.usable` for the child's own order type and TIF (so a venue that is
  disconnected, has its breaker open, has no rate-limit headroom or does not take the child's
  OrdType/TIF never gets a child);
* only fresh books are read (``market.books(symbol)``; the view leaves stale books out);
* quantities are exact Decimals, never zero, summing to at most ``req.qty`` (exactly, except in
  ``sweep``: an IOC parent's unfilled remainder, or a remainder no venue can rest);
* "best price" is the displayed price on the opposite side after the venue's taker fee: a buy
  ranks venues by ``ask * (1 + taker_bps / 10000)`` (lower is better), a sell by
  ``bid * (1 - taker_bps / 10000)`` (higher is better). Whether a price is marketable at a limit
  is judged on the displayed price, since that is what the venue matches on.

``ex_destination`` is honoured by ``direct`` and ``primary``; the other strategies choose the venue
themselves (configure ``primary`` for clients whose ExDestination must win).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gateway.marketdata.api import Level, MarketView
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.plugins import ParameterError, ParameterTypeError, show
from gateway.routing.api import ChildSpec, RouteReject, RouteRequest, VenueInfo

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)

Result = list[ChildSpec] | RouteReject


# ------------------------------------------------------------------------------------- parameters


def _bool(param: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ParameterTypeError(param, f"expected true or false, got {show(value)}")
    return value


def _choice(param: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise ParameterTypeError(param, f"expected one of {', '.join(choices)}, got {show(value)}")
    if value not in choices:
        raise ParameterError(param, f"expected one of {', '.join(choices)}, got {show(value)}")
    return value


def _whole(param: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterTypeError(param, f"expected a whole number, got {show(value)}")
    if value < 0:
        raise ParameterError(param, f"must be >= 0, got {value}")
    return value


# ------------------------------------------------------------------------------------- venues


def unusable_reason(info: VenueInfo | None, ord_type: OrdType, tif: TimeInForce) -> str | None:
    """Why a venue cannot take a child of this type and TIF (None: it can)."""
    if info is None:
        return "unknown venue"
    if info.usable(ord_type, tif):
        return None
    if not info.connected:
        return "disconnected"
    if info.halted:
        return "trading halted (kill switch)"
    if info.breaker_open:
        return "circuit breaker open"
    if info.order_headroom is not None and info.order_headroom <= 0:
        return "rate limited"
    if ord_type not in info.order_types:
        return f"does not take OrdType {ord_type.name}"
    if tif not in info.tifs:
        return f"does not take TIF {tif.name}"
    return "not usable"  # VenueInfo.usable grew a condition this function does not know yet


def _venue_reason(
    venue: str, req: RouteRequest, venues: Mapping[str, VenueInfo], ord_type: OrdType, tif: TimeInForce
) -> str | None:
    if venue in req.exclude:
        return "excluded"
    return unusable_reason(venues.get(venue), ord_type, tif)


def _usable(
    venue: str, req: RouteRequest, venues: Mapping[str, VenueInfo], ord_type: OrdType, tif: TimeInForce
) -> bool:
    info = venues.get(venue)
    return info is not None and venue not in req.exclude and info.usable(ord_type, tif)


def _not_usable(
    venue: str, req: RouteRequest, venues: Mapping[str, VenueInfo], ord_type: OrdType, tif: TimeInForce
) -> RouteReject:
    reason = _venue_reason(venue, req, venues, ord_type, tif)
    return RouteReject(f"venue {venue} is not usable: {reason}")


def _none_usable(
    req: RouteRequest, venues: Mapping[str, VenueInfo], ord_type: OrdType, tif: TimeInForce
) -> RouteReject:
    """The reject when no venue at all can take the order, with each venue's reason."""
    reasons = ", ".join(f"{v} {_venue_reason(v, req, venues, ord_type, tif)}" for v in sorted(venues))
    return RouteReject(f"no usable venue for {req.symbol}" + (f": {reasons}" if reasons else ""))


def _check_request(req: RouteRequest) -> RouteReject | None:
    if req.qty <= 0:
        return RouteReject(f"nothing to route: quantity {req.qty}")
    if req.ord_type is OrdType.LIMIT and req.price is None:
        return RouteReject("limit order without a price")
    return None


def _child(
    req: RouteRequest, venue: str, qty: Decimal | None = None, tif: TimeInForce | None = None
) -> ChildSpec:
    return ChildSpec(
        venue=venue,
        qty=req.qty if qty is None else qty,
        price=req.price,
        ord_type=req.ord_type,
        tif=req.tif if tif is None else tif,
    )


# ------------------------------------------------------------------------------------- prices


def _fee_factor(info: VenueInfo, buy: bool) -> Decimal:
    bps = info.taker_bps
    if not bps:
        return ONE
    return ONE + bps / BPS if buy else ONE - bps / BPS


def _limit(req: RouteRequest) -> Decimal | None:
    """The price a child may trade at, or None for market orders (anything displayed)."""
    return req.price if req.ord_type is OrdType.LIMIT else None


def _marketable(price: Decimal, limit: Decimal | None, buy: bool) -> bool:
    if limit is None:
        return True
    return price <= limit if buy else price >= limit


def best_quoted_venue(
    req: RouteRequest,
    market: MarketView,
    venues: Mapping[str, VenueInfo],
    ord_type: OrdType,
    tif: TimeInForce,
) -> str | None:
    """The usable venue with the best fee-adjusted displayed price on the opposite side.

    Venues displaying a price marketable at the order's limit rank first; among the rest (a limit
    order that will rest wherever it goes) the best displayed price still wins. None when no usable
    venue has a fresh quote on that side.
    """
    buy = req.side is Side.BUY
    limit = _limit(req)
    best: tuple[bool, Decimal, str] | None = None
    for book in market.books(req.symbol):
        venue = book.venue
        levels = book.asks if buy else book.bids
        if not levels or not _usable(venue, req, venues, ord_type, tif):
            continue
        price = levels[0].price
        effective = price * _fee_factor(venues[venue], buy)
        key = (not _marketable(price, limit, buy), effective if buy else -effective, venue)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def fallback_venue(
    req: RouteRequest, venues: Mapping[str, VenueInfo], ord_type: OrdType, tif: TimeInForce
) -> str | None:
    """Without quotes: the primary venue if usable, else the first usable venue by name."""
    primary = req.primary_venue
    if primary is not None and _usable(primary, req, venues, ord_type, tif):
        return primary
    return next((v for v in sorted(venues) if _usable(v, req, venues, ord_type, tif)), None)


def _best_or_fallback(
    req: RouteRequest,
    market: MarketView,
    venues: Mapping[str, VenueInfo],
    ord_type: OrdType,
    tif: TimeInForce,
) -> str | None:
    venue = best_quoted_venue(req, market, venues, ord_type, tif)
    return venue if venue is not None else fallback_venue(req, venues, ord_type, tif)


# ------------------------------------------------------------------------------------- strategies


class Direct:
    """Route the whole order to the client's ExDestination; reject if it is missing or unusable."""

    name = "direct"

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> Result:
        if (bad := _check_request(req)) is not None:
            return bad
        venue = req.ex_destination
        if not venue:
            return RouteReject("no ExDestination")
        if not _usable(venue, req, venues, req.ord_type, req.tif):
            return _not_usable(venue, req, venues, req.ord_type, req.tif)
        return [_child(req, venue)]


class Primary:
    """Route to the ExDestination if given, else the instrument's primary venue.

    With ``fallback: true`` an unusable target is replaced by the best usable venue, chosen as
    :class:`BestPrice` does (fee-adjusted displayed price, else any usable venue by name);
    without it, or when no other venue is usable, the order is rejected.
    """

    name = "primary"

    def __init__(self, *, fallback: bool = False) -> None:
        self.fallback = _bool("fallback", fallback)

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> Result:
        if (bad := _check_request(req)) is not None:
            return bad
        target = req.ex_destination or req.primary_venue
        if target and _usable(target, req, venues, req.ord_type, req.tif):
            return [_child(req, target)]
        if self.fallback:
            venue = _best_or_fallback(req, market, venues, req.ord_type, req.tif)
            if venue is not None:
                return [_child(req, venue)]
        if not target:
            if self.fallback:
                return _none_usable(req, venues, req.ord_type, req.tif)
            return RouteReject(f"no ExDestination and no primary venue for {req.symbol}")
        reject = _not_usable(target, req, venues, req.ord_type, req.tif)
        if self.fallback:
            return RouteReject(f"{reject.text}; no other venue is usable")
        return reject


class BestPrice:
    """One child for the whole order at the venue with the best fee-adjusted displayed price.

    For a limit order, venues whose displayed price is marketable at the limit beat those whose
    is not. With no fresh quote at any usable venue: the primary venue if usable, else the first
    usable venue by name. The child keeps the order's price, type and TIF.
    """

    name = "best_price"

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> Result:
        if (bad := _check_request(req)) is not None:
            return bad
        venue = _best_or_fallback(req, market, venues, req.ord_type, req.tif)
        if venue is None:
            return _none_usable(req, venues, req.ord_type, req.tif)
        return [_child(req, venue)]


class Sweep:
    """Take displayed liquidity across venues in fee-adjusted price order, then rest the remainder.

    Levels of every usable venue are taken best first across venues (fee-adjusted price, ties by
    venue name), each venue only down to the order's limit (a market order takes everything
    displayed), until the quantity is covered. Each venue swept gets one IOC child for its summed
    quantity at the order's own price and type. What displayed liquidity cannot cover becomes one
    resting child with the order's TIF at the best venue (``rest_at: best``, ranked as
    :class:`BestPrice` ranks) or at the primary venue (``rest_at: primary``; if the primary is not
    usable, the best venue instead).

    * IOC parent: the remainder is not rested (children may sum to less than the order); with no
      marketable liquidity displayed anywhere the order is rejected.
    * FOK parent: the whole quantity goes as one FOK child to the single venue whose displayed
      liquidity within the limit covers it all (the cheapest after fees, if several); if none can,
      the order is rejected (a FOK cannot be split across venues).
    * No fresh quote at any usable venue: one child for the whole order with its own TIF at the
      primary venue if usable, else the first usable venue by name (the venue decides).
    * A venue that cannot take IOC children is not swept (it may still get the resting child). If
      no venue can take the remainder, the swept children alone are returned.
    """

    name = "sweep"

    def __init__(self, *, rest_at: str = "best") -> None:
        self.rest_at = _choice("rest_at", rest_at, ("best", "primary"))

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> Result:
        if (bad := _check_request(req)) is not None:
            return bad
        if req.tif is TimeInForce.FOK:
            return self._fill_or_kill(req, market, venues)
        buy = req.side is Side.BUY
        limit = _limit(req)
        ord_type = req.ord_type
        ioc = TimeInForce.IOC

        # k-way merge of the venues' levels (each side is best first), lazily, so only the levels
        # taken (plus one per venue) are priced.
        heap: list[tuple[Decimal, str, int, tuple[Level, ...], Decimal]] = []
        quoted = False
        for book in market.books(req.symbol):
            venue = book.venue
            levels = book.asks if buy else book.bids
            if not levels:
                continue
            info = venues.get(venue)
            if info is None or venue in req.exclude or not info.usable(ord_type, ioc):
                continue
            if any(entry[1] == venue for entry in heap):  # one book per venue; ignore duplicates
                continue
            quoted = True
            factor = _fee_factor(info, buy)
            price = levels[0].price * factor
            heap.append((price if buy else -price, venue, 0, levels, factor))
        heapq.heapify(heap)

        remaining = req.qty
        taken: dict[str, Decimal] = {}
        while heap and remaining > 0:
            _, venue, index, levels, factor = heapq.heappop(heap)
            level = levels[index]
            if not _marketable(level.price, limit, buy):
                continue  # this venue has nothing more within the limit
            if level.qty > 0:
                qty = level.qty if level.qty < remaining else remaining
                taken[venue] = taken.get(venue, ZERO) + qty
                remaining -= qty
            index += 1
            if index < len(levels):
                price = levels[index].price * factor
                heapq.heappush(heap, (price if buy else -price, venue, index, levels, factor))

        children = [
            ChildSpec(venue=venue, qty=qty, price=req.price, ord_type=ord_type, tif=ioc)
            for venue, qty in taken.items()
        ]
        if remaining <= 0:
            return children
        if req.tif is ioc:
            if children:
                return children
            if quoted:
                shown = "at or better than " + str(limit) if limit is not None else "displayed"
                return RouteReject(f"IOC order: no liquidity {shown} at any usable venue for {req.symbol}")
            # no market data at any venue that takes IOC: let a venue decide
            venue = fallback_venue(req, venues, ord_type, req.tif)
            if venue is None:
                return _none_usable(req, venues, ord_type, req.tif)
            return [_child(req, venue)]
        venue = self._rest_venue(req, market, venues)
        if venue is not None:
            children.append(_child(req, venue, remaining))
        elif not children:
            return _none_usable(req, venues, ord_type, req.tif)
        return children

    def _rest_venue(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo]
    ) -> str | None:
        if self.rest_at == "primary":
            primary = req.primary_venue
            if primary is not None and _usable(primary, req, venues, req.ord_type, req.tif):
                return primary
        return _best_or_fallback(req, market, venues, req.ord_type, req.tif)

    def _fill_or_kill(self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo]) -> Result:
        buy = req.side is Side.BUY
        limit = _limit(req)
        fok = TimeInForce.FOK
        best: tuple[Decimal, str] | None = None
        quoted = False
        for book in market.books(req.symbol):
            venue = book.venue
            levels = book.asks if buy else book.bids
            if not levels or not _usable(venue, req, venues, req.ord_type, fok):
                continue
            quoted = True
            remaining = req.qty
            notional = ZERO
            for level in levels:
                if remaining <= 0 or not _marketable(level.price, limit, buy):
                    break
                qty = min(level.qty, remaining)
                if qty > 0:
                    notional += qty * level.price
                    remaining -= qty
            if remaining > 0:
                continue
            cost = notional * _fee_factor(venues[venue], buy)
            key = (cost if buy else -cost, venue)
            if best is None or key < best:
                best = key
        if best is not None:
            return [_child(req, best[1])]
        if quoted:
            shown = "at or better than " + str(limit) if limit is not None else "displayed"
            return RouteReject(f"FOK order: no single usable venue shows {req.qty} {shown} for {req.symbol}")
        venue = fallback_venue(req, venues, req.ord_type, fok)
        if venue is None:
            return _none_usable(req, venues, req.ord_type, fok)
        return [_child(req, venue)]


class FillRate:
    """One child for the whole order at the usable venue that has filled best for this gateway.

    Venues with an observed ``fill_ratio`` rank by it (higher first), ties by lower
    ``ack_latency_us`` (a venue without a latency figure after those with one), then by name.
    When no usable venue has been observed the choice is :class:`BestPrice`'s.

    ``min_orders``: a venue's fill ratio counts only once this gateway has sent it that many
    child orders (``VenueInfo.orders_sent``); before that it ranks as unobserved.
    """

    name = "fill_rate"

    def __init__(self, *, min_orders: int = 0) -> None:
        self.min_orders = _whole("min_orders", min_orders)

    def route(
        self, req: RouteRequest, market: MarketView, venues: Mapping[str, VenueInfo], now_ns: int
    ) -> Result:
        if (bad := _check_request(req)) is not None:
            return bad
        best: tuple[float, bool, float, str] | None = None
        for venue, info in venues.items():
            ratio = info.fill_ratio
            if ratio is None or ratio != ratio or info.orders_sent < self.min_orders:  # unobserved (enough)
                continue
            if venue in req.exclude or not info.usable(req.ord_type, req.tif):
                continue
            latency = info.ack_latency_us
            no_latency = latency is None or latency != latency
            key = (-ratio, no_latency, 0.0 if no_latency else latency, venue)
            if best is None or key < best:
                best = key
        if best is not None:
            return [_child(req, best[3])]
        venue = _best_or_fallback(req, market, venues, req.ord_type, req.tif)
        if venue is None:
            return _none_usable(req, venues, req.ord_type, req.tif)
        return [_child(req, venue)]
