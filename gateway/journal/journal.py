"""Write-ahead journal of the gateway: every lifecycle event is committed here before its
effect leaves the process, and open orders are restored from it after a restart.

The journal deliberately knows nothing of the gateway's domain classes; callers hand it
plain records. It uses SQLAlchemy Core (no ORM: this is on the hot path), keeps one
connection for its whole life and reuses pre-built statements so that each ``write()``
only pays for parameter binding and the database round trip, never for SQL compilation.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import bindparam, create_engine, event, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Executable

from gateway.journal import schema

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///sessions/journal.db"
"""Embedded default store, relative to the working directory (the repo's sessions/ dir)."""

_SQLITE_SYNCHRONOUS = ("off", "normal", "full", "extra")

_T = TypeVar("_T")


class JournalError(Exception):
    """The journal could not persist or read data; the caller must not act as if it had."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One lifecycle event (message in/out, state change, reject, admin action)."""

    kind: str
    order_id: str | None
    session: str | None
    msg_type: str | None
    text: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """Snapshot of a parent or child order; upserted on every change, ``doc`` feeds restore."""

    order_id: str
    parent_id: str | None
    session: str
    cl_ord_id: str
    symbol: str
    side: str
    status: str
    is_open: bool
    qty: str
    cum_qty: str
    avg_px: str
    price: str | None
    doc: dict
    updated_ns: int


@dataclass(frozen=True, slots=True)
class PositionRecord:
    """Snapshot of one (client, account, symbol) position; upserted on every fill that changes
    it (in the fill's transaction), ``doc`` feeds restore. ``account`` None: no FIX Account."""

    client: str
    account: str | None
    symbol: str
    qty: str
    avg_cost: str
    realised_pnl: str
    doc: dict
    updated_ns: int


_EVENT_FIELDS = tuple(f.name for f in fields(EventRecord))
_ORDER_FIELDS = tuple(f.name for f in fields(OrderRecord))
_POSITION_FIELDS = tuple(f.name for f in fields(PositionRecord))
_event_values = attrgetter(*_EVENT_FIELDS)
_META_FIELDS = ("key", "value")
_Meta = namedtuple("_Meta", _META_FIELDS)
_order_values = attrgetter(*_ORDER_FIELDS)


def _driver_statement(
    stmt: Any,
    names: tuple[str, ...],
    dialect: Any,
    computed: dict[str, Callable[[Any], Any]] | None = None,
) -> tuple[str, Callable[[Any], Any]]:
    """The statement as driver SQL, and a function turning a record into its parameters.

    ``computed`` adds columns that are not record fields (name -> function of the record).
    Only ``doc`` needs converting (to JSON text, as SQLAlchemy's JSON type would store it).
    """
    extra = tuple((computed or {}).items())
    compiled = stmt.compile(dialect=dialect, column_keys=[*names, *(k for k, _ in extra)])
    order = compiled.positiontup

    def values(record: Any) -> dict[str, Any]:
        d = dict(zip(names, attrgetter(*names)(record), strict=True))
        for k, fn in extra:
            d[k] = fn(record)
        if "doc" in d:
            d["doc"] = json.dumps(d["doc"], separators=(",", ":"))
        return d

    if order:
        # Straight to the tuple the driver wants (this runs for every row of every write).
        getters = []
        for key in order:
            if key in names:
                get = attrgetter(key)
                getters.append(_json_of(get) if key == "doc" else get)
            else:
                getters.append(dict(extra)[key])
        getters_t = tuple(getters)

        def positional(record: Any) -> tuple[Any, ...]:
            return tuple([get(record) for get in getters_t])

        return str(compiled), positional
    return str(compiled), values


def _json_of(get: Callable[[Any], Any]) -> Callable[[Any], str]:
    return lambda record: json.dumps(get(record), separators=(",", ":"))


def _event_params(e: EventRecord) -> dict[str, Any]:
    return dict(zip(_EVENT_FIELDS, _event_values(e), strict=True))


def _order_params(o: OrderRecord) -> dict[str, Any]:
    return dict(zip(_ORDER_FIELDS, _order_values(o), strict=True))


def _order_from_row(row: Any) -> OrderRecord:
    m = row._mapping
    return OrderRecord(**{name: m[name] for name in _ORDER_FIELDS})


def _position_from_row(row: Any) -> PositionRecord:
    m = row._mapping
    return PositionRecord(**{name: m[name] for name in _POSITION_FIELDS})


def _account_key(p: PositionRecord) -> str:
    """Primary-key form of the optional account (see schema.positions)."""
    return "" if p.account is None else p.account


def _event_from_row(row: Any) -> EventRecord:
    m = row._mapping
    return EventRecord(**{name: m[name] for name in _EVENT_FIELDS})


class _Checkpointer:
    """Moves the SQLite WAL into the database file from a thread of its own.

    An automatic checkpoint runs inside whichever commit crosses the threshold and
    fsyncs the database file there: milliseconds added to one order in a few
    hundred. A PASSIVE checkpoint on another connection never blocks the writer.
    """

    def __init__(self, path: str, interval_s: float = 1.0):
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False)
        try:
            while not self._stop.wait(self._interval_s):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("journal checkpoint failed: %s", exc)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("journal final checkpoint failed: %s", exc)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


