"""Unit tests for the built-in routing strategies, the strategy registry and the routing bench."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest

from gateway.marketdata.api import Level, VenueBook
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.routing import bench
from gateway.routing.api import ChildSpec, RouteReject, RouteRequest, RoutingStrategy, VenueInfo
from gateway.routing.registry import BUILTIN_STRATEGIES, RoutingConfigError, build_strategy
from gateway.routing.strategies import BestPrice, Direct, FillRate, Primary, Sweep

D = Decimal
SYM = "ACME"
NOW = 1_700_000_000_000_000_000
DAY, IOC, FOK, GTC = TimeInForce.DAY, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.GTC
LIMIT, MARKET = OrdType.LIMIT, OrdType.MARKET


# ------------------------------------------------------------------------------------- fixtures


class FakeMarket:
    """A MarketView over fixed books; like the real one, stale books are left out of books()/best_*."""

    def __init__(self, *books: VenueBook) -> None:
        self.all = list(books)

    def book(self, venue: str, symbol: str) -> VenueBook | None:
        return next((b for b in self.all if b.venue == venue and b.symbol == symbol), None)

    def books(self, symbol: str) -> list[VenueBook]:
        return [b for b in self.all if b.symbol == symbol and not b.stale]

    def best_bid(self, symbol: str) -> tuple[Level, str] | None:
        quotes = [(b.bids[0], b.venue) for b in self.books(symbol) if b.bids]
        return max(quotes, key=lambda q: q[0].price, default=None)

    def best_ask(self, symbol: str) -> tuple[Level, str] | None:
        quotes = [(b.asks[0], b.venue) for b in self.books(symbol) if b.asks]
        return min(quotes, key=lambda q: q[0].price, default=None)

    def reference_price(self, symbol: str) -> Decimal | None:
        return None


def book(
    venue: str,
    asks: list[tuple[str, str | int]] = (),
    bids: list[tuple[str, str | int]] = (),
    stale: bool = False,
    symbol: str = SYM,
) -> VenueBook:
    return VenueBook(
        venue=venue,
        symbol=symbol,
        bids=tuple(Level(D(p), D(q)) for p, q in bids),
        asks=tuple(Level(D(p), D(q)) for p, q in asks),
        last_price=None,
        last_qty=None,
        updated_ns=NOW,
        stale=stale,
    )


def venue(name: str, **kw: Any) -> VenueInfo:
    kw.setdefault("connected", True)
    if "taker_bps" in kw:
        kw["taker_bps"] = D(kw["taker_bps"])
    return VenueInfo(name=name, **kw)


def venues(*infos: VenueInfo) -> dict[str, VenueInfo]:
    return {v.name: v for v in infos}


def three(**overrides: dict[str, Any]) -> dict[str, VenueInfo]:
    """XA, XB, XC all usable; ``XB={"taker_bps": 2}`` overrides one venue's fields."""
    return venues(*(venue(n, **overrides.get(n, {})) for n in ("XA", "XB", "XC")))


def req(
    side: Side = Side.BUY,
    qty: str | int = 100,
    price: str | None = None,
    tif: TimeInForce = DAY,
    ex: str | None = None,
    primary: str | None = None,
    exclude: tuple[str, ...] = (),
    ord_type: OrdType | None = None,
) -> RouteRequest:
    return RouteRequest(
        client="C1",
        symbol=SYM,
        side=side,
        ord_type=ord_type or (MARKET if price is None else LIMIT),
        qty=D(qty),
        price=None if price is None else D(price),
        tif=tif,
        ex_destination=ex,
        primary_venue=primary,
        exclude=frozenset(exclude),
    )


def child(venue: str, qty: str | int, price: str | None, tif: TimeInForce = DAY, ord_type=None) -> ChildSpec:
    return ChildSpec(
        venue=venue,
        qty=D(qty),
        price=None if price is None else D(price),
        ord_type=ord_type or (MARKET if price is None else LIMIT),
        tif=tif,
    )


def route(strategy: RoutingStrategy, r: RouteRequest, market: FakeMarket, vs: Mapping[str, VenueInfo]):
    result = strategy.route(r, market, vs, NOW)
    if isinstance(result, list):
        assert all(c.qty > 0 for c in result), result
        assert sum(c.qty for c in result) <= r.qty, result
        assert all(vs[c.venue].usable(c.ord_type, c.tif) for c in result), result
        assert not {c.venue for c in result} & r.exclude, result
    return result


