"""``fixgw backtest`` end to end: the ES market-by-order file replayed through the real gateway.

Each backtest runs as the CLI in a subprocess (which itself starts ``fixgw run``), on free
loopback ports. Expectations for individual orders are computed here from the raw MBO rows by an
independent, stdlib-only oracle (book at a time, queue position, walking levels), not by the
replay code under test.
"""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "cme_esh4_mbo_2023-12-25.csv.gz"  # ../shared beside the clone
START = "2023-12-25T23:01:00Z"
START_NS = 1703545260_000_000_000
S = 1_000_000_000
MS = 1_000_000
HEADER = "time,client,action,cl_ord_id,symbol,side,qty,price,ord_type,tif,orig_cl_ord_id\n"

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not available")


# ---------------------------------------------------------------------------------------- oracle


class Oracle:
    """The data's book from the raw rows, and what the queue rule gives our orders."""

    def __init__(self, until_ns: int):
        self.rows = []
        with gzip.open(DATA, "rt") as f:
            for row in csv.DictReader(f):
                ts = int(row["ts_event_ns"])
                if ts > until_ns and not int(row["flags"]) & 0x20:
                    break
                self.rows.append(
                    (
                        ts,
                        row["action"],
                        row["side"],
                        Decimal(row["price"]),
                        Decimal(row["size"]),
                        row["order_id"],
                    )
                )

    def book_at(self, t_ns: int) -> tuple[dict, int]:
        book, clock = {}, 0
        for i, (ts, act, side, px, sz, oid) in enumerate(self.rows):
            clock = max(clock, ts)
            if clock >= t_ns:
                return book, i
            if act == "A":
                book[oid] = [side, px, sz, i]
            elif act == "C" and oid in book:
                book[oid][2] -= sz
                if book[oid][2] <= 0:
                    del book[oid]
            elif act == "M" and oid in book:
                o = book[oid]
                if px != o[1] or sz > o[2]:
                    o[3] = i  # to the back of the queue
                o[1], o[2] = px, sz
            elif act == "R":
                book.clear()
        return book, len(self.rows)

    def levels(self, t_ns: int, side: str) -> list[tuple[Decimal, Decimal]]:
        lv: dict[Decimal, Decimal] = {}
        for s, px, sz, _ in self.book_at(t_ns)[0].values():
            if s == side:
                lv[px] = lv.get(px, Decimal(0)) + sz
        return sorted(lv.items(), reverse=side == "B")

    def mid(self, t_ns: int) -> Decimal:
        return (self.levels(t_ns, "B")[0][0] + self.levels(t_ns, "A")[0][0]) / 2

    def walk(self, t_ns: int, side: str, qty: Decimal) -> dict[Decimal, Decimal]:
        out = {}
        for px, sz in self.levels(t_ns, "A" if side == "B" else "B"):
            out[px] = min(sz, qty)
            qty -= out[px]
            if qty == 0:
                break
        return out

    def passive_fills(self, t_ns: int, side: str, price: Decimal, qty: Decimal, end_ns: int) -> list:
        """Our order joins the back of ``price`` at ``t_ns``: [(print time, qty)]. Prints at our price
        consume the data orders ahead first (pending until the file's own cancel removes them);
        prints through our price fill us first; an add or modify on the other side that crosses us
        fills us with what the data orders ahead of us leave of it."""
        book, i = self.book_at(t_ns)
        order = [
            oid for _, oid in sorted((o[3], oid) for oid, o in book.items() if o[0] == side and o[1] == price)
        ]
        leaves = {oid: book[oid][2] for oid in order}
        fileq, pending = dict(leaves), dict.fromkeys(order, Decimal(0))
        fills, left, clock = [], qty, t_ns
        aggressor = "A" if side == "B" else "B"
        for ts, act, s, px, sz, oid in self.rows[i:]:
            clock = max(clock, ts)
            if clock > end_ns or left == 0:
                break
            if act == "T" and s == aggressor:
                if (px < price) if side == "B" else (px > price):
                    take = min(sz, left)
                elif px == price:
                    rest = sz
                    for o in order:
                        use = min(rest, leaves[o])
                        leaves[o] -= use
                        pending[o] += use
                        rest -= use
                    take = min(rest, left)
                else:
                    take = Decimal(0)
                if take > 0:
                    fills.append((clock, take))
                    left -= take
            elif act in ("A", "M") and s == aggressor and ((px <= price) if side == "B" else (px >= price)):
                # a data order that crosses ours: data ahead of us absorbs it untouched, we take the rest
                take = min(max(Decimal(0), sz - sum(leaves.values())), left)
                if take > 0:
                    fills.append((clock, take))
                    left -= take
            elif act in ("C", "M") and oid in leaves:
                if act == "M" and (px != price or sz > fileq[oid]):
                    order.remove(oid)
                    del leaves[oid]
                    continue
                reduce = sz if act == "C" else fileq[oid] - sz
                absorbed = min(reduce, pending[oid])
                pending[oid] -= absorbed
                leaves[oid] = max(Decimal(0), leaves[oid] - (reduce - absorbed))
                fileq[oid] -= reduce
        return fills


