"""Replay readers on the real sample files, plus plugin resolution and perturbation."""

from __future__ import annotations

import csv
import gzip
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from gateway.orders.enums import Side
from gateway.simulator.replay import (
    READERS,
    DataAdd,
    DataCancel,
    DataClear,
    DataLevel,
    DataModify,
    DataQuote,
    DataTrade,
    ReplayEvent,
    ReplaySource,
    perturbed,
    reader_for,
)
from gateway.simulator.replay.readers import cme_mbo_events, iso_to_ns

D = Decimal
DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CME = DATA / "cme_esh4_mbo_2023-12-25.csv.gz"
EURUSD = DATA / "fx_eurusd_quotes_2020-01-01.csv.gz"
USDJPY = DATA / "fx_usdjpy_ticks_truefx.csv"
BTC_SNAP = DATA / "crypto_btcusdt_depth_snapshot.csv"
BTC_UPD = DATA / "crypto_btcusdt_depth_updates.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def read(fmt: str, file: Path, **kw: object) -> list[ReplayEvent]:
    return list(READERS[fmt](ReplaySource(fmt, need(file), **kw)))  # type: ignore[arg-type]


# ------------------------------------------------------------------ CME MBO


@pytest.fixture(scope="module")
def esh4() -> list[ReplayEvent]:
    return read("cme_mbo", CME)


def test_cme_event_counts_match_the_raw_actions(esh4: list[ReplayEvent]) -> None:
    with gzip.open(need(CME), "rt", newline="") as f:
        raw = Counter(row["action"] for row in csv.DictReader(f))
    got = Counter(type(e) for e in esh4)
    assert got == {DataAdd: raw["A"], DataCancel: raw["C"], DataModify: raw["M"], DataTrade: raw["T"]}
    assert raw["F"] == 6_371 and raw["R"] == 0  # fills are not replayed: their C/M follows
    assert len(esh4) == 68_792 - raw["F"]


def test_cme_times_are_event_times_in_file_order(esh4: list[ReplayEvent]) -> None:
    assert esh4[0].ts_ns == 1_703_422_805_243_925_307
    assert esh4[-1].ts_ns == 1_703_548_799_446_724_905
    assert all(a.ts_ns <= b.ts_ns for a, b in pairwise(esh4))


def test_cme_snapshot_rows_are_adds(esh4: list[ReplayEvent]) -> None:
    snapshot = esh4[:8_725]
    assert all(isinstance(e, DataAdd) and e.ts_ns == esh4[0].ts_ns for e in snapshot)
    assert esh4[8_725].ts_ns == 1_703_541_600_180_087_113  # 22:00 UTC, first live row
    first = esh4[0]
    assert first == DataAdd(first.ts_ns, "ESH4", Side.BUY, D("4799.0"), D(2), "6412777162812")


def test_cme_snapshot_only_stops_at_the_first_live_row(tmp_path: Path) -> None:
    assert sum(1 for _ in cme_mbo_events(need(CME), snapshot_only=True)) == 8_725
    live = tmp_path / "live.csv"
    live.write_text(
        "ts_event_ns,ts_recv_ns,symbol,action,side,price,size,order_id,flags,sequence\n1,1,X,A,B,1,1,1,130,1\n"
    )
    with pytest.raises(ValueError, match="no opening snapshot"):
        list(cme_mbo_events(live, snapshot_only=True))
    assert len(list(cme_mbo_events(live))) == 1


def test_cme_trade_side_is_the_aggressor(esh4: list[ReplayEvent]) -> None:
    trades = [e for e in esh4 if isinstance(e, DataTrade)]
    assert trades[0] == DataTrade(1_703_545_200_000_000_000, "ESH4", None, D("4800.25"), D(44))  # auction
    # T,B then F,A on the resting offer: a buyer lifted 5 at 4800.25
    assert trades[1] == DataTrade(1_703_545_200_085_275_419, "ESH4", Side.BUY, D("4800.25"), D(5))
    sides = Counter(t.aggressor for t in trades)
    assert sides == {Side.BUY: 1_542, Side.SELL: 1_430, None: 1}