def venues_of(result) -> list[str]:
    assert isinstance(result, list), result
    return [c.venue for c in result]


def reject_text(result) -> str:
    assert isinstance(result, RouteReject), result
    return result.text


#: Each way a venue can be unusable for a DAY limit order, and the reason the reject names.
UNUSABLE = [
    pytest.param({"connected": False}, "disconnected", id="disconnected"),
    pytest.param({"breaker_open": True}, "circuit breaker open", id="breaker"),
    pytest.param({"order_headroom": 0}, "rate limited", id="no-headroom"),
    pytest.param({"order_types": frozenset({MARKET})}, "does not take OrdType LIMIT", id="ordtype"),
    pytest.param({"tifs": frozenset({IOC, FOK})}, "does not take TIF DAY", id="tif"),
]

# The sweep market (no fees): 1400 shown within 100.02 (XA 500, XB 500, XC 400), 2000 in all.
SWEEP_BOOKS = (
    book("XA", asks=[("100.00", 200), ("100.01", 300), ("100.03", 500)], bids=[("99.98", 100)]),
    book("XB", asks=[("99.99", 100), ("100.02", 400)], bids=[("99.97", 100)]),
    book("XC", asks=[("100.01", 150), ("100.02", 250), ("100.05", 100)], bids=[("99.99", 100)]),
)


def sweep_market() -> FakeMarket:
    return FakeMarket(*SWEEP_BOOKS)


# ------------------------------------------------------------------------------------- direct


def test_direct_routes_the_whole_order_to_the_ex_destination():
    market = FakeMarket(book("XA", asks=[("101", 10)]), book("XB", asks=[("100", 10)]))
    result = route(Direct(), req(qty="12.5", price="101", ex="XA", tif=GTC), market, three())
    assert result == [child("XA", "12.5", "101", GTC)]


def test_direct_without_ex_destination_rejects():
    assert (
        reject_text(route(Direct(), req(price="1", primary="XA"), sweep_market(), three()))
        == "no ExDestination"
    )


@pytest.mark.parametrize(("fields", "reason"), UNUSABLE)
def test_direct_rejects_an_unusable_venue_naming_the_reason(fields, reason):
    result = route(Direct(), req(price="100", ex="XB"), sweep_market(), three(XB=fields))
    assert reject_text(result) == f"venue XB is not usable: {reason}"


def test_direct_rejects_an_excluded_or_unknown_venue():
    market = sweep_market()
    assert reject_text(route(Direct(), req(price="1", ex="XB", exclude=("XB",)), market, three())) == (
        "venue XB is not usable: excluded"
    )
    assert reject_text(route(Direct(), req(price="1", ex="XZ"), market, three())) == (
        "venue XZ is not usable: unknown venue"
    )


def test_direct_takes_a_venue_with_headroom_left():
    result = route(Direct(), req(price="1", ex="XA"), sweep_market(), three(XA={"order_headroom": 1}))
    assert venues_of(result) == ["XA"]


def test_direct_checks_the_order_type_and_tif_of_the_order():
    vs = three(XA={"order_types": frozenset({LIMIT}), "tifs": frozenset({DAY, IOC})})
    assert venues_of(route(Direct(), req(price="1", ex="XA", tif=IOC), sweep_market(), vs)) == ["XA"]
    assert reject_text(route(Direct(), req(ex="XA"), sweep_market(), vs)) == (
        "venue XA is not usable: does not take OrdType MARKET"
    )
    assert reject_text(route(Direct(), req(price="1", ex="XA", tif=GTC), sweep_market(), vs)) == (
        "venue XA is not usable: does not take TIF GTC"
    )


@pytest.mark.parametrize(
    "strategy", [Direct(), Primary(), BestPrice(), Sweep(), FillRate()], ids=lambda s: s.name
)
def test_nothing_to_route_and_a_limit_without_price_are_rejected(strategy):
    market = sweep_market()
    assert "nothing to route" in reject_text(
        route(strategy, req(qty=0, price="100", ex="XA", primary="XA"), market, three())
    )
    bad = req(price=None, ord_type=LIMIT, ex="XA", primary="XA")
    assert reject_text(route(strategy, bad, market, three())) == "limit order without a price"


# ------------------------------------------------------------------------------------- primary


def test_primary_prefers_ex_destination_then_primary_venue():
    market = sweep_market()
    assert route(Primary(), req(price="100", ex="XC", primary="XA"), market, three()) == [
        child("XC", 100, "100")
    ]
    assert route(Primary(), req(price="100", primary="XA"), market, three()) == [child("XA", 100, "100")]