# ---------------------------------------------------------------------------------------- running


def _files(d: Path, yaml_text: str, csv_text: str | None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    if csv_text is not None:
        (d / "orders.csv").write_text(HEADER + csv_text)
    (d / "bt.yaml").write_text(yaml_text)
    return d / "bt.yaml"


def start_cli(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "backtest", "--config", str(config), "--out", str(out),
         "--no-progress", *extra],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen, out: Path) -> dict:
    stdout, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{stderr[-4000:]}"
    assert "result: " in stdout
    return json.loads((out / "result.json").read_text())


def venue(name: str, models: str, extra: str = "", seed: int = 5) -> str:
    return f"""
  - name: {name}
    fix_version: "4.4"
    seed: {seed}
    replay: {{format: cme_mbo, file: {DATA}, symbol: ESH4{extra}}}
    fees: {{per_unit: "0.5"}}
    md_interval_ms: 50
    models: {models}"""


def config(
    venues: str,
    instruments: str,
    duration: str,
    flows: str = "[{kind: csv, file: orders.csv}]",
    risk: str = "",
) -> str:
    return f"""name: e2e
seed: 42
start: "{START}"
duration: {duration}
instruments:
{instruments}
venues:{venues}
order_flow: {flows}
gateway: {{routing: {{strategy: primary}}{risk}}}
"""


ES = (
    '  - {symbol: ESH4, tick_size: "0.25", lot_size: "1", currency: USD, venue: CME, reference_price: "4805"}'
)
FAST = "{latency: {ack: {kind: fixed, ms: 1}, fill: {kind: fixed, ms: 0.5}, cancel: {kind: fixed, ms: 1}}}"

MAIN_CSV = """+1s,C1,new,P1,ESH4,buy,10,4804.50,limit,day,
+5s,C1,new,M1,ESH4,buy,40,,market,day,
+8s,C1,new,R1,ESH4,sell,3,4812.00,limit,day,
+12s,C1,replace,R2,ESH4,sell,2,4812.00,limit,day,R1
+40s,C1,cancel,R3,ESH4,sell,,,limit,day,R2
+50s,C1,cancel,P2,ESH4,buy,,,limit,day,P1
"""


@pytest.fixture(scope="module")
def main_runs(tmp_path_factory):
    """The same backtest twice, concurrently (determinism must not depend on machine load)."""
    d = tmp_path_factory.mktemp("bt-main")
    cfg = _files(d, config(venue("CME", FAST), ES, "60s"), MAIN_CSV)
    procs = [(start_cli(cfg, d / f"out{i}"), d / f"out{i}") for i in (1, 2)]
    return [finish(p, out) for p, out in procs]


