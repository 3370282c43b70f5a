"""Unit tests for the normalised market-data model (gateway.marketdata.book) and its benchmark."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.codec.marketdata import MDAction, MDSide, MDUpdate, decode_market_data, encode_incremental
from gateway.marketdata import bench
from gateway.marketdata.api import Level, MarketView
from gateway.marketdata.book import MarketData

D = Decimal
BID, ASK, TRADE = MDSide.BID, MDSide.ASK, MDSide.TRADE
NEW, CHANGE, DELETE, SNAP = MDAction.NEW, MDAction.CHANGE, MDAction.DELETE, MDAction.SNAPSHOT
S = 1_000_000_000  # one second in ns


class Clock:
    def __init__(self, now: int = 100 * S) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def changed():
    return []


@pytest.fixture
def market(clock, changed):
    return MarketData(clock=clock, on_change=changed.append)


def lv(*pairs) -> tuple[Level, ...]:
    return tuple(Level(D(str(p)), D(str(q))) for p, q in pairs)


def ladder(best: str, step: str, n: int, qty: int = 100) -> list[tuple[Decimal, Decimal]]:
    return [(D(best) + D(step) * i, D(qty)) for i in range(n)]


def as_view(m: MarketView) -> MarketView:
    """MarketData is used wherever a MarketView is expected (routing, risk)."""
    return m


# ---------------------------------------------------------------- snapshots


def test_snapshot_keeps_the_top_n_best_first(market, clock):
    market.snapshot("V1", "AAPL", ladder("99", "-1", 7), ladder("101", "1", 7), None, clock.now)
    book = market.book("V1", "AAPL")
    assert book.bids == lv((99, 100), (98, 100), (97, 100), (96, 100), (95, 100))
    assert book.asks == lv((101, 100), (102, 100), (103, 100), (104, 100), (105, 100))
    assert (book.best_bid, book.best_ask, book.mid) == (Level(D(99), D(100)), Level(D(101), D(100)), D(100))
    assert (book.venue, book.symbol, book.updated_ns, book.stale) == ("V1", "AAPL", clock.now, False)
    assert (book.last_price, book.last_qty) == (None, None)
    assert market.book("V1", "MSFT") is None
    assert market.book("V2", "AAPL") is None


def test_snapshot_accepts_levels_unsorted_and_drops_empty_ones(market, clock):
    market.snapshot(
        "V1",
        "A",
        [Level(D(9), D(1)), (D(10), D(2)), (D(8), D(0))],
        [(D(12), D(1)), (D(11), D(5))],
        (D("10.5"), D(7)),
        clock.now,
    )
    book = market.book("V1", "A")
    assert book.bids == lv((10, 2), (9, 1))
    assert book.asks == lv((11, 5), (12, 1))
    assert (book.last_price, book.last_qty) == (D("10.5"), D(7))


def test_snapshot_updates_replace_the_book(market, clock):
    market.snapshot("V1", "A", ladder("9", "-1", 3), ladder("11", "1", 3), (D(10), D(1)), clock.now)
    market.apply(
        "V1",
        [MDUpdate("A", BID, D(8), D(5), SNAP), MDUpdate("A", ASK, D(12), D(6), SNAP)],
        clock.now,
    )
    book = market.book("V1", "A")
    assert (book.bids, book.asks) == (lv((8, 5)), lv((12, 6)))
    assert book.last_price == D(10)  # a snapshot without a trade keeps the last one
    market.apply("V1", [MDUpdate("A", None, None, None, SNAP)], clock.now)  # empty W
    book = market.book("V1", "A")
    assert (book.bids, book.asks, book.last_price) == ((), (), D(10))
    market.apply(
        "V1",
        [MDUpdate("A", None, None, None, SNAP), MDUpdate("A", TRADE, D(11), D(2), SNAP)],
        clock.now,
    )
    assert (market.book("V1", "A").last_price, market.book("V1", "A").last_qty) == (D(11), D(2))


# ---------------------------------------------------------------- incremental updates


def test_incremental_new_change_delete(market, clock):
    market.snapshot("V1", "A", ladder("9", "-1", 3), ladder("11", "1", 3), None, clock.now)
    market.apply(
        "V1",
        [
            MDUpdate("A", BID, D("9.5"), D(40), NEW),
            MDUpdate("A", BID, D(8), D(250), CHANGE),
            MDUpdate("A", ASK, D(11), None, DELETE),
            MDUpdate("A", ASK, D(14), D(1), NEW),
        ],
        clock.now + 5,
    )
    book = market.book("V1", "A")
    assert book.bids == lv(("9.5", 40), (9, 100), (8, 250), (7, 100))
    assert book.asks == lv((12, 100), (13, 100), (14, 1))
    assert book.updated_ns == clock.now + 5


def test_tolerant_rules_change_unknown_adds_zero_size_deletes_unknown_delete_ignored(market, clock):
    market.snapshot("V1", "A", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    market.apply(
        "V1",
        [
            MDUpdate("A", BID, D(8), D(3), CHANGE),
            MDUpdate("A", ASK, D(11), D(0), CHANGE),
            MDUpdate("A", ASK, D(50), None, DELETE),
        ],
        clock.now,
    )
    book = market.book("V1", "A")
    assert (book.bids, book.asks) == (lv((9, 1), (8, 3)), ())


def test_top_n_trimming_on_incremental_updates(clock):
    market = MarketData({"V1": 3}, clock=clock)
    market.snapshot("V1", "A", ladder("9", "-1", 3), ladder("11", "1", 3), None, clock.now)
    market.apply(
        "V1",
        [
            MDUpdate("A", BID, D(5), D(1), NEW),  # worse than the 3rd: ignored
            MDUpdate("A", ASK, D("10.5"), D(1), NEW),  # better: pushes 13 out
            MDUpdate("A", BID, D(7), D(9), CHANGE),  # known price: size only
        ],
        clock.now,
    )
    book = market.book("V1", "A")
    assert book.bids == lv((9, 100), (8, 100), (7, 9))
    assert book.asks == lv(("10.5", 1), (11, 100), (12, 100))
    market.apply("V1", [MDUpdate("A", ASK, D("10.5"), None, DELETE), MDUpdate("A", ASK, D(13), D(2), NEW)], 0)
    assert market.book("V1", "A").asks == lv((11, 100), (12, 100), (13, 2))


def test_depth_is_per_venue_and_can_change(clock):
    market = MarketData({"V2": 2}, default_depth=4, clock=clock)
    for venue in ("V1", "V2"):
        market.snapshot(venue, "A", ladder("9", "-1", 6), ladder("11", "1", 6), None, clock.now)
    assert [len(market.book(v, "A").bids) for v in ("V1", "V2")] == [4, 2]
    market.configure_venue("V1", depth=1)
    assert market.book("V1", "A").bids == lv((9, 100))
    assert market.depth_of("V1") == 1 and market.depth_of("V9") == 4
    with pytest.raises(ValueError):
        market.configure_venue("V1", depth=0)


def test_trades_set_the_last_trade(market, clock):
    market.apply("V1", [MDUpdate("A", TRADE, D("10.25"), D(30), NEW)], clock.now)
    book = market.book("V1", "A")
    assert (book.last_price, book.last_qty, book.bids, book.asks) == (D("10.25"), D(30), (), ())


def test_decoded_fix_messages_apply(market, clock):
    from tests.unit.test_codec_marketdata import validate

    msg = encode_incremental(
        "R", [MDUpdate("A", BID, D(9), D(5), NEW), MDUpdate("A", ASK, D(11), D(6), NEW)], "FIX.4.4"
    )
    market.apply("V1", decode_market_data("X", validate(msg, "FIX.4.4"), "FIX.4.4"), clock.now)
    assert market.best_bid("A") == (Level(D(9), D(5)), "V1")
    assert market.best_ask("A") == (Level(D(11), D(6)), "V1")


# ---------------------------------------------------------------- staleness


def test_books_go_stale_by_time_per_venue(clock):
    market = MarketData(stale_after_ns={"SLOW": 10 * S}, clock=clock)
    market.snapshot("FAST", "A", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    market.snapshot("SLOW", "A", [(D(8), D(1))], [(D(12), D(1))], None, clock.now)
    clock.now += 2 * S
    assert [b.venue for b in market.books("A")] == ["FAST", "SLOW"]  # exactly 2 s: still fresh
    clock.now += 1
    assert [b.venue for b in market.books("A")] == ["SLOW"]
    assert market.book("FAST", "A").stale is True  # book() shows stale books, flagged
    assert market.best_bid("A") == (Level(D(8), D(1)), "SLOW")
    market.apply("FAST", [MDUpdate("A", BID, D(9), D(2), CHANGE)], clock.now)
    assert market.best_bid("A") == (Level(D(9), D(2)), "FAST")
    clock.now += 11 * S
    assert market.books("A") == []
    assert (market.best_bid("A"), market.best_ask("A"), market.reference_price("A")) == (None, None, None)
    assert market.stale_after_of("FAST") == 2 * S


def test_check_stale_reports_each_book_once(market, clock, changed):
    market.snapshot("V1", "A", [(D(9), D(1))], [], None, clock.now)
    market.snapshot("V1", "B", [(D(9), D(1))], [], None, clock.now + S)
    changed.clear()
    assert market.check_stale(clock.now + 2 * S + 1) == ["A"]
    assert market.check_stale(clock.now + 3 * S + 1) == ["B"]
    assert market.check_stale(clock.now + 4 * S) == []
    assert changed == ["A", "B"]
    market.apply("V1", [MDUpdate("A", BID, D(9), D(3), CHANGE)], clock.now + 5 * S)
    assert market.check_stale(clock.now + 8 * S) == ["A"]


def test_venue_down_marks_its_books_stale_until_new_data(market, clock, changed):
    market.snapshot("V1", "A", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    market.snapshot("V1", "B", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    market.snapshot("V2", "A", [(D(8), D(1))], [(D(12), D(1))], None, clock.now)
    changed.clear()
    market.venue_down("V1")
    assert changed == ["A", "B"]
    assert [b.venue for b in market.books("A")] == ["V2"]
    assert market.books("B") == []
    assert market.book("V1", "A").stale
    market.venue_down("V1")  # already down: nothing more to say
    assert changed == ["A", "B"]
    market.apply("V1", [MDUpdate("A", BID, D(9), D(4), CHANGE)], clock.now)
    assert [b.venue for b in market.books("A")] == ["V1", "V2"]
    assert market.books("B") == []  # no data for B yet
    assert market.check_stale(clock.now + 10 * S) == ["A"]  # B was down already: not reported again


# ---------------------------------------------------------------- consolidation


def three_venues(market: MarketData, now: int) -> None:
    market.snapshot("V1", "A", [(D(10), D(1)), (D(9), D(5))], [(D(12), D(1)), (D(13), D(1))], None, now)
    market.snapshot("V2", "A", [(D(10), D(3)), (D(8), D(1))], [(D(11), D(2)), (D(12), D(4))], None, now)
    market.snapshot("V3", "A", [(D(11), D(9))], [(D("11.5"), D(9))], None, now)


def test_consolidated_best_and_depth_across_fresh_books(market, clock):
    three_venues(market, clock.now)
    market.venue_down("V3")
    assert market.best_bid("A") == (Level(D(10), D(3)), "V2")  # tie on price: the larger size
    assert market.best_ask("A") == (Level(D(11), D(2)), "V2")
    bids, asks = market.depth("A", 3)
    assert bids == lv((10, 4), (9, 5), (8, 1))
    assert asks == lv((11, 2), (12, 5), (13, 1))
    assert market.depth("A", 1) == (lv((10, 4)), lv((11, 2)))
    assert market.depth("NONE") == ((), ())
    assert market.best_bid("NONE") is None


def test_best_price_ties_on_size_go_to_the_venue_first_by_name(market, clock):
    market.snapshot("ZED", "A", [(D(10), D(1))], [(D(11), D(1))], None, clock.now)
    market.snapshot("ALPHA", "A", [(D(10), D(1))], [(D(11), D(1))], None, clock.now)
    assert market.best_bid("A")[1] == "ALPHA"
    assert market.best_ask("A")[1] == "ALPHA"
    assert [b.venue for b in as_view(market).books("A")] == ["ALPHA", "ZED"]


def test_reference_price_rules(market, clock):
    assert market.reference_price("A") is None
    three_venues(market, clock.now)
    assert market.reference_price("A") == D(11)  # consolidated mid: bid 11 (V3), ask 11 (V2)
    market.venue_down("V3")
    assert market.reference_price("A") == D("10.5")  # mid of 10 (V1/V2) and 11 (V2)
    market.apply("V1", [MDUpdate("A", TRADE, D("10.2"), D(1), NEW)], clock.now + 1)
    market.apply("V2", [MDUpdate("A", TRADE, D("10.9"), D(1), NEW)], clock.now + 2)
    assert market.reference_price("A") == D("10.9")  # the most recent trade across venues
    market.venue_down("V2")
    assert market.reference_price("A") == D("10.2")  # V2's trade is on a stale book now
    clock.now += 3 * S
    assert market.reference_price("A") is None  # nothing fresh
    market.apply("V3", [MDUpdate("A", ASK, D(20), D(1), NEW)], clock.now)
    assert market.reference_price("A") == D("11.25")  # V3 fresh again, no trade there: its mid


def test_one_sided_market_has_no_mid(market, clock):
    market.snapshot("V1", "A", [(D(10), D(1))], [], None, clock.now)
    assert market.mid("A") is None
    assert market.reference_price("A") is None


# ---------------------------------------------------------------- callback


def test_on_change_once_per_symbol_per_apply(market, clock, changed):
    market.apply(
        "V1",
        [
            MDUpdate("A", BID, D(1), D(1), NEW),
            MDUpdate("B", BID, D(1), D(1), NEW),
            MDUpdate("A", ASK, D(2), D(1), NEW),
        ],
        clock.now,
    )
    assert changed == ["A", "B"]
    market.snapshot("V2", "C", [], [], None, clock.now)
    assert changed == ["A", "B", "C"]
    assert sorted(market.symbols()) == ["A", "B", "C"]


def test_on_change_may_read_the_new_reference_price(clock):
    seen = []
    market = MarketData(clock=clock, on_change=lambda s: seen.append((s, market.reference_price(s))))
    market.snapshot("V1", "A", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    market.apply("V1", [MDUpdate("A", TRADE, D("10.5"), D(1), NEW)], clock.now)
    assert seen == [("A", D(10)), ("A", D("10.5"))]


def test_views_are_snapshots(market, clock):
    market.snapshot("V1", "A", [(D(9), D(1))], [(D(11), D(1))], None, clock.now)
    before = market.book("V1", "A")
    market.apply("V1", [MDUpdate("A", BID, D(9), D(7), CHANGE)], clock.now)
    assert before.bids == lv((9, 1))
    assert market.book("V1", "A").bids == lv((9, 7))


# ---------------------------------------------------------------- benchmark


def test_bench_runs_and_prints(capsys):
    result = bench.run(updates=3_000)
    out = capsys.readouterr().out
    assert "p50" in out and "p99" in out
    assert result.updates == 3_000
    assert 0 < result.p50_us <= result.p99_us <= result.max_us