def test_primary_without_any_target_rejects():
    assert reject_text(route(Primary(), req(price="100"), sweep_market(), three())) == (
        "no ExDestination and no primary venue for ACME"
    )


@pytest.mark.parametrize(("fields", "reason"), UNUSABLE)
def test_primary_without_fallback_rejects_an_unusable_primary(fields, reason):
    result = route(Primary(), req(price="100.05", primary="XA"), sweep_market(), three(XA=fields))
    assert reject_text(result) == f"venue XA is not usable: {reason}"


@pytest.mark.parametrize(("fields", "reason"), UNUSABLE)
def test_primary_with_fallback_goes_to_the_best_usable_venue(fields, reason):
    # XB shows the best ask (99.99); XA, the primary, is unusable
    result = route(
        Primary(fallback=True), req(price="100.05", primary="XA"), sweep_market(), three(XA=fields)
    )
    assert result == [child("XB", 100, "100.05")]


def test_primary_fallback_honours_exclude_and_a_rejected_ex_destination():
    r = req(price="100.05", ex="XB", primary="XB", exclude=("XB",))
    assert reject_text(route(Primary(), r, sweep_market(), three())) == "venue XB is not usable: excluded"
    assert venues_of(route(Primary(fallback=True), r, sweep_market(), three())) == ["XA"]  # next best ask


def test_primary_fallback_without_quotes_takes_the_first_usable_venue_by_name():
    vs = three(XA={"connected": False})
    assert venues_of(route(Primary(fallback=True), req(price="1", primary="XA"), FakeMarket(), vs)) == ["XB"]
    no_target = route(Primary(fallback=True), req(price="1"), FakeMarket(), vs)
    assert venues_of(no_target) == ["XB"]


def test_primary_fallback_with_no_usable_venue_rejects():
    vs = three(XA={"connected": False}, XB={"breaker_open": True}, XC={"order_headroom": 0})
    text = reject_text(route(Primary(fallback=True), req(price="1", primary="XA"), sweep_market(), vs))
    assert text == "venue XA is not usable: disconnected; no other venue is usable"
    text = reject_text(route(Primary(fallback=True), req(price="1"), sweep_market(), vs))
    assert text == "no usable venue for ACME: XA disconnected, XB circuit breaker open, XC rate limited"


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_primary_fallback_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="fallback"):
        Primary(fallback=bad)


# ------------------------------------------------------------------------------------- best_price


def test_best_price_buy_takes_the_lowest_ask_and_flips_when_the_book_moves():
    a = book("XA", asks=[("100.01", 10)])
    b = book("XB", asks=[("100.02", 10)])
    r = req(qty=50, price="100.05", tif=GTC)
    assert route(BestPrice(), r, FakeMarket(a, b), three()) == [child("XA", 50, "100.05", GTC)]
    b = book("XB", asks=[("100.00", 10)])
    assert route(BestPrice(), r, FakeMarket(a, b), three()) == [child("XB", 50, "100.05", GTC)]


def test_best_price_sell_takes_the_highest_bid():
    a = book("XA", bids=[("99.98", 10)], asks=[("99.99", 10)])
    b = book("XB", bids=[("99.97", 10)], asks=[("99.98", 10)])
    r = req(side=Side.SELL, price="99.90")
    assert venues_of(route(BestPrice(), r, FakeMarket(a, b), three())) == ["XA"]
    assert venues_of(route(BestPrice(), req(side=Side.SELL_SHORT), FakeMarket(a, b), three())) == ["XA"]


def test_best_price_fees_change_the_choice():
    market = FakeMarket(book("XA", asks=[("100.00", 10)]), book("XB", asks=[("100.02", 10)]))
    r = req(price="100.10")
    assert venues_of(route(BestPrice(), r, market, three(XA={"taker_bps": 1}))) == ["XA"]  # 100.01 < 100.02
    assert venues_of(route(BestPrice(), r, market, three(XA={"taker_bps": 3}))) == ["XB"]  # 100.03 > 100.02
    # sells: the fee lowers what a bid is worth
    market = FakeMarket(book("XA", bids=[("100.02", 10)]), book("XB", bids=[("100.00", 10)]))
    s = req(side=Side.SELL)
    assert venues_of(route(BestPrice(), s, market, three(XA={"taker_bps": 1}))) == ["XA"]  # 100.01 > 100.00
    assert venues_of(route(BestPrice(), s, market, three(XA={"taker_bps": 3}))) == ["XB"]  # 99.99 < 100.00


