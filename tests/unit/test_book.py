"""Unit tests for the simulator's pure matching engine (gateway.simulator.book)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce
from gateway.simulator.book import (
    Accepted,
    BookEvent,
    Canceled,
    CancelRejected,
    Fill,
    MatchingEngine,
    Rejected,
    Replaced,
)

D = Decimal
SYM = "ACME"


@pytest.fixture
def engine() -> MatchingEngine:
    return MatchingEngine(order_id_prefix="V")


def limit(
    engine: MatchingEngine,
    cl: str,
    side: Side,
    qty: str,
    px: str,
    tif: TimeInForce = TimeInForce.DAY,
    owner: str | None = "S1",
) -> list[BookEvent]:
    return engine.submit(owner, cl, SYM, side, OrdType.LIMIT, D(qty), D(px), tif)


def market(
    engine: MatchingEngine, cl: str, side: Side, qty: str, tif: TimeInForce = TimeInForce.DAY
) -> list[BookEvent]:
    return engine.submit("S1", cl, SYM, side, OrdType.MARKET, D(qty), None, tif)


def kinds(events: list[BookEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def fills(events: list[BookEvent]) -> list[tuple[str, Decimal, Decimal]]:
    """(cl_ord_id, qty, price) of every Fill, in emission order."""
    return [(e.order.cl_ord_id, e.qty, e.price) for e in events if isinstance(e, Fill)]


def oid(events: list[BookEvent]) -> str:
    first = events[0]
    assert isinstance(first, Accepted)
    return first.order.order_id


# ------------------------------------------------------------------ priority


def test_priority_when_better_ask_level_exists_then_it_trades_first(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.02")
    limit(engine, "a2", Side.SELL, "10", "10.00")
    limit(engine, "a3", Side.SELL, "10", "10.01")

    events = limit(engine, "b1", Side.BUY, "25", "10.02")

    assert fills(events) == [
        ("b1", D(10), D("10.00")),
        ("a2", D(10), D("10.00")),
        ("b1", D(10), D("10.01")),
        ("a3", D(10), D("10.01")),
        ("b1", D(5), D("10.02")),
        ("a1", D(5), D("10.02")),
    ]
    assert engine.depth(SYM) == ([], [(D("10.02"), D(5))])


def test_priority_when_better_bid_level_exists_then_sell_hits_highest_bid(engine: MatchingEngine) -> None:
    limit(engine, "b1", Side.BUY, "10", "9.98")
    limit(engine, "b2", Side.BUY, "10", "9.99")

    events = limit(engine, "s1", Side.SELL, "10", "9.90")

    assert fills(events) == [("s1", D(10), D("9.99")), ("b2", D(10), D("9.99"))]
    assert engine.top_of_book(SYM) == (D("9.98"), None)


def test_priority_when_same_price_then_earlier_order_trades_first(engine: MatchingEngine) -> None:
    limit(engine, "first", Side.SELL, "10", "10.00")
    limit(engine, "second", Side.SELL, "10", "10.00")

    events = limit(engine, "b1", Side.BUY, "15", "10.00")

    assert fills(events) == [
        ("b1", D(10), D("10.00")),
        ("first", D(10), D("10.00")),
        ("b1", D(5), D("10.00")),
        ("second", D(5), D("10.00")),
    ]
    second = engine.find("S1", "second")
    assert second is not None
    assert (second.status, second.leaves_qty) == (OrdStatus.PARTIALLY_FILLED, D(5))


def test_trade_when_aggressor_has_better_limit_then_executes_at_resting_price(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")

    events = limit(engine, "b1", Side.BUY, "10", "11.00")

    assert fills(events) == [("b1", D(10), D("10.00")), ("a1", D(10), D("10.00"))]


def test_sell_short_when_crossing_bid_then_trades_as_a_sell(engine: MatchingEngine) -> None:
    limit(engine, "b1", Side.BUY, "10", "10.00")

    events = limit(engine, "ss1", Side.SELL_SHORT, "10", "10.00")

    assert fills(events) == [("ss1", D(10), D("10.00")), ("b1", D(10), D("10.00"))]


# ------------------------------------------------------------ fills / avg_px


def test_aggressor_when_sweeping_two_levels_then_avg_px_is_exact_vwap_and_rest_rests(
    engine: MatchingEngine,
) -> None:
    limit(engine, "a1", Side.SELL, "100", "10.00")
    limit(engine, "a2", Side.SELL, "50", "10.01")

    events = limit(engine, "b1", Side.BUY, "200", "10.01")

    assert kinds(events) == ["Accepted", "Fill", "Fill", "Fill", "Fill"]
    first_trade, second_trade = events[1:3], events[3:5]
    assert first_trade[0].match_id == first_trade[1].match_id == "VT1"
    assert second_trade[0].match_id == second_trade[1].match_id == "VT2"
    order = engine.find("S1", "b1")
    assert order is not None
    assert order.cum_qty == D(150)
    assert order.leaves_qty == D(50)
    assert order.status is OrdStatus.PARTIALLY_FILLED
    assert order.avg_px == D("1500.50") / D(150)
    assert order.avg_px.quantize(D("0.000001")) == D("10.003333")
    assert engine.depth(SYM) == ([(D("10.01"), D(50))], [])


def test_fill_events_when_emitted_then_each_carries_its_own_snapshot(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "100", "10.00")
    limit(engine, "a2", Side.SELL, "50", "10.01")

    events = limit(engine, "b1", Side.BUY, "150", "10.01")

    accepted, first_aggr, _, last_aggr, last_rest = events
    assert isinstance(accepted, Accepted)
    assert (accepted.order.status, accepted.order.cum_qty, accepted.order.leaves_qty) == (
        OrdStatus.NEW,
        D(0),
        D(150),
    )
    assert (first_aggr.order.status, first_aggr.order.cum_qty, first_aggr.order.avg_px) == (
        OrdStatus.PARTIALLY_FILLED,
        D(100),
        D("10.00"),
    )
    assert (last_aggr.order.status, last_aggr.order.cum_qty, last_aggr.order.leaves_qty) == (
        OrdStatus.FILLED,
        D(150),
        D(0),
    )
    assert (last_rest.order.cl_ord_id, last_rest.order.status, last_rest.order.owner) == (
        "a2",
        OrdStatus.FILLED,
        "S1",
    )


def test_self_trade_when_same_owner_crosses_then_it_trades(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00", owner="S1")

    events = limit(engine, "b1", Side.BUY, "10", "10.00", owner="S1")

    assert fills(events) == [("b1", D(10), D("10.00")), ("a1", D(10), D("10.00"))]


# ---------------------------------------------------------------- order types


def test_market_when_book_too_thin_then_sweeps_and_cancels_remainder(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")
    limit(engine, "a2", Side.SELL, "10", "12.00")

    events = market(engine, "m1", Side.BUY, "30")

    assert kinds(events) == ["Accepted", "Fill", "Fill", "Fill", "Fill", "Canceled"]
    assert [(c, q, p) for c, q, p in fills(events) if c == "m1"] == [
        ("m1", D(10), D("10.00")),
        ("m1", D(10), D("12.00")),
    ]
    canceled = events[-1]
    assert canceled.reason == "market order remainder: no liquidity"
    assert (canceled.order.status, canceled.order.cum_qty, canceled.order.leaves_qty) == (
        OrdStatus.CANCELED,
        D(20),
        D(0),
    )
    assert canceled.order.avg_px == D("11.00")
    assert engine.top_of_book(SYM) == (None, None)


def test_market_when_book_empty_then_accepted_and_canceled_without_resting(engine: MatchingEngine) -> None:
    events = market(engine, "m1", Side.SELL, "5")

    assert kinds(events) == ["Accepted", "Canceled"]
    assert events[1].reason == "market order remainder: no liquidity"
    assert engine.depth(SYM) == ([], [])


def test_market_when_price_given_then_price_is_ignored(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "50.00")

    events = engine.submit("S1", "m1", SYM, Side.BUY, OrdType.MARKET, D(10), D("1.00"), TimeInForce.DAY)

    assert events[0].order.price is None
    assert fills(events) == [("m1", D(10), D("50.00")), ("a1", D(10), D("50.00"))]


def test_ioc_when_partially_fillable_then_remainder_canceled_and_nothing_rests(
    engine: MatchingEngine,
) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")
    limit(engine, "a2", Side.SELL, "10", "10.05")

    events = limit(engine, "i1", Side.BUY, "25", "10.00", tif=TimeInForce.IOC)

    assert kinds(events) == ["Accepted", "Fill", "Fill", "Canceled"]
    assert events[-1].reason == "IOC remainder"
    assert (events[-1].order.cum_qty, events[-1].order.status) == (D(10), OrdStatus.CANCELED)
    assert engine.depth(SYM) == ([], [(D("10.05"), D(10))])


def test_ioc_when_fully_filled_then_no_cancel(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")

    events = limit(engine, "i1", Side.BUY, "10", "10.00", tif=TimeInForce.IOC)

    assert kinds(events) == ["Accepted", "Fill", "Fill"]
    assert events[1].order.status is OrdStatus.FILLED


def test_fok_when_fully_fillable_within_limit_then_fills_completely(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")
    limit(engine, "a2", Side.SELL, "10", "10.01")

    events = limit(engine, "f1", Side.BUY, "15", "10.01", tif=TimeInForce.FOK)

    assert kinds(events) == ["Accepted", "Fill", "Fill", "Fill", "Fill"]
    order = engine.find("S1", "f1")
    assert order is not None
    assert (order.status, order.cum_qty) == (OrdStatus.FILLED, D(15))
    assert engine.depth(SYM) == ([], [(D("10.01"), D(5))])


def test_fok_when_not_enough_within_limit_then_canceled_without_any_fill(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")
    limit(engine, "a2", Side.SELL, "10", "10.02")  # beyond the FOK limit

    events = limit(engine, "f1", Side.BUY, "15", "10.01", tif=TimeInForce.FOK)

    assert kinds(events) == ["Accepted", "Canceled"]
    assert events[1].reason == "FOK not fillable"
    assert (events[1].order.cum_qty, events[1].order.status) == (D(0), OrdStatus.CANCELED)
    assert engine.depth(SYM) == ([], [(D("10.00"), D(10)), (D("10.02"), D(10))])
    a1 = engine.find("S1", "a1")
    assert a1 is not None and a1.cum_qty == D(0)


def test_fok_market_when_book_too_thin_then_canceled_without_any_fill(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")

    events = market(engine, "f1", Side.BUY, "11", tif=TimeInForce.FOK)

    assert kinds(events) == ["Accepted", "Canceled"]
    assert events[1].reason == "FOK not fillable"
    assert engine.depth(SYM) == ([], [(D("10.00"), D(10))])


@pytest.mark.parametrize("tif", [TimeInForce.DAY, TimeInForce.GTC])
def test_resting_tif_when_not_crossing_then_order_rests_open(
    engine: MatchingEngine, tif: TimeInForce
) -> None:
    events = limit(engine, "b1", Side.BUY, "10", "9.99", tif=tif)

    assert kinds(events) == ["Accepted"]
    assert engine.top_of_book(SYM) == (D("9.99"), None)
    assert [o.cl_ord_id for o in engine.orders("S1", open_only=True)] == ["b1"]


def test_resting_when_partially_filled_then_remainder_rests_at_limit(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "4", "10.00")

    limit(engine, "b1", Side.BUY, "10", "10.00", tif=TimeInForce.GTC)

    assert engine.depth(SYM) == ([(D("10.00"), D(6))], [])


# ----------------------------------------------------------------- rejects


def test_submit_when_cl_ord_id_duplicate_for_owner_then_rejected(engine: MatchingEngine) -> None:
    limit(engine, "dup", Side.BUY, "10", "9.00")

    events = limit(engine, "dup", Side.BUY, "10", "9.00")

    assert kinds(events) == ["Rejected"]
    assert isinstance(events[0], Rejected)
    assert events[0].reason == "duplicate ClOrdID"
    assert events[0].order.status is OrdStatus.REJECTED
    assert engine.depth(SYM) == ([(D("9.00"), D(10))], [])
    assert len(engine.orders()) == 1


def test_submit_when_same_cl_ord_id_other_owner_then_accepted(engine: MatchingEngine) -> None:
    limit(engine, "x", Side.BUY, "10", "9.00", owner="S1")

    events = limit(engine, "x", Side.BUY, "10", "9.00", owner="S2")

    assert kinds(events) == ["Accepted"]


def test_submit_when_cl_ord_id_was_earlier_in_a_chain_then_rejected(engine: MatchingEngine) -> None:
    first = oid(limit(engine, "c1", Side.BUY, "10", "9.00"))
    engine.replace(first, "c2", "c1", D(5), None)

    events = limit(engine, "c1", Side.BUY, "10", "9.00")

    assert kinds(events) == ["Rejected"]


@pytest.mark.parametrize(
    ("ord_type", "qty", "price", "reason"),
    [
        (OrdType.LIMIT, D(0), D("10"), "invalid quantity"),
        (OrdType.LIMIT, D(-1), D("10"), "invalid quantity"),
        (OrdType.MARKET, D(0), None, "invalid quantity"),
        (OrdType.LIMIT, D(10), None, "invalid price"),
        (OrdType.LIMIT, D(10), D(0), "invalid price"),
        (OrdType.LIMIT, D(10), D("-0.01"), "invalid price"),
    ],
)
def test_submit_when_fields_invalid_then_rejected_and_not_booked(
    engine: MatchingEngine, ord_type: OrdType, qty: Decimal, price: Decimal | None, reason: str
) -> None:
    events = engine.submit("S1", "bad", SYM, Side.BUY, ord_type, qty, price, TimeInForce.DAY)

    assert kinds(events) == ["Rejected"]
    assert events[0].reason == reason
    assert engine.find("S1", "bad") is None
    assert engine.depth(SYM) == ([], [])


def test_submit_when_float_given_then_type_error(engine: MatchingEngine) -> None:
    with pytest.raises(TypeError):
        engine.submit("S1", "f", SYM, Side.BUY, OrdType.LIMIT, D(1), 10.5, TimeInForce.DAY)  # type: ignore[arg-type]


# ------------------------------------------------------------------- cancel


def test_cancel_when_resting_then_canceled_removed_and_renamed(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "b1", Side.BUY, "10", "9.99"))

    events = engine.cancel(order_id, "b1-cxl", "b1")

    assert kinds(events) == ["Canceled"]
    canceled = events[0]
    assert isinstance(canceled, Canceled)
    assert canceled.reason == "cancel request"
    assert (canceled.order.cl_ord_id, canceled.order.status, canceled.order.leaves_qty) == (
        "b1-cxl",
        OrdStatus.CANCELED,
        D(0),
    )
    assert engine.top_of_book(SYM) == (None, None)
    assert engine.find("S1", "b1") is engine.find("S1", "b1-cxl") is engine.get(order_id)
    assert engine.orders(open_only=True) == []


def test_cancel_when_partially_filled_then_keeps_cum_qty(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "b1", Side.BUY, "4", "10.00")

    events = engine.cancel(order_id, "a1-cxl", "a1")

    assert (events[0].order.cum_qty, events[0].order.leaves_qty) == (D(4), D(0))
    assert engine.depth(SYM) == ([], [])


def test_cancel_when_order_unknown_then_cancel_rejected_not_too_late(engine: MatchingEngine) -> None:
    events = engine.cancel("V999", "x-cxl", "x")

    assert events == [CancelRejected(None, "x-cxl", "x", "unknown order", too_late=False)]


def test_cancel_when_order_filled_then_cancel_rejected_too_late(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "b1", Side.BUY, "10", "10.00")

    events = engine.cancel(order_id, "a1-cxl", "a1")

    assert len(events) == 1
    rej = events[0]
    assert isinstance(rej, CancelRejected)
    assert (rej.order_id, rej.cl_ord_id, rej.orig_cl_ord_id, rej.too_late) == (order_id, "a1-cxl", "a1", True)
    order = engine.get(order_id)
    assert order is not None and order.cl_ord_id == "a1"


def test_cancel_when_already_canceled_then_too_late(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "b1", Side.BUY, "10", "9.99"))
    engine.cancel(order_id, "c1", "b1")

    events = engine.cancel(order_id, "c2", "c1")

    assert isinstance(events[0], CancelRejected) and events[0].too_late is True


def test_cancel_when_new_cl_ord_id_already_used_then_rejected(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "b1", Side.BUY, "10", "9.99"))
    limit(engine, "b2", Side.BUY, "10", "9.98")

    events = engine.cancel(order_id, "b2", "b1")

    assert isinstance(events[0], CancelRejected)
    assert (events[0].reason, events[0].too_late) == ("duplicate ClOrdID", False)
    assert engine.depth(SYM)[0] == [(D("9.99"), D(10)), (D("9.98"), D(10))]


# ------------------------------------------------------------------ replace


def test_replace_when_qty_decreased_at_same_price_then_keeps_priority(engine: MatchingEngine) -> None:
    first = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "a2", Side.SELL, "10", "10.00")

    events = engine.replace(first, "a1-r", "a1", D(6), None)
    trade = limit(engine, "b1", Side.BUY, "6", "10.00")

    assert kinds(events) == ["Replaced"]
    assert isinstance(events[0], Replaced)
    assert events[0].orig_cl_ord_id == "a1"
    assert (events[0].order.cl_ord_id, events[0].order.qty, events[0].order.status) == (
        "a1-r",
        D(6),
        OrdStatus.NEW,
    )
    assert fills(trade) == [("b1", D(6), D("10.00")), ("a1-r", D(6), D("10.00"))]


def test_replace_when_qty_increased_then_loses_priority(engine: MatchingEngine) -> None:
    first = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "a2", Side.SELL, "10", "10.00")

    engine.replace(first, "a1-r", "a1", D(20), None)
    trade = limit(engine, "b1", Side.BUY, "10", "10.00")

    assert fills(trade) == [("b1", D(10), D("10.00")), ("a2", D(10), D("10.00"))]
    assert engine.depth(SYM) == ([], [(D("10.00"), D(20))])


def test_replace_when_price_changed_then_loses_priority_at_new_level(engine: MatchingEngine) -> None:
    first = oid(limit(engine, "b1", Side.BUY, "10", "9.98"))
    limit(engine, "b2", Side.BUY, "10", "9.99")

    engine.replace(first, "b1-r", "b1", D(5), D("9.99"))
    trade = limit(engine, "s1", Side.SELL, "10", "9.99")

    assert fills(trade) == [("s1", D(10), D("9.99")), ("b2", D(10), D("9.99"))]
    assert engine.depth(SYM) == ([(D("9.99"), D(5))], [])


def test_replace_when_partially_filled_then_status_and_leaves_follow_new_qty(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "b1", Side.BUY, "4", "10.00")

    events = engine.replace(order_id, "a1-r", "a1", D(5), None)

    order = events[0].order
    assert (order.status, order.cum_qty, order.leaves_qty) == (OrdStatus.PARTIALLY_FILLED, D(4), D(1))
    assert engine.depth(SYM) == ([], [(D("10.00"), D(1))])


def test_replace_when_new_price_crosses_then_replaced_then_fills(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "5", "10.00")
    order_id = oid(limit(engine, "b1", Side.BUY, "10", "9.90"))

    events = engine.replace(order_id, "b1-r", "b1", D(10), D("10.00"))

    assert kinds(events) == ["Replaced", "Fill", "Fill"]
    assert events[0].order.status is OrdStatus.NEW
    assert fills(events) == [("b1-r", D(5), D("10.00")), ("a1", D(5), D("10.00"))]
    assert engine.depth(SYM) == ([(D("10.00"), D(5))], [])
    order = engine.get(order_id)
    assert order is not None and order.status is OrdStatus.PARTIALLY_FILLED


@pytest.mark.parametrize("new_qty", [D(4), D(3)])
def test_replace_when_qty_not_above_cum_qty_then_refused(engine: MatchingEngine, new_qty: Decimal) -> None:
    order_id = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "b1", Side.BUY, "4", "10.00")

    events = engine.replace(order_id, "a1-r", "a1", new_qty, None)

    assert events == [
        CancelRejected(order_id, "a1-r", "a1", "new quantity below cumulative quantity", too_late=False)
    ]
    order = engine.get(order_id)
    assert order is not None
    assert (order.qty, order.cl_ord_id, order.leaves_qty) == (D(10), "a1", D(6))
    assert engine.find("S1", "a1-r") is None


def test_replace_when_order_unknown_then_cancel_rejected_not_too_late(engine: MatchingEngine) -> None:
    events = engine.replace("V42", "r", "o", D(10), D(1))

    assert events == [CancelRejected(None, "r", "o", "unknown order", too_late=False)]


def test_replace_when_order_filled_then_too_late(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "a1", Side.SELL, "10", "10.00"))
    limit(engine, "b1", Side.BUY, "10", "10.00")

    events = engine.replace(order_id, "a1-r", "a1", D(20), None)

    assert isinstance(events[0], CancelRejected)
    assert (events[0].order_id, events[0].too_late) == (order_id, True)


def test_replace_when_new_price_not_positive_then_refused(engine: MatchingEngine) -> None:
    order_id = oid(limit(engine, "b1", Side.BUY, "10", "9.99"))

    events = engine.replace(order_id, "b1-r", "b1", D(10), D(0))

    assert isinstance(events[0], CancelRejected)
    assert events[0].reason == "invalid price"
    assert engine.top_of_book(SYM) == (D("9.99"), None)


# ------------------------------------------------------------- find / lookup


def test_find_when_queried_by_earlier_cl_ord_id_in_chain_then_returns_live_order(
    engine: MatchingEngine,
) -> None:
    order_id = oid(limit(engine, "c1", Side.BUY, "10", "9.99"))
    engine.replace(order_id, "c2", "c1", D(8), None)
    engine.replace(order_id, "c3", "c2", D(7), D("9.98"))

    for cl in ("c1", "c2", "c3"):
        found = engine.find("S1", cl)
        assert found is not None
        assert (found.order_id, found.cl_ord_id, found.qty, found.price) == (order_id, "c3", D(7), D("9.98"))
    assert engine.find("S2", "c1") is None
    assert engine.find("S1", "c4") is None


def test_orders_when_filtered_by_owner_and_open_then_returns_matching_in_creation_order(
    engine: MatchingEngine,
) -> None:
    limit(engine, "x1", Side.BUY, "10", "9.00", owner="S1")
    limit(engine, "y1", Side.BUY, "10", "9.00", owner="S2")
    done = oid(limit(engine, "x2", Side.BUY, "10", "9.00", owner="S1"))
    engine.cancel(done, "x2-c", "x2")

    assert [o.cl_ord_id for o in engine.orders()] == ["x1", "y1", "x2-c"]
    assert [o.cl_ord_id for o in engine.orders("S1")] == ["x1", "x2-c"]
    assert [o.cl_ord_id for o in engine.orders("S1", open_only=True)] == ["x1"]


def test_order_ids_when_assigned_then_use_prefix_and_sequence() -> None:
    engine = MatchingEngine(order_id_prefix="SIM-")

    ids = [
        oid(engine.submit("S1", f"c{i}", SYM, Side.BUY, OrdType.LIMIT, D(1), D(1), TimeInForce.DAY))
        for i in range(3)
    ]

    assert ids == ["SIM-1", "SIM-2", "SIM-3"]
    assert engine.get("SIM-2") is not None and engine.get("SIM-2").cl_ord_id == "c1"


# --------------------------------------------------------------- seed / depth


def test_seed_when_called_then_builds_symmetric_depth_owned_by_nobody(engine: MatchingEngine) -> None:
    engine.seed(SYM, mid=D("100.00"), tick=D("0.05"), levels=3, qty=D(500))

    bids, asks = engine.depth(SYM, levels=5)
    assert bids == [(D("99.95"), D(500)), (D("99.90"), D(500)), (D("99.85"), D(500))]
    assert asks == [(D("100.05"), D(500)), (D("100.10"), D(500)), (D("100.15"), D(500))]
    assert engine.top_of_book(SYM) == (D("99.95"), D("100.05"))
    seeded = engine.orders()
    assert len(seeded) == 6
    assert {(o.owner, o.tif, o.status) for o in seeded} == {(None, TimeInForce.GTC, OrdStatus.NEW)}


def test_depth_when_levels_limited_then_aggregates_and_truncates(engine: MatchingEngine) -> None:
    limit(engine, "a1", Side.SELL, "10", "10.00")
    limit(engine, "a2", Side.SELL, "7", "10.00")
    limit(engine, "a3", Side.SELL, "5", "10.01")

    assert engine.depth(SYM, levels=1) == ([], [(D("10.00"), D(17))])
    assert engine.depth("OTHER") == ([], [])
    assert engine.top_of_book("OTHER") == (None, None)


def test_symbols_when_different_then_books_are_independent(engine: MatchingEngine) -> None:
    engine.submit("S1", "a1", "AAA", Side.SELL, OrdType.LIMIT, D(10), D(10), TimeInForce.DAY)

    events = engine.submit("S1", "b1", "BBB", Side.BUY, OrdType.LIMIT, D(10), D(10), TimeInForce.DAY)

    assert kinds(events) == ["Accepted"]
    assert engine.top_of_book("AAA") == (None, D(10))
    assert engine.top_of_book("BBB") == (D(10), None)


# -------------------------------------------------------------- end of day


def test_expire_day_orders_when_day_and_gtc_rest_then_only_day_canceled(engine: MatchingEngine) -> None:
    limit(engine, "day", Side.BUY, "10", "9.99", tif=TimeInForce.DAY)
    limit(engine, "gtc", Side.BUY, "10", "9.98", tif=TimeInForce.GTC)
    filled = oid(limit(engine, "day-filled", Side.SELL, "5", "10.10"))
    limit(engine, "lift", Side.BUY, "5", "10.10", tif=TimeInForce.IOC)

    events = engine.expire_day_orders()

    assert kinds(events) == ["Canceled"]
    assert (events[0].order.cl_ord_id, events[0].reason, events[0].order.status) == (
        "day",
        "expired",
        OrdStatus.CANCELED,
    )
    assert engine.depth(SYM) == ([(D("9.98"), D(10))], [])
    filled_order = engine.get(filled)
    assert filled_order is not None and filled_order.status is OrdStatus.FILLED
    assert engine.expire_day_orders() == []