def _orders(result: dict) -> dict[str, dict]:
    return {o["cl_ord_id"]: o for o in result["orders"]}


def _fills(result: dict, cl_ord_id: str) -> list[dict]:
    return [f for f in result["fills"] if f["cl_ord_id"] == cl_ord_id]


def test_passive_order_respects_queue_position_and_fills_partially(main_runs):
    result = main_runs[0]
    oracle = Oracle(START_NS + 61 * S)
    arrival = START_NS + 1 * S + 1 * MS  # sent at +1s, 1 ms to the book
    assert oracle.levels(arrival, "B")[0][0] == Decimal("4804.50")  # joins the best bid
    ahead = oracle.levels(arrival, "B")[0][1]
    expected = oracle.passive_fills(arrival, "B", Decimal("4804.50"), Decimal(10), START_NS + 50 * S)
    assert ahead > 0 and 0 < sum(q for _, q in expected) < 10
    got = [(f["ts_ns"], Decimal(f["qty"]), f["price"], f["venue"]) for f in _fills(result, "P1")]
    assert got == [(ts + 500_000, q, "4804.5", "CME") for ts, q in expected]  # fill latency 0.5 ms
    p1 = _orders(result)["P1"]
    assert p1["status"] == "CANCELED" and Decimal(p1["cum_qty"]) == sum(q for _, q in expected)
    assert p1["sent_ns"] == START_NS + 1 * S


def test_marketable_order_walks_levels_with_slippage(main_runs):
    result = main_runs[0]
    oracle = Oracle(START_NS + 10 * S)
    sent, arrival = START_NS + 5 * S, START_NS + 5 * S + 1 * MS
    levels = oracle.walk(arrival, "B", Decimal(40))
    assert len(levels) >= 2  # it takes more than the touch
    got: dict[Decimal, Decimal] = {}
    for f in _fills(result, "M1"):
        got[Decimal(f["price"])] = got.get(Decimal(f["price"]), Decimal(0)) + Decimal(f["qty"])
        assert f["ts_ns"] == arrival + 500_000
    assert got == levels
    m1 = _orders(result)["M1"]
    vwap = sum(p * q for p, q in levels.items()) / 40
    assert m1["status"] == "FILLED" and Decimal(m1["avg_px"]) == vwap
    assert Decimal(m1["arrival_mid"]) == oracle.mid(sent) and vwap > oracle.mid(sent)  # slippage paid


def test_replace_and_cancel_lifecycle_and_result_shape(main_runs):
    result = main_runs[0]
    r1 = _orders(result)["R1"]
    assert (r1["status"], r1["qty"], r1["cum_qty"], r1["reject"]) == ("CANCELED", "2", "0", None)
    assert r1["latency_us"] > 0
    assert result["events_replayed"] > 1000 and result["sim_end_ns"] == START_NS + 60 * S
    v = result["venues"]["CME"]
    assert v["child_orders"] == 3 and v["disconnects"] == 0
    assert Decimal(v["fees"]) == Decimal("0.5") * sum(Decimal(f["qty"]) for f in result["fills"])
    assert v["breaker_s"]["closed"] == pytest.approx(60.0, abs=0.01)
    m = result["market"]["ESH4"]
    assert Decimal(m["traded_qty"]) > 0 and m["vwap"] and len(m["mid"]) <= 2000 and m["first_mid"]


def _comparable(r: dict) -> tuple:
    fills = [{k: v for k, v in f.items() if k != "exec_id"} for f in r["fills"]]  # the gateway's own ids
    orders = [{k: v for k, v in o.items() if k != "latency_us"} for o in r["orders"]]  # wall clock
    return fills, orders, r["venues"], r["market"], r["events_replayed"]


def test_same_seed_same_fills(main_runs):
    a, b = main_runs
    assert _comparable(a) == _comparable(b) and len(a["fills"]) >= 10


# ---------------------------------------------------------------------------------------- faults

