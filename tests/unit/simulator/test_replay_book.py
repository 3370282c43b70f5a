"""ReplayBook: queue position of our orders among replayed data orders, on hand-made streams."""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce
from gateway.simulator.book import BookEvent, Fill
from gateway.simulator.models import ImpactModel
from gateway.simulator.replay import (
    READERS,
    DataAdd,
    DataCancel,
    DataClear,
    DataLevel,
    DataModify,
    DataQuote,
    DataTrade,
    ReplayBook,
    ReplaySource,
)

D = Decimal
SYM = "ESH4"
BUY, SELL = Side.BUY, Side.SELL
CME = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "cme_esh4_mbo_2023-12-25.csv.gz"


def add(oid: str, side: Side, px: str, qty: int) -> DataAdd:
    return DataAdd(1, SYM, side, D(px), D(qty), oid)


def trade(aggressor: Side | None, px: str, qty: int) -> DataTrade:
    return DataTrade(2, SYM, aggressor, D(px), D(qty))


def ours(book: ReplayBook, cl: str, side: Side, px: str | None, qty: int, owner: str = "S1") -> str:
    ord_type = OrdType.LIMIT if px is not None else OrdType.MARKET
    tif = TimeInForce.DAY if px is not None else TimeInForce.IOC
    events = book.submit(owner, cl, SYM, side, ord_type, D(qty), None if px is None else D(px), tif)
    return events[0].order.order_id


def fills(events: list[BookEvent]) -> list[tuple[str, Decimal, Decimal]]:
    return [(e.order.cl_ord_id, e.qty, e.price) for e in events if isinstance(e, Fill)]


def bid_book(book: ReplayBook) -> list[tuple[Decimal, Decimal]]:
    return book.depth(SYM, 10)[0]


@pytest.fixture
def joined() -> ReplayBook:
    """Data bids a=2, b=3 at 4800.00, then our bid for 4 behind them (5 lots ahead of us)."""
    book = ReplayBook()
    book.apply_all([add("a", BUY, "4800.00", 2), add("b", BUY, "4800.00", 3), add("x", SELL, "4800.25", 9)])
    ours(book, "Q1", BUY, "4800.00", 4)
    return book


# ------------------------------------------------------------------ prints and queue position


def test_print_smaller_than_the_queue_ahead_does_not_fill_us(joined: ReplayBook) -> None:
    assert joined.apply(trade(SELL, "4800.00", 3)) == []
    assert bid_book(joined) == [(D("4800.00"), D(6))]  # 2 data left ahead of our 4


def test_second_print_fills_us_for_what_exceeds_the_queue_ahead(joined: ReplayBook) -> None:
    joined.apply(trade(SELL, "4800.00", 3))
    assert fills(joined.apply(trade(SELL, "4800.00", 4))) == [("Q1", D(2), D("4800.00"))]
    assert joined.find("S1", "Q1").status is OrdStatus.PARTIALLY_FILLED
    assert joined.last_trade(SYM) == D("4800.00")


def test_print_through_our_price_fills_us_fully_at_our_price(joined: ReplayBook) -> None:
    assert fills(joined.apply(trade(SELL, "4799.75", 10))) == [("Q1", D(4), D("4800.00"))]
    assert joined.find("S1", "Q1").status is OrdStatus.FILLED
    assert bid_book(joined) == [(D("4800.00"), D(5))]  # data through-price liquidity is the file's


def test_print_through_our_price_fills_at_most_the_print_size(joined: ReplayBook) -> None:
    assert fills(joined.apply(trade(SELL, "4799.75", 3))) == [("Q1", D(3), D("4800.00"))]


def test_buy_print_does_not_touch_bids(joined: ReplayBook) -> None:
    assert joined.apply(trade(BUY, "4800.25", 9)) == []
    assert bid_book(joined) == [(D("4800.00"), D(9))]


def test_cancel_of_an_order_ahead_moves_us_up(joined: ReplayBook) -> None:
    joined.apply(DataCancel(3, SYM, "b", D(3)))
    assert fills(joined.apply(trade(SELL, "4800.00", 3))) == [("Q1", D(1), D("4800.00"))]


