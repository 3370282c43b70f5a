"""The backtest report's arithmetic, checked against hand-computed figures."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gateway.backtest.report import Book, format_table, pnl, pnl_curve, summarize, write_report

T0 = 1_703_462_400_000_000_000


def _fill(ts_s: float, cl: str, side: str, qty: int, px: str, venue: str = "CME-A", fee: str = "0.5") -> dict:
    return {
        "ts_ns": T0 + int(ts_s * 1e9), "client": "C1", "cl_ord_id": cl, "symbol": "ESH4", "side": side,
        "venue": venue, "qty": str(qty), "price": px, "exec_id": f"X{ts_s}", "fee": fee,
    }  # fmt: skip


def _order(cl: str, side: str, qty: int, cum: int, avg: str | None, arrival: str, **kw) -> dict:
    return {
        "client": "C1", "cl_ord_id": cl, "symbol": "ESH4", "side": side, "qty": str(qty), "price": None,
        "ord_type": "MARKET", "tif": "DAY", "sent_ns": T0, "arrival_mid": arrival,
        "status": "FILLED" if cum == qty else "CANCELED", "cum_qty": str(cum), "avg_px": avg,
        "reject": None, "latency_us": 800.0, "sim_latency_us": 1500.0,
    } | kw  # fmt: skip


@pytest.fixture
def result() -> dict:
    return {
        "name": "unit",
        "seed": 1,
        "speed": "max",
        "wall_s": 1.5,
        "sim_start_ns": T0,
        "sim_end_ns": T0 + 60_000_000_000,
        "events_replayed": 1234,
        "orders": [
            _order("B1", "BUY", 3, 3, "4801", "4800"),
            _order("S1", "SELL", 4, 4, "4805", "4806", latency_us=1200.0),
            _order(
                "R1",
                "BUY",
                1,
                0,
                None,
                "4800",
                status="REJECTED",
                reject={"source": "risk", "reason": "order quantity 1 above max 0"},
                latency_us=300.0,
            ),
        ],
        "fills": [
            _fill(1, "B1", "BUY", 2, "4800"),
            _fill(2, "B1", "BUY", 1, "4803", venue="CME-B"),
            _fill(3, "S1", "SELL", 4, "4805"),
        ],
        "venues": {
            "CME-A": {
                "child_orders": 2,
                "child_qty": "6",
                "filled_qty": "6",
                "fills": 2,
                "rejects": {},
                "fees": "1.0",
                "disconnects": 0,
                "breaker_s": {"closed": 60.0, "open": 0.0, "half_open": 0.0},
            },
            "CME-B": {
                "child_orders": 2,
                "child_qty": "4",
                "filled_qty": "1",
                "fills": 1,
                "rejects": {"exchange busy": 1},
                "fees": "0.5",
                "disconnects": 1,
                "breaker_s": {"closed": 55.0, "open": 5.0, "half_open": 0.0},
            },
        },
        "market": {
            "ESH4": {
                "vwap": "4802",
                "traded_qty": "500",
                "first_mid": "4800",
                "last_mid": "4804",
                "multiplier": "50",
                "mid": [[T0, "4800"], [T0 + 2_500_000_000, "4802"], [T0 + 59_000_000_000, "4804"]],
            }
        },
    }


def test_average_cost_pnl_realises_on_reduction_and_flips(result: dict) -> None:
    book = pnl(result)[("C1", "ESH4")]
    # bought 2 @ 4800 + 1 @ 4803: avg 4801; sold 4 @ 4805: 3 closed for +4 points x 50, 1 short opens at 4805
    assert book.realised == Decimal(600)
    assert book.position == Decimal(-1)
    assert book.avg_cost == Decimal(4805)
    assert book.unrealised(Decimal(4804)) == Decimal(50)  # short 1 from 4805, marked at 4804
    assert book.fees == Decimal("1.5")
    assert book.total(Decimal(4804)) == Decimal("648.5")


def test_short_then_cover() -> None:
    b = Book()
    b.fill(False, Decimal(2), Decimal(100), ZERO := Decimal(0))
    b.fill(True, Decimal(1), Decimal(98), ZERO)
    assert (b.position, b.avg_cost, b.realised) == (Decimal(-1), Decimal(100), Decimal(2))
    b.fill(True, Decimal(1), Decimal(101), ZERO)
    assert (b.position, b.avg_cost, b.realised) == (0, 0, Decimal(1))


def test_summary_figures(result: dict) -> None:
    s = summarize(result)
    assert s.orders["sent"] == 3 and s.orders["fills"] == 3 and s.orders["filled_qty"] == "7"
    assert s.orders["fill_rate"] == 0.875  # 7 of 8
    assert s.venues["CME-A"]["fill_rate"] == 1.0
    assert s.venues["CME-B"]["fill_rate"] == 0.25
    # buy 3 @ 4801 vs 4800: +2.083 bps; sell 4 @ 4805 vs 4806: +2.081 bps (a cost both times)
    assert s.slippage["ESH4"]["vs_arrival_bps"] == 2.08
    # vs VWAP 4802: buy -2.082 bps (x3), sell -6.247 bps (x4): weighted -4.46
    assert s.slippage["ESH4"]["vs_vwap_bps"] == -4.46
    assert s.latency_us["p50"] == 800.0 and s.latency_us["max"] == 1200.0
    assert s.sim_latency_us["p50"] == 1500.0 and s.sim_latency_us["count"] == 3
    assert {"source": "risk", "reason": "order quantity 1 above max 0", "count": 1} in s.rejects
    assert {"source": "venue CME-B", "reason": "exchange busy", "count": 1} in s.rejects
    assert s.pnl[0]["total"] == 648.5


def test_pnl_curve_marks_at_mid(result: dict) -> None:
    curve = dict(pnl_curve(result))
    assert curve[T0 + 1_000_000_000] == pytest.approx(-0.5)  # long 2 at 4800, mid 4800, one fee
    # t=2.5 s: long 3 avg 4801, mid 4802 -> +150, two fees
    assert curve[T0 + 2_500_000_000] == pytest.approx(150 - 1.0)
    assert curve[T0 + 59_000_000_000] == pytest.approx(648.5)


def test_table_and_files(result: dict, tmp_path) -> None:
    table = format_table(result)
    assert "CME-B" in table and "648.50" in table and "exchange busy" in table
    paths = write_report(result, tmp_path)
    assert {"json", "html", "fills", "pnl", "latency", "fill_rate"} <= set(paths)
    doc = json.loads(paths["json"].read_text())
    assert doc["summary"]["pnl"][0]["total"] == 648.5
    html = paths["html"].read_text()
    assert html.count("data:image/png;base64,") == 4
    assert all(paths[k].stat().st_size > 5000 for k in ("fills", "pnl", "latency", "fill_rate"))


def test_empty_result_still_reports(tmp_path) -> None:
    empty = {"name": "e", "seed": 0, "speed": "max", "orders": [], "fills": [], "venues": {}, "market": {}}
    assert "orders 0" in format_table(empty)
    assert write_report(empty, tmp_path)["html"].exists()
