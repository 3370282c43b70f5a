"""A simulated venue: a real QuickFIX acceptor in front of the matching engine.

It speaks the venue's configured FIX version and answers NewOrderSingle, cancel,
cancel/replace, OrderStatusRequest and OrderMassStatusRequest with the reports a
real venue would send. Acknowledgement delay and random rejects are driven by a
seeded RNG so runs repeat. Faults (``simulator.faults``) make it misbehave on purpose:
duplicated ExecutionReports, withheld acknowledgements, fills out of order, unanswered
status requests, dropped sessions, so the gateway's dedupe, acknowledgement timeouts,
reconciliation timeouts and reconnects are tested against a real peer.

It also publishes its books (:mod:`gateway.codec.marketdata`). A MarketDataRequest (V)
subscribes the session: a snapshot (W) per symbol at once (aggregated top N levels, the
last trade if any), then, after every command that changed a subscribed book (resting
order, fill, cancel, replace), an incremental refresh (X) with the price levels that
changed and the trades, or a new W when the request asked for full refreshes
(MDUpdateType 0). Every ``md_refresh_s`` seconds each subscription also gets a fresh W per
symbol, so a quiet book does not look stale to the gateway. A symbol the venue has no
book for gets an empty snapshot (the venue takes orders in any symbol, so the book may
fill later); requests are rejected (Y) only for a duplicate MDReqID, a request without
symbols or entry types fixgw publishes, or a field value the codec refuses. An
unsubscribe (263=2) names the MDReqID to end; subscriptions are per session and end
with it.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.client import (
    DECODERS,
    encode_business_reject,
    encode_cancel_reject,
    encode_execution_report,
)
from gateway.codec.fields import CodecError, msg_type, opt
from gateway.codec.marketdata import (
    MarketDepth,
    MDAction,
    MDRejectReason,
    MDReqID,
    MDRequest,
    MDSide,
    MDUpdate,
    MDUpdateType,
    SubscriptionRequestType,
    decode_md_request,
    encode_incremental,
    encode_md_reject,
    encode_snapshot,
    level_changes,
)
from gateway.config import GatewayConfig, VenueConfig
from gateway.config.model import SimFaults
from gateway.fix.application import GuardedApplication
from gateway.fix.engine import EngineLoop, QuickFixEngine
from gateway.fix.settings import simulator_settings
from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from gateway.orders.ids import base36
from gateway.orders.messages import (
    CancelOrder,
    CancelReject,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    RequestStatus,
)
from gateway.simulator.book import (
    Accepted,
    BookEvent,
    Canceled,
    CancelRejected,
    Fill,
    MatchingEngine,
    Rejected,
    Replaced,
    SimOrder,
)
from gateway.simulator.seeding import READERS, seed_book

log = logging.getLogger("gateway.simulator")

ZERO = Decimal(0)
FULL_BOOK = 1_000_000  # levels published for MarketDepth 0 (the whole book)

Levels = list[tuple[Decimal, Decimal]]

_REJECT_REASONS = {
    SubscriptionRequestType: MDRejectReason.UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE,
    MarketDepth: MDRejectReason.UNSUPPORTED_MARKET_DEPTH,
    MDUpdateType: MDRejectReason.UNSUPPORTED_MD_UPDATE_TYPE,
}


@dataclass
class MDSubscription:
    """One session's market-data subscription (one MDReqID) and what it was last sent per symbol."""

    request: MDRequest
    session_id: fix.SessionID
    sent: dict[str, tuple[Levels, Levels]] = field(default_factory=dict)

    @property
    def levels(self) -> int:
        return self.request.depth or FULL_BOOK