def test_best_price_only_marketable_venues_count_as_better_for_a_limit():
    # XA shows the limit price but charges 10 bps; XB is cheaper after fees but above the limit
    market = FakeMarket(book("XA", asks=[("100.00", 10)]), book("XB", asks=[("100.01", 10)]))
    vs = three(XA={"taker_bps": 10})
    assert venues_of(route(BestPrice(), req(price="100.00"), market, vs)) == ["XA"]
    assert venues_of(route(BestPrice(), req(), market, vs)) == ["XB"]  # market order: all marketable
    # neither marketable: the best displayed price after fees still decides
    assert venues_of(route(BestPrice(), req(price="99.00"), market, vs)) == ["XB"]


def test_best_price_ties_go_to_the_venue_name_whatever_the_book_order():
    books = [book(v, asks=[("100", 10)]) for v in ("XC", "XA", "XB")]
    assert venues_of(route(BestPrice(), req(), FakeMarket(*books), three())) == ["XA"]
    assert venues_of(route(BestPrice(), req(), FakeMarket(*reversed(books)), three())) == ["XA"]


@pytest.mark.parametrize(("fields", "reason"), UNUSABLE)
def test_best_price_skips_an_unusable_venue_with_the_best_price(fields, reason):
    result = route(BestPrice(), req(price="100.05"), sweep_market(), three(XB=fields))
    assert venues_of(result) == ["XA"]


def test_best_price_ignores_stale_books():
    market = FakeMarket(book("XA", asks=[("99.00", 10)], stale=True), book("XB", asks=[("100.00", 10)]))
    assert venues_of(route(BestPrice(), req(primary="XA"), market, three())) == ["XB"]


def test_best_price_without_fresh_quotes_falls_back_to_primary_then_by_name():
    stale_only = FakeMarket(book("XA", asks=[("99.00", 10)], stale=True))
    assert venues_of(route(BestPrice(), req(primary="XC"), stale_only, three())) == ["XC"]
    assert venues_of(route(BestPrice(), req(primary="XC"), stale_only, three(XC={"connected": False}))) == [
        "XA"
    ]
    assert venues_of(route(BestPrice(), req(primary="XC", exclude=("XA", "XC")), stale_only, three())) == [
        "XB"
    ]
    # a book without the side the order takes is not a quote
    bids_only = FakeMarket(book("XA", bids=[("99.00", 10)]))
    assert venues_of(route(BestPrice(), req(primary="XB"), bids_only, three())) == ["XB"]


def test_best_price_with_no_usable_venue_rejects_with_each_reason():
    vs = three(XA={"connected": False}, XB={"tifs": frozenset({DAY})})
    text = reject_text(route(BestPrice(), req(price="1", tif=IOC, exclude=("XC",)), sweep_market(), vs))
    assert text == "no usable venue for ACME: XA disconnected, XB does not take TIF IOC, XC excluded"
    assert reject_text(route(BestPrice(), req(), sweep_market(), {})) == "no usable venue for ACME"


# ------------------------------------------------------------------------------------- sweep


def test_sweep_three_venues_in_price_order_stopping_inside_a_level():
    # 99.99 XB 100 | 100.00 XA 200 | 100.01 XA 300, XC 150 (name order) | 100.02 XB 250 of 400
    result = route(Sweep(), req(qty=1000, price="100.02"), sweep_market(), three())
    assert result == [
        child("XB", 350, "100.02", IOC),
        child("XA", 500, "100.02", IOC),
        child("XC", 150, "100.02", IOC),
    ]


def test_sweep_fees_reorder_the_levels():
    # XB at 2 bps: 99.99 -> 100.009998 (after XA 100.00); 100.02 -> 100.040004 (after XC 100.02).
    # Fees order the levels; the limit is still judged on the displayed price.
    result = route(Sweep(), req(qty=1000, price="100.02"), sweep_market(), three(XB={"taker_bps": 2}))
    assert result == [
        child("XA", 500, "100.02", IOC),
        child("XB", 100, "100.02", IOC),
        child("XC", 400, "100.02", IOC),
    ]


SWEPT_AT_LIMIT = [
    child("XB", 500, "100.02", IOC),
    child("XA", 500, "100.02", IOC),
    child("XC", 400, "100.02", IOC),
]


