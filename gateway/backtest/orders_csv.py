"""The CSV order flow: one client action per row.

Header ``time,client,action,cl_ord_id,symbol,side,qty,price,ord_type,tif,orig_cl_ord_id``.
``time`` is an ISO-8601 UTC instant or an offset from the replay start (``+5s``, ``+250ms``);
``action`` is new | cancel | replace (a replace carries the new qty/price). A bad row is a
ConfigError naming the file, the line and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gateway.backtest.timeparse import parse_time_ns
from gateway.config import ConfigError
from gateway.config.model import ORDER_TYPE_NAMES, TIF_NAMES, display_path
from gateway.orders.enums import OrdType, Side, TimeInForce

COLUMNS = (
    "time", "client", "action", "cl_ord_id", "symbol", "side", "qty", "price", "ord_type", "tif",
    "orig_cl_ord_id",
)  # fmt: skip
SIDES = {"buy": Side.BUY, "sell": Side.SELL, "sell_short": Side.SELL_SHORT}
ACTIONS = ("new", "cancel", "replace")


@dataclass(frozen=True)
class OrderAction:
    """One row: ``at_ns`` is absolute, or None with ``offset_ns`` from the replay start."""

    line: int
    at_ns: int | None
    offset_ns: int | None
    client: str
    action: str
    cl_ord_id: str
    symbol: str
    side: Side
    qty: Decimal | None
    price: Decimal | None
    ord_type: OrdType
    tif: TimeInForce
    orig_cl_ord_id: str | None

    def time_ns(self, origin_ns: int) -> int:
        return self.at_ns if self.at_ns is not None else origin_ns + (self.offset_ns or 0)


def _decimal(value: str, fail) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        fail(f"expected a decimal number, got {value!r}")
    if not d.is_finite() or d <= 0:
        fail(f"expected a positive number, got {value!r}")
    return d


def parse_orders_csv(path: Path) -> list[OrderAction]:
    """Every row as an OrderAction, in file order; raises ConfigError on the first bad cell."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(shown, f"cannot read file: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise ConfigError(shown, "empty file: expected the header " + ",".join(COLUMNS), line=1)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    extra = [h for h in header if h not in COLUMNS]
    if missing or extra:
        what = (
            f"missing column(s) {', '.join(missing)}" if missing else f"unknown column(s) {', '.join(extra)}"
        )
        raise ConfigError(shown, f"{what}; expected the header {','.join(COLUMNS)}", line=1)
    out: list[OrderAction] = []
    seen: set[tuple[str, str]] = set()
    for lineno, row in enumerate(rows[1:], 2):
        if not row or all(not c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) != len(header):
            raise ConfigError(shown, f"expected {len(header)} cells, got {len(row)}", line=lineno)
        cells = {h: c.strip() for h, c in zip(header, row, strict=True)}
        out.append(_row(shown, lineno, cells, seen))
    return out


def _row(shown: str, lineno: int, cells: dict[str, str], seen: set[tuple[str, str]]) -> OrderAction:
    col = ""

    def fail(problem: str):
        raise ConfigError(shown, problem, key_path=col, line=lineno)

    def need(name: str) -> str:
        nonlocal col
        col = name
        if not cells[name]:
            fail("required")
        return cells[name]

    try:
        at_ns, offset_ns = parse_time_ns(need("time"), None)
    except ValueError as exc:
        fail(str(exc))
    client = need("client")
    action = need("action").lower()
    if action not in ACTIONS:
        fail(f"expected one of {', '.join(ACTIONS)}, got {cells['action']!r}")
    cl_ord_id = need("cl_ord_id")
    if (client, cl_ord_id) in seen:
        fail(f"ClOrdID {cl_ord_id!r} already used by {client}")
    seen.add((client, cl_ord_id))
    symbol = need("symbol")
    side_text = need("side").lower()
    if side_text not in SIDES:
        fail(f"expected buy, sell or sell_short, got {cells['side']!r}")
    col = "ord_type"
    ord_type = ORDER_TYPE_NAMES.get((cells["ord_type"] or "limit").lower())
    if ord_type is None:
        fail(f"expected limit or market, got {cells['ord_type']!r}")
    col = "tif"
    tif = TIF_NAMES.get((cells["tif"] or "day").lower())
    if tif is None:
        fail(f"expected day, gtc, ioc or fok, got {cells['tif']!r}")
    qty = price = None
    orig = None
    if action in ("new", "replace") or cells["qty"]:
        qty = _decimal(need("qty"), fail)
    if cells["price"]:
        col = "price"
        price = _decimal(cells["price"], fail)
    elif ord_type is OrdType.LIMIT and action == "new":
        col = "price"
        fail("required for a limit order")
    if ord_type is OrdType.MARKET and price is not None and action == "new":
        col = "price"
        fail("a market order takes no price")
    if action in ("cancel", "replace"):
        orig = need("orig_cl_ord_id")
        if (client, orig) not in seen:
            fail(f"no earlier order {orig!r} of {client} in this file")
    elif cells["orig_cl_ord_id"]:
        col = "orig_cl_ord_id"
        fail("only for cancel and replace")
    return OrderAction(
        lineno, at_ns, offset_ns, client, action, cl_ord_id, symbol, SIDES[side_text], qty, price,
        ord_type, tif, orig,
    )  # fmt: skip