FAULT_MODELS = """
      latency: {ack: {kind: fixed, ms: 20}, fill: {kind: fixed, ms: 5}, cancel: {kind: fixed, ms: 20}}
      rejects: {rate: 0.3, reasons: [{text: venue busy, weight: 2}, {text: throttled by venue, weight: 1}]}
      halts: [{start: "2023-12-25T23:01:10Z", end: "2023-12-25T23:01:14Z", symbol: ESHX}]
      price_band: {points: "10", reference: last_trade}
      outages: [{start: "2023-12-25T23:01:20Z", end: "2023-12-25T23:01:24Z"}]
      disconnects: {mean_interval_s: 20, reconnect_after_s: 1.5}"""
RANDOM_REASONS = ("venue busy", "throttled by venue")


def fault_csv() -> str:
    rows = ["+1s,C1,new,REST,ESHX,buy,5,4804.50,limit,day,", "+1s,C1,new,FASTM,ESH4,buy,2,,market,day,"]
    rows += [f"+{t}s,C1,new,X{t},ESHX,buy,1,,market,day," for t in range(2, 40, 2)]
    rows += [
        "+11s,C1,new,HALTED,ESHX,buy,1,4804.00,limit,day,",
        "+16s,C1,new,BAND,ESHX,buy,1,4780.00,limit,day,",
    ]
    # DOWN rests at the best bid; the data trades through it during the outage (23:01:20-24)
    rows += ["+17s,C1,new,DOWN,ESHX,buy,3,4805.50,limit,day,"]
    # INFLIGHT reaches the venue 20 ms after it was sent, when the outage has started: lost on the wire
    rows += ["+19.99s,C1,new,INFLIGHT,ESHX,buy,1,,market,day,"]
    rows += ["+3s,C1,new,BIG,ESH4,buy,50,4800.00,limit,day,"]  # above the backtest's risk limit
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory):
    """Twice, concurrently: disconnects and reconnects must not make a run depend on timing."""
    d = tmp_path_factory.mktemp("bt-faults")
    venues = venue("FAST", "{latency: {ack: {kind: fixed, ms: 1}, fill: {kind: fixed, ms: 1}}}")
    venues += venue("FAULTY", FAULT_MODELS, ", as_symbol: ESHX", seed=3)
    instruments = ES.replace("CME", "FAST") + "\n" + ES.replace("ESH4", "ESHX").replace("CME", "FAULTY")
    risk = ", risk: {checks: [{check: max_order_qty, max_qty: 10}]}"
    cfg = _files(d, config(venues, instruments, "45s", risk=risk), fault_csv())
    procs = [(start_cli(cfg, d / f"out{i}"), d / f"out{i}") for i in (1, 2)]
    return [finish(p, out) for p, out in procs]


@pytest.fixture(scope="module")
def fault_run(fault_runs):
    return fault_runs[0]


def _reason(order: dict) -> str:
    return (order["reject"] or {}).get("reason", "")


def test_venue_rejects_halts_and_price_band(fault_run):
    orders = _orders(fault_run)
    v = fault_run["venues"]["FAULTY"]
    assert orders["HALTED"]["reject"]["source"] == "venue" and "trading halted in ESHX" in _reason(
        orders["HALTED"]
    )
    assert orders["BAND"]["reject"]["source"] == "venue" and "outside the price band" in _reason(
        orders["BAND"]
    )
    assert v["rejects"]["trading halted in ESHX"] >= 1 and sum(v["rejects"].values()) >= 3
    drawn = [o for o in orders.values() if _reason(o).endswith(RANDOM_REASONS)]
    assert drawn and all(o["reject"]["source"] == "venue" for o in drawn)
    assert sum(v["rejects"].get(r, 0) for r in RANDOM_REASONS) == len(drawn)
    assert orders["REST"]["status"] in ("FILLED", "PARTIALLY_FILLED")
    assert orders["BIG"]["reject"] == {
        "source": "risk",
        "reason": "max_order_qty: OrderQty 50 exceeds limit 10",
    }


