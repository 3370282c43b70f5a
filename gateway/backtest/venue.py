"""A simulated venue for backtests: :class:`SimVenue`'s FIX face on a replayed book and simulated time.

It reuses SimVenue's codec helpers (ExecutionReports, cancel rejects, status and mass-status
answers, market-data snapshots and incremental refreshes) but nothing happens on the wall clock:
orders, cancels and replaces received from the gateway wait in :attr:`inbox` until the coordinator
has reached quiescence, then reach the book after a latency sample; every report and market-data
update leaves at a simulated time through the coordinator's ``transmit`` gate. Models (latency,
rejects, disconnects, outages, halts, price bands) draw from the venue's own seeded RNGs.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import quickfix as fix

from gateway.backtest.config import VenueSpec
from gateway.backtest.scheduler import Scheduler
from gateway.backtest.strategy import Quote
from gateway.codec import tags as t
from gateway.codec.client import DECODERS, encode_cancel_reject, encode_execution_report
from gateway.codec.fields import CodecError, msg_type, utc_timestamp
from gateway.config import GatewayConfig, VenueConfig
from gateway.fix.settings import session_id
from gateway.orders.enums import OrdStatus
from gateway.orders.messages import CancelOrder, CancelReject, ExecutionReport, NewOrder, ReplaceOrder
from gateway.simulator.book import (
    BookEvent,
    Canceled,
    CancelRejected,
    Fill,
    Rejected,
    SimOrder,
)
from gateway.simulator.models import VenueModels
from gateway.simulator.replay.book import ReplayBook
from gateway.simulator.replay.events import DataTrade, ReplayEvent
from gateway.simulator.venue import SimVenue

log = logging.getLogger("gateway.backtest.venue")

Transmit = Callable[[str, str, Callable[[], None]], None]  # (session key, "app"|"md", send)
QuoteSink = Callable[[Quote], None]


@dataclass
class VenueStats:
    child_orders: int = 0
    child_qty: Decimal = Decimal(0)
    filled_qty: Decimal = Decimal(0)
    fills: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    disconnects: int = 0
    lost_in_disconnect: int = 0
    reject_texts: set[str] = field(default_factory=set)


class BacktestVenue(SimVenue):
    def __init__(
        self,
        gw_cfg: GatewayConfig,
        vcfg: VenueConfig,
        spec: VenueSpec,
        seed: int,
        sched: Scheduler,
        transmit: Transmit,
        on_quote: QuoteSink,
    ):
        super().__init__(gw_cfg, vcfg, md_refresh_s=0)
        self.spec = spec
        self.sched = sched
        self.transmit = transmit
        self.on_quote = on_quote
        self.id_prefix = f"{vcfg.name}-"  # deterministic: the same run gives the same ids
        self.models = VenueModels.from_config(spec.models, f"venue {spec.name}: models")
        self.book = ReplayBook(order_id_prefix=self.id_prefix, impact=getattr(self.models, "impact", None))
        self._exec_ids = itertools.count(1)
        base = (seed & 0xFFFFFFFF) * 1_000_003 + spec.seed
        self.rng_latency = random.Random(base * 8 + 1)
        self.rng_rejects = random.Random(base * 8 + 2)
        self.rng_disconnect = random.Random(base * 8 + 3)
        self.session_ids = [session_id(vcfg.begin_string, vcfg.comp_id, vcfg.gateway_comp_id)]
        self.key = vcfg.name  # the gateway names this session after the venue
        self.inbox: list[tuple[str, fix.SessionID, object]] = []
        self.stats = VenueStats()
        self.down_until_ns: int | None = None
        self._last_emit: dict[str, int] = {}
        self._md_pending: set[str] = set()
        self._md_last_ns: dict[str, int] = {}
        self._md_trades: dict[str, list[tuple[Decimal, Decimal]]] = {}
        self._last_quote: dict[str, tuple] = {}
        self.data_trades: list[tuple[int, str, Decimal, Decimal]] = []  # (ts, symbol, px, qty)

    # ------------------------------------------------------------------ FIX side

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        mt = msg_type(message)
        if mt not in ("D", "F", "G"):
            super().on_from_app(message, session_id)  # status, mass status, market data: answered now
            return
        try:
            cmd = DECODERS[mt](message)
        except CodecError as exc:
            self._send(session_id, self._business_reject(mt, message, exc.text))
            return
        self.inbox.append((session_id.toString(), session_id, cmd))

    def on_to_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        """Application messages leave with the simulated time as SendingTime (resends too, so
        OrigSendingTime <= SendingTime holds); the gateway's venue sessions do not check latency."""
        message.getHeader().setField(t.SendingTime, utc_timestamp(self.sched.now_ns))

    def counts(self) -> tuple[bool, int | None, int | None]:
        """(logged on, next_in, next_out) of our side of the gateway's session."""
        session = fix.Session.lookupSession(self.session_ids[0])
        if session is None:
            return False, None, None
        return session.isLoggedOn(), session.getExpectedTargetNum(), session.getExpectedSenderNum()

    def _send(self, session_id: fix.SessionID, report) -> None:
        """Encode with simulated TransactTime; the caller has passed the transmit gate."""
        if isinstance(report, ExecutionReport):
            msg = encode_execution_report(report, self.venue.begin_string, self.sched.now_ns)
        elif isinstance(report, CancelReject):
            msg = encode_cancel_reject(report, self.venue.begin_string)
        else:
            msg = report
        fix.Session.sendToTarget(msg, session_id)

    # ------------------------------------------------------------------ orders

    def take_inbox(self) -> list[tuple[str, fix.SessionID, object]]:
        out, self.inbox = self.inbox, []
        return out

    def receive(self, owner: str, sid: fix.SessionID, cmd: object) -> None:
        """A command the gateway sent at ``sched.now_ns``: it reaches the book after its latency."""
        lat = self.models.latency
        if isinstance(cmd, NewOrder):
            self.stats.child_orders += 1
            self.stats.child_qty += cmd.qty
            delay = lat.ack.sample_ns(self.rng_latency)
        elif isinstance(cmd, CancelOrder):
            delay = lat.cancel.sample_ns(self.rng_latency)
        else:
            delay = lat.ack.sample_ns(self.rng_latency)
        self.sched.after(delay, f"arrive:{self.name}", lambda: self._arrive(owner, sid, cmd))

    def _reject_reason(self, cmd: NewOrder | ReplaceOrder, now: int) -> str | None:
        m = self.models
        if m.halts.halted(cmd.symbol, now):
            return f"trading halted in {cmd.symbol}"
        if cmd.price is not None and m.price_band is not None:
            if m.price_band.reference == "mid":
                reference = self.book.mid(cmd.symbol) or self.book.last_trade(cmd.symbol)
            else:
                reference = self.book.last_trade(cmd.symbol) or self.book.mid(cmd.symbol)
            if reference is not None and m.price_band.violates(cmd.price, reference):
                return f"price {cmd.price} outside the price band around {reference}"
        if isinstance(cmd, NewOrder):
            return m.rejects.draw(self.rng_rejects)
        return None

    def _arrive(self, owner: str, sid: fix.SessionID, cmd: object) -> None:
        now = self.sched.now_ns
        if self.down_until_ns is not None:
            # still on the wire when the session dropped: the venue never saw it
            log.info("%s: %s lost in the disconnect", self.name, type(cmd).__name__)
            self.stats.lost_in_disconnect += 1
            return
        if isinstance(cmd, NewOrder):
            reason = self._reject_reason(cmd, now)
            if reason is not None:
                self._count_reject(reason)
                order = SimOrder(
                    f"{self.id_prefix}R{next(self._exec_ids)}", owner, cmd.cl_ord_id, cmd.symbol, cmd.side,
                    cmd.ord_type, cmd.price, cmd.qty, cmd.tif,
                )  # fmt: skip
                order.status = OrdStatus.REJECTED
                events: list[BookEvent] = [Rejected(order, reason)]
            else:
                events = self.book.submit(
                    owner, cmd.cl_ord_id, cmd.symbol, cmd.side, cmd.ord_type, cmd.qty, cmd.price, cmd.tif
                )
                for ev in events:
                    if isinstance(ev, Rejected):
                        self._count_reject(ev.reason)
            self._report_all(events, sid, owner)
            self._md_touch(cmd.symbol)
            return
        if not isinstance(cmd, CancelOrder | ReplaceOrder):
            return
        order = self.book.find(owner, cmd.orig_cl_ord_id)
        reason = self._reject_reason(cmd, now) if isinstance(cmd, ReplaceOrder) else None
        if order is None:
            events = [CancelRejected(None, cmd.cl_ord_id, cmd.orig_cl_ord_id, "unknown order", False)]
        elif reason is not None:
            events = [CancelRejected(order.order_id, cmd.cl_ord_id, cmd.orig_cl_ord_id, reason, False)]
        elif isinstance(cmd, CancelOrder):
            events = self.book.cancel(order.order_id, cmd.cl_ord_id, cmd.orig_cl_ord_id)
        else:
            events = self.book.replace(order.order_id, cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.qty, cmd.price)
        if events and isinstance(events[0], CancelRejected):
            self._emit(owner, sid, self._cancel_reject(events[0], cmd, order), now)
            return
        canceled_from = cmd.orig_cl_ord_id if isinstance(cmd, CancelOrder) else None
        self._report_all(events, sid, owner, canceled_from)
        self._md_touch(cmd.symbol)

    def _count_reject(self, reason: str) -> None:
        self.stats.rejects[reason] = self.stats.rejects.get(reason, 0) + 1
        self.stats.reject_texts.add(reason)

    def _report_all(
        self, events: list[BookEvent], sid: fix.SessionID | None, owner: str | None, canceled_from=None
    ) -> None:
        now = self.sched.now_ns
        fill_delay = None
        for ev in events:
            if isinstance(ev, CancelRejected):
                continue
            order_owner = ev.order.owner
            if order_owner is None:
                continue
            session = sid if order_owner == owner and sid is not None else self.sessions.get(order_owner)
            if session is None:
                continue
            at = now
            if isinstance(ev, Fill):
                self.stats.fills += 1
                self.stats.filled_qty += ev.qty
                self._md_trades.setdefault(ev.order.symbol, []).append((ev.price, ev.qty))
                if fill_delay is None:
                    fill_delay = self.models.latency.fill.sample_ns(self.rng_latency)
                at = now + fill_delay
            report = self._report(ev, canceled_from if isinstance(ev, Canceled) else None)
            self._emit(order_owner, session, report, at)

    def _emit(self, owner: str, sid: fix.SessionID, report, at_ns: int) -> None:
        """Send ``report`` at ``at_ns``, never before an earlier report to the same session."""
        at = max(at_ns, self._last_emit.get(owner, 0))
        self._last_emit[owner] = at
        self.sched.at(
            at, f"report:{self.name}", lambda: self.transmit(self.key, "app", lambda: self._send(sid, report))
        )

    # ------------------------------------------------------------------ replay

    def apply(self, event: ReplayEvent) -> None:
        """One recorded event at its (simulated) time."""
        if isinstance(event, DataTrade):
            self.data_trades.append((event.ts_ns, event.symbol, event.price, event.qty))
            self._md_trades.setdefault(event.symbol, []).append((event.price, event.qty))
        events = self.book.apply(event)
        if events:
            self._report_all(events, None, None)
        self._md_touch(event.symbol)

    def replay(self, events: Iterator[ReplayEvent], until_ns: int | None) -> Iterator[ReplayEvent]:
        """Apply events silently (no reports, no market data) up to ``until_ns``; returns the rest."""
        for ev in events:
            if until_ns is not None and ev.ts_ns >= until_ns:
                return itertools.chain([ev], events)
            if isinstance(ev, DataTrade):
                self.data_trades.append((ev.ts_ns, ev.symbol, ev.price, ev.qty))
            self.book.apply(ev)
        return iter(())

    # ------------------------------------------------------------------ market data

    def _md_touch(self, symbol: str) -> None:
        """The book of ``symbol`` changed: publish it once per md interval, after md latency."""
        if symbol in self._md_pending:
            return
        self._md_pending.add(symbol)
        now = self.sched.now_ns
        at = now + self.models.latency.market_data.sample_ns(self.rng_latency)
        last = self._md_last_ns.get(symbol)
        if last is not None:
            at = max(at, last + self.spec.md_interval_ns)
        self.sched.at(at, f"md:{self.name}", lambda: self._md_publish(symbol))

    def _md_publish(self, symbol: str) -> None:
        self._md_pending.discard(symbol)
        self._md_last_ns[symbol] = self.sched.now_ns
        trades = self._md_trades.pop(symbol, [])[-20:]
        subs = [
            s for per in self.md_subscriptions.values() for s in per.values() if symbol in s.request.symbols
        ]
        for sub in subs:
            self.transmit(self.key, "md", lambda sub=sub: self._md_update(sub, symbol, trades))
        bids, asks = self.book.depth(symbol, 1)
        top = (bids[0] if bids else None, asks[0] if asks else None)
        if self._last_quote.get(symbol) != top:
            self._last_quote[symbol] = top
            self.on_quote(
                Quote(
                    self.sched.now_ns, self.name, symbol,
                    top[0][0] if top[0] else None, top[0][1] if top[0] else Decimal(0),
                    top[1][0] if top[1] else None, top[1][1] if top[1] else Decimal(0),
                )
            )  # fmt: skip

    # ------------------------------------------------------------------ faults

    def go_down(self, until_ns: int | None, why: str) -> None:
        """Log the gateway out and refuse logons until :meth:`come_up`."""
        self.stats.disconnects += 1
        self.down_until_ns = until_ns
        log.info("%s: %s: session down", self.name, why)
        for sid in self.session_ids:
            session = fix.Session.lookupSession(sid)
            if session is not None:
                session.logout(why)

    def come_up(self) -> None:
        self.down_until_ns = None
        for sid in self.session_ids:
            session = fix.Session.lookupSession(sid)
            if session is not None:
                session.logon()