def test_cme_symbol_filter_and_rename() -> None:
    assert read("cme_mbo", CME, symbol="ESM4") == []
    head = next(iter(READERS["cme_mbo"](ReplaySource("cme_mbo", need(CME), "ESH4", as_symbol="ES"))))
    assert head.symbol == "ES"


def test_cme_clear_and_side_n_rows(tmp_path: Path) -> None:
    path = tmp_path / "mbo.csv"
    path.write_text(
        "ts_event_ns,ts_recv_ns,symbol,action,side,price,size,order_id,flags,sequence\n"
        "1,1,ESH4,A,B,4800.0,2,11,130,1\n"
        "2,2,ESH4,R,N,0,0,0,0,2\n"
        "3,3,ESH4,F,A,4800.0,1,11,0,3\n"
        "4,4,ESH4,A,N,4800.0,1,12,0,4\n"
    )
    assert list(READERS["cme_mbo"](ReplaySource("cme_mbo", path))) == [
        DataAdd(1, "ESH4", Side.BUY, D("4800.0"), D(2), "11"),
        DataClear(2, "ESH4"),
    ]


# ------------------------------------------------------------------ FX quotes


def test_histdata_quotes() -> None:
    quotes = read("histdata_quotes", EURUSD, as_symbol="EUR/USD")
    assert len(quotes) == 9_500 and all(isinstance(q, DataQuote) for q in quotes)
    m = D(1_000_000)
    assert quotes[0] == DataQuote(
        iso_to_ns("2020-01-01T17:00:00.065Z"), "EUR/USD", D("1.121200"), m, D("1.121720"), m
    )
    assert quotes[-1].ts_ns == iso_to_ns("2020-01-01T23:00:52.125Z")
    assert all(a.ts_ns <= b.ts_ns for a, b in pairwise(quotes))
    sized = read("histdata_quotes", EURUSD, default_qty=D(5))
    assert sized[0].bid_qty == sized[0].ask_qty == D(5) and sized[0].symbol == "EURUSD"


def test_truefx_ticks() -> None:
    ticks = read("truefx", USDJPY)
    assert len(ticks) == 1_000
    assert ticks[0] == DataQuote(
        iso_to_ns("2013-01-01T22:00:00.295"), "USDJPY", D("86.655"), D(1_000_000), D("86.728"), D(1_000_000)
    )
    assert ticks[-1].ts_ns == 1_357_079_713_494_000_000


# ------------------------------------------------------------------ Binance depth


def test_binance_snapshot_then_updates(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "gateway.simulator.replay"):
        events = read("binance_depth", BTC_SNAP, updates_file=need(BTC_UPD))
    assert isinstance(events[0], DataClear) and events[0].ts_ns == 1_667_346_579_146_000_000
    levels = events[1:]
    assert len(levels) == 200 and all(isinstance(e, DataLevel) for e in levels)
    assert levels[0] == DataLevel(1_667_346_579_146_000_000, "BTCUSDT", Side.BUY, D("20377.00"), D("1.770"))
    assert levels[-1] == DataLevel(
        1_667_347_199_939_000_000, "BTCUSDT", Side.SELL, D("20879.10"), D("10.249")
    )
    assert "sequence gap" in caplog.text  # the sample's updates start far past the snapshot


BIN_HEADER = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu\n"


