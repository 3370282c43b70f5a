"""Contract tests of the journal, run unchanged against SQLite and PostgreSQL.

The gateway relies on the journal for two promises: nothing leaves the process before it
is committed (atomic, durable writes) and open orders can be rebuilt after a restart. Both
backends must keep them identically, hence one contract class over a parametrized URL.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.journal import EventRecord, Journal, JournalError, OrderRecord, PositionRecord

PG_URL = os.environ.get("FIXGW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

T0 = 1_732_000_000_000_000_000  # realistic time.time_ns(): needs a 64-bit column


def ev(kind: str, order_id: str | None, n: int, text_: str | None = None) -> EventRecord:
    return EventRecord(
        kind=kind,
        order_id=order_id,
        session="CLIENT1",
        msg_type="D" if kind == "client_in" else None,
        text=text_ if text_ is not None else f"8=FIX.4.4|35=D|11=C{n}|",
        ts_ns=T0 + n,
    )


def order(
    order_id: str, n: int, *, parent_id: str | None = None, is_open: bool = True, **kw: object
) -> OrderRecord:
    base = OrderRecord(
        order_id=order_id,
        parent_id=parent_id,
        session="SIM-A" if parent_id else "CLIENT1",
        cl_ord_id=f"CL-{order_id}",
        symbol="VOD.L",
        side="1",
        status="0" if is_open else "2",
        is_open=is_open,
        qty="100",
        cum_qty="0",
        avg_px="0",
        price="101.25",
        doc={"id": order_id, "n": n},
        updated_ns=T0 + n,
    )
    return replace(base, **kw)


# -- backends ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    """Check PostgreSQL once per run; skip its half of the contract with the reason if absent."""
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {make_url(PG_URL)!r}: {exc}")
    finally:
        engine.dispose()
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_base_url: str) -> Iterator[str]:
    """A private schema per test (via search_path) so runs and tests never collide."""
    schema = f"fixgw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions' / 'journal.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def open_journal(url: str) -> Iterator[Callable[..., Journal]]:
    """Factory so a test can reopen the same store (restart); closes everything at teardown."""
    opened: list[Journal] = []

    def make(**kw: object) -> Journal:
        j = Journal(url, **kw)
        opened.append(j)
        return j

    yield make
    for j in opened:
        j.close()


@pytest.fixture
def journal(open_journal: Callable[..., Journal]) -> Journal:
    return open_journal()


# -- contract ------------------------------------------------------------------------------


class TestJournalContract:
    def test_write_then_read_back_round_trips_exactly(self, journal: Journal) -> None:
        doc = {
            "qty": "100.000",
            "fills": [{"px": "0.00000001", "qty": "12345678901234567890.123456789"}],
            "text": "naïve ✓ | 8=FIX",
            "flags": {"dnr": True, "peg": None},
            "n": 7,
        }
        parent = order(
            "O1",
            1,
            qty="100.000",
            cum_qty="12345678901234567890.123456789",
            avg_px="0.00000001",
            price="101.2500",
            doc=doc,
        )
        child = order("O1-1", 2, parent_id="O1", price=None, doc={})
        events = [ev("client_in", "O1", 1), ev("state", None, 2, "gateway started")]

        journal.write(events, [parent, child])

        assert journal.events() == events
        got = journal.order("O1")
        assert got == parent
        assert got is not None
        assert (got.qty, got.cum_qty, got.avg_px, got.price) == (
            "100.000",
            "12345678901234567890.123456789",
            "0.00000001",
            "101.2500",
        )
        assert Decimal(got.cum_qty) == Decimal("12345678901234567890.123456789")
        assert got.doc == doc
        assert type(got.is_open) is bool
        assert journal.order("O1-1") == child

    def test_upsert_replaces_the_row(self, journal: Journal) -> None:
        journal.write([], [order("O1", 1)])
        filled = order(
            "O1",
            2,
            is_open=False,
            cl_ord_id="CL-O1-R",
            cum_qty="100",
            avg_px="101.25",
            doc={"state": "filled"},
        )

        journal.write([], [filled])

        assert journal.order("O1") == filled
        assert journal.orders() == [filled]

    def test_open_orders_returns_only_open_parents_and_children_oldest_first(self, journal: Journal) -> None:
        p1 = order("P1", 30)
        c1 = order("P1-1", 10, parent_id="P1")
        c2 = order("P1-2", 20, parent_id="P1", is_open=False)
        p2 = order("P2", 5, is_open=False)
        p3 = order("P3", 40)
        journal.write([], [p1, c1, c2, p2, p3])

        assert journal.open_orders() == [c1, p1, p3]

        journal.write([], [replace(p1, is_open=False, status="4", updated_ns=T0 + 50)])
        assert journal.open_orders() == [c1, p3]

    def test_order_by_order_id_then_latest_cl_ord_id(self, journal: Journal) -> None:
        old = order("O1", 1, cl_ord_id="SAME")
        new = order("O2", 2, cl_ord_id="SAME", session="CLIENT2")
        journal.write([], [new, old])

        assert journal.order("O1") == old
        assert journal.order("SAME") == new
        assert journal.order("CL-nothing") is None
        # An OrderID wins over another order's ClOrdID of the same text.
        other = order("O3", 3, cl_ord_id="O1")
        journal.write([], [other])
        assert journal.order("O1") == old

    def test_children_of_a_parent(self, journal: Journal) -> None:
        c2 = order("P1-2", 3, parent_id="P1")
        c1 = order("P1-1", 2, parent_id="P1", is_open=False)
        journal.write([], [order("P1", 1), c2, c1, order("P2", 4), order("P2-1", 5, parent_id="P2")])

        assert journal.children("P1") == [c1, c2]
        assert journal.children("P2") == [order("P2-1", 5, parent_id="P2")]
        assert journal.children("P1-1") == []

    def test_orders_filters_newest_first(self, journal: Journal) -> None:
        a = order("A", 1)
        b = order("B", 2, session="CLIENT2")
        c = order("C", 3, is_open=False)
        journal.write([], [a, b, c])

        assert journal.orders() == [c, b, a]
        assert journal.orders(open_only=True) == [b, a]
        assert journal.orders(session="CLIENT1") == [c, a]
        assert journal.orders(open_only=True, session="CLIENT1") == [a]
        assert journal.orders(limit=2) == [c, b]

    def test_events_by_order_latest_window_oldest_first(self, journal: Journal) -> None:
        evs = [ev("client_in", "O1" if n % 2 else "O2", n) for n in range(10)]
        for e in evs:
            journal.write([e], [])

        assert journal.events() == evs
        assert journal.events("O1") == [e for e in evs if e.order_id == "O1"]
        assert journal.events(limit=3) == evs[-3:]
        assert journal.events("O2", limit=2) == [evs[6], evs[8]]
        assert journal.events("nope") == []

    def test_meta_get_set(self, journal: Journal) -> None:
        assert journal.get_meta("next_order_id") is None
        journal.set_meta("next_order_id", "41")
        journal.set_meta("next_order_id", "42")
        journal.set_meta("other", "x")
        assert journal.get_meta("next_order_id") == "42"
        assert journal.get_meta("other") == "x"

    def test_failed_write_raises_and_stores_nothing(self, journal: Journal) -> None:
        before = order("O1", 1)
        journal.write([ev("client_in", "O1", 1)], [before])
        bad = replace(order("O2", 3), symbol=None)  # violates NOT NULL, after the events went in

        with pytest.raises(JournalError) as info:
            journal.write(
                [ev("venue_out", "O1", 2), ev("client_out", "O2", 3)],
                [replace(before, cum_qty="50", updated_ns=T0 + 2), bad],
            )

        # the driver's own error: the hot path writes through the DBAPI cursor (PEP 249 names it)
        assert any(c.__name__ == "IntegrityError" for c in type(info.value.__cause__).__mro__)
        assert journal.events() == [ev("client_in", "O1", 1)]
        assert journal.order("O1") == before
        assert journal.order("O2") is None
        # The connection recovers: the next write goes through.
        journal.write([ev("admin", None, 4)], [order("O2", 4)])
        assert journal.order("O2") == order("O2", 4)
        assert len(journal.events()) == 2

    def test_meta_in_a_write_commits_with_it_or_not_at_all(self, journal: Journal) -> None:
        """Group commit stores the inbound watermark in the batch's own transaction."""
        journal.write([ev("client_in", "O1", 1)], [order("O1", 1)], [], {"inbound_seq/CLIENT1": "7"})
        journal.write([], [], [], {"inbound_seq/CLIENT1": "9", "inbound_seq/SIM-A": "3"})  # meta alone
        assert journal.get_meta("inbound_seq/CLIENT1") == "9" and journal.get_meta("inbound_seq/SIM-A") == "3"
        bad = replace(order("O2", 3), symbol=None)
        with pytest.raises(JournalError):
            journal.write([ev("client_in", "O2", 3)], [bad], [], {"inbound_seq/CLIENT1": "12"})
        assert journal.get_meta("inbound_seq/CLIENT1") == "9"  # rolled back with the rest
        assert len(journal.events()) == 1

    def test_unserializable_doc_raises_and_stores_nothing(self, journal: Journal) -> None:
        with pytest.raises(JournalError):
            journal.write([ev("client_in", "O1", 1)], [order("O1", 1, doc={"qty": Decimal("1")})])

        assert journal.events() == []
        assert journal.orders() == []
        journal.write([ev("client_in", "O1", 1)], [order("O1", 1)])
        assert journal.order("O1") == order("O1", 1)

    def test_reopen_sees_previous_data(self, open_journal: Callable[..., Journal]) -> None:
        first = open_journal()
        parent, child = order("P1", 1), order("P1-1", 2, parent_id="P1")
        first.write(
            [ev("client_in", "P1", 1), ev("venue_out", "P1", 2)],
            [parent, child, order("X", 3, is_open=False)],
        )
        first.set_meta("next_order_id", "2")
        first.close()

        second = open_journal()  # restart: create_all must not clobber existing tables

        assert second.open_orders() == [parent, child]
        assert second.children("P1") == [child]
        assert [e.kind for e in second.events("P1")] == ["client_in", "venue_out"]
        assert second.get_meta("next_order_id") == "2"

    def test_closed_journal_refuses_use(self, journal: Journal) -> None:
        journal.close()
        journal.close()  # idempotent
        with pytest.raises(JournalError):
            journal.write([ev("admin", None, 1)], [])
        with pytest.raises(JournalError):
            journal.open_orders()