def test_the_files_own_cancel_after_a_print_does_not_remove_twice(joined: ReplayBook) -> None:
    """CME sends T, then C/M for each filled order: those must not take the level down again."""
    joined.apply(trade(SELL, "4800.00", 3))  # consumes a (2) and 1 of b
    joined.apply_all([DataCancel(3, SYM, "a", D(2)), DataModify(3, SYM, "b", BUY, D("4800.00"), D(2))])
    assert joined.data_depth(SYM)[0] == [(D("4800.00"), D(2))]
    assert joined.apply(trade(SELL, "4800.00", 2)) == []  # b's 2 were still ahead
    assert fills(joined.apply(trade(SELL, "4800.00", 1))) == [("Q1", D(1), D("4800.00"))]


def test_aggressorless_print_fills_only_orders_it_went_through() -> None:
    book = ReplayBook()
    book.apply_all([add("a", BUY, "4800.00", 5), add("x", SELL, "4801.00", 5)])
    ours(book, "B1", BUY, "4800.50", 1)
    ours(book, "B2", BUY, "4800.25", 1)
    assert fills(book.apply(trade(None, "4800.25", 44))) == [("B1", D(1), D("4800.50"))]
    assert book.data_depth(SYM)[0] == [(D("4800.00"), D(5))]


# ------------------------------------------------------------------ modify / cancel semantics


def test_size_decrease_keeps_priority(joined: ReplayBook) -> None:
    joined.apply(DataModify(3, SYM, "b", BUY, D("4800.00"), D(1)))  # 3 ahead now
    assert joined.apply(trade(SELL, "4800.00", 3)) == []
    assert fills(joined.apply(trade(SELL, "4800.00", 1))) == [("Q1", D(1), D("4800.00"))]


def test_size_increase_loses_priority(joined: ReplayBook) -> None:
    joined.apply(DataModify(3, SYM, "a", BUY, D("4800.00"), D(3)))  # a goes behind us: b (3) ahead
    assert fills(joined.apply(trade(SELL, "4800.00", 5))) == [("Q1", D(2), D("4800.00"))]


def test_price_change_loses_priority(joined: ReplayBook) -> None:
    joined.apply(DataModify(3, SYM, "b", BUY, D("4799.75"), D(3)))
    joined.apply(DataModify(4, SYM, "b", BUY, D("4800.00"), D(3)))  # back, but behind us
    assert fills(joined.apply(trade(SELL, "4800.00", 4))) == [("Q1", D(2), D("4800.00"))]


def test_partial_cancel_and_over_cancel_are_clamped(joined: ReplayBook) -> None:
    joined.apply(DataCancel(3, SYM, "b", D(1)))
    assert joined.data_depth(SYM)[0] == [(D("4800.00"), D(4))]
    joined.apply(DataCancel(3, SYM, "b", D(99)))
    joined.apply(DataCancel(3, SYM, "unknown", D(1)))
    assert joined.data_depth(SYM)[0] == [(D("4800.00"), D(2))]


def test_modify_of_unknown_order_adds_it() -> None:
    book = ReplayBook()
    book.apply(DataModify(1, SYM, "z", SELL, D("4801.00"), D(2)))
    assert book.top_of_book(SYM) == (None, D("4801.00"))


def test_clear_removes_data_but_not_ours(joined: ReplayBook) -> None:
    joined.apply(DataClear(5, SYM))
    assert joined.depth(SYM) == ([(D("4800.00"), D(4))], [])
    assert joined.data_depth(SYM) == ([], [])


# ------------------------------------------------------------------ data adds that cross ours


def test_crossing_data_add_fills_our_resting_order_at_our_price() -> None:
    book = ReplayBook()
    book.apply(add("a", BUY, "4800.00", 5))
    ours(book, "S", SELL, "4801.00", 2)
    assert fills(book.apply(add("b", BUY, "4801.50", 3))) == [("S", D(2), D("4801.00"))]
    assert book.data_depth(SYM)[0] == [(D("4801.50"), D(1)), (D("4800.00"), D(5))]
    book.apply(DataCancel(3, SYM, "b", D(3)))  # the file cancels all 3: clamped to the 1 left
    assert book.data_depth(SYM)[0] == [(D("4800.00"), D(5))]


