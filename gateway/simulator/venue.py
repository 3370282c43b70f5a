"""A simulated venue: a real QuickFIX acceptor in front of the matching engine.

It speaks the venue's configured FIX version and answers NewOrderSingle, cancel,
cancel/replace, OrderStatusRequest and OrderMassStatusRequest with the reports a
real venue would send. Acknowledgement delay and random rejects are driven by a
seeded RNG so runs repeat; later realism (latency models, disconnects, replay)
plugs in around :meth:`SimVenue.handle`.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
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
from gateway.config import GatewayConfig, VenueConfig
from gateway.fix.application import GuardedApplication
from gateway.fix.engine import EngineLoop, QuickFixEngine
from gateway.fix.settings import simulator_settings
from gateway.orders.enums import CxlRejReason, CxlRejResponseTo, ExecType, OrdRejReason, OrdStatus
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


class SimVenue(GuardedApplication):
    def __init__(self, cfg: GatewayConfig, venue: VenueConfig):
        super().__init__()
        self.name = venue.name
        self.venue = venue
        sim = venue.simulator
        self.ack_delay_s = (sim.ack_delay_ms / 1000) if sim else 0.0
        self.reject_probability = sim.reject_probability if sim else 0.0
        self.rng = random.Random(sim.seed if sim else 0)
        # Identifiers carry the start time, as a real venue's never repeat across its restarts.
        self.id_prefix = f"{venue.name}-{base36(time.time_ns() // 1_000_000)}-"
        self.book = MatchingEngine(order_id_prefix=self.id_prefix)
        self._exec_ids = itertools.count(1)
        self.sessions: dict[str, fix.SessionID] = {}
        self.loop: EngineLoop | None = None
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
        log.info("%s: %s logged on", self.name, session_id.toString())

    def on_logout(self, session_id: fix.SessionID) -> None:
        log.info("%s: %s logged out", self.name, session_id.toString())

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        mt = msg_type(message)
        owner = session_id.toString()
        if mt == "AF":
            self._mass_status(opt(message, t.MassStatusReqID) or "", owner, session_id)
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

    def _publish(self, events: list[BookEvent], canceled_from: str | None = None) -> None:
        """Send each event's report to the session that owns the order (seeded liquidity has none).

        ``canceled_from`` is the OrigClOrdID of the cancel request that produced these events.
        """
        for ev in events:
            if isinstance(ev, CancelRejected):
                continue
            order = ev.order
            if order.owner is None or order.owner not in self.sessions:
                continue
            self._send(self.sessions[order.owner], self._report(ev, canceled_from))

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
        orders = self.book.orders(owner, open_only=True)
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