# -- SQLite specifics ----------------------------------------------------------------------


def _pragma(journal: Journal, name: str) -> object:
    # PRAGMA synchronous is per connection, so it must be read on the journal's own one.
    conn = journal._conn
    assert conn is not None
    with conn.begin():
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


class TestSqlite:
    @pytest.mark.parametrize(
        ("synchronous", "expected"), [(None, 1), ("normal", 1), ("full", 2), ("FULL", 2)]
    )
    def test_wal_and_synchronous_applied(
        self, tmp_path: Path, synchronous: str | None, expected: int
    ) -> None:
        kw = {} if synchronous is None else {"synchronous": synchronous}
        with Journal(f"sqlite:///{tmp_path / 'j.db'}", **kw) as j:
            assert _pragma(j, "synchronous") == expected
            assert _pragma(j, "journal_mode") == "wal"
            j.write([ev("admin", None, 1)], [])  # still writable after the pragma reads

    def test_creates_parent_directories(self, tmp_path: Path) -> None:
        path = tmp_path / "a" / "b" / "sessions" / "journal.db"
        with Journal(f"sqlite:///{path}") as j:
            j.write([ev("admin", None, 1)], [])
        assert path.is_file()

    def test_writer_never_checkpoints_and_a_background_thread_does(self, tmp_path: Path) -> None:
        path = tmp_path / "j.db"
        with Journal(f"sqlite:///{path}") as j:
            assert _pragma(j, "wal_autocheckpoint") == 0  # no fsync inside an order's commit
            for n in range(300):
                j.write([ev("client_in", f"O{n}", n, "x" * 500)], [order(f"O{n}", n)])
            # Pages reach the database file only through a checkpoint, i.e. the background one.
            deadline = time.monotonic() + 5
            while path.stat().st_size < 150_000 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert path.stat().st_size >= 150_000

    def test_rejects_unknown_synchronous(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="synchronous"):
            Journal(f"sqlite:///{tmp_path / 'j.db'}", synchronous="sometimes")


