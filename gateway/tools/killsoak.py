"""The kill -9 soak: order flow from several clients to two venues, SIGKILL, restart, cross-check.

:func:`run_soak` writes a config folder (:mod:`gateway.tools.testbed`), starts both simulated
venues standalone (``fixgw venue-sim``: they outlive every kill, as real venues do) and
``fixgw run``, and drives a steady flow from several client sessions (FIX 4.4 and 4.2, FIXT 1.1 on request):
resting limit orders, marketable ones that fill against seeded liquidity and each other,
market orders, cancels and cancel/replaces, on two symbols per venue. Each round ends with a
SIGKILL of the gateway at a random point (half to all of the round's messages sent, and the
last ones often still in flight; one round in seven right after the clients logged back on,
while resends and reconciliation are running). The gateway is restarted; the clients keep
their sequence numbers and resend (PossDupFlag=Y) whatever it asks for again, as a
production initiator does.

At the end (gateway restarted, pending changes settled) every client asks the status of
every order it sent, the gateway is stopped, the venues write their own books
(``fixgw venue-sim --orders-file``) and everything is cross-checked:

* client vs gateway vs journal: every order a client sent is known to the gateway exactly
  once (status answer) and has exactly one journal row, which the answer matches; every
  cancel/replace ClOrdID is either in that order's chain or was refused to the client;
* venue vs journal: every venue order of the gateway is a journaled child with the same
  CumQty, AvgPx and open/done state (no orphan, none left working unknown); no client order
  has two venue orders (none sent twice); no journaled child the venue acknowledged is
  missing there (none lost);
* fills: the ExecutionReports each client received (distinct ExecIDs; an ExecID seen twice
  without PossDupFlag/PossResend is a duplicate report) add up to the venue's CumQty, and
  their average price and the last report's AvgPx to the venue's;
* positions: the journal's positions equal the venue fills per client and symbol (bought,
  sold, net quantity and cash).

``fixgw kill-soak`` runs it from the command line; ``tests/e2e/test_kill_soak.py`` in CI.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.tools.fixclient import FixClient, FixClientError, FixMessage
from gateway.tools.fixclient import field as tag
from gateway.tools.testbed import Process, connect, fresh_pg_schema, start_gateway, write_config

VENUES = ("SIM-A", "SIM-B")
# symbol -> (venue, mid price, seeded): the seeded books have 5 levels of 100 a side around the mid.
SYMBOLS: dict[str, tuple[str, Decimal, bool]] = {
    "AAPL": ("SIM-A", Decimal("190.00"), True),
    "TA01": ("SIM-A", Decimal("20.00"), False),
    "TB01": ("SIM-B", Decimal("50.00"), True),
    "TB02": ("SIM-B", Decimal("30.00"), False),
}
TICK = Decimal("0.01")


def client_sessions(n: int, fixt: bool) -> dict[str, str]:
    """Client session -> FIX version: CLIENT1 (4.4), CLIENT2 (4.2), CLIENT3 (FIXT 1.1) when
    ``fixt``, then CLIENT4... alternating 4.4 and 4.2. (QuickFIX takes ~1.3 s to load the FIX 5.0
    SP2 dictionary, on every restart: FIXT is opt-in.)"""
    sessions = {"CLIENT1": "4.4", "CLIENT2": "4.2", **({"CLIENT3": "FIXT1.1"} if fixt else {})}
    i = 4
    while len(sessions) < n:
        sessions[f"CLIENT{i}"] = ("4.4", "4.2")[i % 2]
        i += 1
    return dict(list(sessions.items())[:n])


TERMINAL = frozenset({"2", "4", "8", "C", "3"})  # Filled, Canceled, Rejected, Expired, DoneForDay
PENDING = frozenset({"A", "6", "E"})
AVG_TOLERANCE = Decimal("1e-9")
CASH_TOLERANCE = Decimal("1e-6")


# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Mismatch:
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass
class SoakResult:
    store: str
    seed: int
    clients: int
    venues: int
    kills: int = 0
    orders: int = 0  # NewOrderSingle sent
    cancels: int = 0
    replaces: int = 0
    fill_reports: int = 0  # distinct fill ExecutionReports the clients received
    filled_qty: Decimal = Decimal(0)
    venue_orders: int = 0
    working_at_end: int = 0
    rejected: int = 0  # client orders the gateway rejected (none reached a venue)
    early_kills: int = 0  # kills right after the clients logged back on
    restart_s: list[float] = field(default_factory=list)
    duration_s: float = 0.0
    mismatches: list[Mismatch] = field(default_factory=list)
    workdir: str = ""
    journal_url: str = ""  # a PostgreSQL schema is kept when the run failed (keep_failed)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def figures(self) -> str:
        """The summary table (and the first mismatches) as printed by ``fixgw kill-soak``."""
        restart = (
            f"{sum(self.restart_s) / len(self.restart_s):.2f} s avg, {max(self.restart_s):.2f} s max"
            if self.restart_s
            else "-"
        )
        kinds = Counter(m.kind for m in self.mismatches)
        rows = [
            ("journal", self.store),
            ("seed", str(self.seed)),
            ("clients / venues", f"{self.clients} / {self.venues}"),
            ("kills (SIGKILL)", f"{self.kills} ({self.early_kills} right after logon)"),
            ("orders sent", str(self.orders)),
            ("cancels / replaces sent", f"{self.cancels} / {self.replaces}"),
            ("venue orders", str(self.venue_orders)),
            ("fills reported to clients", f"{self.fill_reports} ({self.filled_qty} shares)"),
            ("working at the end", str(self.working_at_end)),
            ("rejected by the gateway", str(self.rejected)),
            ("gateway restart", restart),
            ("duration", f"{self.duration_s:.1f} s"),
            ("mismatches", str(len(self.mismatches))),
            *((f"  {kind}", str(n)) for kind, n in sorted(kinds.items())),
        ]
        width = max(len(k) for k, _ in rows)
        if not self.ok:
            rows.append(("kept for investigation", f"{self.workdir} {hide_password(self.journal_url)}"))
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines += [f"  - {m}" for m in self.mismatches[:20]]
        if len(self.mismatches) > 20:
            lines.append(f"  ... and {len(self.mismatches) - 20} more")
        return "\n".join(lines)


def hide_password(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).render_as_string(hide_password=True) if url else ""


# ---------------------------------------------------------------------------- client side


@dataclass
class Tracked:
    """One client order as its client knows it: every ClOrdID sent for it, in order."""

    client: str
    root: str
    symbol: str
    side: str  # "buy" / "sell"
    qty: Decimal
    price: Decimal | None
    changes: list[tuple[str, str]] = field(default_factory=list)  # (kind F|G, ClOrdID)
    status: str = "A"  # last OrdStatus the client saw
    cum: Decimal = Decimal(0)
    refused: set[str] = field(default_factory=set)  # change ClOrdIDs answered with a cancel reject

    @property
    def current(self) -> str:
        """The ClOrdID to name it by in the next cancel or replace (the last one not refused)."""
        live = [cl for _, cl in self.changes if cl not in self.refused]
        return live[-1] if live else self.root


class SoakClient:
    """A FixClient (resend=True) that records every application message it receives."""

    def __init__(self, name: str, fix: FixClient):
        self.name = name
        self.fix = fix
        self.received: list[FixMessage] = []
        self.status_answers: dict[str, FixMessage] = {}  # root ClOrdID -> answer
        self.orders: list[Tracked] = []
        self.by_cl: dict[str, Tracked] = {}
        self.working: list[Tracked] = []  # believed open: candidates for cancel/replace

    @property
    def fix42(self) -> bool:
        return self.fix.begin_string == "FIX.4.2"

    def pump(self, quiet_s: float = 0.0005) -> int:
        """Read and record whatever comes until ``quiet_s`` passes with nothing; a dead peer ends it."""
        n = 0
        while self.fix.connected:
            try:
                msg = self.fix.recv(quiet_s)
            except FixClientError:
                self.fix.close()
                break
            if msg is None:
                break
            n += 1
            self._record(msg)
        return n

    def _record(self, msg: FixMessage) -> None:
        if tag(msg, 35) not in ("8", "9", "3", "j"):
            return
        self.received.append(msg)
        track = self.by_cl.get(tag(msg, 11) or "")
        if track is not None and tag(msg, 35) == "9":
            track.refused.add(tag(msg, 11) or "")
        if track is None or tag(msg, 35) != "8":
            return
        status = tag(msg, 39) or track.status
        track.status = status
        with contextlib.suppress(ArithmeticError, TypeError):
            track.cum = max(track.cum, Decimal(tag(msg, 14) or "0"))
        if status in TERMINAL and track in self.working:
            self.working.remove(track)

    def is_status_answer(self, msg: FixMessage) -> bool:
        if tag(msg, 35) != "8":
            return False
        return tag(msg, 20) == "3" if self.fix42 else tag(msg, 150) == "I"

    def is_fill(self, msg: FixMessage) -> bool:
        if tag(msg, 35) != "8" or self.is_status_answer(msg):
            return False
        if self.fix42:
            return tag(msg, 150) in ("1", "2") and tag(msg, 32) is not None
        return tag(msg, 150) == "F"


def _pump_all(clients: Iterable[SoakClient], quiet_s: float = 0.3, limit_s: float = 10.0) -> None:
    """Read every client until all were quiet for ``quiet_s`` (bounded by ``limit_s``)."""
    clients = list(clients)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        got = sum(c.pump(quiet_s / max(len(clients), 1)) for c in clients)
        if not got:
            return


# ------------------------------------------------------------------------------- the flow


class _Flow:
    def __init__(self, rng: random.Random, result: SoakResult):
        self.rng = rng
        self.result = result
        self.n = 0

    def _cl(self, client: SoakClient) -> str:
        self.n += 1
        return f"{client.name[-1]}K{self.n:06d}{self.rng.randrange(36**3):03x}"

    def _price(self, symbol: str, side: str, marketable: bool) -> Decimal:
        _, mid, _ = SYMBOLS[symbol]
        ticks = self.rng.randint(1, 5) if marketable else self.rng.randint(1, 8)
        sign = 1 if (side == "buy") == marketable else -1
        return mid + sign * ticks * TICK

    def step(self, client: SoakClient) -> None:
        """One message: a new order (limit resting or marketable, or market), a cancel or a replace."""
        rng = self.rng
        roll = rng.random()
        track = rng.choice(client.working) if client.working else None
        if track is not None and (roll < 0.2 or (roll < 0.4 and track.price is None)):
            self._cancel(client, track)
        elif track is not None and roll < 0.4:
            self._replace(client, track)
        else:
            self._new(client)

    def _new(self, client: SoakClient) -> None:
        rng = self.rng
        symbol = rng.choice(list(SYMBOLS))
        side = rng.choice(("buy", "sell"))
        qty = Decimal(rng.randint(1, 20))
        seeded = SYMBOLS[symbol][2]
        price: Decimal | None
        if seeded and rng.random() < 0.08:
            price = None  # market: fills against the seeded book, any remainder is canceled
            qty = Decimal(rng.randint(1, 5))
        else:
            price = self._price(symbol, side, marketable=rng.random() < 0.4)
        cl = self._cl(client)
        track = Tracked(client.name, cl, symbol, side, qty, price)
        client.fix.new_order(symbol, side, qty, price, cl_ord_id=cl)
        client.orders.append(track)
        client.by_cl[cl] = track
        client.working.append(track)
        self.result.orders += 1

    def _cancel(self, client: SoakClient, track: Tracked) -> None:
        cl = self._cl(client)
        client.fix.cancel(track.current, track.symbol, track.side, track.qty, cl_ord_id=cl)
        track.changes.append(("F", cl))
        client.by_cl[cl] = track
        client.working.remove(track)  # one cancel per order is enough
        self.result.cancels += 1

    def _replace(self, client: SoakClient, track: Tracked) -> None:
        rng = self.rng
        qty = track.cum + rng.randint(1, 20)
        price = track.price
        if price is not None and rng.random() < 0.7:
            price = self._price(track.symbol, track.side, marketable=rng.random() < 0.3)
        cl = self._cl(client)
        client.fix.replace(track.current, track.symbol, track.side, qty, price, cl_ord_id=cl)
        track.changes.append(("G", cl))
        client.by_cl[cl] = track
        track.qty, track.price = qty, price
        self.result.replaces += 1


# --------------------------------------------------------------------------------- running


def run_soak(
    root: Path,
    *,
    kills: int = 10,
    clients: int = 3,
    orders_per_round: int = 40,
    seed: int | None = None,
    store_url: str | None = None,
    ack_timeout_s: float = 5.0,
    pace_s: float = 0.002,
    early_kill_probability: float = 1 / 7,
    fixt: bool = False,
    keep_failed: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SoakResult:
    """Run the soak in the (empty or new) folder ``root``; ``store_url`` None: SQLite there.

    A PostgreSQL ``store_url`` gets a fresh schema, dropped at the end (kept for investigation when
    the run found mismatches and ``keep_failed``). Returns the figures and
    every mismatch found; raises only when the testbed itself cannot run (a gateway that does
    not come back up raises AssertionError with its log).
    """
    if seed is None:
        seed = random.SystemRandom().randrange(1, 1_000_000)
    say = progress or (lambda _: None)
    drop_schema: Callable[[], None] | None = None
    url = store_url
    if store_url is not None and store_url.startswith("postgresql"):
        url, drop_schema = fresh_pg_schema(store_url, prefix="fixgw_soak")
    store = "SQLite" if url is None else ("PostgreSQL" if drop_schema else url.split(":", 1)[0])
    rng = random.Random(seed)
    result = SoakResult(store=store, seed=seed, clients=clients, venues=len(VENUES), workdir=str(root))
    result.journal_url = url or f"sqlite:///{root / 'sessions' / 'fixgw.db'}"
    started = time.monotonic()
    sessions = client_sessions(clients, fixt)
    names = list(sessions)
    extra = {n: v for n, v in sessions.items() if n not in ("CLIENT1", "CLIENT2", "CLIENT3")}
    config = write_config(
        root, store_url=url, sim_a=False, sim_b=False, ack_timeout_s=ack_timeout_s, extra_clients=extra
    )
    if not fixt:
        (root / "clients" / "CLIENT3.yaml").unlink()
    venue_file = root / "venues" / "SIM-B.yaml"
    venue_file.write_text(
        venue_file.read_text().replace("reference_prices: {}", 'reference_prices: {TB01: "50.00"}')
    )
    orders_file = root / "venue-orders.json"
    venue = Process("venue-sim", "--config", str(config), "--orders-file", str(orders_file), *VENUES)
    gw: Process | None = None
    try:
        for v in VENUES:
            venue.wait_for_log(f"simulated venue {v}")
        gw = start_gateway(config, venues=VENUES)
        soak_clients = [SoakClient(n, connect(config, n, reset=True, resend=True)) for n in names]
        flow = _Flow(rng, result)
        early = False
        for round_no in range(1, kills + 1):
            sends = rng.randint(0, 2) if early else rng.randint(orders_per_round // 2, orders_per_round)
            for _ in range(sends):
                with contextlib.suppress(FixClientError):  # a dropped session shows at the restart
                    flow.step(rng.choice(soak_clients))
                for c in soak_clients:
                    c.pump()
                time.sleep(rng.uniform(0, pace_s))
            time.sleep(rng.uniform(0, 0.02))  # the last messages often still in flight
            if gw.proc.poll() is not None:
                result.mismatches.append(
                    Mismatch(
                        "gateway-died",
                        f"round {round_no}: exit {gw.proc.returncode} before the kill; "
                        + " | ".join(gw.lines[-5:]),
                    )
                )
            gw.kill()
            result.kills += 1
            result.early_kills += early
            for c in soak_clients:
                c.fix.close()
            t0 = time.monotonic()
            gw = start_gateway(config, venues=VENUES)
            result.restart_s.append(time.monotonic() - t0)
            for c in soak_clients:
                try:
                    c.fix.logon()
                except FixClientError as exc:
                    raise RuntimeError(
                        f"kill-soak seed {seed}, after kill {round_no}: {c.name}: {exc}"
                    ) from exc
            early = round_no < kills and rng.random() < early_kill_probability
            if not early:  # else the next kill lands while resends and reconciliation still run
                _pump_all(soak_clients, quiet_s=0.05, limit_s=5)
            say(
                f"kill {round_no}/{kills}: {result.orders} orders, {result.cancels} cancels, "
                f"{result.replaces} replaces sent; restart {result.restart_s[-1]:.2f} s"
            )
        _pump_all(soak_clients, quiet_s=0.3)
        _settle(
            url or f"sqlite:///{root / 'sessions' / 'fixgw.db'}", soak_clients, ack_timeout_s + 15, result
        )
        _ask_status(soak_clients, result)
        for c in soak_clients:
            c.fix.logout()
        code = gw.stop()
        if code != 0:
            result.mismatches.append(Mismatch("gateway-exit", f"SIGTERM exit code {code}: {gw.lines[-5:]}"))
        gw = None
        journal_url = url or f"sqlite:///{root / 'sessions' / 'fixgw.db'}"
        parents, children, positions = _read_journal(journal_url)
        venue.stop()
        held = [o for o in json.loads(orders_file.read_text()) if o["owner"]]
        result.venue_orders = len(held)
        _cross_check(soak_clients, parents, children, positions, held, result)
    finally:
        if gw is not None:
            gw.stop()
        venue.stop()
        if drop_schema is not None and (result.ok or not keep_failed):
            drop_schema()
    result.duration_s = time.monotonic() - started
    return result


def _settle(url: str, clients: list[SoakClient], timeout_s: float, result: SoakResult) -> None:
    """Wait (reading the clients) until no journaled order or child is pending."""
    from gateway.journal import Journal

    deadline = time.monotonic() + timeout_s
    with Journal(url) as journal:
        while True:
            pending = [
                r
                for r in journal.orders(open_only=True, limit=10_000_000)
                if r.status in PENDING or r.doc.get("pending")
            ]
            if not pending:
                return
            if time.monotonic() > deadline:
                for r in pending[:10]:
                    result.mismatches.append(
                        Mismatch(
                            "stuck-pending",
                            f"{r.order_id} ({r.cl_ord_id}) still {r.status} after {timeout_s:.0f} s",
                        )
                    )
                return
            _pump_all(clients, quiet_s=0.1, limit_s=0.5)


def _ask_status(clients: list[SoakClient], result: SoakResult) -> None:
    """Every order's status, by its first ClOrdID; answers come back in request order."""
    for c in clients:
        expected = list(c.orders)
        for track in expected:
            c.fix.status(track.root, track.symbol, track.side)
        answers: list[FixMessage] = []
        deadline = time.monotonic() + 10 + len(expected) * 0.01
        while len(answers) < len(expected) and time.monotonic() < deadline and c.fix.connected:
            seen = len(c.received)
            c.pump(0.2)
            answers += [m for m in c.received[seen:] if c.is_status_answer(m)]
        for track, answer in zip(expected, answers, strict=False):
            c.status_answers[track.root] = answer
        if len(answers) != len(expected):
            result.mismatches.append(
                Mismatch("status", f"{c.name}: {len(answers)} status answers to {len(expected)} requests")
            )


