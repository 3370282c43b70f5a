"""Seed a simulated venue's resting book from recorded market data.

Synthetic levels around a reference price make a book that trades, but not one that looks like a real
market; these readers turn a recorded snapshot into :class:`RestingOrder` s that :func:`seed_book`
rests in the matching engine. Each reader is ``(path, symbol_filter) -> list[RestingOrder]`` and is
registered in :data:`READERS` under the name the configuration's ``seed_from[].format`` uses, so
supporting a new format is writing one function.

``cme_mbo`` (Databento MBO decoded to CSV): the file opens with the venue's book snapshot, rows whose
``flags`` carry F_SNAPSHOT (0x20). In ``cme_esh4_mbo_2023-12-25.csv.gz`` that is data rows 1-8,725,
all ``A`` adds with flags 40 (F_SNAPSHOT | F_BAD_TS_RECV), one ``ts_event`` and a synthetic ``ts_recv``
of 2023-12-25 00:00:00 UTC. There is no leading ``R`` clear and no closing F_LAST row (flags 168 never
occurs, despite the data README), so the end is only the first row *without* F_SNAPSHOT: data row
8,726, flags 130, at the 22:00 UTC Globex open; that rule also covers snapshots that do end in F_LAST.
A/C/M/R are replayed up to there (a C removes its size, so a partial cancel leaves the rest); T and F
are ignored, since in MBO the resting order's change arrives as its own C/M; side N rows are skipped.
Orders keep the order the file lists them in, taken as queue order (the ``sequence`` column is each
order's original add and is not monotonic within a level, so it is not used).

Parsing is shared with the replay readers (:mod:`gateway.simulator.replay.readers`); these functions
fold the replay events of the snapshot into resting orders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.simulator.book import Fill, MatchingEngine, Rejected
from gateway.simulator.replay.events import DataAdd, DataCancel, DataClear, DataModify
from gateway.simulator.replay.readers import (
    F_SNAPSHOT,
    DecimalCache,
    binance_depth_rows,
    binance_level,
    cme_mbo_events,
)

log = logging.getLogger("gateway.simulator")

__all__ = ["F_SNAPSHOT", "READERS", "RestingOrder", "binance_depth_snapshot", "cme_mbo_snapshot", "seed_book"]


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """One order to rest in the book; a level-2 source gives one per price level."""

    side: Side
    price: Decimal
    qty: Decimal


Reader = Callable[[Path, str | None], list[RestingOrder]]


def cme_mbo_snapshot(path: Path, symbol_filter: str | None) -> list[RestingOrder]:
    """Resting orders after the opening snapshot of a Databento MBO CSV, in queue (time) order."""
    orders: dict[str, RestingOrder] = {}  # order_id -> order; dict order is queue order
    for e in cme_mbo_events(path, symbol_filter, snapshot_only=True):
        if isinstance(e, DataClear):
            orders.clear()
        elif isinstance(e, DataAdd):
            orders[e.order_id] = RestingOrder(e.side, e.price, e.qty)
        elif isinstance(e, DataCancel):
            old = orders.get(e.order_id)
            if old is not None and old.qty > e.qty:
                orders[e.order_id] = RestingOrder(old.side, old.price, old.qty - e.qty)
            elif old is not None:
                del orders[e.order_id]
        elif isinstance(e, DataModify):
            old = orders.get(e.order_id)
            # Exchange rule: a new price or a larger size loses queue priority; a shrink keeps it.
            if old is None or e.price != old.price or e.qty > old.qty:
                orders.pop(e.order_id, None)
            orders[e.order_id] = RestingOrder(e.side, e.price, e.qty)
    return list(orders.values())


def binance_depth_snapshot(path: Path, symbol_filter: str | None) -> list[RestingOrder]:
    """One order per level of a Binance depth snapshot CSV, in file order; qty 0 rows are skipped."""
    orders = []
    dec = DecimalCache()
    for c, row in binance_depth_rows(path, symbol_filter, None):
        if row[c["update_type"]] != "snap":
            raise ValueError(f"{path}: update_type {row[c['update_type']]!r} is not a snapshot row")
        level = binance_level(c, row, dec, None, path)
        if level.qty > 0:
            orders.append(RestingOrder(level.side, level.price, level.qty))
    return orders


READERS: dict[str, Reader] = {"cme_mbo": cme_mbo_snapshot, "binance_depth": binance_depth_snapshot}


def seed_book(book: MatchingEngine, symbol: str, orders: Iterable[RestingOrder], id_prefix: str) -> int:
    """Rest ``orders`` as ownerless GTC limits in the given order; returns how many trades that caused.

    A consistent snapshot never crosses, so a non-zero result means the source (or synthetic levels
    seeded first) overlapped; the crossing part trades away like any order would, which is logged.
    """
    trades = n = 0
    for n, o in enumerate(orders, 1):
        cl_ord_id = f"{id_prefix}{n}"
        events = book.submit(None, cl_ord_id, symbol, o.side, OrdType.LIMIT, o.qty, o.price, TimeInForce.GTC)
        if isinstance(events[0], Rejected):
            raise ValueError(f"seeding {symbol} order {cl_ord_id} rejected: {events[0].reason}")
        trades += sum(isinstance(e, Fill) for e in events) // 2  # a trade yields two fills
    if n == 0:
        log.warning("seeding %s: the seed data has no orders (check its symbol filter)", symbol)
    if trades:
        log.warning(
            "seeding %s: %d trades, the seed data crosses itself or the synthetic levels", symbol, trades
        )
    return trades
