"""Stream recorded market data files as :mod:`replay events <gateway.simulator.replay.events>`.

A reader is ``(ReplaySource) -> Iterator[ReplayEvent]``: it streams the file row by row (never the
whole file in memory) in file order, which for every sample in ``shared/data`` is time order. Readers
are registered in :data:`READERS`; :func:`reader_for` also accepts ``package.module:function`` so a
user can plug in a format of their own without touching this module.

``cme_mbo`` (Databento MBO as CSV). What the ESH4 2023-12-25 file shows, and how it is mapped:

* Opening snapshot: rows 1-8,725 are ``A`` rows with flags 40 (F_SNAPSHOT 0x20 | F_BAD_TS_RECV 0x08),
  all with one ``ts_event`` (2023-12-24 13:00 UTC); they become ordinary :class:`DataAdd` s. There is
  no leading ``R`` and no F_LAST row closing the snapshot; live data starts at row 8,726 (22:00 UTC).
* ``A``/``C``/``M`` alone keep the book exact: every ``C`` removes a known order's *entire* size (no
  partial cancels, no unknown ids), ``M`` carries the new absolute size. -> DataAdd/DataCancel/DataModify.
* ``T`` is one trade at one price: ``side`` is the **aggressor** (B = buyer lifted the offer), ``size``
  the traded quantity, ``order_id`` the aggressor's (usually never rested). It is followed by ``F`` rows
  (one per filled order, ``side`` the resting side, sizes summing to the ``T`` size in 2,865 of 2,973
  cases; the rest also list the aggressor's own fill). -> DataTrade. ``side N`` (35 ``F`` rows and one
  ``T``) is the 23:00 UTC opening auction uncross, 44 lots at 4800.25 -> DataTrade(aggressor=None).
* ``F`` is **not** emitted: every ``F`` is followed, for the same order, by a ``C`` of the filled size
  (full fill, 5,333 times) or an ``M`` to the order's new size (partial fill, 974 times; for iceberg
  orders the M can show a size *larger* than before, the next displayed tranche). Replaying ``F`` as
  well would remove the liquidity twice; the ``T`` print carries everything a queue model needs
  (aggressor side, price, size) and comes *before* the ``C``/``M`` that remove the filled orders.
* ``R`` (clear) does not occur in this file; it maps to DataClear. Rows with side ``N`` other than
  trades are skipped.
* ``ts_ns`` is ``ts_event`` (exchange time), monotonic in this file; the snapshot's is the time of
  the snapshot, about 33 hours before the session.
* Between 22:00 and the 23:00 open (pre-open) and inside the opening auction's packet the book built
  from A/C/M is crossed; a replay book must therefore let data orders cross each other.

``histdata_quotes``: ``YYYYMMDD HHMMSSmmm,bid,ask,volume`` with no header; taken as UTC as the data
README says (HistData itself publishes EST); volume is always 0, so sizes are ``default_qty``.
``truefx``: ``timestamp,bid,ask`` with ISO timestamps; sizes are ``default_qty``.
``binance_depth``: the snapshot as a DataClear then one DataLevel per row, then the updates file as
DataLevel rows (``qty`` 0 removes a level). Updates whose ``last_update_id`` is not past the snapshot's
are dropped as already contained in it; a first update that does not bridge the snapshot
(``first_update_id > snapshot last_update_id + 1``), or a ``pu`` that is not the previous update's
``last_update_id``, is a sequence gap: logged once per gap and applied anyway, because the file has
nothing to resynchronise with (the sample's only update message starts ~20M ids after its snapshot).
"""

from __future__ import annotations

import csv
import gzip
import importlib
import io
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

from gateway.orders.enums import Side
from gateway.simulator.replay.events import (
    DataAdd,
    DataCancel,
    DataClear,
    DataLevel,
    DataModify,
    DataQuote,
    DataTrade,
    ReplayEvent,
)

log = logging.getLogger("gateway.simulator.replay")

#: Databento record flag: the record is part of a book snapshot, not a live event.
F_SNAPSHOT = 0x20
#: Size given to quotes from files that have none (FX quote feeds carry prices only).
DEFAULT_QUOTE_QTY = Decimal(1_000_000)