def test_binance_stale_updates_dropped_and_chain_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snap, upd = tmp_path / "snap.csv", tmp_path / "upd.csv"
    snap.write_text(BIN_HEADER + "X,1000,100,100,b,snap,10.0,1.0,-1\n")
    upd.write_text(
        BIN_HEADER
        + "X,1001,90,99,b,set,10.0,5.0,89\n"  # older than the snapshot: dropped
        + "X,1002,98,103,b,set,10.0,2.0,97\n"  # bridges id 100: applied
        + "X,1002,98,103,a,set,11.0,3.0,97\n"
        + "X,1003,104,106,b,set,10.0,0,103\n"  # pu chains: fine
    )
    with caplog.at_level(logging.WARNING, "gateway.simulator.replay"):
        events = read("binance_depth", snap, updates_file=upd)
    assert [(e.ts_ns // 1_000_000, e.qty) for e in events[1:]] == [
        (1000, D("1.0")),
        (1002, D("2.0")),
        (1002, D("3.0")),
        (1003, D("0")),
    ]
    assert caplog.text == ""
    upd.write_text(BIN_HEADER + "X,1002,98,103,b,set,10.0,2.0,97\nX,1003,110,111,b,set,10.0,0,109\n")
    with caplog.at_level(logging.WARNING, "gateway.simulator.replay"):
        read("binance_depth", snap, updates_file=upd)
    assert "110-111 does not follow update id 103" in caplog.text


# ------------------------------------------------------------------ plugins


def plugin_reader(source: ReplaySource) -> Iterator[ReplayEvent]:
    yield DataClear(1, source.as_symbol or "X")


NOT_CALLABLE = 3


def test_reader_for_resolves_names_and_plugin_paths() -> None:
    assert reader_for("cme_mbo") is READERS["cme_mbo"]
    here = __name__
    assert reader_for(f"{here}:plugin_reader") is plugin_reader
    assert reader_for(f"{here}.plugin_reader") is plugin_reader


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("nope", "unknown replay format 'nope'"),
        ("no_such_pkg.mod:f", "cannot import module 'no_such_pkg.mod'"),
        (f"{__name__}:missing", "has no attribute 'missing'"),
        (f"{__name__}:NOT_CALLABLE", "is not callable"),
        (":f", "expected package.module:function"),
    ],
)
def test_reader_for_errors_name_the_problem(name: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        reader_for(name)


# ------------------------------------------------------------------ perturbation


def _stream() -> list[ReplayEvent]:
    out: list[ReplayEvent] = []
    for i in range(200):
        out.append(DataAdd(i, "X", Side.BUY, D(100), D(2), f"o{i}"))
        out.append(DataModify(i, "X", f"o{i}", Side.BUY, D(100), D(1)))
        out.append(DataCancel(i, "X", f"o{i}", D(1)))
    out.append(DataTrade(300, "X", Side.SELL, D(100), D(3)))
    out.append(DataQuote(301, "X", D(99), D(4), D(101), D(6)))
    return out


def test_perturbed_is_deterministic_per_seed() -> None:
    a = list(perturbed(_stream(), seed=7, drop_adds=0.3))
    assert a == list(perturbed(_stream(), seed=7, drop_adds=0.3))
    assert a != list(perturbed(_stream(), seed=8, drop_adds=0.3))


def test_perturbed_drops_an_add_with_everything_about_that_order() -> None:
    out = list(perturbed(_stream(), seed=1, drop_adds=0.5))
    kept = {e.order_id for e in out if isinstance(e, DataAdd)}
    assert 60 < len(kept) < 140
    assert {e.order_id for e in out if isinstance(e, DataCancel | DataModify)} == kept
    assert list(perturbed(_stream(), seed=1)) == _stream()


def test_perturbed_shifts_time_and_scales_sizes() -> None:
    out = list(perturbed(_stream(), seed=1, time_shift_ns=5, size_scale=D("0.5")))
    src = _stream()
    assert [e.ts_ns for e in out] == [e.ts_ns + 5 for e in src]
    assert out[0] == replace(src[0], ts_ns=5, qty=D(1))
    assert out[-2].qty == D("1.5")
    assert (out[-1].bid_qty, out[-1].ask_qty) == (D(2), D(3))
    with pytest.raises(ValueError, match="drop_adds"):
        list(perturbed(src, seed=1, drop_adds=2))
