"""The backtest's report: what the order flow achieved, computed from the run's ``result``.

The runner hands over one plain dict (the *result*: the orders as the flow sent them and
how they ended, every fill, per-venue counts and the market's mid and VWAP; see
``gateway.backtest`` for how it is collected). Everything derived lives here so that a
saved ``result.json`` can be re-reported without re-running:

- P&L per client and symbol by average cost: realised on the quantity that reduces a
  position, unrealised at the last mid, fees subtracted; multiplied by the symbol's
  contract ``multiplier`` when the market section gives one (ES: 50 USD per point).
- Slippage in basis points, positive = cost to the client: each order's average fill
  price against the mid when it was sent (arrival), and against the market's VWAP over
  the replay window; quantity-weighted.
- Fill rate per venue: quantity filled over quantity the gateway sent there.
- Latency, two ways: in simulated time from the flow's send to its first answer (what the
  venues' latency models add up to: deterministic, the figure to compare strategies and
  venues by), and in wall-clock time (the real gateway plus the backtest's own coordination;
  in as-fast-as-possible mode it says how fast the run went, not how fast a market would be).
- Rejects by source (``risk``: a pre-trade check; ``venue``; ``gateway``) and reason.

Outputs: a text table (:func:`format_table`), ``report.json`` (result + summary), four PNG
plots and ``report.html`` embedding them (:func:`write_report`).
"""

from __future__ import annotations

import base64
import html
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from gateway.bench.report import distribution

ZERO = Decimal(0)
BPS = Decimal(10_000)
LATENCY_KEYS = ("p50", "p90", "p99", "max")


def _d(v: object) -> Decimal | None:
    return None if v is None or v == "" else Decimal(str(v))


def _iso(ts_ns: int | None) -> str:
    if ts_ns is None:
        return "-"
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _num(v: Decimal | None, places: int = 2) -> float | None:
    return None if v is None else float(round(v, places))


# ------------------------------------------------------------------------------------- P&L