class SimVenue(GuardedApplication):
    def __init__(self, cfg: GatewayConfig, venue: VenueConfig, md_refresh_s: float | None = None):
        """``md_refresh_s``: period of the full snapshots re-sent to subscribers (0: never)."""
        super().__init__()
        self.name = venue.name
        self.venue = venue
        sim = venue.simulator
        self.ack_delay_s = (sim.ack_delay_ms / 1000) if sim else 0.0
        self.reject_probability = sim.reject_probability if sim else 0.0
        self.rng = random.Random(sim.seed if sim else 0)
        self.faults = sim.faults if sim else SimFaults()
        self.fault_rng = random.Random((sim.seed if sim else 0) + 1)  # rejects repeat with faults on or off
        self._new_orders = 0
        # Identifiers carry the start time, as a real venue's never repeat across its restarts.
        self.id_prefix = f"{venue.name}-{base36(time.time_ns() // 1_000_000)}-"
        self.book = MatchingEngine(order_id_prefix=self.id_prefix)
        self._exec_ids = itertools.count(1)
        self.sessions: dict[str, fix.SessionID] = {}
        self.loop: EngineLoop | None = None
        # Market data: session -> MDReqID -> subscription; last trade per symbol.
        if md_refresh_s is None:
            md_refresh_s = venue.simulator.md_refresh_s if venue.simulator else 1.0
        self.md_refresh_s = md_refresh_s
        self.md_subscriptions: dict[str, dict[str, MDSubscription]] = {}
        self.last_trade: dict[str, tuple[Decimal, Decimal]] = {}
        self._md_refresh_scheduled = False
        if sim:
            for symbol, mid in sim.reference_prices.items():
                inst = cfg.instruments.get(symbol)
                tick = inst.tick_size if inst else Decimal("0.01")
                self.book.seed(symbol, mid, tick, sim.liquidity_levels, sim.liquidity_qty)
            for n, src in enumerate(sim.seed_from, 1):
                orders = READERS[src.format](src.file, src.symbol)
                seed_book(self.book, src.as_symbol, orders, id_prefix=f"DATA{n}-")
                log.info("%s: seeded %d %s orders from %s", self.name, len(orders), src.as_symbol, src.file)
        self.acceptor = QuickFixEngine(fix.SocketAcceptor, self, simulator_settings(cfg, venue))

    # ------------------------------------------------------------ FIX callbacks

    def on_logon(self, session_id: fix.SessionID) -> None:
        self.sessions[session_id.toString()] = session_id
        self.md_subscriptions.pop(session_id.toString(), None)
        log.info("%s: %s logged on", self.name, session_id.toString())

    def on_logout(self, session_id: fix.SessionID) -> None:
        owner = session_id.toString()
        self.md_subscriptions.pop(owner, None)
        log.info("%s: %s logged out", self.name, owner)
        if self.venue.cancel_on_disconnect:
            # Silently, as such venues do: the member knows the rule; no reports are queued for it.
            orders = self.book.orders(owner, open_only=True)
            for order in orders:
                self.book.cancel(order.order_id, f"{order.cl_ord_id}-COD", order.cl_ord_id)
            if orders:
                log.info("%s: canceled %d orders of %s on disconnect", self.name, len(orders), owner)

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        mt = msg_type(message)
        owner = session_id.toString()
        if mt in ("AF", "H") and self.faults.withhold_status:
            log.info("%s: fault: %s from %s left unanswered", self.name, mt, owner)
            return
        if mt == "AF":  # a slow venue is slow to answer this too
            req_id = opt(message, t.MassStatusReqID) or ""
            if self.ack_delay_s > 0 and self.loop is not None:
                self.loop.call_later(self.ack_delay_s, lambda: self._mass_status(req_id, owner, session_id))
            else:
                self._mass_status(req_id, owner, session_id)
            return
        if mt == "V":
            self._market_data_request(message, owner, session_id)
            return
        if mt not in DECODERS:
            raise fix.UnsupportedMessageType()
        try:
            cmd = DECODERS[mt](message)
        except CodecError as exc:
            self._send(session_id, self._business_reject(mt, message, exc.text))
            return
        if self.ack_delay_s > 0 and self.loop is not None:
            self.loop.call_later(self.ack_delay_s, lambda: self.handle(cmd, owner, session_id))
        else:
            self.handle(cmd, owner, session_id)

    def on_error(self, message, session_id, exc) -> None:
        if message is not None:
            self._send(session_id, self._business_reject(msg_type(message), message, f"venue error: {exc}"))

    # ------------------------------------------------------------ venue behaviour

    def handle(self, cmd, owner: str, session_id: fix.SessionID) -> None:
        if isinstance(cmd, NewOrder):
            if self.reject_probability and self.rng.random() < self.reject_probability:
                order = SimOrder(
                    f"{self.id_prefix}R{next(self._exec_ids)}",
                    owner,
                    cmd.cl_ord_id,
                    cmd.symbol,
                    cmd.side,
                    cmd.ord_type,
                    cmd.price,
                    cmd.qty,
                    cmd.tif,
                    status=OrdStatus.REJECTED,
                )
                events: list[BookEvent] = [Rejected(order, "simulated reject")]
            else:
                events = self.book.submit(
                    owner, cmd.cl_ord_id, cmd.symbol, cmd.side, cmd.ord_type, cmd.qty, cmd.price, cmd.tif
                )
        elif isinstance(cmd, CancelOrder | ReplaceOrder):
            order = self.book.find(owner, cmd.orig_cl_ord_id)
            if order is None:
                events = [CancelRejected(None, cmd.cl_ord_id, cmd.orig_cl_ord_id, "unknown order", False)]
            elif isinstance(cmd, CancelOrder):
                events = self.book.cancel(order.order_id, cmd.cl_ord_id, cmd.orig_cl_ord_id)
            else:
                events = self.book.replace(
                    order.order_id, cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.qty, cmd.price
                )
            if events and isinstance(events[0], CancelRejected):
                self._send(session_id, self._cancel_reject(events[0], cmd, order))
                return
            if isinstance(cmd, CancelOrder):
                self._publish(events, canceled_from=cmd.orig_cl_ord_id)
                return
        elif isinstance(cmd, RequestStatus):
            order = self.book.find(owner, cmd.cl_ord_id)
            self._send(session_id, self._status_report(order, cmd))
            return
        else:
            return
        self._publish(events)
        if isinstance(cmd, NewOrder):
            self._maybe_drop(session_id)

    def _maybe_drop(self, session_id: fix.SessionID) -> None:
        """The ``drop_after_orders`` fault: cut the connection after every N new orders, as a
        network or a venue failover would. Done from the loop, not inside QuickFIX's callback."""
        every = self.faults.drop_after_orders
        if every is None:
            return
        self._new_orders += 1
        if self._new_orders % every == 0 and self.loop is not None:
            log.info("%s: fault: dropping %s after %d new orders", self.name, session_id.toString(), every)
            self.loop.call_later(0, lambda: _disconnect(session_id))

    def _publish(self, events: list[BookEvent], canceled_from: str | None = None) -> None:
        """Send each event's report to the session that owns the order (seeded liquidity has none).

        ``canceled_from`` is the OrigClOrdID of the cancel request that produced these events.
        """
        for ev in self._faulty(events):
            if isinstance(ev, CancelRejected):
                continue
            order = ev.order
            if order.owner is None or order.owner not in self.sessions:
                continue
            self._send(self.sessions[order.owner], self._report(ev, canceled_from))
        self._book_changed(events)

    def _faulty(self, events: list[BookEvent]) -> list[BookEvent]:
        """The ``withhold_acks`` and ``reorder_fills`` faults: events as a misbehaving venue
        reports them (the book itself is unchanged)."""
        f = self.faults
        if not (f.withhold_acks or f.reorder_fills):
            return events
        events = list(events)
        if f.withhold_acks:
            events = [
                ev for ev in events
                if not (isinstance(ev, Accepted) and self.fault_rng.random() < f.withhold_acks)
            ]  # fmt: skip
        if f.reorder_fills:
            for order_id in {ev.order.order_id for ev in events if isinstance(ev, Fill)}:
                at = [
                    i for i, ev in enumerate(events) if isinstance(ev, Fill) and ev.order.order_id == order_id
                ]
                if len(at) > 1 and self.fault_rng.random() < f.reorder_fills:
                    fills = [events[i] for i in at]
                    for i, ev in zip(at, reversed(fills), strict=True):
                        events[i] = ev
        return events

    def _report(self, ev: BookEvent, canceled_from: str | None = None) -> ExecutionReport:
        order = ev.order
        kw: dict = {}
        if isinstance(ev, Accepted):
            exec_type = ExecType.NEW
        elif isinstance(ev, Fill):
            exec_type, kw = ExecType.TRADE, {"last_qty": ev.qty, "last_px": ev.price, "last_mkt": self.name}
        elif isinstance(ev, Canceled):
            exec_type, kw = ExecType.CANCELED, {"text": ev.reason, "orig_cl_ord_id": canceled_from}
        elif isinstance(ev, Replaced):
            exec_type, kw = ExecType.REPLACED, {"orig_cl_ord_id": ev.orig_cl_ord_id}
        else:
            exec_type = ExecType.REJECTED
            kw = {"text": ev.reason, "ord_rej_reason": OrdRejReason.OTHER}
        return self._execution_report(order, exec_type, **kw)

    def _execution_report(self, order: SimOrder, exec_type: ExecType, **kw) -> ExecutionReport:
        return ExecutionReport(
            session=order.owner or "",
            order_id=order.order_id,
            cl_ord_id=order.cl_ord_id,
            orig_cl_ord_id=kw.pop("orig_cl_ord_id", None),
            exec_id=f"{self.id_prefix}X{next(self._exec_ids)}",
            exec_type=exec_type,
            ord_status=order.status,
            symbol=order.symbol,
            side=order.side,
            ord_type=order.ord_type,
            qty=order.qty,
            price=order.price,
            tif=order.tif,
            cum_qty=order.cum_qty,
            leaves_qty=order.leaves_qty,
            avg_px=order.avg_px,
            **kw,
        )

    def _status_report(self, order: SimOrder | None, cmd: RequestStatus) -> ExecutionReport:
        if order is None:
            order = SimOrder(
                "NONE",
                None,
                cmd.cl_ord_id,
                cmd.symbol,
                cmd.side,
                None,
                None,
                ZERO,
                None,
                status=OrdStatus.REJECTED,
            )
            return self._execution_report(
                order, ExecType.ORDER_STATUS, ord_rej_reason=OrdRejReason.UNKNOWN_ORDER, text="unknown order"
            )
        return self._execution_report(order, ExecType.ORDER_STATUS)

    def _mass_status(self, req_id: str, owner: str, session_id: fix.SessionID) -> None:
        """Every order of the session today, done ones too (MassStatusReqType 7); with none, one
        report with TotNumReports 0 so the requester knows the answer is complete."""
        orders = self.book.orders(owner)
        if not orders:
            none = SimOrder(
                "NONE", owner, "NONE", "NONE", Side.BUY, OrdType.LIMIT, None, ZERO, TimeInForce.DAY,
                status=OrdStatus.REJECTED,
            )  # fmt: skip
            msg = encode_execution_report(
                self._execution_report(none, ExecType.ORDER_STATUS, text="no orders"), self.venue.begin_string
            )
            msg.setField(t.MassStatusReqID, req_id)
            msg.setField(t.TotNumReports, "0")
            msg.setField(t.LastRptRequested, "Y")
            fix.Session.sendToTarget(msg, session_id)
            return
        for i, order in enumerate(orders, 1):
            msg = encode_execution_report(
                self._execution_report(order, ExecType.ORDER_STATUS), self.venue.begin_string
            )
            msg.setField(t.MassStatusReqID, req_id)
            msg.setField(t.TotNumReports, str(len(orders)))
            msg.setField(t.LastRptRequested, "Y" if i == len(orders) else "N")
            fix.Session.sendToTarget(msg, session_id)

    def _cancel_reject(self, rej: CancelRejected, cmd, order: SimOrder | None) -> CancelReject:
        reason = (
            CxlRejReason.TOO_LATE
            if rej.too_late
            else (CxlRejReason.UNKNOWN_ORDER if order is None else CxlRejReason.OTHER)
        )
        return CancelReject(
            session="",
            order_id=order.order_id if order else "NONE",
            cl_ord_id=rej.cl_ord_id,
            orig_cl_ord_id=rej.orig_cl_ord_id,
            ord_status=order.status if order else OrdStatus.REJECTED,
            response_to=CxlRejResponseTo.REPLACE
            if isinstance(cmd, ReplaceOrder)
            else CxlRejResponseTo.CANCEL,
            reason=reason,
            text=rej.reason,
        )

    def _business_reject(self, mt: str, message: fix.Message, text: str) -> fix.Message:
        return encode_business_reject(
            mt, opt(message.getHeader(), t.MsgSeqNum), opt(message, t.ClOrdID), "0", text
        )

    def _send(self, session_id: fix.SessionID, report) -> None:
        if isinstance(report, ExecutionReport):
            msg = encode_execution_report(report, self.venue.begin_string)
        elif isinstance(report, CancelReject):
            msg = encode_cancel_reject(report, self.venue.begin_string)
        else:
            msg = report
        fix.Session.sendToTarget(msg, session_id)
        if (
            isinstance(report, ExecutionReport)
            and self.faults.duplicate_reports
            and self.fault_rng.random() < self.faults.duplicate_reports
        ):
            fix.Session.sendToTarget(msg, session_id)  # same ExecID: a duplicate, not a new event

    # ------------------------------------------------------------ market data

    def _market_data_request(self, message: fix.Message, owner: str, session_id: fix.SessionID) -> None:
        req_id = opt(message, MDReqID) or ""
        try:
            request = decode_md_request(message)
        except CodecError as exc:
            self._md_reject(session_id, req_id, _REJECT_REASONS.get(exc.tag), exc.text)  # type: ignore[arg-type]
            return
        subs = self.md_subscriptions.setdefault(owner, {})
        if not request.subscribe:
            if subs.pop(request.req_id, None) is None:
                log.info("%s: %s unsubscribed unknown MDReqID %s", self.name, owner, request.req_id)
            return
        if not request.snapshot_only and request.req_id in subs:
            self._md_reject(
                session_id, request.req_id, MDRejectReason.DUPLICATE_MD_REQ_ID, "MDReqID already subscribed"
            )
            return
        if not request.symbols:
            self._md_reject(session_id, request.req_id, None, "no symbols requested")
            return
        if not request.entry_types:
            self._md_reject(
                session_id,
                request.req_id,
                MDRejectReason.UNSUPPORTED_MD_ENTRY_TYPE,
                "only bid (0), offer (1) and trade (2) entries are published",
            )
            return
        sub = MDSubscription(request, session_id)
        for symbol in request.symbols:
            self._md_snapshot(sub, symbol)
        if not request.snapshot_only:
            subs[request.req_id] = sub
            self._schedule_md_refresh()
        log.info(
            "%s: %s %s market data %s for %s, depth %d",
            self.name,
            owner,
            "snapshot of" if request.snapshot_only else "subscribed to",
            request.req_id,
            ",".join(request.symbols),
            request.depth,
        )

    def _md_reject(
        self, session_id: fix.SessionID, req_id: str, reason: MDRejectReason | None, text: str
    ) -> None:
        fix.Session.sendToTarget(encode_md_reject(req_id, reason, text, self.venue.begin_string), session_id)

    def _md_snapshot(self, sub: MDSubscription, symbol: str) -> None:
        bids, asks = self.book.depth(symbol, sub.levels)
        sub.sent[symbol] = (bids, asks)
        types = sub.request.entry_types
        msg = encode_snapshot(
            sub.request.req_id,
            symbol,
            bids if MDSide.BID in types else (),
            asks if MDSide.ASK in types else (),
            self.last_trade.get(symbol) if MDSide.TRADE in types else None,
            self.venue.begin_string,
        )
        fix.Session.sendToTarget(msg, sub.session_id)

    def _book_changed(self, events: list[BookEvent]) -> None:
        """After a command: record trades, and send subscribers what changed in their books."""
        symbols: list[str] = []
        trades: dict[str, list[tuple[Decimal, Decimal]]] = {}
        matches: set[str] = set()
        for ev in events:
            if isinstance(ev, CancelRejected):
                continue
            symbol = ev.order.symbol
            if symbol not in symbols:
                symbols.append(symbol)
            if isinstance(ev, Fill) and ev.match_id not in matches:  # both sides of a trade share it
                matches.add(ev.match_id)
                trades.setdefault(symbol, []).append((ev.price, ev.qty))
                self.last_trade[symbol] = (ev.price, ev.qty)
        for subs in self.md_subscriptions.values():
            for sub in subs.values():
                for symbol in symbols:
                    if symbol in sub.request.symbols:
                        self._md_update(sub, symbol, trades.get(symbol, []))

    def _md_update(self, sub: MDSubscription, symbol: str, trades: list[tuple[Decimal, Decimal]]) -> None:
        now = self.book.depth(symbol, sub.levels)
        before = sub.sent.get(symbol, ([], []))
        types = sub.request.entry_types
        if sub.request.full_refresh:
            if now != before or (trades and MDSide.TRADE in types):
                self._md_snapshot(sub, symbol)
            return
        sub.sent[symbol] = now
        changes = [c for c in level_changes(symbol, before, now) if c.side in types]
        if MDSide.TRADE in types:
            changes += [MDUpdate(symbol, MDSide.TRADE, px, qty, MDAction.NEW) for px, qty in trades]
        if changes:
            msg = encode_incremental(sub.request.req_id, changes, self.venue.begin_string)
            fix.Session.sendToTarget(msg, sub.session_id)

    def _schedule_md_refresh(self) -> None:
        if self.md_refresh_s > 0 and self.loop is not None and not self._md_refresh_scheduled:
            self._md_refresh_scheduled = True
            self.loop.call_later(self.md_refresh_s, self._md_refresh)

    def _md_refresh(self) -> None:
        """Periodic full snapshots for every subscription; stops while there is none."""
        self._md_refresh_scheduled = False
        active = [sub for subs in self.md_subscriptions.values() for sub in subs.values()]
        for sub in active:
            for symbol in sub.request.symbols:
                self._md_snapshot(sub, symbol)
        if active:
            self._schedule_md_refresh()


class SimulatorHost:
    """Simulated venues on one engine loop: their own (``fixgw venue-sim``) or the gateway's."""

    def __init__(self, cfg: GatewayConfig, venues: list[VenueConfig]):
        self.venues = [SimVenue(cfg, v) for v in venues]
        self.engines = [v.acceptor for v in self.venues]
        self.loop: EngineLoop | None = None

    def attach(self, loop: EngineLoop) -> None:
        """Let the venues schedule delayed answers on ``loop`` (whichever thread runs it)."""
        self.loop = loop
        for v in self.venues:
            v.loop = loop

    def run(self, cfg: GatewayConfig) -> None:
        """Run standalone until :meth:`stop`."""
        self.attach(
            EngineLoop(
                self.engines,
                list(self.venues),
                spin_s=cfg.engine.spin_ms / 1000,
                idle_sleep_s=cfg.engine.idle_sleep_us / 1e6,
            )
        )
        self.loop.run()

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()


def _disconnect(session_id: fix.SessionID) -> None:
    session = fix.Session.lookupSession(session_id)
    if session is not None:
        session.disconnect()