def test_data_ahead_of_us_shields_us_from_a_crossing_add() -> None:
    book = ReplayBook()
    book.apply(add("x", SELL, "4801.00", 2))
    ours(book, "S", SELL, "4801.00", 1)
    assert book.apply(add("b", BUY, "4801.00", 2)) == []  # matched x in reality; data never trades data
    assert fills(book.apply(add("c", BUY, "4801.00", 3))) == [("S", D(1), D("4801.00"))]
    assert book.data_depth(SYM) == ([(D("4801.00"), D(4))], [(D("4801.00"), D(2))])  # crossed, as recorded


# ------------------------------------------------------------------ our marketable orders


def test_marketable_order_walks_the_book_and_the_liquidity_stays_taken() -> None:
    book = ReplayBook()
    book.apply_all([add("a", SELL, "4801.00", 2), add("b", SELL, "4801.25", 3)])
    events = book.submit("S1", "M1", SYM, BUY, OrdType.LIMIT, D(4), D("4801.25"), TimeInForce.IOC)
    assert fills(events) == [("M1", D(2), D("4801.00")), ("M1", D(2), D("4801.25"))]
    assert all(e.order.owner == "S1" for e in events if hasattr(e, "order"))  # no data events
    book.apply(DataModify(3, SYM, "b", SELL, D("4801.25"), D(2)))  # someone else took 1 of the 3
    assert book.data_depth(SYM)[1] == []  # 2 - our 2
    book.apply(DataCancel(3, SYM, "a", D(2)))
    assert book.depth(SYM) == ([], [])


def test_impact_model_worsens_our_aggressive_fills() -> None:
    book = ReplayBook(impact=ImpactModel(k_bps=10, adv=100, alpha=0.5, tick=D("0.25")))
    book.apply(add("a", SELL, "4801.00", 5))
    events = book.submit("S1", "M1", SYM, BUY, OrdType.MARKET, D(2), None, TimeInForce.IOC)
    # 4801 * 10bp * sqrt(2/100) = 0.679 -> one tick up rounds to 0.75
    assert fills(events) == [("M1", D(2), D("4801.75"))]


def test_data_owner_is_reserved() -> None:
    with pytest.raises(ValueError, match="owner None"):
        ReplayBook().submit(None, "X", SYM, BUY, OrdType.LIMIT, D(1), D(1), TimeInForce.DAY)


def test_sessions_cannot_cancel_data_orders(joined: ReplayBook) -> None:
    data_id = joined.engine.queue(SYM, BUY, D("4800.00"))[0].order_id
    assert joined.cancel(data_id, "C1", "a") == []
    assert bid_book(joined) == [(D("4800.00"), D(9))]


# ------------------------------------------------------------------ level 2 and quotes


def level(side: Side, px: str, qty: int) -> DataLevel:
    return DataLevel(1, SYM, side, D(px), D(qty))


def test_level_increase_goes_behind_us_and_decrease_comes_off_the_newest() -> None:
    book = ReplayBook()
    book.apply(level(BUY, "100", 5))
    ours(book, "Q", BUY, "100", 2)
    book.apply(level(BUY, "100", 8))  # +3 behind us
    assert bid_book(book) == [(D("100"), D(10))]
    book.apply(level(BUY, "100", 6))  # -2 from the newest, which is behind us
    assert book.apply(trade(SELL, "100", 5)) == []  # the 5 ahead
    assert fills(book.apply(trade(SELL, "100", 1))) == [("Q", D(1), D("100"))]


def test_level_decrease_below_what_is_ahead_moves_us_up() -> None:
    book = ReplayBook()
    book.apply(level(BUY, "100", 5))
    ours(book, "Q", BUY, "100", 2)
    book.apply(level(BUY, "100", 3))
    assert fills(book.apply(trade(SELL, "100", 4))) == [("Q", D(1), D("100"))]
    book.apply(level(BUY, "100", 0))
    assert book.data_depth(SYM) == ([], [])


def test_crossing_level_fills_our_order_up_to_its_size() -> None:
    book = ReplayBook()
    book.apply_all([level(BUY, "100", 5), level(SELL, "101", 5)])
    ours(book, "Q", BUY, "100.5", 4)
    assert fills(book.apply(level(SELL, "100.25", 3))) == [("Q", D(3), D("100.5"))]
    assert book.data_depth(SYM)[1] == [(D("101"), D(5))]  # the 3 we took are off that level
    assert book.apply(level(SELL, "100.25", 3)) == []  # same level again: nothing new to take
    assert fills(book.apply(level(SELL, "100.25", 5))) == [("Q", D(1), D("100.5"))]