class Journal:
    """Durable store of events, order and position snapshots, and small metadata.

    Not thread-safe: it is meant to be driven by the gateway's single core thread (it may
    be constructed on another thread and handed over). ``synchronous`` selects SQLite's
    ``PRAGMA synchronous`` (``normal``: durable across process crashes, may lose the last
    commits on power loss under WAL; ``full``: durable across power loss too). It is
    ignored for PostgreSQL, whose commits are always durable with the default settings.
    """

    def __init__(self, url: str, synchronous: str = "normal", echo: bool = False) -> None:
        sync = synchronous.lower()
        if sync not in _SQLITE_SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {_SQLITE_SYNCHRONOUS}, got {synchronous!r}")
        parsed = make_url(url)
        self.url = parsed.render_as_string(hide_password=True)
        self._dialect = parsed.get_backend_name()
        if self._dialect == "sqlite":
            insert = sqlite_dialect.insert
        elif self._dialect == "postgresql":
            insert = pg_dialect.insert
        else:
            raise ValueError(f"unsupported journal database {self._dialect!r} (sqlite or postgresql)")

        connect_args: dict[str, Any] = {}
        database = parsed.database or ""
        sqlite_file = (
            self._dialect == "sqlite"
            and database not in ("", ":memory:")
            and not database.startswith("file:")
        )
        if self._dialect == "sqlite":
            if sqlite_file:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # One connection, one user thread at a time; allow construction on another thread.
            connect_args["check_same_thread"] = False
            # A locked database fails a write after 1 s instead of SQLite's 5 s: the engine
            # thread waits on it, and the gateway stops taking orders until it can write again.
            connect_args["timeout"] = 1.0

        self._engine: Engine = create_engine(url, echo=echo, connect_args=connect_args)
        if self._dialect == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas(sync))

        # The hot path (write) runs statements compiled once to the driver's SQL and executes
        # them with exec_driver_sql: SQLAlchemy's per-execute machinery cost ~60 µs a
        # statement, more than SQLite's commit itself.
        ins = insert(schema.orders)
        upsert_orders = ins.on_conflict_do_update(
            index_elements=[schema.orders.c.order_id],
            set_={c.name: ins.excluded[c.name] for c in schema.orders.c if c.name != "order_id"},
        )
        self._events_sql = _driver_statement(schema.events.insert(), _EVENT_FIELDS, self._engine.dialect)
        self._orders_sql = _driver_statement(upsert_orders, _ORDER_FIELDS, self._engine.dialect)
        pins = insert(schema.positions)
        pkey = [c.name for c in schema.positions.primary_key]
        upsert_positions = pins.on_conflict_do_update(
            index_elements=pkey,
            set_={c.name: pins.excluded[c.name] for c in schema.positions.c if c.name not in pkey},
        )
        self._positions_sql = _driver_statement(
            upsert_positions, _POSITION_FIELDS, self._engine.dialect, {"account_key": _account_key}
        )
        mins = insert(schema.meta)
        self._upsert_meta: Executable = mins.on_conflict_do_update(
            index_elements=[schema.meta.c.key], set_={"value": mins.excluded.value}
        )
        self._meta_sql = _driver_statement(self._upsert_meta, _META_FIELDS, self._engine.dialect)
        o = schema.orders.c
        self._sel_open = select(schema.orders).where(o.is_open.is_(True)).order_by(o.updated_ns, o.order_id)
        self._sel_by_id = select(schema.orders).where(o.order_id == bindparam("k"))
        self._sel_by_clordid = (
            select(schema.orders)
            .where(o.cl_ord_id == bindparam("k"))
            .order_by(o.updated_ns.desc(), o.order_id.desc())
            .limit(1)
        )
        self._sel_children = (
            select(schema.orders).where(o.parent_id == bindparam("k")).order_by(o.updated_ns, o.order_id)
        )
        self._sel_meta = select(schema.meta.c.value).where(schema.meta.c.key == bindparam("k"))

        self._checkpointer: _Checkpointer | None = None
        try:
            self._conn: Connection | None = self._engine.connect()
            with self._conn.begin():
                schema.metadata.create_all(self._conn)
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise JournalError(f"cannot open journal {self.url}: {exc}") from exc
        if sqlite_file:
            self._checkpointer = _Checkpointer(database)

    # -- writing -------------------------------------------------------------------------

    def write(
        self,
        events: Sequence[EventRecord],
        orders: Sequence[OrderRecord],
        positions: Sequence[PositionRecord] = (),
        meta: Mapping[str, str] | None = None,
    ) -> None:
        """Persist events, order and position snapshots and ``meta`` values (as :meth:`set_meta`)
        atomically; return only once committed.

        Either everything in the call is stored or nothing is (on error the transaction is
        rolled back and JournalError raised), so a caller that sends only after a successful
        write never emits something the journal does not know about.
        """
        if not events and not orders and not positions and not meta:
            return
        conn = self._connection()
        try:
            with conn.begin():
                # Straight to the DBAPI cursor of SQLAlchemy's connection, inside its transaction:
                # even exec_driver_sql's per-call machinery cost about as much as the statements
                # (a third of Journal.write in a ping-pong profile).
                cursor = conn.connection.cursor()
                try:
                    for rows, (sql, params) in (
                        (events, self._events_sql),
                        (orders, self._orders_sql),
                        (positions, self._positions_sql),
                        ([_Meta(k, v) for k, v in meta.items()] if meta else (), self._meta_sql),
                    ):
                        if rows:
                            cursor.executemany(sql, [params(r) for r in rows])
                finally:
                    cursor.close()
        except Exception as exc:
            # Not only SQLAlchemyError: drivers raise e.g. TypeError for a doc that is not
            # JSON-able (psycopg serialises during execute); the transaction is rolled back
            # either way and the caller only needs to know the write did not happen.
            raise JournalError(f"journal write failed: {exc}") from exc

    def set_meta(self, key: str, value: str) -> None:
        """Store a small durable value (e.g. an id counter), replacing any previous one."""
        conn = self._connection()
        try:
            with conn.begin():
                conn.execute(self._upsert_meta, {"key": key, "value": value})
        except Exception as exc:
            raise JournalError(f"journal set_meta({key!r}) failed: {exc}") from exc

    # -- reading -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Value stored by set_meta, or None."""
        return self._read(lambda c: c.execute(self._sel_meta, {"k": key}).scalar_one_or_none())

    def open_orders(self) -> list[OrderRecord]:
        """Open parents and children, oldest change first (restart recovery reads every order)."""
        return self._read(lambda c: [_order_from_row(r) for r in c.execute(self._sel_open)])

    def orders(
        self, open_only: bool = False, session: str | None = None, limit: int = 1000
    ) -> list[OrderRecord]:
        """Order snapshots, most recently updated first (for status and admin tools)."""
        o = schema.orders.c
        stmt = select(schema.orders)
        if open_only:
            stmt = stmt.where(o.is_open.is_(True))
        if session is not None:
            stmt = stmt.where(o.session == session)
        stmt = stmt.order_by(o.updated_ns.desc(), o.order_id.desc()).limit(limit)
        return self._read(lambda c: [_order_from_row(r) for r in c.execute(stmt)])

    def order(self, order_id_or_cl_ord_id: str) -> OrderRecord | None:
        """Look up by gateway OrderID, else by ClOrdID (the most recently updated match)."""
        key = {"k": order_id_or_cl_ord_id}

        def run(c: Connection) -> OrderRecord | None:
            row = c.execute(self._sel_by_id, key).first() or c.execute(self._sel_by_clordid, key).first()
            return _order_from_row(row) if row is not None else None

        return self._read(run)

    def children(self, parent_id: str) -> list[OrderRecord]:
        """Child orders of a parent, oldest change first."""
        return self._read(
            lambda c: [_order_from_row(r) for r in c.execute(self._sel_children, {"k": parent_id})]
        )

    def positions(self, client: str | None = None) -> list[PositionRecord]:
        """Position snapshots (of one client, or all) by client, account (none first), symbol:
        the input of restart recovery and of ``fixgw positions``."""
        p = schema.positions.c
        stmt = select(schema.positions)
        if client is not None:
            stmt = stmt.where(p.client == client)
        stmt = stmt.order_by(p.client, p.account_key, p.symbol)
        return self._read(lambda c: [_position_from_row(r) for r in c.execute(stmt)])

    def events(self, order_id: str | None = None, limit: int = 1000) -> list[EventRecord]:
        """The latest ``limit`` events (of one order, or all), returned oldest first."""
        e = schema.events.c
        stmt = select(schema.events)
        if order_id is not None:
            stmt = stmt.where(e.order_id == order_id)
        stmt = stmt.order_by(e.id.desc()).limit(limit)
        rows = self._read(lambda c: [_event_from_row(r) for r in c.execute(stmt)])
        rows.reverse()
        return rows

    # -- lifecycle -----------------------------------------------------------------------

    def close(self) -> None:
        """Release the connection and the engine; idempotent."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({self.url!r})"

    # -- internals -----------------------------------------------------------------------

    def _connection(self) -> Connection:
        if self._conn is None:
            raise JournalError("journal is closed")
        return self._conn

    def _read(self, fn: Callable[[Connection], _T]) -> _T:
        """Run a read in its own short transaction so no snapshot (or SQLite read lock,
        which would stall WAL checkpoints) stays open between calls."""
        conn = self._connection()
        try:
            with conn.begin():
                return fn(conn)
        except SQLAlchemyError as exc:
            raise JournalError(f"journal read failed: {exc}") from exc


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    """Connect-event hook: WAL lets readers (status tools) run beside the writer and makes
    commits cheap; ``synchronous`` trades power-loss durability against commit latency."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() not in ("wal", "memory"):
                log.warning("SQLite journal_mode is %s, not WAL", mode)
            cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
            # Checkpoints (which fsync the database file) run on a background connection,
            # not inside the writer's commits: see _Checkpointer.
            cur.execute("PRAGMA wal_autocheckpoint=0")
        finally:
            cur.close()

    return on_connect