# -- PostgreSQL specifics ------------------------------------------------------------------


@pytest.mark.postgres
class TestPostgres:
    def test_recovers_after_server_drops_the_connection(self, pg_schema_url: str) -> None:
        """A restarted or failed-over server must cost one failed write, not the journal."""
        with Journal(pg_schema_url) as j:
            conn = j._conn
            assert conn is not None
            with conn.begin():
                pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                assert c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar() is True
            admin.dispose()

            with pytest.raises(JournalError):
                j.write([ev("admin", None, 1)], [])
            j.write([ev("admin", None, 2)], [order("O1", 2)])

            assert j.events() == [ev("admin", None, 2)]
            assert j.order("O1") == order("O1", 2)


# -- positions -----------------------------------------------------------------------------


def position(client: str, account: str | None, symbol: str, n: int, **kw: object) -> PositionRecord:
    base = PositionRecord(
        client=client,
        account=account,
        symbol=symbol,
        qty="-150.5",
        avg_cost="101.3333333333333333333333333",
        realised_pnl="-12.0000001",
        doc={"client": client, "account": account, "symbol": symbol, "cost": "-15250.5", "n": n},
        updated_ns=T0 + n,
    )
    return replace(base, **kw)


class TestJournalPositions:
    def test_write_then_read_back_in_key_order_and_by_client(self, journal: Journal) -> None:
        a = position("CLIENT1", "ACC-B", "VOD.L", 1)
        b = position("CLIENT1", None, "VOD.L", 2, qty="0", avg_cost="0", doc={"n": 2, "px": None})
        c = position("CLIENT1", "ACC-A", "BARC.L", 3, qty="12345678901234567890.123456789")
        d = position("CLIENT2", None, "AAPL", 4)
        e = position("CLIENT1", "ACC-A", "VOD.L", 5, qty="3")

        journal.write([], [], [d, a, e, c, b])

        # No account sorts first, then accounts, then symbols; values come back exactly.
        assert journal.positions() == [b, c, e, a, d]
        assert journal.positions("CLIENT1") == [b, c, e, a]
        assert journal.positions("CLIENT2") == [d]
        assert journal.positions("nobody") == []
        got = journal.positions("CLIENT1")[1]
        assert (got.qty, got.avg_cost, got.realised_pnl) == (
            "12345678901234567890.123456789",
            "101.3333333333333333333333333",
            "-12.0000001",
        )
        assert type(got.updated_ns) is int
        assert journal.positions("CLIENT1")[0].doc == {"n": 2, "px": None}

    def test_upsert_replaces_the_row_of_its_key_only(self, journal: Journal) -> None:
        first = position("CLIENT1", "ACC", "VOD.L", 1)
        other = position("CLIENT1", "ACC", "BARC.L", 2)
        journal.write([], [], [first, other])
        later = replace(
            first, qty="0", avg_cost="0", realised_pnl="7.5", doc={"flat": True}, updated_ns=T0 + 9
        )

        journal.write([], [], [later])

        assert journal.positions() == [other, later]

    def test_null_account_is_its_own_position_and_round_trips_as_none(self, journal: Journal) -> None:
        none = position("CLIENT1", None, "VOD.L", 1)
        named = position("CLIENT1", "ACC", "VOD.L", 2, qty="1")
        journal.write([], [], [none, named])
        journal.write([], [], [replace(none, qty="99", updated_ns=T0 + 3)])

        got = journal.positions()
        assert got == [replace(none, qty="99", updated_ns=T0 + 3), named]
        assert got[0].account is None

    def test_same_position_twice_in_one_write_keeps_the_last(self, journal: Journal) -> None:
        p1 = position("CLIENT1", None, "VOD.L", 1, qty="100")
        p2 = replace(p1, qty="40", updated_ns=T0 + 2)

        journal.write([], [], [p1, p2])

        assert journal.positions() == [p2]

    def test_events_orders_and_positions_commit_together(self, journal: Journal) -> None:
        e, o, p = (
            ev("venue_in", "O1", 1),
            order("O1", 1, cum_qty="100"),
            position("CLIENT1", None, "VOD.L", 1),
        )

        journal.write([e], [o], [p])

        assert (journal.events(), journal.order("O1"), journal.positions()) == ([e], o, [p])

    @pytest.mark.parametrize("broken", ["order", "position"])
    def test_failed_write_stores_no_event_order_or_position(self, journal: Journal, broken: str) -> None:
        before = position("CLIENT1", None, "VOD.L", 1, qty="100")
        journal.write([ev("venue_in", "O1", 1)], [order("O1", 1)], [before])
        orders = [order("O1", 2, cum_qty="50")]
        positions = [replace(before, qty="150", updated_ns=T0 + 2), position("CLIENT2", None, "AAPL", 2)]
        if broken == "order":
            orders.append(replace(order("O2", 2), symbol=None))  # NOT NULL, before the positions
        else:
            positions.append(replace(position("CLIENT3", None, "AAPL", 2), qty=None))  # after the rest

        with pytest.raises(JournalError):
            journal.write([ev("venue_in", "O1", 2)], orders, positions)

        assert journal.events() == [ev("venue_in", "O1", 1)]
        assert journal.order("O1") == order("O1", 1)
        assert journal.positions() == [before]

    def test_unserializable_position_doc_raises_and_stores_nothing(self, journal: Journal) -> None:
        with pytest.raises(JournalError):
            journal.write(
                [ev("venue_in", "O1", 1)], [], [position("C", None, "X", 1, doc={"qty": Decimal("1")})]
            )

        assert journal.events() == []
        assert journal.positions() == []

    def test_reopen_restores_positions(self, open_journal: Callable[..., Journal]) -> None:
        first = open_journal()
        ps = [position("CLIENT1", None, "VOD.L", 1), position("CLIENT1", "ACC", "VOD.L", 2)]
        first.write([], [], ps)
        first.close()

        assert open_journal().positions() == ps

    def test_journal_from_before_positions_gains_the_table(
        self, open_journal: Callable[..., Journal]
    ) -> None:
        old = open_journal()
        old.write([ev("admin", None, 1)], [order("O1", 1)])
        conn = old._conn
        assert conn is not None
        with conn.begin():
            conn.exec_driver_sql("DROP TABLE positions")
        old.close()

        upgraded = open_journal()

        assert upgraded.positions() == []
        upgraded.write([], [], [position("CLIENT1", None, "VOD.L", 2)])
        assert upgraded.positions() == [position("CLIENT1", None, "VOD.L", 2)]
        assert upgraded.order("O1") == order("O1", 1)