def test_sweep_rests_the_remainder_at_the_best_venue():
    result = route(Sweep(), req(qty=2000, price="100.02", primary="XC"), sweep_market(), three())
    assert result == [*SWEPT_AT_LIMIT, child("XB", 600, "100.02", DAY)]  # XB shows the best ask
    # with fees XA's 100.00 beats XB's 99.99 (100.009998)
    result = route(Sweep(), req(qty=2000, price="100.02"), sweep_market(), three(XB={"taker_bps": 2}))
    assert result[-1] == child("XA", 600, "100.02", DAY)


def test_sweep_rests_the_remainder_at_the_primary_venue():
    r = req(qty=2000, price="100.02", tif=GTC, primary="XC")
    assert route(Sweep(rest_at="primary"), r, sweep_market(), three()) == [
        *SWEPT_AT_LIMIT,
        child("XC", 600, "100.02", GTC),
    ]


def test_sweep_rest_at_primary_falls_back_to_best_when_the_primary_cannot_rest():
    r = req(qty=2000, price="100.02", primary="XC")
    vs = three(XC={"tifs": frozenset({IOC})})  # XC is swept (IOC) but takes no DAY order
    assert route(Sweep(rest_at="primary"), r, sweep_market(), vs) == [
        *SWEPT_AT_LIMIT,
        child("XB", 600, "100.02"),
    ]


def test_sweep_market_order_takes_all_displayed_liquidity_in_price_order():
    result = route(Sweep(), req(qty=1800), sweep_market(), three())
    assert result == [child("XB", 500, None, IOC), child("XA", 900, None, IOC), child("XC", 400, None, IOC)]
    result = route(Sweep(), req(qty=2500), sweep_market(), three())
    assert result == [
        child("XB", 500, None, IOC),
        child("XA", 1000, None, IOC),
        child("XC", 500, None, IOC),
        child("XB", 500, None, DAY),
    ]


def test_sweep_sell_takes_bids_from_the_highest():
    market = FakeMarket(
        book("XA", bids=[("100.00", 100), ("99.99", 100), ("99.98", 100)]),
        book("XB", bids=[("100.01", 50), ("99.98", 500)]),
    )
    result = route(Sweep(), req(side=Side.SELL, qty=200, price="99.99"), market, three())
    assert result == [child("XB", 50, "99.99", IOC), child("XA", 150, "99.99", IOC)]


def test_sweep_ioc_parent_does_not_rest_the_remainder():
    assert route(Sweep(), req(qty=2000, price="100.02", tif=IOC), sweep_market(), three()) == SWEPT_AT_LIMIT


def test_sweep_ioc_parent_with_nothing_marketable_rejects():
    text = reject_text(route(Sweep(), req(qty=100, price="99.00", tif=IOC), sweep_market(), three()))
    assert text == "IOC order: no liquidity at or better than 99.00 at any usable venue for ACME"


def test_sweep_ioc_parent_without_market_data_goes_to_the_primary():
    result = route(Sweep(), req(qty=100, price="99.00", tif=IOC, primary="XC"), FakeMarket(), three())
    assert result == [child("XC", 100, "99.00", IOC)]


def test_sweep_fok_goes_whole_to_the_cheapest_venue_that_can_fill_it():
    # 450 within 100.02: XA 200@100.00 + 250@100.01 = 45002.50; XB 100@99.99 + 350@100.02 = 45006.00
    r = req(qty=450, price="100.02", tif=FOK)
    assert route(Sweep(), r, sweep_market(), three()) == [child("XA", 450, "100.02", FOK)]
    # 1 bp on XA: 45007.0002 > 45006
    assert route(Sweep(), r, sweep_market(), three(XA={"taker_bps": 1})) == [child("XB", 450, "100.02", FOK)]
    # XA cannot take FOK
    assert venues_of(route(Sweep(), r, sweep_market(), three(XA={"tifs": frozenset({DAY, IOC})}))) == ["XB"]


def test_sweep_fok_that_no_single_venue_can_fill_rejects():
    # 1400 is shown within the limit, but no venue has 600 on its own
    text = reject_text(route(Sweep(), req(qty=600, price="100.02", tif=FOK), sweep_market(), three()))
    assert text == "FOK order: no single usable venue shows 600 at or better than 100.02 for ACME"


def test_sweep_fok_without_market_data_goes_to_the_primary():
    result = route(Sweep(), req(qty=600, price="100.02", tif=FOK, primary="XB"), FakeMarket(), three())
    assert result == [child("XB", 600, "100.02", FOK)]