@dataclass
class Book:
    """One client's position in one symbol, by average cost."""

    multiplier: Decimal = Decimal(1)
    position: Decimal = ZERO
    avg_cost: Decimal = ZERO
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    bought: Decimal = ZERO
    sold: Decimal = ZERO

    def fill(self, buy: bool, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        signed = qty if buy else -qty
        if buy:
            self.bought += qty
        else:
            self.sold += qty
        self.fees += fee
        if self.position == 0 or (self.position > 0) == buy:  # opening or adding
            total = self.position + signed
            self.avg_cost = (self.avg_cost * abs(self.position) + price * qty) / abs(total)
            self.position = total
            return
        closing = min(qty, abs(self.position))
        direction = 1 if self.position > 0 else -1
        self.realised += (price - self.avg_cost) * closing * direction * self.multiplier
        self.position += signed
        if self.position == 0:
            self.avg_cost = ZERO
        elif (self.position > 0) != (direction > 0):  # flipped: the rest opens at this price
            self.avg_cost = price

    def unrealised(self, mark: Decimal | None) -> Decimal:
        if mark is None or self.position == 0:
            return ZERO
        return (mark - self.avg_cost) * self.position * self.multiplier

    def total(self, mark: Decimal | None) -> Decimal:
        return self.realised + self.unrealised(mark) - self.fees


def _multiplier(result: dict, symbol: str) -> Decimal:
    return _d(result.get("market", {}).get(symbol, {}).get("multiplier")) or Decimal(1)


def _fills_in_order(result: dict) -> list[dict]:
    return sorted(result.get("fills", []), key=lambda f: (f["ts_ns"], f.get("exec_id", "")))


def pnl(result: dict) -> dict[tuple[str, str], Book]:
    """Every client's book per symbol after all fills."""
    books: dict[tuple[str, str], Book] = {}
    for f in _fills_in_order(result):
        key = (f["client"], f["symbol"])
        book = books.get(key)
        if book is None:
            book = books[key] = Book(multiplier=_multiplier(result, f["symbol"]))
        book.fill(f["side"] == "BUY", Decimal(f["qty"]), Decimal(f["price"]), _d(f.get("fee")) or ZERO)
    return books


def pnl_curve(result: dict) -> list[tuple[int, float]]:
    """Total P&L (all clients, all symbols) over simulated time, marked at the mid."""
    mids: dict[str, list[tuple[int, Decimal]]] = {
        s: [(int(ts), Decimal(m)) for ts, m in m_["mid"]] for s, m_ in result.get("market", {}).items()
    }
    points: list[tuple[int, int, str, object]] = [(f["ts_ns"], 1, "fill", f) for f in _fills_in_order(result)]
    for symbol, series in mids.items():
        points += [(ts, 0, "mid", (symbol, mid)) for ts, mid in series]
    points.sort(key=lambda p: (p[0], p[1]))
    books: dict[tuple[str, str], Book] = {}
    mark: dict[str, Decimal] = {}
    curve: list[tuple[int, float]] = []
    for ts, _, kind, item in points:
        if kind == "mid":
            symbol, mid = item  # type: ignore[misc]
            mark[symbol] = mid
        else:
            f: dict = item  # type: ignore[assignment]
            key = (f["client"], f["symbol"])
            book = books.setdefault(key, Book(multiplier=_multiplier(result, f["symbol"])))
            book.fill(f["side"] == "BUY", Decimal(f["qty"]), Decimal(f["price"]), _d(f.get("fee")) or ZERO)
            mark.setdefault(f["symbol"], Decimal(f["price"]))
        if books:
            curve.append((ts, float(sum(b.total(mark.get(k[1])) for k, b in books.items()))))
    return curve


# -------------------------------------------------------------------------------- slippage


def _slippage_bps(side: str, px: Decimal, ref: Decimal) -> Decimal:
    sign = 1 if side == "BUY" else -1
    return (px - ref) / ref * BPS * sign


def slippage(result: dict) -> dict[str, dict]:
    """Quantity-weighted slippage per symbol, against arrival mid and against the window VWAP."""
    acc: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    market = result.get("market", {})
    for o in result.get("orders", []):
        qty, avg = _d(o.get("cum_qty")) or ZERO, _d(o.get("avg_px"))
        if qty <= 0 or avg is None:
            continue
        a = acc[o["symbol"]]
        a["qty"] += qty
        arrival = _d(o.get("arrival_mid"))
        if arrival:
            a["arrival"] += _slippage_bps(o["side"], avg, arrival) * qty
            a["arrival_qty"] += qty
        vwap = _d(market.get(o["symbol"], {}).get("vwap"))
        if vwap:
            a["vwap"] += _slippage_bps(o["side"], avg, vwap) * qty
            a["vwap_qty"] += qty
    out = {}
    for symbol, a in sorted(acc.items()):
        out[symbol] = {
            "filled_qty": str(a["qty"]),
            "vs_arrival_bps": _num(a["arrival"] / a["arrival_qty"]) if a["arrival_qty"] else None,
            "vs_vwap_bps": _num(a["vwap"] / a["vwap_qty"]) if a["vwap_qty"] else None,
        }
    return out


# --------------------------------------------------------------------------------- summary


@dataclass
class Summary:
    overview: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)
    venues: dict = field(default_factory=dict)
    pnl: list[dict] = field(default_factory=list)
    slippage: dict = field(default_factory=dict)
    latency_us: dict = field(default_factory=dict)
    sim_latency_us: dict = field(default_factory=dict)
    rejects: list[dict] = field(default_factory=list)


def summarize(result: dict) -> Summary:
    orders = result.get("orders", [])
    fills = result.get("fills", [])
    start, end = result.get("sim_start_ns"), result.get("sim_end_ns")
    s = Summary()
    s.overview = {
        "name": result.get("name"),
        "seed": result.get("seed"),
        "speed": result.get("speed"),
        "sim_start": _iso(start),
        "sim_end": _iso(end),
        "sim_s": round((end - start) / 1e9, 3) if start is not None and end is not None else None,
        "wall_s": result.get("wall_s"),
        "events_replayed": result.get("events_replayed"),
    }
    status = Counter(o.get("status") or "?" for o in orders)
    s.orders = {
        "sent": len(orders),
        "fills": len(fills),
        "filled_qty": str(sum((Decimal(f["qty"]) for f in fills), ZERO)),
        "by_status": dict(sorted(status.items())),
        "fill_rate": _num(
            sum((_d(o.get("cum_qty")) or ZERO for o in orders), ZERO)
            / sum((Decimal(o["qty"]) for o in orders), ZERO)
            if orders
            else None,
            4,
        ),
    }
    for name, v in sorted(result.get("venues", {}).items()):
        child_qty, filled = _d(v.get("child_qty")) or ZERO, _d(v.get("filled_qty")) or ZERO
        s.venues[name] = {
            "child_orders": v.get("child_orders", 0),
            "child_qty": str(child_qty),
            "filled_qty": str(filled),
            "fill_rate": _num(filled / child_qty, 4) if child_qty else None,
            "fills": v.get("fills", 0),
            "fees": _num(_d(v.get("fees")) or ZERO),
            "rejects": sum(v.get("rejects", {}).values()),
            "disconnects": v.get("disconnects", 0),
            "breaker_s": v.get("breaker_s", {}),
        }
    marks = {sym: _d(m.get("last_mid")) for sym, m in result.get("market", {}).items()}
    for (client, symbol), b in sorted(pnl(result).items()):
        mark = marks.get(symbol)
        s.pnl.append({
            "client": client,
            "symbol": symbol,
            "bought": str(b.bought),
            "sold": str(b.sold),
            "position": str(b.position),
            "avg_cost": _num(b.avg_cost, 6) if b.position else None,
            "mark": str(mark) if mark is not None else None,
            "realised": _num(b.realised),
            "unrealised": _num(b.unrealised(mark)),
            "fees": _num(b.fees),
            "total": _num(b.total(mark)),
        })  # fmt: skip
    s.slippage = slippage(result)
    s.sim_latency_us = distribution(
        [int(o["sim_latency_us"] * 1000) for o in orders if o.get("sim_latency_us") is not None]
    )
    s.latency_us = distribution(
        [int(o["latency_us"] * 1000) for o in orders if o.get("latency_us") is not None]
    )
    rejects = Counter(
        ((o["reject"] or {}).get("source", "?"), (o["reject"] or {}).get("reason", "?"))
        for o in orders
        if o.get("reject")
    )
    for name, v in result.get("venues", {}).items():  # venue-side rejects of child orders
        for reason, n in v.get("rejects", {}).items():
            rejects[(f"venue {name}", reason)] += n
    s.rejects = [{"source": src, "reason": r, "count": n} for (src, r), n in sorted(rejects.items())]
    return s