def test_outage_and_disconnects_lose_no_order(fault_run):
    orders = _orders(fault_run)
    v = fault_run["venues"]["FAULTY"]
    assert v["disconnects"] >= 2  # the outage and a random drop
    during = orders["X22"]  # sent inside the outage window: the gateway has no session to route to
    assert during["reject"]["source"] == "gateway" and "FAULTY" in _reason(during)
    # filled during the outage: the report waits in the venue's FIX store and is resent after logon
    down = _fills(fault_run, "DOWN")
    assert down and down[0]["ts_ns"] >= START_NS + 24 * S
    # the order lost on the wire is not left hanging: reconciliation after the outage settles it
    assert orders["INFLIGHT"]["status"] in ("REJECTED", "CANCELED"), orders["INFLIGHT"]
    for o in orders.values():  # every order ended or rests, and its fills add up
        assert o["status"] in ("FILLED", "REJECTED", "CANCELED", "NEW", "PARTIALLY_FILLED"), o
        assert Decimal(o["cum_qty"]) == sum(Decimal(f["qty"]) for f in _fills(fault_run, o["cl_ord_id"]))
    filled_here = sum(Decimal(f["qty"]) for f in fault_run["fills"] if f["venue"] == "FAULTY")
    assert filled_here == Decimal(v["filled_qty"]) > 0  # nothing the venue filled went missing
    assert v["breaker_s"]["open"] + v["breaker_s"]["half_open"] > 0  # the drops opened the breaker


def test_faults_repeat_exactly(fault_runs):
    a, b = fault_runs
    assert _comparable(a) == _comparable(b)


def test_latency_shifts_fill_times(fault_run):
    orders = _orders(fault_run)
    fast = _fills(fault_run, "FASTM")
    assert fast and {f["ts_ns"] - orders["FASTM"]["sent_ns"] for f in fast} == {2 * MS}  # 1 ms + 1 ms
    slow = [
        f
        for o in orders.values()
        if o["cl_ord_id"].startswith("X")
        for f in _fills(fault_run, o["cl_ord_id"])
    ]
    delays = [f["ts_ns"] - orders[f["cl_ord_id"]]["sent_ns"] for f in slow]
    # 20 ms to the book + 5 ms for the report; later only when a disconnect held the report back
    assert delays and min(delays) == 25 * MS and delays.count(25 * MS) > len(delays) / 2


# ---------------------------------------------------------------------------------------- strategies and CLI


def test_strategies_run_end_to_end(tmp_path):
    flows = """
  - {kind: strategy, name: twap, client: TWAP1, strategy: "examples.strategies.twap:Twap",
     params: {symbol: ESH4, side: buy, qty: 12, start_s: 1, duration_s: 20, slices: 4}, md_latency_ms: 1}
  - {kind: strategy, name: mm, client: MM1, strategy: "examples.strategies.market_maker:MarketMaker",
     params: {symbol: ESH4, venue: CME, qty: 1, half_spread_ticks: 1, tick: "0.25", max_position: 3}}"""
    cfg = _files(tmp_path, config(venue("CME", FAST), ES, "30s", flows), None)
    result = finish(start_cli(cfg, tmp_path / "out"), tmp_path / "out")
    twap = [o for o in result["orders"] if o["client"] == "TWAP1"]
    mm = [o for o in result["orders"] if o["client"] == "MM1"]
    assert len(twap) >= 4 and sum(Decimal(o["cum_qty"]) for o in twap) == 12  # the last slice crosses
    assert len(mm) >= 2 and {o["side"] for o in mm} == {"BUY", "SELL"}
    position = sum(
        (1 if f["side"] == "BUY" else -1) * Decimal(f["qty"]) for f in result["fills"] if f["client"] == "MM1"
    )
    assert abs(position) <= 3 + 1  # the max position holds (one quote may be in flight)