def test_sweep_with_nothing_marketable_rests_the_whole_order():
    r = req(qty=1000, price="99.00", primary="XC")
    assert route(Sweep(), r, sweep_market(), three()) == [child("XB", 1000, "99.00")]
    assert route(Sweep(rest_at="primary"), r, sweep_market(), three()) == [child("XC", 1000, "99.00")]


def test_sweep_without_fresh_books_rests_at_the_primary():
    stale = FakeMarket(
        *(book(b.venue, asks=[(str(lv.price), lv.qty) for lv in b.asks], stale=True) for b in SWEEP_BOOKS)
    )
    assert route(Sweep(), req(qty=1000, price="100.02", primary="XC"), stale, three()) == [
        child("XC", 1000, "100.02")
    ]


def test_sweep_ignores_a_stale_book():
    a, _, c = SWEEP_BOOKS
    stale_b = book("XB", asks=[("99.99", 100), ("100.02", 400)], stale=True)
    result = route(Sweep(), req(qty=1000, price="100.02"), FakeMarket(a, stale_b, c), three())
    assert result == [
        child("XA", 500, "100.02", IOC),
        child("XC", 400, "100.02", IOC),
        child("XA", 100, "100.02"),
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"connected": False},
        {"breaker_open": True},
        {"order_headroom": 0},
        {"order_types": frozenset({MARKET})},
    ],
    ids=["disconnected", "breaker", "no-headroom", "ordtype"],
)
def test_sweep_never_uses_an_unusable_venue(fields):
    result = route(Sweep(), req(qty=1000, price="100.02"), sweep_market(), three(XB=fields))
    assert result == [
        child("XA", 500, "100.02", IOC),
        child("XC", 400, "100.02", IOC),
        child("XA", 100, "100.02"),
    ]


def test_sweep_excluded_venue_is_neither_swept_nor_rested_at():
    result = route(Sweep(), req(qty=1000, price="100.02", exclude=("XB",)), sweep_market(), three())
    assert result == [
        child("XA", 500, "100.02", IOC),
        child("XC", 400, "100.02", IOC),
        child("XA", 100, "100.02"),
    ]


def test_sweep_venue_without_ioc_is_not_swept_but_may_take_the_rest():
    vs = three(XB={"tifs": frozenset({DAY})})
    result = route(Sweep(), req(qty=1000, price="100.02"), sweep_market(), vs)
    assert result == [
        child("XA", 500, "100.02", IOC),
        child("XC", 400, "100.02", IOC),
        child("XB", 100, "100.02"),
    ]


def test_sweep_returns_only_the_swept_children_when_no_venue_can_rest():
    ioc_only = {"tifs": frozenset({IOC})}
    vs = three(XA=ioc_only, XB=ioc_only, XC=ioc_only)
    assert route(Sweep(), req(qty=2000, price="100.02"), sweep_market(), vs) == SWEPT_AT_LIMIT
    text = reject_text(route(Sweep(), req(qty=10, price="99.00"), sweep_market(), vs))
    assert text.startswith("no usable venue for ACME: XA does not take TIF DAY")


def test_sweep_skips_empty_levels_and_keeps_decimal_quantities_exact():
    market = FakeMarket(
        book("XA", asks=[("10.00", 0), ("10.01", "0.3")]), book("XB", asks=[("10.00", "0.1"), ("10.02", 5)])
    )
    result = route(Sweep(), req(qty="0.45", price="10.02"), market, three())
    assert result == [child("XB", "0.15", "10.02", IOC), child("XA", "0.3", "10.02", IOC)]
    assert sum(c.qty for c in result) == D("0.45")


def test_sweep_is_deterministic_whatever_the_book_order():
    r = req(qty=1000, price="100.02")
    forward = route(Sweep(), r, sweep_market(), three())
    assert route(Sweep(), r, FakeMarket(*reversed(SWEEP_BOOKS)), three()) == forward
    assert route(Sweep(), r, sweep_market(), three()) == forward


@pytest.mark.parametrize(("bad", "error"), [("worst", ValueError), (1, TypeError), (None, TypeError)])
def test_sweep_rest_at_is_validated(bad, error):
    with pytest.raises(error, match="rest_at"):
        Sweep(rest_at=bad)


# ------------------------------------------------------------------------------------- fill_rate


def test_fill_rate_prefers_the_highest_fill_ratio():
    vs = three(XA={"fill_ratio": 0.5}, XB={"fill_ratio": 0.9}, XC={"fill_ratio": 0.7})
    assert route(FillRate(), req(qty=5, price="100"), sweep_market(), vs) == [child("XB", 5, "100")]