# ----------------------------------------------------------------------------------- table


def _cell(v: object) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _grid(headers: list[str], rows: list[list[object]]) -> list[str]:
    cells = [headers] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    return [fmt(cells[0]), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells[1:]]


def format_table(result: dict) -> str:
    s = summarize(result)
    o = s.overview
    lines = [
        f"backtest {o['name'] or ''}  seed {o['seed']}  speed {o['speed']}",
        f"simulated {o['sim_start']} .. {o['sim_end']} UTC ({_cell(o['sim_s'])} s)"
        f" in {_cell(o['wall_s'])} s wall,"
        f" {o['events_replayed'] or 0:,} market events",
        "",
        f"orders {s.orders['sent']}  fills {s.orders['fills']}  filled qty {s.orders['filled_qty']}"
        f"  fill rate {_cell(s.orders['fill_rate'])}  "
        + "  ".join(f"{k} {v}" for k, v in s.orders["by_status"].items()),
        "",
    ]
    rows = []
    for name, v in s.venues.items():
        b = v["breaker_s"]
        rows.append([
            name, v["child_orders"], v["child_qty"], v["filled_qty"], v["fill_rate"], v["fills"], v["fees"],
            v["rejects"], v["disconnects"], b.get("closed"), b.get("open"), b.get("half_open"),
        ])  # fmt: skip
    lines += _grid(
        ["venue", "orders", "qty", "filled", "fill rate", "fills", "fees", "rejects", "disc.",
         "closed s", "open s", "half-open s"],
        rows,
    )  # fmt: skip
    lines.append("")
    lines += _grid(
        ["client", "symbol", "bought", "sold", "position", "realised", "unrealised", "fees", "P&L"],
        [[p["client"], p["symbol"], p["bought"], p["sold"], p["position"], p["realised"], p["unrealised"],
          p["fees"], p["total"]] for p in s.pnl],
    )  # fmt: skip
    lines.append("")
    lines += _grid(
        ["symbol", "filled", "slippage vs arrival (bps)", "vs VWAP (bps)"],
        [[sym, v["filled_qty"], v["vs_arrival_bps"], v["vs_vwap_bps"]] for sym, v in s.slippage.items()],
    )

    def percentiles(lat: dict) -> str:
        return "  ".join(f"{k} {lat[k]:,.0f}" for k in LATENCY_KEYS) + f"  n {lat['count']}" if lat else "-"

    lines += [
        "",
        f"send to first answer, simulated µs: {percentiles(s.sim_latency_us)}",
        f"send to first answer, wall µs:      {percentiles(s.latency_us)}",
    ]
    if s.rejects:
        rows = [[r["source"], r["reason"], r["count"]] for r in s.rejects]
        lines += ["", *_grid(["rejected by", "reason", "count"], rows)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- plots


def _plots(result: dict, s: Summary, out_dir: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths: dict[str, Path] = {}
    start = result.get("sim_start_ns") or 0

    def minutes(ts: int) -> float:
        return (ts - start) / 60e9

    def save(fig, name: str) -> None:
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths[name] = path

    market = result.get("market", {})
    fills = result.get("fills", [])
    symbols = sorted({f["symbol"] for f in fills} | set(market))
    fig, axes = plt.subplots(len(symbols) or 1, 1, figsize=(10, 3.6 * max(1, len(symbols))), squeeze=False)
    for ax, symbol in zip(axes[:, 0], symbols or [""], strict=False):
        series = market.get(symbol, {}).get("mid", [])
        if series:
            ax.plot(
                [minutes(ts) for ts, _ in series],
                [float(m) for _, m in series],
                color="gray",
                lw=0.8,
                label="mid",
            )
        for side, marker, color in (("BUY", "^", "tab:green"), ("SELL", "v", "tab:red")):
            fs = [f for f in fills if f["symbol"] == symbol and f["side"] == side]
            if fs:
                ax.scatter(
                    [minutes(f["ts_ns"]) for f in fs],
                    [float(f["price"]) for f in fs],
                    s=[12 + 4 * min(float(f["qty"]), 20) for f in fs],
                    marker=marker,
                    color=color,
                    label=f"{side.lower()} fills",
                    zorder=3,
                )
        ax.set_title(f"{symbol}: fills over price")
        ax.set_xlabel("simulated minutes")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    save(fig, "fills")

    fig, ax = plt.subplots(figsize=(10, 3.6))
    curve = pnl_curve(result)
    if curve:
        ax.step([minutes(ts) for ts, _ in curve], [v for _, v in curve], where="post", color="tab:blue")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title("P&L over time (marked at mid, after fees)")
    ax.set_xlabel("simulated minutes")
    ax.grid(True, alpha=0.3)
    save(fig, "pnl")

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    for ax, key, dist, title, color in (
        (axes[0], "sim_latency_us", s.sim_latency_us, "simulated µs (venue latency models)", "tab:purple"),
        (axes[1], "latency_us", s.latency_us, "wall µs (gateway + backtest coordination)", "tab:gray"),
    ):
        lat = [o[key] for o in result.get("orders", []) if o.get(key) is not None]
        if lat:
            ax.hist(lat, bins=50, color=color)
            for k in ("p50", "p99"):
                ax.axvline(dist[k], color="black", ls="--", lw=0.8)
                ax.text(dist[k], ax.get_ylim()[1] * 0.9, f" {k} {dist[k]:,.0f}", fontsize=8)
        ax.set_title(f"send to first answer: {title}", fontsize=10)
        ax.grid(True, alpha=0.3)
    save(fig, "latency")

    fig, ax = plt.subplots(figsize=(10, 3.6))
    names = list(s.venues)
    rates = [s.venues[n]["fill_rate"] or 0 for n in names]
    ax.bar(names, rates, color="tab:orange")
    for i, n in enumerate(names):
        ax.text(
            i, rates[i], f"{s.venues[n]['filled_qty']}/{s.venues[n]['child_qty']}", ha="center", va="bottom"
        )
    ax.set_ylim(0, 1.1)
    ax.set_title("fill rate per venue (filled / sent quantity)")
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, "fill_rate")
    return paths


# ---------------------------------------------------------------------------------- output


def _html_table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(result: dict, s: Summary, plots: dict[str, Path]) -> str:
    images = "".join(
        f'<h2>{html.escape(name.replace("_", " "))}</h2><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(path.read_bytes()).decode()}">'
        for name, path in plots.items()
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>fixgw backtest {html.escape(str(s.overview['name'] or ''))}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}"
        "pre{background:#f6f6f6;padding:1em}</style></head><body>"
        f"<h1>fixgw backtest {html.escape(str(s.overview['name'] or ''))}</h1>"
        f"<pre>{html.escape(format_table(result))}</pre>"
        + _html_table(
            ["symbol", "filled", "vs arrival (bps)", "vs VWAP (bps)"],
            [[k, v["filled_qty"], v["vs_arrival_bps"], v["vs_vwap_bps"]] for k, v in s.slippage.items()],
        )
        + images
        + "</body></html>\n"
    )  # fmt: skip


def write_report(result: dict, out_dir: Path) -> dict[str, Path]:
    """Write report.json, the PNG plots and report.html into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    s = summarize(result)
    paths = {"json": out_dir / "report.json"}
    doc = {"summary": s.__dict__, "result": result}
    paths["json"].write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str) + "\n")
    plots = _plots(result, s, out_dir)
    paths.update(plots)
    paths["html"] = out_dir / "report.html"
    paths["html"].write_text(_html(result, s, plots))
    return paths