def test_cli_bad_config_is_one_line(tmp_path):
    cfg = _files(tmp_path, config(venue("CME", "{latency: {ack: {kind: warp}}}"), ES, "10s"), "")
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "backtest", "--config", str(cfg), "--no-progress"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bt.yaml" in lines[0] and "venues[0].models.latency.ack.kind" in lines[0]


# ---------------------------------------------------------------------------------------- level 2, paced


FX = DATA.parent / "fx_eurusd_quotes_2020-01-01.csv.gz"
FX_START_NS = 1577898900_000_000_000  # 2020-01-01T17:15:00Z


def _fx_quotes() -> list[tuple[int, Decimal, Decimal]]:
    """(ts, bid, ask) straight from the file (HistData, read as UTC)."""
    from datetime import UTC, datetime

    out = []
    with gzip.open(FX, "rt") as f:
        for day_time, bid, ask, _ in csv.reader(f):
            ts = datetime.strptime(day_time, "%Y%m%d %H%M%S%f").replace(tzinfo=UTC)
            out.append((int(ts.timestamp()) * S + ts.microsecond * 1000, Decimal(bid), Decimal(ask)))
    return out


def _quote_at(quotes: list, t_ns: int) -> tuple[Decimal, Decimal]:
    return [(b, a) for ts, b, a in quotes if ts <= t_ns][-1]


@pytest.mark.skipif(not FX.exists(), reason=f"{FX} not available")
def test_fx_quotes_through_a_fix42_venue_at_paced_speed(tmp_path):
    """Top-of-book quotes: a market order takes the ask standing when it reaches the book; a
    passive bid fills at its own price once a later ask comes down to it; 15x real time paces
    the run (wall >= sim / 15) and changes nothing in the results."""
    quotes = _fx_quotes()
    window = [(ts, a) for ts, _, a in quotes if FX_START_NS + 1 * S + MS < ts <= FX_START_NS + 30 * S]
    passive = min(a for _, a in window) + Decimal("0.00001")  # one later ask comes down through it
    assert passive < _quote_at(quotes, FX_START_NS + 1 * S + MS)[1]  # not marketable on arrival
    crossed_at = next(ts for ts, a in window if a <= passive)
    _, ask_at_arrival = _quote_at(quotes, FX_START_NS + 2 * S + MS)  # sent at +2 s, 1 ms ack latency
    yaml_text = f"""name: fx
seed: 3
speed: 15
start: "2020-01-01T17:15:00Z"
duration: 30s
instruments:
  - {{symbol: EURUSD, tick_size: "0.00001", lot_size: "1000", currency: USD, venue: FX,
     reference_price: "1.1215"}}
venues:
  - name: FX
    fix_version: "4.2"
    replay: {{format: histdata_quotes, file: {FX}, default_qty: "1000000"}}
    md_interval_ms: 50
    models: {FAST}
order_flow: [{{kind: csv, file: orders.csv}}]
gateway:
  routing: {{strategy: primary}}
  risk: {{checks: [{{check: tick_lot}}, {{check: price_collar, max_pct: 5}}]}}
"""
    orders = f"+1s,C1,new,P1,EURUSD,buy,200000,{passive},limit,day,\n"
    orders += "+2s,C1,new,M1,EURUSD,buy,300000,,market,day,\n"
    cfg = _files(tmp_path, yaml_text, orders)
    result = finish(start_cli(cfg, tmp_path / "out"), tmp_path / "out")
    by_id = _orders(result)
    assert by_id["M1"]["status"] == "FILLED" and Decimal(by_id["M1"]["avg_px"]) == ask_at_arrival
    assert by_id["P1"]["status"] == "FILLED" and Decimal(by_id["P1"]["avg_px"]) == passive  # at our price
    (fill,) = _fills(result, "P1")
    assert crossed_at <= fill["ts_ns"] <= crossed_at + MS  # when the ask came down, plus fill latency
    assert result["wall_s"] >= 30 / 15
    assert result["speed"] != "max"