# ----------------------------------------------------------------------------- cross-check


def _read_journal(url: str):
    from gateway.journal import Journal

    with Journal(url) as journal:
        records = journal.orders(limit=100_000_000)
        positions = journal.positions()
    parents = [r for r in records if r.parent_id is None]
    children = [r for r in records if r.parent_id is not None]
    return parents, children, positions


def _d(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _cross_check(
    clients: list[SoakClient],
    parents: list,
    children: list,
    positions: list,
    held: list[dict],
    result: SoakResult,
) -> None:
    bad = result.mismatches.append

    # -- client orders against the gateway's answers and the journal -------------------------
    by_cl: dict[tuple[str, str], list] = defaultdict(list)
    for p in parents:
        for cl in p.doc.get("cl_ord_ids", [p.cl_ord_id]):
            by_cl[(p.session, cl)].append(p)
    parent_of: dict[tuple[str, str], Any] = {}  # (client, root) -> journal parent
    for c in clients:
        refused = {tag(m, 11) for m in c.received if tag(m, 35) == "9"}
        for m in c.received:
            if tag(m, 35) in ("3", "j"):
                bad(Mismatch("session-reject", f"{c.name}: {tag(m, 35)} {tag(m, 58)} (ref seq {tag(m, 45)})"))
        for track in c.orders:
            rows = by_cl.get((c.name, track.root), [])
            answer = c.status_answers.get(track.root)
            if answer is not None and (tag(answer, 58) or "").startswith("unknown order"):
                bad(
                    Mismatch(
                        "lost-order",
                        f"{c.name} {track.root}: unknown to the gateway ({len(rows)} journal rows)",
                    )
                )
                continue
            if len(rows) != 1:
                bad(Mismatch("journal-rows", f"{c.name} {track.root}: {len(rows)} journal rows"))
                continue
            row = rows[0]
            parent_of[(c.name, track.root)] = row
            if row.status == "8":
                result.rejected += 1
            if row.is_open:
                result.working_at_end += 1
            if answer is not None:
                said = (tag(answer, 11), tag(answer, 39), _d(tag(answer, 14)))
                kept = (row.cl_ord_id, row.status, _d(row.cum_qty))
                if said != kept or abs(_d(tag(answer, 6)) - _d(row.avg_px)) > AVG_TOLERANCE:
                    bad(
                        Mismatch(
                            "status-vs-journal",
                            f"{c.name} {track.root}: answer {said} AvgPx "
                            f"{tag(answer, 6)}, journal {kept} AvgPx {row.avg_px}",
                        )
                    )
            for kind, cl in track.changes:
                found = by_cl.get((c.name, cl), [])
                if found and (len(found) != 1 or found[0].order_id != row.order_id):
                    bad(
                        Mismatch(
                            "journal-rows", f"{c.name} {kind} {cl} of {track.root}: in {len(found)} rows"
                        )
                    )
                elif not found and cl not in refused:
                    bad(
                        Mismatch(
                            "lost-change",
                            f"{c.name} {kind} {cl} of {track.root}: neither applied nor refused",
                        )
                    )

    # -- venue orders against journaled children --------------------------------------------
    child_by_vid = {r.doc.get("venue_order_id"): r for r in children if r.doc.get("venue_order_id")}
    child_by_cl: dict[tuple[str, str], Any] = {}
    for r in children:
        for cl in {r.cl_ord_id, r.order_id, (r.doc.get("pending") or {}).get("cl_ord_id")} - {None}:
            child_by_cl[(r.session, cl)] = r
    parents_by_id = {p.order_id: p for p in parents}
    at_venue: dict[str, list[dict]] = defaultdict(list)  # parent order_id -> venue orders
    matched: set[str] = set()
    for v in held:
        child = child_by_vid.get(v["order_id"]) or child_by_cl.get((v["venue"], v["cl_ord_id"]))
        what = f"{v['venue']} {v['order_id']} ({v['cl_ord_id']} {v['symbol']} {v['side']} cum {v['cum_qty']})"
        if child is None:
            bad(
                Mismatch(
                    "orphan", f"{what} is unknown to the journal" + (" and WORKING" if v["open"] else "")
                )
            )
            continue
        matched.add(child.order_id)
        at_venue[child.parent_id].append(v)
        if (
            _d(child.cum_qty) != _d(v["cum_qty"])
            or bool(child.is_open) != v["open"]
            or abs(_d(child.avg_px) - _d(v["avg_px"])) > AVG_TOLERANCE
        ):
            bad(
                Mismatch(
                    "venue-vs-journal",
                    f"{what} status {v['status']} avg {v['avg_px']}: journal child "
                    f"{child.order_id} cum {child.cum_qty} avg {child.avg_px} open={child.is_open}",
                )
            )
    for r in children:
        if r.order_id in matched:
            continue
        if _d(r.cum_qty) or r.is_open or (r.doc.get("venue_order_id") and r.status != "8"):
            bad(
                Mismatch(
                    "lost-at-venue",
                    f"journal child {r.order_id} ({r.session}, status {r.status}, "
                    f"cum {r.cum_qty}) is not at the venue",
                )
            )
    for pid, orders in at_venue.items():
        if len(orders) > 1:
            bad(
                Mismatch(
                    "sent-twice",
                    f"client order {pid} has {len(orders)} venue orders: "
                    + ", ".join(o["order_id"] for o in orders),
                )
            )

    # -- fills the clients were told against the venue's ------------------------------------
    venue_fills: dict[str, tuple[Decimal, Decimal]] = {}  # parent order_id -> (qty, notional)
    for pid, orders in at_venue.items():
        qty = sum((_d(o["cum_qty"]) for o in orders), Decimal(0))
        cash = sum((_d(o["cum_qty"]) * _d(o["avg_px"]) for o in orders), Decimal(0))
        venue_fills[pid] = (qty, cash)
    for c in clients:
        owner: dict[str, Tracked] = {}
        for track in c.orders:
            owner[track.root] = track
            for _, cl in track.changes:
                owner[cl] = track
        fills: dict[str, list[FixMessage]] = defaultdict(list)  # root -> distinct fill reports
        seen: dict[str, FixMessage] = {}
        for m in c.received:
            if not c.is_fill(m):
                continue
            exec_id = tag(m, 17) or ""
            if exec_id in seen:
                if "Y" not in (tag(m, 43), tag(m, 97)):
                    bad(
                        Mismatch(
                            "duplicate-report", f"{c.name} ExecID {exec_id} ({tag(m, 11)}) received twice"
                        )
                    )
                continue
            seen[exec_id] = m
            track = owner.get(tag(m, 11) or "")
            if track is None:
                bad(Mismatch("stray-report", f"{c.name} fill {exec_id} for unknown ClOrdID {tag(m, 11)}"))
                continue
            fills[track.root].append(m)
        for track in c.orders:
            row = parent_of.get((c.name, track.root))
            if row is None:
                continue
            got = fills.get(track.root, [])
            result.fill_reports += len(got)
            qty = sum((_d(tag(m, 32)) for m in got), Decimal(0))
            result.filled_qty += qty
            v_qty, v_cash = venue_fills.get(row.order_id, (Decimal(0), Decimal(0)))
            name = f"{c.name} {track.root} ({track.symbol} {track.side})"
            if qty != v_qty:
                kind = "missing-fill-report" if qty < v_qty else "extra-fill-report"
                bad(
                    Mismatch(
                        kind,
                        f"{name}: {len(got)} fill reports for {qty}, venue filled {v_qty} "
                        f"(journal {row.cum_qty}, {row.order_id})",
                    )
                )
                continue
            if _d(row.cum_qty) != v_qty:
                bad(Mismatch("cumqty", f"{name}: journal CumQty {row.cum_qty}, venue {v_qty}"))
            if not qty:
                continue
            v_avg = v_cash / v_qty
            avg = sum((_d(tag(m, 32)) * _d(tag(m, 31)) for m in got), Decimal(0)) / qty
            last = max(got, key=lambda m: _d(tag(m, 14)))
            if abs(avg - v_avg) > AVG_TOLERANCE * 100 or abs(_d(tag(last, 6)) - v_avg) > AVG_TOLERANCE * 100:
                bad(
                    Mismatch(
                        "avgpx", f"{name}: fills average {avg}, last AvgPx {tag(last, 6)}, venue {v_avg}"
                    )
                )
            if _d(tag(last, 14)) != v_qty:
                bad(Mismatch("cumqty", f"{name}: last fill report CumQty {tag(last, 14)}, venue {v_qty}"))

    # -- positions against the venue fills ------------------------------------------------
    want: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)  # bought, sold, cash
    for pid, orders in at_venue.items():
        parent = parents_by_id.get(pid)
        if parent is None:
            continue
        for o in orders:
            qty, cash = _d(o["cum_qty"]), _d(o["cum_qty"]) * _d(o["avg_px"])
            w = want[(parent.session, parent.symbol)]
            if parent.side == "1":
                w[0] += qty
                w[2] -= cash
            else:
                w[1] += qty
                w[2] += cash
    have = {(p.client, p.symbol): p for p in positions}
    for key in sorted(set(want) | set(have)):
        bought, sold, cash = want.get(key, [Decimal(0)] * 3)
        p = have.get(key)
        if p is None:
            if bought or sold:
                bad(Mismatch("position", f"{key}: no journal position, venues filled +{bought} -{sold}"))
            continue
        doc = p.doc
        j_cash = _d(doc.get("realised_pnl")) - _d(doc.get("cost"))
        if (
            _d(doc.get("bought")) != bought
            or _d(doc.get("sold")) != sold
            or _d(p.qty) != bought - sold
            or abs(j_cash - cash) > CASH_TOLERANCE
        ):
            bad(
                Mismatch(
                    "position",
                    f"{key}: journal bought {doc.get('bought')} sold {doc.get('sold')} qty {p.qty} "
                    f"cash {j_cash}; venues +{bought} -{sold} cash {cash}",
                )
            )


# ----------------------------------------------------------------------- venue-sim records


def venue_orders_doc(host) -> list[dict]:
    """Every order a simulator host's venues hold (``fixgw venue-sim --orders-file``): the
    venue's own records that the soak compares with the journal. Seeded liquidity has no owner."""
    return [
        {
            "venue": v.name,
            "order_id": o.order_id,
            "owner": o.owner,
            "cl_ord_id": o.cl_ord_id,
            "symbol": o.symbol,
            "side": o.side.value,
            "qty": str(o.qty),
            "price": None if o.price is None else str(o.price),
            "cum_qty": str(o.cum_qty),
            "avg_px": str(o.avg_px),
            "status": o.status.value,
            "open": not o.status.is_terminal,
        }
        for v in host.venues
        for o in v.book.orders()
    ]


def temp_root(keep: bool) -> tuple[Path, Callable[[bool], None]]:
    """A fresh folder for one run and its cleanup (kept when asked, or when the run failed)."""
    root = Path(tempfile.mkdtemp(prefix="fixgw-kill-soak-"))

    def done(ok: bool) -> None:
        if ok and not keep:
            shutil.rmtree(root, ignore_errors=True)

    return root, done