def test_fill_rate_ties_go_to_lower_latency_then_name():
    vs = three(
        XA={"fill_ratio": 0.9, "ack_latency_us": 500.0}, XB={"fill_ratio": 0.9, "ack_latency_us": 200.0}
    )
    assert venues_of(route(FillRate(), req(), sweep_market(), vs)) == ["XB"]
    vs = three(XA={"fill_ratio": 0.9}, XB={"fill_ratio": 0.9, "ack_latency_us": 900.0})
    assert venues_of(route(FillRate(), req(), sweep_market(), vs)) == ["XB"]  # a latency beats none
    vs = three(
        XB={"fill_ratio": 0.9, "ack_latency_us": 300.0}, XC={"fill_ratio": 0.9, "ack_latency_us": 300.0}
    )
    assert venues_of(route(FillRate(), req(), sweep_market(), vs)) == ["XB"]


def test_fill_rate_puts_unobserved_venues_last():
    # XB shows the best price but has never been observed; XC has, however poorly
    assert venues_of(route(FillRate(), req(), sweep_market(), three(XC={"fill_ratio": 0.1}))) == ["XC"]


def test_fill_rate_with_no_observations_goes_by_displayed_price():
    assert venues_of(route(FillRate(), req(price="100.05"), sweep_market(), three())) == ["XB"]
    assert venues_of(route(FillRate(), req(primary="XC"), FakeMarket(), three())) == ["XC"]


def test_fill_rate_skips_unusable_and_excluded_venues():
    observed = {"XA": {"fill_ratio": 0.5}, "XB": {"fill_ratio": 0.9}, "XC": {"fill_ratio": 0.7}}
    vs = three(**observed)
    assert venues_of(route(FillRate(), req(exclude=("XB",)), sweep_market(), vs)) == ["XC"]
    vs = three(XA=observed["XA"], XB={**observed["XB"], "breaker_open": True}, XC=observed["XC"])
    assert venues_of(route(FillRate(), req(), sweep_market(), vs)) == ["XC"]
    vs = three(XA={"fill_ratio": 0.5}, XB={"connected": False})
    assert reject_text(route(FillRate(), req(exclude=("XA", "XC")), sweep_market(), vs)) == (
        "no usable venue for ACME: XA excluded, XB disconnected, XC excluded"
    )


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), ("3", TypeError), (True, TypeError)])
def test_fill_rate_min_orders_is_validated(bad, error):
    with pytest.raises(error, match="min_orders"):
        FillRate(min_orders=bad)
    assert FillRate(min_orders=0).min_orders == 0


def test_fill_rate_counts_a_venue_only_after_min_orders():
    vs = three(XA={"fill_ratio": 1.0, "orders_sent": 2}, XB={"fill_ratio": 0.5, "orders_sent": 3})
    assert venues_of(route(FillRate(min_orders=3), req(), sweep_market(), vs)) == ["XB"]
    assert venues_of(route(FillRate(min_orders=2), req(), sweep_market(), vs)) == ["XA"]


# ------------------------------------------------------------------------------------- every strategy


ALL = [Primary(fallback=True), BestPrice(), Sweep(), Sweep(rest_at="primary"), FillRate()]


@pytest.mark.parametrize("strategy", ALL, ids=lambda s: s.name)
def test_every_strategy_honours_exclude(strategy):
    vs = three(XB={"fill_ratio": 0.9})  # XB is best by price and by fill rate
    r = req(qty=2000, price="100.02", primary="XB", ex="XB")
    assert "XB" in venues_of(route(strategy, r, sweep_market(), vs))
    excluded = route(
        strategy, req(qty=2000, price="100.02", primary="XB", ex="XB", exclude=("XB",)), sweep_market(), vs
    )
    assert venues_of(excluded) and "XB" not in venues_of(excluded)


@pytest.mark.parametrize("strategy", ALL, ids=lambda s: s.name)
def test_every_strategy_routes_the_exact_quantity(strategy):
    r = req(qty="1234.5678", price="100.02", primary="XA")
    result = route(strategy, r, sweep_market(), three())
    assert sum(c.qty for c in result) == D("1234.5678")


# ------------------------------------------------------------------------------------- registry


class Custom:
    """A user strategy: always the alphabetically last usable venue."""

    name = "custom"

    def __init__(self, *, suffix: str = "") -> None:
        self.suffix = suffix

    def route(self, req, market, venues, now_ns):
        usable = [v for v, i in venues.items() if i.usable(req.ord_type, req.tif)]
        return [ChildSpec(max(usable), req.qty, req.price, req.ord_type, req.tif)]