_CME_SIDES = {"B": Side.BUY, "A": Side.SELL}
_BINANCE_SIDES = {"b": Side.BUY, "a": Side.SELL}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ReplaySource:
    """One file to replay: ``symbol`` filters rows, ``as_symbol`` renames them for the gateway."""

    format: str
    file: Path
    symbol: str | None = None
    as_symbol: str | None = None
    updates_file: Path | None = None
    default_qty: Decimal | None = None


Reader = Callable[[ReplaySource], Iterator[ReplayEvent]]


def _open_text(path: Path) -> IO[str]:
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), newline="")
    return open(path, newline="")


class DecimalCache(dict[str, Decimal]):
    """``cache[text]`` is ``Decimal(text)``: prices and sizes repeat endlessly, parse each once."""

    def __missing__(self, key: str) -> Decimal:
        value = self[key] = Decimal(key)
        return value


def _columns(header: list[str], path: Path, needed: Iterable[str]) -> dict[str, int]:
    index = {name: i for i, name in enumerate(header)}
    missing = [n for n in needed if n not in index]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    return index


# ------------------------------------------------------------------ CME MBO


_MBO_COLUMNS = ("ts_event_ns", "symbol", "action", "side", "price", "size", "order_id", "flags")


def cme_mbo_events(
    path: Path, symbol: str | None = None, as_symbol: str | None = None, *, snapshot_only: bool = False
) -> Iterator[ReplayEvent]:
    """Databento MBO CSV rows as replay events.

    ``snapshot_only`` yields only the opening snapshot (the leading F_SNAPSHOT rows) and raises
    ValueError when the file does not open with one.
    """
    dec = DecimalCache()
    with _open_text(path) as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            if snapshot_only:
                raise ValueError(f"{path}: no opening snapshot (the file is empty)")
            return
        c = _columns(header, path, _MBO_COLUMNS)
        i_ts, i_sym, i_act, i_side = c["ts_event_ns"], c["symbol"], c["action"], c["side"]
        i_px, i_sz, i_oid, i_flags = c["price"], c["size"], c["order_id"], c["flags"]
        first = True
        for row in rows:
            if snapshot_only and not int(row[i_flags]) & F_SNAPSHOT:
                if first:
                    raise ValueError(f"{path}: no opening snapshot (first row lacks flag F_SNAPSHOT 0x20)")
                return
            first = False
            sym = row[i_sym]
            if symbol is not None and sym != symbol:
                continue
            out_sym = as_symbol or sym
            action = row[i_act]
            ts = int(row[i_ts])
            if action == "F":
                continue  # the C/M that follows removes the filled size (module docstring)
            if action == "C":
                yield DataCancel(ts, out_sym, row[i_oid], dec[row[i_sz]])
            elif action == "T":
                yield DataTrade(ts, out_sym, _CME_SIDES.get(row[i_side]), dec[row[i_px]], dec[row[i_sz]])
            elif action == "R":
                yield DataClear(ts, out_sym)
            else:
                side = _CME_SIDES.get(row[i_side])
                if side is None:
                    continue
                if action == "A":
                    yield DataAdd(ts, out_sym, side, dec[row[i_px]], dec[row[i_sz]], row[i_oid])
                elif action == "M":
                    yield DataModify(ts, out_sym, row[i_oid], side, dec[row[i_px]], dec[row[i_sz]])
                else:
                    raise ValueError(f"{path}: unknown MBO action {action!r}")
        if snapshot_only and first:
            raise ValueError(f"{path}: no opening snapshot (the file has no rows)")


def cme_mbo(source: ReplaySource) -> Iterator[ReplayEvent]:
    """The whole MBO file: snapshot rows as DataAdd, then the session."""
    return cme_mbo_events(source.file, source.symbol, source.as_symbol)


# ------------------------------------------------------------------ FX quotes


def _quote_qty(source: ReplaySource) -> Decimal:
    return DEFAULT_QUOTE_QTY if source.default_qty is None else source.default_qty


def _symbol(source: ReplaySource, fallback: str) -> str:
    return source.as_symbol or source.symbol or fallback


