"""The result dict of a backtest (the schema ``gateway/backtest/report.py`` consumes).

Decimals are strings, times simulated nanoseconds; see the brief in ``docs`` / the module of the
report for the schema.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from gateway.orders.enums import Side

if TYPE_CHECKING:
    from gateway.backtest.runner import Backtest

MAX_MID_POINTS = 2000
ZERO = Decimal(0)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _side(side: Side) -> str:
    return "BUY" if side is Side.BUY else "SELL"


def _sampled(points: list[tuple[int, Decimal]], limit: int = MAX_MID_POINTS) -> list[list]:
    if len(points) > limit:
        step = len(points) / limit
        points = [points[int(i * step)] for i in range(limit - 1)] + [points[-1]]
    return [[ts, str(mid)] for ts, mid in points]


def build_result(bt: Backtest, wall_s: float) -> dict[str, Any]:
    cfg = bt.cfg
    start, end = bt.start_ns, bt.sched.now_ns
    orders = []
    for r in bt.tracker.orders:
        latency = sim_latency = None
        if r.first_response_wall_ns is not None:
            latency = round((r.first_response_wall_ns - r.sent_wall_ns) / 1000)
        if r.first_response_ns is not None:
            sim_latency = round((r.first_response_ns - r.sent_ns) / 1000, 1)
        orders.append({
            "client": r.client, "cl_ord_id": r.cl_ord_id, "symbol": r.symbol, "side": _side(r.side),
            "qty": str(r.qty), "price": _s(r.price), "ord_type": r.ord_type.name, "tif": r.tif.name,
            "sent_ns": r.sent_ns, "arrival_mid": _s(r.arrival_mid), "status": r.status.name,
            "cum_qty": str(r.cum_qty), "avg_px": _s(r.avg_px), "reject": r.reject, "latency_us": latency,
            "sim_latency_us": sim_latency,
        })  # fmt: skip
    multipliers = {str(i["symbol"]): Decimal(str(i.get("multiplier", 1))) for i in cfg.instruments}
    fees_by_venue: dict[str, Decimal] = {}
    specs = {v.name: v for v in cfg.venues}
    fills = []
    for f in bt.tracker.fills:
        spec = specs.get(f.venue or "")
        fee = spec.fees.fee(f.qty, f.price, multipliers.get(f.symbol, Decimal(1))) if spec else ZERO
        if f.venue:
            fees_by_venue[f.venue] = fees_by_venue.get(f.venue, ZERO) + fee
        fills.append({
            "ts_ns": f.ts_ns, "client": f.client, "cl_ord_id": f.cl_ord_id, "symbol": f.symbol,
            "side": _side(f.side), "venue": f.venue, "qty": str(f.qty), "price": str(f.price),
            "exec_id": f.exec_id, "fee": str(fee),
        })  # fmt: skip
    venues = {}
    for name, v in bt.venues.items():
        st = v.stats
        breaker = {k: 0.0 for k in ("closed", "open", "half_open")}
        for state, ns in bt.breaker_ns.get(name, {}).items():
            breaker[state] = breaker.get(state, 0.0) + ns / 1e9
        venues[name] = {
            "child_orders": st.child_orders, "child_qty": str(st.child_qty), "filled_qty": str(st.filled_qty),
            "fills": st.fills, "rejects": dict(sorted(st.rejects.items())),
            "fees": str(fees_by_venue.get(name, ZERO)), "disconnects": st.disconnects, "breaker_s": breaker,
        }  # fmt: skip
    market = {}
    symbols = sorted({str(i["symbol"]) for i in cfg.instruments})
    for symbol in symbols:
        ref = bt._reference_venue(symbol)
        trades = [
            (px, q) for ts, s, px, q in (ref.data_trades if ref else []) if s == symbol and start <= ts <= end
        ]
        qty = sum((q for _, q in trades), ZERO)
        vwap = (sum((px * q for px, q in trades), ZERO) / qty) if qty else None
        mids = bt.mids.get(symbol, [])
        market[symbol] = {
            "multiplier": str(multipliers.get(symbol, 1)),
            "vwap": _s(vwap.quantize(Decimal("0.000001")) if vwap is not None else None),
            "traded_qty": str(qty),
            "first_mid": _s(mids[0][1]) if mids else None,
            "last_mid": _s(mids[-1][1]) if mids else None,
            "mid": _sampled(mids),
        }
    return {
        "name": cfg.name,
        "seed": cfg.seed,
        "speed": cfg.speed,
        "wall_s": round(wall_s, 3),
        "sim_start_ns": start,
        "sim_end_ns": end,
        "events_replayed": bt.events_replayed,
        "orders": orders,
        "fills": fills,
        "venues": venues,
        "market": market,
    }