class NeedsParam:
    name = "needs"

    def __init__(self, *, depth: int) -> None:
        self.depth = depth

    def route(self, req, market, venues, now_ns):
        return RouteReject("no")


class Exploding:
    name = "boom"

    def __init__(self) -> None:
        raise RuntimeError("kaput")

    def route(self, req, market, venues, now_ns):
        return RouteReject("no")


class NoName:
    def route(self, req, market, venues, now_ns):
        return RouteReject("no")


class NoRoute:
    name = "no_route"


NOT_A_CLASS = 42


def test_builtin_strategies_by_name():
    assert set(BUILTIN_STRATEGIES) == {"direct", "primary", "best_price", "sweep", "fill_rate"}
    for name, cls in BUILTIN_STRATEGIES.items():
        strategy = build_strategy(name, {})
        assert type(strategy) is cls and strategy.name == name
        assert isinstance(strategy, RoutingStrategy)


def test_builtin_parameters_are_passed():
    sweep = build_strategy("sweep", {"rest_at": "primary"})
    assert isinstance(sweep, Sweep) and sweep.rest_at == "primary"
    primary = build_strategy("primary", {"fallback": True})
    assert isinstance(primary, Primary) and primary.fallback is True
    assert build_strategy("fill_rate", None).min_orders == 0


def test_user_strategy_by_dotted_path():
    strategy = build_strategy("tests.unit.test_routing.Custom", {"suffix": "x"})
    assert isinstance(strategy, Custom) and strategy.suffix == "x"
    assert venues_of(strategy.route(req(), sweep_market(), three(), NOW)) == ["XC"]
    assert isinstance(build_strategy("gateway.routing.strategies.Sweep", {}), Sweep)


@pytest.mark.parametrize(
    ("name", "params", "message", "param"),
    [
        (
            "smart",
            {},
            "unknown routing strategy 'smart' (built-ins: direct, primary, best_price, sweep, fill_rate",
            None,
        ),
        ("", {}, "expected a strategy name", None),
        (
            "no_such_pkg.mod.Cls",
            {},
            "cannot import 'no_such_pkg.mod' for strategy 'no_such_pkg.mod.Cls'",
            None,
        ),
        ("tests.unit.test_routing.Missing", {}, "module 'tests.unit.test_routing' has no 'Missing'", None),
        ("tests.unit.test_routing.NOT_A_CLASS", {}, "is not a class", None),
        ("tests.unit.test_routing.NoRoute", {}, "is not a routing strategy", None),
        ("tests.unit.test_routing.NoName", {}, "is not a routing strategy", None),
        (
            "sweep",
            {"rest": "best"},
            "unknown parameter 'rest' for strategy sweep (expected: rest_at)",
            "rest",
        ),
        (
            "direct",
            {"fallback": True},
            "unknown parameter 'fallback' for strategy direct (expected: none)",
            "fallback",
        ),
        ("sweep", {"rest_at": "worst"}, "strategy sweep: rest_at: expected one of best, primary", "rest_at"),
        ("primary", {"fallback": "no"}, "strategy primary: fallback: expected true or false", "fallback"),
        ("fill_rate", {"min_orders": -2}, "strategy fill_rate: min_orders: must be >= 0", "min_orders"),
        ("tests.unit.test_routing.NeedsParam", {}, "required parameter 'depth' is missing", "depth"),
        ("tests.unit.test_routing.Exploding", {}, "failed to build: RuntimeError: kaput", None),
        ("sweep", ["rest_at"], "must be a mapping", None),
    ],
)
def test_registry_errors_name_the_problem(name, params, message, param):
    with pytest.raises(RoutingConfigError) as caught:
        build_strategy(name, params)
    assert message in str(caught.value)
    assert caught.value.param == param
    assert isinstance(caught.value, ValueError)


# ------------------------------------------------------------------------------------- bench


def test_bench_runs_and_reports():
    result = bench.run(iterations=50)
    assert result.sweep.count == 50
    assert result.children == (("XA", "450"), ("XB", "400"), ("XC", "400"))
    assert 0 < result.sweep.p50 <= result.sweep.p99 <= result.sweep.max
    report = bench.format_report(result)
    assert "sweep.route  p50" in report and "XA 450, XB 400, XC 400" in report
    assert result.to_json()["sweep"]["count"] == 50