def histdata_quotes(source: ReplaySource) -> Iterator[ReplayEvent]:
    """HistData ``YYYYMMDD HHMMSSmmm,bid,ask,volume`` quotes (no header) as DataQuote."""
    qty, sym, dec = (
        _quote_qty(source),
        _symbol(source, source.file.name.split("_")[1].upper()),
        DecimalCache(),
    )
    with _open_text(source.file) as f:
        for n, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            stamp = row[0]
            try:
                day, clock = stamp.split(" ")
                dt = datetime(int(day[:4]), int(day[4:6]), int(day[6:8]), tzinfo=UTC)
                ns = (
                    (dt - _EPOCH) // _MICRO * 1000
                    + (int(clock[:2]) * 3600 + int(clock[2:4]) * 60 + int(clock[4:6])) * 1_000_000_000
                    + int(clock[6:9]) * 1_000_000
                )
            except (ValueError, IndexError) as e:
                raise ValueError(f"{source.file}:{n}: bad timestamp {stamp!r}") from e
            yield DataQuote(ns, sym, _px(dec, row[1]), qty, _px(dec, row[2]), qty)


def truefx(source: ReplaySource) -> Iterator[ReplayEvent]:
    """TrueFX ``timestamp,bid,ask`` ticks (ISO-8601 timestamps) as DataQuote."""
    qty, dec = _quote_qty(source), DecimalCache()
    sym = _symbol(source, "USDJPY")
    with _open_text(source.file) as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            return
        c = _columns(header, source.file, ("timestamp", "bid", "ask"))
        i_ts, i_bid, i_ask = c["timestamp"], c["bid"], c["ask"]
        for row in rows:
            yield DataQuote(iso_to_ns(row[i_ts]), sym, _px(dec, row[i_bid]), qty, _px(dec, row[i_ask]), qty)