def test_quote_replaces_the_book_and_fills_ours_when_it_crosses() -> None:
    book = ReplayBook()
    m = D(1_000_000)
    book.apply(DataQuote(1, SYM, D("1.1000"), m, D("1.1002"), m))
    ours(book, "Q", BUY, "1.1001", 2_000_000)
    assert book.depth(SYM) == ([(D("1.1001"), 2 * m), (D("1.1000"), m)], [(D("1.1002"), m)])
    assert book.mid(SYM) == D("1.10015")
    assert fills(book.apply(DataQuote(2, SYM, D("1.0999"), m, D("1.1000"), m))) == [("Q", m, D("1.1001"))]
    assert book.apply(DataQuote(3, SYM, D("1.0999"), m, D("1.1000"), m)) == []
    assert fills(book.apply(DataQuote(4, SYM, D("1.0998"), m, D("1.0999"), m))) == [("Q", m, D("1.1001"))]
    assert book.depth(SYM) == ([(D("1.0998"), m)], [])  # what we took stays off the 1.0999 level
    book.apply(DataQuote(5, SYM, None, D(0), D("1.1000"), m))
    assert book.depth(SYM) == ([], [(D("1.1000"), m)])


# ------------------------------------------------------------------ the real ESH4 file


def _fold_file_book(events: list) -> tuple[list, list]:
    """The book the file itself describes, from its A/C/M alone."""
    orders: dict[str, tuple[Side, Decimal, Decimal]] = {}
    for e in events:
        if isinstance(e, DataAdd):
            orders[e.order_id] = (e.side, e.price, e.qty)
        elif isinstance(e, DataCancel):
            del orders[e.order_id]  # every C in this file removes a whole known order
        elif isinstance(e, DataModify):
            orders[e.order_id] = (e.side, e.price, e.qty)
    levels: dict[Side, Counter] = {BUY: Counter(), SELL: Counter()}
    for side, px, qty in orders.values():
        levels[side][px] += qty
    return sorted(levels[BUY].items(), reverse=True), sorted(levels[SELL].items())


@pytest.fixture(scope="module")
def esh4() -> list:
    if not CME.exists():
        pytest.skip(f"{CME} not present")
    return list(READERS["cme_mbo"](ReplaySource("cme_mbo", CME)))


def test_whole_esh4_session_replays_fast_never_crossed_and_ends_as_the_file(esh4: list) -> None:
    book = ReplayBook()
    open_ns = 1_703_545_200_000_000_000  # 23:00 UTC; before it the pre-open book is crossed
    crossed, prev = 0, None
    start = time.perf_counter()
    for e in esh4:
        if prev is not None and e.ts_ns != prev and prev > open_ns:  # a whole exchange packet applied
            bid, ask = book.top_of_book(SYM)
            crossed += bid is not None and ask is not None and bid >= ask
        assert book.apply(e) == []
        prev = e.ts_ns
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"replay took {elapsed:.1f}s"  # ~1.3 s on the dev machine
    assert crossed == 0
    bid, ask = book.top_of_book(SYM)
    assert (bid, ask) == (D("4810.0"), D("4810.25"))
    assert book.last_trade(SYM) == D("4810.0")
    assert book.depth(SYM, 10_000) == _fold_file_book(esh4)


def test_our_passive_orders_get_filled_and_leave_the_data_book_as_the_file(esh4: list) -> None:
    book = ReplayBook()
    n = 0
    got: list[BookEvent] = []
    for i, e in enumerate(esh4):
        got += book.apply(e)
        if i > 12_000 and i % 2_000 == 0:  # after the open: join the best bid and offer
            bid, ask = book.top_of_book(SYM)
            n += 1
            ours(book, f"B{n}", BUY, str(bid), 1)
            ours(book, f"S{n}", SELL, str(ask), 1)
    assert sum(isinstance(e, Fill) for e in got) > 5
    assert all(e.order.owner == "S1" for e in got)
    assert book.data_depth(SYM, 10_000) == _fold_file_book(esh4)
