"""Seeding readers against the real recorded data in ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.orders.enums import Side
from gateway.simulator.book import MatchingEngine
from gateway.simulator.seeding import (
    READERS,
    RestingOrder,
    binance_depth_snapshot,
    cme_mbo_snapshot,
    seed_book,
)
from gateway.simulator.venue import SimVenue

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CME = DATA / "cme_esh4_mbo_2023-12-25.csv.gz"
BINANCE = DATA / "crypto_btcusdt_depth_snapshot.csv"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared market data not available: {path} (see /work/shared/data/README.md)")
    return path


def best(orders: list[RestingOrder]) -> tuple[Decimal | None, Decimal | None]:
    bids = [o.price for o in orders if o.side is Side.BUY]
    asks = [o.price for o in orders if o.side is Side.SELL]
    return max(bids, default=None), min(asks, default=None)


def aggregated(orders: list[RestingOrder], side: Side, levels: int) -> list[tuple[Decimal, Decimal]]:
    by_price: dict[Decimal, Decimal] = defaultdict(Decimal)
    for o in orders:
        if o.side is side:
            by_price[o.price] += o.qty
    prices = sorted(by_price, reverse=side is Side.BUY)[:levels]
    return [(p, by_price[p]) for p in prices]


def seeded(orders: list[RestingOrder], symbol: str) -> tuple[MatchingEngine, int]:
    book = MatchingEngine(order_id_prefix="SIM-")
    return book, seed_book(book, symbol, orders, id_prefix="DATA1-")


def test_registry_names_the_readers() -> None:
    assert READERS["cme_mbo"] is cme_mbo_snapshot
    assert READERS["binance_depth"] is binance_depth_snapshot


def test_cme_snapshot_is_a_plausible_book() -> None:
    orders = cme_mbo_snapshot(need(CME), "ESH4")
    bid, ask = best(orders)
    assert bid is not None and ask is not None
    assert bid < ask
    assert Decimal(4750) < bid < ask < Decimal(4850)  # ESH4 traded near 4800 at Christmas 2023
    assert all(o.price % Decimal("0.25") == 0 and o.qty > 0 for o in orders)
    assert {o.side for o in orders} == {Side.BUY, Side.SELL}


def test_cme_snapshot_order_count_is_adds_minus_cancels() -> None:
    adds = cancels = 0
    with gzip.open(need(CME), "rt", newline="") as f:
        for row in csv.DictReader(f):
            if not int(row["flags"]) & 0x20:
                break
            adds += row["action"] == "A" and row["side"] != "N"
            cancels += row["action"] == "C" and row["side"] != "N"
    assert adds > 0
    assert len(cme_mbo_snapshot(CME, "ESH4")) == adds - cancels


def test_cme_symbol_filter() -> None:
    assert cme_mbo_snapshot(need(CME), "ESM4") == []
    assert cme_mbo_snapshot(CME, None) == cme_mbo_snapshot(CME, "ESH4")


def test_cme_replay_applies_cancel_modify_and_clear(tmp_path: Path) -> None:
    header = "ts_event_ns,ts_recv_ns,symbol,action,side,price,size,order_id,flags,sequence\n"
    rows = [
        "1,1,ESH4,A,B,4799.00,5,1,40,1",
        "1,1,ESH4,A,B,4799.00,3,2,40,2",
        "1,1,ESH4,A,A,4800.00,4,3,40,3",
        "1,1,ESH4,M,B,4799.00,8,1,40,4",  # size up: loses priority, now the newest order
        "1,1,ESH4,M,B,4799.00,2,2,40,5",  # size down: keeps its place
        "1,1,ESH4,C,A,4800.00,1,3,40,5",  # partial cancel
        "1,1,ESH4,T,N,4799.50,1,0,40,6",  # side N and trades are ignored
        "2,2,ESH4,A,A,4801.00,9,4,130,7",  # first row without F_SNAPSHOT: not part of the snapshot
    ]
    path = tmp_path / "mbo.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write(header + "\n".join(rows) + "\n")
    assert cme_mbo_snapshot(path, "ESH4") == [
        RestingOrder(Side.BUY, Decimal("4799.00"), Decimal(2)),
        RestingOrder(Side.SELL, Decimal("4800.00"), Decimal(3)),
        RestingOrder(Side.BUY, Decimal("4799.00"), Decimal(8)),
    ]
    with gzip.open(path, "wt") as f:
        f.write(header + rows[0] + "\n1,1,ESH4,R,N,,0,0,40,2\n" + rows[2] + "\n")
    assert cme_mbo_snapshot(path, "ESH4") == [RestingOrder(Side.SELL, Decimal("4800.00"), Decimal(4))]


def test_binance_snapshot_has_100_levels_split_by_side() -> None:
    with open(need(BINANCE), newline="") as f:
        raw = list(csv.DictReader(f))
    orders = binance_depth_snapshot(BINANCE, "BTCUSDT")
    assert len(orders) == 100
    for side, code in ((Side.BUY, "b"), (Side.SELL, "a")):
        assert sum(o.side is side for o in orders) == sum(r["side"] == code for r in raw)
    # This recorded snapshot holds only the bid side (20365.90-20377.00); the updates file has the asks.
    assert best(orders) == (Decimal("20377.00"), None)
    assert len({(o.side, o.price) for o in orders}) == 100  # one order per level


def test_engine_seeded_from_cme_matches_the_reader() -> None:
    orders = cme_mbo_snapshot(need(CME), "ESH4")
    book, trades = seeded(orders, "ESH4")
    assert trades == 0  # a consistent snapshot never crosses
    assert book.top_of_book("ESH4") == best(orders)
    bids, asks = book.depth("ESH4", levels=10)
    assert bids == aggregated(orders, Side.BUY, 10)
    assert asks == aggregated(orders, Side.SELL, 10)
    assert len(book.orders(open_only=True)) == len(orders)
    # queue position is the snapshot's: the first resting order at the best bid is the reader's first
    first_at_bid = next(o for o in orders if o.side is Side.BUY and o.price == best(orders)[0])
    head = next(o for o in book.orders() if o.side is Side.BUY and o.price == best(orders)[0])
    assert (head.qty, head.cl_ord_id) == (first_at_bid.qty, f"DATA1-{orders.index(first_at_bid) + 1}")


def test_engine_seeded_from_binance_matches_the_reader() -> None:
    orders = binance_depth_snapshot(need(BINANCE), "BTCUSDT")
    book, trades = seeded(orders, "BTCUSDT")
    assert trades == 0
    assert book.top_of_book("BTCUSDT") == best(orders)
    bids, asks = book.depth("BTCUSDT", levels=100)
    assert (bids, asks) == (aggregated(orders, Side.BUY, 100), aggregated(orders, Side.SELL, 100))


def test_crossing_seed_data_trades_instead_of_failing() -> None:
    crossed = [
        RestingOrder(Side.SELL, Decimal(100), Decimal(5)),
        RestingOrder(Side.BUY, Decimal(101), Decimal(2)),
    ]
    book, trades = seeded(crossed, "X")
    assert trades == 1
    assert book.top_of_book("X") == (None, Decimal(100))
    assert book.depth("X") == ([], [(Decimal(100), Decimal(3))])


def test_sim_venue_seeds_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wiring end to end: config entry -> SimVenue.__init__ -> resting book (synthetic levels too)."""
    need(CME)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config/venues").mkdir(parents=True)
    (tmp_path / "config/gateway.yaml").write_text(
        "gateway: {comp_id: FIXGW, home: .., acceptor: {port: 9878}}\n"
        "instruments:\n"
        "  - {symbol: ESH4, tick_size: '0.25', lot_size: 1, currency: USD, venue: SIM-A}\n"
        "  - {symbol: AAPL, tick_size: '0.01', lot_size: 1, currency: USD, venue: SIM-A}\n"
    )
    (tmp_path / "config/venues/SIM-A.yaml").write_text(
        "name: SIM-A\nhost: 127.0.0.1\nport: 9881\nfix_version: '4.4'\n"
        "simulator:\n"
        "  reference_prices: {AAPL: '190.00'}\n"
        f"  seed_from: [{{file: {CME}, format: cme_mbo, symbol: ESH4}}]\n"
    )
    cfg = load_config("config/gateway.yaml")
    venue = SimVenue(cfg, cfg.venues["SIM-A"])
    orders = cme_mbo_snapshot(CME, "ESH4")
    assert venue.book.top_of_book("ESH4") == best(orders) == (Decimal("4799.0"), Decimal("4799.5"))
    assert venue.book.top_of_book("AAPL") == (Decimal("189.99"), Decimal("190.01"))
    assert sum(o.symbol == "ESH4" for o in venue.book.orders(open_only=True)) == len(orders)