def _px(dec: DecimalCache, text: str) -> Decimal | None:
    """An empty or non-positive quote price means that side is absent."""
    if not text:
        return None
    px = dec[text]
    return px if px > 0 else None


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def iso_to_ns(text: str) -> int:
    """ISO-8601 time (naive = UTC) to UTC nanoseconds, exact to the microsecond."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MICRO * 1000


# ------------------------------------------------------------------ Binance depth


_BINANCE_COLUMNS = ("symbol", "timestamp", "first_update_id", "last_update_id", "side", "price", "qty")


def binance_depth_rows(
    path: Path, symbol: str | None, as_symbol: str | None
) -> Iterator[tuple[dict[str, int], list[str]]]:
    """(column index, row) for each row of a Binance depth CSV that passes the symbol filter."""
    with _open_text(path) as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            return
        c = _columns(header, path, _BINANCE_COLUMNS)
        i_sym = c["symbol"]
        for row in rows:
            if symbol is None or row[i_sym] == symbol:
                yield c, row


def binance_level(
    c: dict[str, int], row: list[str], dec: DecimalCache, as_symbol: str | None, path: Path
) -> DataLevel:
    """One row from :func:`binance_depth_rows` as a DataLevel (``dec``: a :class:`DecimalCache`)."""
    side = _BINANCE_SIDES.get(row[c["side"]])
    if side is None:
        raise ValueError(f"{path}: side {row[c['side']]!r} is neither 'b' nor 'a'")
    return DataLevel(
        int(row[c["timestamp"]]) * 1_000_000,
        as_symbol or row[c["symbol"]],
        side,
        dec[row[c["price"]]],
        dec[row[c["qty"]]],
    )


def binance_depth(source: ReplaySource) -> Iterator[ReplayEvent]:
    """Snapshot (DataClear + DataLevel per row), then the sequenced updates as DataLevel."""
    dec = DecimalCache()
    snapshot_last: int | None = None
    for c, row in binance_depth_rows(source.file, source.symbol, source.as_symbol):
        level = binance_level(c, row, dec, source.as_symbol, source.file)
        if snapshot_last is None:
            yield DataClear(level.ts_ns, level.symbol)
        snapshot_last = int(row[c["last_update_id"]])
        yield level
    if source.updates_file is None:
        return
    prev_last = snapshot_last
    message: tuple[str, str] | None = None
    for c, row in binance_depth_rows(source.updates_file, source.symbol, source.as_symbol):
        first, last = int(row[c["first_update_id"]]), int(row[c["last_update_id"]])
        if prev_last is not None and message is None and last <= prev_last:
            continue  # already contained in the snapshot
        key = (row[c["first_update_id"]], row[c["last_update_id"]])
        if key != message:  # first row of a new update message: check it follows the previous one
            pu = row[c["pu"]] if "pu" in c else ""
            if prev_last is not None and not _follows(first, last, pu, prev_last, message is None):
                log.warning(
                    "%s: depth update %s-%s does not follow update id %s: sequence gap, applied anyway",
                    source.updates_file,
                    first,
                    last,
                    prev_last,
                )
            message, prev_last = key, last
        yield binance_level(c, row, dec, source.as_symbol, source.updates_file)


def _follows(first: int, last: int, pu: str, prev_last: int, after_snapshot: bool) -> bool:
    """Binance sequencing: the first update bridges the snapshot, later ones chain by ``pu``."""
    if after_snapshot:
        return first <= prev_last + 1 <= last or (first <= prev_last <= last)
    if pu not in ("", "-1"):
        return int(pu) == prev_last
    return first == prev_last + 1


# ------------------------------------------------------------------ registry


READERS: dict[str, Reader] = {
    "cme_mbo": cme_mbo,
    "histdata_quotes": histdata_quotes,
    "truefx": truefx,
    "binance_depth": binance_depth,
}


def reader_for(name: str) -> Reader:
    """A registered reader by short name, or a plugin by ``package.module:function`` / dotted path."""
    if name in READERS:
        return READERS[name]
    if ":" in name:
        module_name, _, attr = name.partition(":")
    elif "." in name:
        module_name, _, attr = name.rpartition(".")
    else:
        known = ", ".join(sorted(READERS))
        raise ValueError(f"unknown replay format {name!r}: use one of {known} or package.module:function")
    if not module_name or not attr:
        raise ValueError(f"replay format {name!r}: expected package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"replay format {name!r}: cannot import module {module_name!r}: {e}") from e
    reader = getattr(module, attr, None)
    if reader is None:
        raise ValueError(f"replay format {name!r}: module {module_name!r} has no attribute {attr!r}")
    if not callable(reader):
        raise ValueError(f"replay format {name!r}: {module_name}.{attr} is not callable")
    return reader


# ------------------------------------------------------------------ perturbation


def perturbed(
    events: Iterable[ReplayEvent],
    *,
    seed: int,
    time_shift_ns: int = 0,
    size_scale: Decimal = Decimal(1),
    drop_adds: float = 0.0,
) -> Iterator[ReplayEvent]:
    """A venue's own variant of a shared stream, the same for the same seed.

    ``time_shift_ns`` moves every event; ``size_scale`` multiplies sizes (book sizes and prints
    alike, so a level and the trades against it stay proportionate); ``drop_adds`` is the chance a
    level-3 add is left out, and with it every later event for that order id, so the thinner book
    stays consistent.
    """
    if not 0.0 <= drop_adds <= 1.0:
        raise ValueError(f"drop_adds must be within 0..1, got {drop_adds}")
    if size_scale < 0:
        raise ValueError(f"size_scale must not be negative, got {size_scale}")
    rng = random.Random(seed)
    dropped: set[str] = set()
    scale = size_scale != 1
    for e in events:
        if isinstance(e, DataAdd):
            if drop_adds and rng.random() < drop_adds:
                dropped.add(e.order_id)
                continue
            dropped.discard(e.order_id)  # an id reused after its order ended
        elif isinstance(e, DataCancel | DataModify) and e.order_id in dropped:
            continue
        if time_shift_ns:
            e = replace(e, ts_ns=e.ts_ns + time_shift_ns)
        if scale:
            e = _scaled(e, size_scale)
        yield e


def _scaled(e: ReplayEvent, k: Decimal) -> ReplayEvent:
    if isinstance(e, DataQuote):
        return replace(e, bid_qty=e.bid_qty * k, ask_qty=e.ask_qty * k)
    if isinstance(e, DataClear):
        return e
    return replace(e, qty=e.qty * k)
