"""The running gateway: QuickFIX engines, the order core and the journal, wired.

Threading: the client acceptor and the venue initiator are both driven by
``poll()`` from one :class:`EngineLoop` thread, so every callback, the order core
and the journal run on that one thread (the single writer). Each inbound message
is decoded and applied to the core; what it caused joins the round's :class:`_Batch`,
and at the end of the engine loop's poll round (group commit) the whole batch is
journaled in one transaction and only then are its reports and child orders sent.
The same transaction records, per session, the inbound sequence number up to which
every message's effects are committed and sent (the watermark); on start-up QuickFIX's
stores are rewound to it, so a counterparty resends what was counted but not
committed (``docs/durability.md``). In-process simulated venues are engines on the
same loop: they share the thread, not state, and talk to the gateway over sockets.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import gc
import json
import logging
import os
import time
from dataclasses import replace
from zoneinfo import ZoneInfo

import quickfix as fix

from gateway.admin.api import AdminApi
from gateway.admin.server import AdminServer
from gateway.admin.token import admin_token
from gateway.codec import tags as t
from gateway.codec.client import (
    DECODERS,
    encode_business_reject,
    encode_cancel_reject,
    encode_execution_report,
)
from gateway.codec.dialect import Dialect
from gateway.codec.fields import CodecError, from_raw, msg_type, opt, raw, raw_field
from gateway.codec.marketdata import decode_market_data, encode_md_request
from gateway.codec.venue import decode_venue_message, encode_venue_command
from gateway.config import ConfigError, GatewayConfig
from gateway.fix.engine import EngineLoop, QuickFixEngine
from gateway.fix.sessions import SessionSide
from gateway.fix.settings import acceptor_settings, initiator_settings, market_data_session_id, session_id
from gateway.fix.stores import WATERMARK_KEY, order_and_md_stores, rewind_inbound
from gateway.journal import EventRecord, Journal, JournalError
from gateway.latency import LatencyRecorder
from gateway.logs import flush_logs, stop_logging
from gateway.marketdata.book import MarketData
from gateway.metrics import Metrics
from gateway.orders.core import OrderCore, Outcome
from gateway.orders.enums import CxlRejReason, CxlRejResponseTo, ExecType, OrdRejReason, OrdStatus, Side
from gateway.orders.ids import IdGenerator
from gateway.orders.journaling import position_record, restore, to_record
from gateway.orders.messages import (
    CancelOrder,
    ExecutionReport,
    NewOrder,
    ReplaceChildOrder,
    ReplaceOrder,
    RequestMassStatus,
    RequestStatus,
    SendChildOrder,
    VenueCancelReject,
    VenueCommand,
    VenueExecution,
)
from gateway.orders.model import ZERO, ClientOrder
from gateway.orders.reports import cancel_reject, reject_unknown
from gateway.reconcile import Reconciler
from gateway.risk.pretrade import PreTrade
from gateway.risk.trading_state import TradingState
from gateway.routing.router import Router
from gateway.schedule import last_close, next_close
from gateway.simulator.venue import SimulatorHost
from gateway.venue_flow import VenueFlow

log = logging.getLogger("gateway")

MD_SUFFIX = "#md"  # how a venue's separate market-data session is named in logs and the journal
TRADING_STATE_KEY = "trading_state"  # journal meta: survives restarts, so a halt stays a halt
RISK_OVERRIDES_KEY = "risk_overrides"  # journal meta: limits changed live (fixgw risk set)
GC_FREEZE_EVERY_S = 1.0
WATERMARK_EVERY_S = 1.0  # a watermark no batch carried is written on its own at most this often


class _Batch:
    """What one poll round journals and then sends (group commit).

    ``orders``/``positions`` hold the changed objects (by identity) and are turned into records
    when the batch commits, so an order changed by several messages is written once, as it is
    then. ``marks``: session -> MsgSeqNum of the last inbound application message handled in
    the round. ``inbound``: (kind, perf_counter_ns at arrival) for the latency recorder."""

    __slots__ = ("events", "inbound", "marks", "meta", "orders", "positions", "sends", "state_changed",
                 "venue_sends")  # fmt: skip

    def __init__(self) -> None:
        self.events: list[EventRecord] = []
        self.orders: dict[int, object] = {}
        self.positions: dict[int, object] = {}
        self.meta: dict[str, str] = {}
        self.state_changed = False
        self.sends: list[tuple[fix.SessionID, fix.Message]] = []
        self.venue_sends: list[tuple[VenueCommand, fix.Message]] = []
        self.marks: dict[str, int] = {}
        self.inbound: list[tuple[str, int]] = []

    def journals(self) -> bool:
        return bool(self.events or self.orders or self.positions or self.meta or self.state_changed)

    def empty(self) -> bool:
        return not (self.journals() or self.sends or self.venue_sends or self.marks or self.inbound)


def young_objects_only() -> None:
    """Keep Python's cyclic garbage collector to the objects made since the last call.

    Every order the gateway has seen stays in memory (status requests are answered from it),
    so a full collection scans them all: measured 22, then 50, then 96 ms under a steady
    300 orders/s, stalling the engine thread. Collecting the young generations and then
    freezing what survived (gc.freeze) moves the survivors out of every later scan. What is
    frozen is still freed by reference counting; only a reference cycle that becomes garbage
    after it was frozen is never collected, and the gateway's long-lived objects (orders,
    positions, books) form none."""
    gc.collect(1)
    gc.freeze()


_CLIENT_HANDLERS = {
    NewOrder: OrderCore.new_order,
    CancelOrder: OrderCore.cancel_order,
    ReplaceOrder: OrderCore.replace_order,
    RequestStatus: OrderCore.order_status,
    RequestMassStatus: OrderCore.mass_status,
}


def _is_resend(message: fix.Message, cmd) -> bool:
    """An order, cancel or replace marked PossDupFlag or PossResend: it may have been processed
    already (the gateway was stopped after journaling it, before QuickFIX counted it)."""
    if not isinstance(cmd, NewOrder | CancelOrder | ReplaceOrder):
        return False
    header = message.getHeader()
    return any(
        header.isSetField(tag) and header.getField(tag) == "Y" for tag in (t.PossDupFlag, t.PossResend)
    )


class Gateway:
    def __init__(self, cfg: GatewayConfig, start_simulators: bool = True):
        self.cfg = cfg
        # Test hook: exit right after journaling an inbound message containing this text,
        # before anything it caused is sent (the worst moment for a kill -9).
        self._crash_after_journal = os.environ.get("FIXGW_CRASH_AFTER_JOURNAL") or None
        # Test hook: exit when a batch holding an inbound message containing this text is about
        # to be committed: its callbacks have returned (QuickFIX has counted the messages),
        # nothing of the batch is journaled or sent.
        self._crash_before_commit = os.environ.get("FIXGW_CRASH_BEFORE_COMMIT") or None
        cfg.sessions_dir.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(cfg.store.url, cfg.store.synchronous)
        self._batch = _Batch()
        self._sent_marks: dict[str, int] = {}  # handled, committed and sent: safe to store
        self._stored_marks: dict[str, int] = {}  # as the journal has them
        self._next_marks_write = 0.0
        self._rewind_inbound()
        self.market = MarketData(
            depth={v.name: v.market_data.depth for v in cfg.venues.values()},
            stale_after_ns={v.name: v.market_data.stale_after_ms * 1_000_000 for v in cfg.venues.values()},
            on_change=self._on_market_change,
        )
        self.dialects = {v.name: Dialect.from_config(v) for v in cfg.venues.values()}
        self.core = OrderCore(
            IdGenerator(),
            routes={s: i.venue for s, i in cfg.instruments.items()},
            venues=cfg.venues,
            ack_timeout_ns=int(cfg.ack_timeout_s * 1e9),
            clock=time.time_ns,
            pretrade=PreTrade.from_config(cfg, time.time_ns, market=self.market),
            router=Router.from_config(cfg, self.market),
        )
        orders, done, used, positions = restore(self.journal)
        self.core.restore(orders, used, positions, done)
        saved_states = self.journal.get_meta(TRADING_STATE_KEY)
        if saved_states:
            self.core.pretrade.states.restore(json.loads(saved_states))
            log.info("trading state restored: %s", saved_states)
        if orders or positions:
            log.info("restored %d open orders and %d positions from the journal", len(orders), len(positions))
        self._restore_risk_overrides()
        self.core.archive = self._archived_order

        self.client_sessions = {
            c.name: session_id(c.begin_string, c.gateway_comp_id, c.comp_id) for c in cfg.clients.values()
        }
        self.venue_sessions = {
            v.name: session_id(v.begin_string, v.gateway_comp_id, v.comp_id) for v in cfg.venues.values()
        }
        self.clients = SessionSide("client", {s.toString(): n for n, s in self.client_sessions.items()}, self)
        # A venue's separate market-data session, when it has one, is named VENUE#md here.
        self.md_sessions = {
            v.name: sid for v in cfg.venues.values() if (sid := market_data_session_id(v)) is not None
        }
        names = {s.toString(): n for n, s in self.venue_sessions.items()}
        names.update({s.toString(): n + MD_SUFFIX for n, s in self.md_sessions.items()})
        self.venues = SessionSide("venue", names, self)

        simulated = [v for v in cfg.venues.values() if v.simulated]
        self.simulators = SimulatorHost(cfg, simulated) if start_simulators and simulated else None
        # Simulated venues share the gateway's loop (and thread); listed first so they
        # are listening before the initiator's first connect.
        engines = list(self.simulators.engines) if self.simulators else []
        apps: list = list(self.simulators.venues) if self.simulators else []
        if cfg.clients:
            self.acceptor = QuickFixEngine(
                fix.SocketAcceptor, self.clients, acceptor_settings(cfg, cfg.clients.values())
            )
            engines.append(self.acceptor)
            apps.append(self.clients)
        if cfg.venues:
            self.initiator = QuickFixEngine(
                fix.SocketInitiator, self.venues, initiator_settings(cfg, cfg.venues.values())
            )
            engines.append(self.initiator)
            apps.append(self.venues)
        self.loop = EngineLoop(
            engines,
            apps,
            spin_s=cfg.engine.spin_ms / 1000,
            idle_sleep_s=cfg.engine.idle_sleep_us / 1e6,
            on_tick=self._tick,
            on_round=self.flush,
        )
        if self.simulators:
            self.simulators.attach(self.loop)
        self.flow = VenueFlow(
            cfg.venues,
            send=lambda venue, msg: fix.Session.sendToTarget(msg, self.venue_sessions[venue]),
            refuse=lambda cmd, why: self.loop.call_soon(lambda: self._venue_refused(cmd, why)),
            record=lambda venue, text: self.record_event(self._event("venue", None, venue, None, text)),
            call_later=self.loop.call_later,
        )
        self.core.router.breaker_open = self.flow.breaker_open
        self.core.router.headroom = self.flow.headroom
        self.reconciler = Reconciler(self, self._reconciled)
        self.metrics = Metrics()
        self.live_engines: list = []  # engines started by a reload (kept alive here)
        self._next_freeze = 0.0
        self.admin: AdminServer | None = None
        if cfg.admin.port is not None:  # polled by the loop: requests run on this thread
            token = admin_token(cfg.admin, create=True)
            self.admin = AdminServer("127.0.0.1", cfg.admin.port, token, AdminApi(self))
            self.loop.engines.append(self.admin)
            self.metrics.attach(self)
        self._announced_ready = False
        self.latency = LatencyRecorder()
        self._clean_logout: set[str] = set()  # clients that sent Logout (not a dropped connection)
        self.journal_ok = True  # False: the journal cannot be written, so no new orders are taken
        self._next_probe = 0.0
        self._session_epoch: dict[str, int] = {}  # bumped on each logon: stale timers do nothing
        self._next_close: dt.datetime | None = None  # gateway.schedule's next close
        self._swept = False  # its Day orders have been ended
        if cfg.schedule is not None:  # on the loop, once the sessions exist
            self.loop.call_soon(self._start_schedule)

    # ------------------------------------------------------------ lifecycle

    def run(self) -> None:
        """Run until :meth:`stop`; then log every session out and close the journal."""
        log.info(
            "fixgw listening for clients on port %d (%s)",
            self.cfg.acceptor.port,
            ", ".join(self.client_sessions) or "no client sessions",
        )
        young_objects_only()  # what start-up built (restored orders, dictionaries) is never scanned again
        try:
            self.loop.run()
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.loop.stop()

    def shutdown(self) -> None:
        """Log sessions out and flush; never relies on SocketAcceptor.stop() (it can segfault)."""
        sessions = [
            fix.Session.lookupSession(sid)
            for sid in [
                *self.client_sessions.values(),
                *self.venue_sessions.values(),
                *self.md_sessions.values(),
            ]
        ]
        sessions = [s for s in sessions if s is not None]
        for session in sessions:
            if session.isLoggedOn():
                session.logout("fixgw shutting down")
        self.loop.poll_for(2.0, until=lambda: not any(s.isLoggedOn() for s in sessions))
        self.flush()
        self._write_marks()  # everything handled is committed and sent: nothing to resend
        if self.admin is not None:
            self.admin.close()
        self.journal.close()
        for kind, p in self.latency.summary().items():
            log.info(
                "internal latency %s -> send over %d messages (µs): p50 %s p90 %s p99 %s max %s",
                kind,
                p["count"],
                p["p50"],
                p["p90"],
                p["p99"],
                p["max"],
            )
        log.info("fixgw stopped")

    # ------------------------------------------------------------ market data

    def _subscribe_market_data(self, venue: str, sid: fix.SessionID) -> None:
        """On every logon: subscribe to the venue's books for every instrument (in its symbols)."""
        vcfg = self.cfg.venues[venue]
        dialect = self.dialects[venue]
        symbols = [dialect.venue_symbol(s) for s in self.cfg.instruments]
        req = encode_md_request(f"MD-{venue}-{time.time_ns()}", symbols, vcfg.market_data.depth, True,
                                vcfg.begin_string)  # fmt: skip
        fix.Session.sendToTarget(req, sid)
        log.info("subscribed to market data from %s for %d instruments", venue, len(symbols))

    def _on_market_change(self, symbol: str) -> None:
        """Fresh market data moves the risk engine's reference price for the symbol."""
        price = self.market.reference_price(symbol)
        if price is not None:
            self.core.pretrade.on_price(symbol, price)

    # ------------------------------------------------------------ operator actions

    def kill_switch(self, engage: bool, scope: str, target: str | None = None, reason: str = "") -> dict:
        """Engage or release the kill switch (loop thread; see :meth:`call` from elsewhere).

        Engaging halts the scope and cancels every working order in it at the venues; the
        reply lists the OrderIDs being canceled. Journaled like any other event.
        """
        self._check_scope(scope, target)
        outcome = self.core.kill_switch(engage, scope, target if scope != "global" else None, reason)
        verb = "engaged" if engage else "released"
        self._dispatch(
            outcome, self._event("admin", None, target, None, f"kill switch {verb}: {scope} {target or ''}")
        )
        return {
            "scope": scope,
            "target": target,
            "engaged": engage,
            "canceling": outcome.canceled,
            "trading_state": self.core.pretrade.states.snapshot(),
        }

    def set_trading_state(self, scope: str, target: str | None, state: str, reason: str = "") -> None:
        """Set ACTIVE, REDUCING or HALTED by hand (HALTED here cancels nothing: that is the kill switch)."""
        try:
            value = TradingState[state.upper()]
        except KeyError:
            raise ValueError(f"state must be active, reducing or halted, not {state!r}") from None
        self._check_scope(scope, target)
        change = self.core.pretrade.states.set(
            scope, target if scope != "global" else None, value, reason or "operator"
        )
        outcome = Outcome()
        self.core.state_changed(change, outcome)
        self._dispatch(
            outcome,
            self._event(
                "admin", None, target, None, f"trading state set: {scope} {target or ''} {value.name}"
            ),
        )

    def _check_scope(self, scope: str, target: str | None) -> None:
        if scope not in ("global", "client", "venue"):
            raise ValueError(f"scope must be global, client or venue, not {scope!r}")
        if scope == "client" and target not in self.client_sessions:
            raise ValueError(f"unknown client session {target!r}")
        if scope == "venue" and target not in self.venue_sessions:
            raise ValueError(f"unknown venue {target!r}")

    def all_sessions(self) -> dict[str, tuple[str, fix.SessionID]]:
        """Every FIX session by its name here: (side, SessionID); side is client, venue or venue-md."""
        ids = {n: ("client", sid) for n, sid in self.client_sessions.items()}
        ids.update({n: ("venue", sid) for n, sid in self.venue_sessions.items()})
        ids.update({n + MD_SUFFIX: ("venue-md", sid) for n, sid in self.md_sessions.items()})
        return ids

    def trading_state(self) -> dict:
        return self.core.pretrade.states.snapshot()

    def call(self, fn, timeout: float = 10.0):
        """Run ``fn`` on the loop thread from any other thread and return its result."""
        future: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                result = fn()
                if not self.flush():  # what it journaled is committed and sent before the answer
                    raise JournalError("journal write failed: nothing of it was sent")
                future.set_result(result)
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon(run)
        return future.result(timeout)

    def reload(self, removed_venue_orders: str = "leave", actor: str = "SIGHUP") -> dict:
        """Re-read the configuration files and apply what can change live (loop thread); raises
        ConfigError, with nothing applied, when the files are wrong."""
        from gateway.config import load_config
        from gateway.reload import apply

        new = load_config(self.cfg.source)
        changes = apply(self, new, removed_venue_orders)
        summary = "; ".join(changes) or "no changes"
        self.record_event(self._event("admin", None, None, None, f"config reloaded: {summary} (by {actor})"))
        return {"changes": changes, "summary": summary}

    def reload_logged(self) -> None:
        """SIGHUP: reload, and say in the log what happened (there is no one to answer)."""
        try:
            self.reload()
        except ConfigError as exc:
            log.error("reload refused, nothing changed: %s", exc)

    def _archived_order(self, session: str, cl_ord_id: str) -> ClientOrder | None:
        """A finished order no longer in memory, as journaled (for a status request)."""
        try:
            record = self.journal.order(cl_ord_id)
        except JournalError:
            return None
        if record is None or record.parent_id is not None or record.session != session:
            return None
        return ClientOrder.from_doc(record.doc, [])

    def dispatch_admin(self, outcome: Outcome, target: str | None, text: str) -> None:
        """Journal and send what an operator's action caused (loop thread)."""
        self._dispatch(outcome, self._event("admin", None, target, None, text))

    def set_risk_param(self, client: str, check: str, param: str, value) -> None:
        """Change one risk limit of one client live (loop thread); the next order sees it.
        Kept in the journal, so a restart keeps it until the config says otherwise."""
        engine = self.core.pretrade.risk
        engine.set_param(client, check, param, value)
        overrides = json.loads(self.journal.get_meta(RISK_OVERRIDES_KEY) or "{}")
        overrides.setdefault(client, {}).setdefault(check, {})[param] = value
        self.journal.set_meta(RISK_OVERRIDES_KEY, json.dumps(overrides))
        log.warning("risk limit changed live: %s %s.%s = %r", client, check, param, value)

    def _restore_risk_overrides(self) -> None:
        """Live limit changes survive a restart; one the config no longer fits is dropped, loudly."""
        saved = json.loads(self.journal.get_meta(RISK_OVERRIDES_KEY) or "{}")
        engine = self.core.pretrade.risk
        if not saved or engine is None:
            return
        kept: dict = {}
        for client, checks in saved.items():
            for check, params in checks.items():
                for param, value in params.items():
                    try:
                        engine.set_param(client, check, param, value)
                    except (KeyError, ConfigError) as exc:
                        log.error("live risk limit %s %s.%s=%r dropped: %s", client, check, param, value, exc)
                        continue
                    kept.setdefault(client, {}).setdefault(check, {})[param] = value
                    log.warning("live risk limit kept from before the restart: %s %s.%s = %r",
                                client, check, param, value)  # fmt: skip
        if kept != saved:
            self.journal.set_meta(RISK_OVERRIDES_KEY, json.dumps(kept))

    # ------------------------------------------------------------ the close (gateway.schedule)

    def _start_schedule(self) -> None:
        """Day orders left from before the last close (the gateway was down then) end now; then
        time the next close."""
        s = self.cfg.schedule
        now = dt.datetime.now(dt.UTC)
        self._next_close = next_close(s, now)
        if self._next_close is not None:
            log.info("next close %s: Day orders end %gs before it", self._close_text(self._next_close),
                     s.cancel_before_s)  # fmt: skip
        last = last_close(s, now)
        stale = [] if last is None else self.core.working_day_orders(int(last.timestamp() * 1e9))
        try:
            if stale:
                when = self._close_text(last)
                log.warning("%d Day orders are from before the close at %s", len(stale), when)
                self._end_day_orders(stale, last, "start-up after the close")
        finally:  # a journal failure above must not leave the close untimed
            self._close_check()

    def _close_check(self) -> None:
        """Loop timer: end Day orders ``cancel_before_s`` before the close; until the close, new
        Day orders are refused. Re-armed at least every minute, so a clock step cannot make it late."""
        s = self.cfg.schedule
        now = dt.datetime.now(dt.UTC)
        try:
            while self._next_close is not None and now >= self._next_close:
                close, swept = self._next_close, self._swept
                self.core.day_orders_closed = None
                self._next_close, self._swept = next_close(s, close), False
                if not swept:  # the loop was held up past the whole window: still end them
                    self._sweep(close, refuse=False)
            closing = self._next_close is not None and not self._swept
            if closing and now >= self._next_close - dt.timedelta(seconds=s.cancel_before_s):
                self._swept = True  # once, even if the journal refuses it (logged)
                self._sweep(self._next_close)
        finally:
            if self._next_close is not None:
                due = self._next_close - dt.timedelta(seconds=0 if self._swept else s.cancel_before_s)
                self.loop.call_later(min(max((due - now).total_seconds(), 0.0), 60.0), self._close_check)

    def _sweep(self, close: dt.datetime, refuse: bool = True) -> None:
        when = self._close_text(close)
        if refuse:
            self.core.day_orders_closed = f"Day orders are not accepted after the close ({when})"
        orders = self.core.working_day_orders()
        log.info("close %s: %d working Day orders end", when, len(orders))
        self._end_day_orders(orders, close, "close")

    def _end_day_orders(self, orders: list, close: dt.datetime, why: str) -> None:
        """Journal and send what ending ``orders`` at ``close`` causes (cancels to venues first)."""
        when = self._close_text(close)
        expire = self.cfg.schedule.day_orders == "expire"
        end_as = OrdStatus.EXPIRED if expire else OrdStatus.DONE_FOR_DAY
        reason = f"{'expired' if expire else 'done for day'} at the close ({when})"
        outcome = self.core.end_day_orders(orders, end_as, reason)
        text = f"{why} {when}: {len(orders)} Day orders end as {end_as.name}"
        self._dispatch(outcome, self._event("admin", None, None, None, text))

    def _resume_day_ends(self, venue: str) -> None:
        """A venue logged on: cancel there what the close could not while it was down."""
        outcome = self.core.resume_day_ends(venue)
        if outcome.to_venues or outcome.to_clients:
            self._dispatch(outcome, self._event("admin", None, venue, None, f"close: Day orders at {venue}"))

    def _close_text(self, close: dt.datetime) -> str:
        tz = self.cfg.schedule.timezone
        return f"{close.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M:%S} {tz}"

    # ------------------------------------------------------------ session events

    def on_session_up(self, side: str, name: str) -> None:
        self._logged_on_marks(name)
        if side == "venue" and not name.endswith(MD_SUFFIX):
            # Reconciliation asks about every open child: the ones still in the batch go first,
            # or the venue's answer would judge children it has not been sent yet.
            self.flush()
        if side == "client":
            self._session_epoch[name] = self._session_epoch.get(name, 0) + 1
        if side == "venue" and name.endswith(MD_SUFFIX):
            venue = name.removesuffix(MD_SUFFIX)
            self._subscribe_market_data(venue, self.md_sessions[venue])
        elif side == "venue":
            self.core.set_venue_up(name, True)
            self.flow.on_session(name, True)
            self.reconciler.start(name)
            self._resume_day_ends(name)
            if self.cfg.venues[name].market_data.enabled and name not in self.md_sessions:
                self._subscribe_market_data(name, self.venue_sessions[name])
            if not self._announced_ready and self.core.venues_up >= set(self.venue_sessions):
                self._announced_ready = True
                log.info("fixgw ready: all venue sessions logged on")
        self.record_event(self._event("session", None, name, None, f"{side} session {name} logged on"))

    def on_admin_message(self, side: str, name: str, msg_type: str) -> None:
        if side == "client" and msg_type == "5":
            self._clean_logout.add(name)

    def _client_down(self, name: str) -> None:
        """Schedule cancel-on-disconnect when configured: a client back within the grace keeps its orders."""
        cod = self.cfg.clients[name].cancel_on_disconnect
        clean = name in self._clean_logout
        self._clean_logout.discard(name)
        if cod is None or (clean and not cod.on_logout):
            return
        epoch = self._session_epoch.get(name, 0)
        self.loop.call_later(cod.grace_s, lambda: self._cancel_on_disconnect(name, epoch))

    def _cancel_on_disconnect(self, name: str, epoch: int) -> None:
        if self._session_epoch.get(name, 0) != epoch or name in self.clients.logged_on:
            return  # it came back
        cod = self.cfg.clients[name].cancel_on_disconnect
        reason = f"canceled: session {name} disconnected (cancel on disconnect)"
        outcome = self.core.cancel_client_orders(name, cod.include_gtc, reason)
        if outcome.canceled:
            log.warning("%s did not come back within %ss: canceling %d orders", name, cod.grace_s,
                        len(outcome.canceled))  # fmt: skip
            self._dispatch(outcome, self._event("admin", None, name, None, "cancel on disconnect"))

    def on_session_down(self, side: str, name: str) -> None:
        if side == "venue" and name.endswith(MD_SUFFIX):
            self.market.venue_down(name.removesuffix(MD_SUFFIX))
        elif side == "client":
            self._client_down(name)
        elif side == "venue":
            self.core.set_venue_up(name, False)
            self.flow.on_session(name, False)
            if name not in self.md_sessions:
                self.market.venue_down(name)
            if self.cfg.venues[name].cancel_on_disconnect:
                self.loop.call_soon(lambda: self._canceled_on_disconnect(name))
        self.record_event(self._event("session", None, name, None, f"{side} session {name} logged out"))

    # ------------------------------------------------------------ messages

    def on_message(self, side: str, name: str, msg_type: str, message: fix.Message) -> None:
        seq = int(message.getHeader().getField(t.MsgSeqNum))
        self._on_message(side, name, msg_type, message)
        # Handled: its effects are in the batch (a handler that raised leaves the mark alone;
        # it was answered, and the next message's mark covers it, as QuickFIX does).
        self._batch.marks[name] = seq

    def _on_message(self, side: str, name: str, msg_type: str, message: fix.Message) -> None:
        t0 = time.perf_counter_ns()
        inbound = raw(message)
        if side == "client":
            decode = DECODERS.get(msg_type)
            if decode is None:
                raise fix.UnsupportedMessageType()
            if self._refuse_while_journal_down(name, msg_type, message):
                return
            if msg_type == "D":
                self.metrics.orders_in[name] += 1
            try:
                cmd = decode(message)
            except CodecError as exc:
                outcome = self._undecodable(name, msg_type, message, exc.text)
            else:
                resent = self.core.resent_order(name, cmd) if _is_resend(message, cmd) else None
                outcome = resent or _CLIENT_HANDLERS[type(cmd)](self.core, name, cmd)
            self._dispatch(outcome, self._event("client_in", None, name, msg_type, inbound))
            self._batch.inbound.append(("client", t0))
            return
        venue = name.removesuffix(MD_SUFFIX)
        begin_string = self.cfg.venues[venue].begin_string
        if msg_type in ("W", "X"):  # market data: applied, not journaled (it is not a lifecycle event)
            header = message.getHeader()
            if header.isSetField(t.PossDupFlag) and header.getField(t.PossDupFlag) == "Y":
                return  # resent after a restart: stale, and the new subscription's snapshot replaces it
            dialect = self.dialects[venue]
            updates = decode_market_data(msg_type, message, begin_string)
            if dialect.maps_symbols:
                updates = [replace(u, symbol=dialect.inbound_symbol(u.symbol)) for u in updates]
            self.market.apply(venue, updates, time.time_ns())
            return
        if msg_type not in ("8", "9") or venue != name:
            log.warning("venue %s sent unexpected %s: %s", name, msg_type, inbound)
            self.record_event(self._event("venue_in", None, name, msg_type, inbound))
            return
        report = decode_venue_message(msg_type, message, name, begin_string)
        if isinstance(report, VenueCancelReject):
            outcome = self.core.venue_cancel_reject(report)
        else:
            if self.reconciler.on_report(name, message, report):
                self.record_event(self._event("venue_in", None, name, msg_type, inbound))
                return
            child = self.core.child_for(name, report.cl_ord_id, report.orig_cl_ord_id)
            first = child is not None and child.status is OrdStatus.PENDING_NEW
            sent_ns = (
                child.ack_deadline_ns - self.core.ack_timeout_ns if first and child.ack_deadline_ns else None
            )
            self.flow.on_report(report, first, sent_ns)
            outcome = self.core.venue_execution(report)
            if report.exec_type is ExecType.TRADE and report.last_qty:
                self.core.router.on_fill(name, report.last_qty)
                self.metrics.fills[name] += 1
        self._dispatch(outcome, self._event("venue_in", None, name, msg_type, inbound))
        if outcome.repeats is not None and report.poss_dup:
            self._resend_client_reports(outcome.repeats, name, report.exec_id)
        self._batch.inbound.append(("venue", t0))

    def _latency(self, kind: str, ns: int) -> None:
        self.latency.record(kind, ns)
        self.metrics.observe(kind, ns)

    def _resend_client_reports(self, order_id: str, venue: str, exec_id: str) -> None:
        """A venue resends (PossDup) a report the journal already holds: the gateway was stopped
        after journaling it and maybe before telling the client. Re-send the client what that
        report caused, as journaled, with PossResend=Y (the client dedupes by ExecID)."""
        events = self.journal.events(order_id, limit=100_000)
        needle = f"|{t.ExecID}={exec_id}|"
        source = next(
            (e for e in events if e.kind == "venue_in" and e.session == venue and needle in e.text), None
        )
        if source is None:  # still in this round's batch: its reports go out with it
            return
        for e in events:
            if e.kind != "client_out" or e.ts_ns != source.ts_ns or e.session not in self.client_sessions:
                continue
            msg = from_raw(e.text)
            msg.getHeader().setField(t.PossResend, "Y")
            self._batch.sends.append((self.client_sessions[e.session], msg))  # after the round's commit
            log.info("%s %s: re-sent a journaled report (PossResend): %s", e.session, order_id, e.text)

    def on_message_error(self, side: str, name: str, message: fix.Message | None, exc: BaseException) -> None:
        """Last resort for a message whose handling failed: a BusinessMessageReject, never silence."""
        if message is None or side != "client" or name not in self.client_sessions:
            return
        reject = encode_business_reject(
            msg_type(message),
            opt(message.getHeader(), t.MsgSeqNum),
            opt(message, t.ClOrdID),
            "0",
            f"internal error: {type(exc).__name__}: {exc}"[:200],
        )
        fix.Session.sendToTarget(reject, self.client_sessions[name])

    def _undecodable(self, session: str, msg_type: str, message: fix.Message, text: str) -> Outcome:
        """Answer a message QuickFIX accepted but the gateway cannot act on, in the FIX way for its type."""
        out = Outcome()
        cl_ord_id = opt(message, t.ClOrdID) or "NONE"
        try:
            side = Side(opt(message, t.Side))
        except ValueError:
            side = Side.BUY
        symbol = opt(message, t.Symbol) or ""
        if msg_type in ("F", "G"):
            response_to = CxlRejResponseTo.CANCEL if msg_type == "F" else CxlRejResponseTo.REPLACE
            out.to_clients.append(
                cancel_reject(
                    session,
                    None,
                    cl_ord_id,
                    opt(message, t.OrigClOrdID) or "NONE",
                    response_to,
                    CxlRejReason.OTHER,
                    text,
                )
            )
        else:
            exec_type = ExecType.REJECTED if msg_type == "D" else ExecType.ORDER_STATUS
            out.to_clients.append(
                reject_unknown(
                    session,
                    self.core.ids.exec_id(),
                    exec_type,
                    cl_ord_id,
                    symbol,
                    side,
                    OrdRejReason.OTHER,
                    text,
                )
            )
        out.note(None, f"{session} {msg_type} refused: {text}")
        return out

    def _journal_failed(self, exc: Exception) -> None:
        if self.journal_ok:
            log.critical("journal cannot be written (%s): not accepting new orders until it can", exc)
        self.journal_ok = False

    def _probe_journal(self) -> None:
        """At most every 2 s: a probe of a locked database holds the engine thread for its timeout."""
        now = time.monotonic()
        if now < self._next_probe:
            return
        self._next_probe = now + 2.0
        try:
            self.journal.set_meta("journal_probe", str(time.time_ns()))
        except JournalError:
            return
        self.journal_ok = True
        log.warning("journal writable again: accepting new orders")

    def _refuse_while_journal_down(self, name: str, msg_type: str, message: fix.Message) -> bool:
        """No new order or amend is taken unless it can be journaled first (cancels still go)."""
        if self.journal_ok or msg_type not in ("D", "G"):
            return False
        text = "journal unavailable: not accepting new orders or amends"
        out = self._undecodable(name, msg_type, message, text)
        begin_string = self.cfg.clients[name].begin_string
        for report in out.to_clients:
            if isinstance(report, ExecutionReport):
                msg = encode_execution_report(report, begin_string)
            else:
                msg = encode_cancel_reject(report, begin_string)
            fix.Session.sendToTarget(msg, self.client_sessions[name])
        return True

    def _tick(self) -> None:
        flush_logs()
        now = time.monotonic()
        if now >= self._next_freeze:
            self._next_freeze = now + GC_FREEZE_EVERY_S
            self.core.forget_done(time.time_ns() - int(self.cfg.done_orders_in_memory_s * 1e9))
            young_objects_only()
        if not self.journal_ok:
            self._probe_journal()
        elif now >= self._next_marks_write and self._batch.empty():  # nothing in flight
            self._next_marks_write = now + WATERMARK_EVERY_S
            self._write_marks()
        self.flow.poll()
        outcome = self.core.check_timeouts(time.time_ns())
        if outcome.to_clients or outcome.to_venues or outcome.changed:
            self._dispatch(outcome, None)

    def _dispatch(self, outcome: Outcome, inbound: EventRecord | None) -> None:
        """Add everything the outcome says to the round's batch: :meth:`flush` journals the batch
        in one transaction at the end of the poll round, then sends it."""
        sends: list[tuple[fix.SessionID, fix.Message]] = []
        venue_sends: list[tuple[VenueCommand, fix.Message]] = []
        events: list[EventRecord] = []
        order_id = next((o.order_id for o in outcome.changed if hasattr(o, "order_id")), None)
        # Every event of one dispatch carries the same timestamp: what a message caused can be
        # found again (see _resend_client_reports).
        ts = inbound.ts_ns if inbound is not None else time.time_ns()
        if inbound is not None:
            events.append(
                EventRecord(inbound.kind, order_id, inbound.session, inbound.msg_type, inbound.text, ts)
            )
        for oid, text in outcome.notes:
            events.append(EventRecord("state", oid, None, None, text, ts))
        for report in outcome.to_clients:
            begin_string = self.cfg.clients[report.session].begin_string
            if isinstance(report, ExecutionReport):
                msg, mt = encode_execution_report(report, begin_string), "8"
            else:
                msg, mt = encode_cancel_reject(report, begin_string), "9"
            msg.getHeader().setField(t.BeginString, begin_string)  # so the journal's copy is whole
            sends.append((self.client_sessions[report.session], msg))
            events.append(EventRecord("client_out", report.order_id, report.session, mt, raw(msg), ts))
            if mt == "8" and report.exec_type is ExecType.REJECTED:
                reason = (report.ord_rej_reason or OrdRejReason.OTHER).name
                self.metrics.rejects[(report.session, reason)] += 1
            # One line per client report, naming client, ClOrdID, OrderID and venue(s): an order
            # can be followed with grep (lines cost ~9 µs each, so the child sends are DEBUG).
            order = self.core.orders.get(report.order_id)
            venues = ",".join(sorted({c.venue for c in order.children})) if order and order.children else "-"
            log.info(
                "%s %s ClOrdID=%s OrderID=%s venue=%s %s",
                report.session,
                "ER" if mt == "8" else "CxlRej",
                report.cl_ord_id,
                report.order_id,
                venues,
                f"{report.exec_type.name} {report.ord_status.name}" if mt == "8" else report.text,
                extra={
                    "client": report.session,
                    "cl_ord_id": report.cl_ord_id,
                    "order_id": report.order_id,
                    "venue": venues,
                },
            )
        debug = log.isEnabledFor(logging.DEBUG)
        for cmd in outcome.to_venues:
            begin_string = self.cfg.venues[cmd.venue].begin_string
            msg = encode_venue_command(cmd, begin_string)
            client, account = self.core.owner_of(cmd.venue, cmd.cl_ord_id)
            self.dialects[cmd.venue].outbound(msg, symbol=cmd.symbol, account=account, client=client or "")
            msg.getHeader().setField(t.BeginString, begin_string)
            venue_sends.append((cmd, msg))
            child = self.core.child_for(cmd.venue, cmd.cl_ord_id)  # one outcome may span orders (close)
            events.append(EventRecord("venue_out", child.parent_id if child else order_id, cmd.venue, None,
                                      raw(msg), ts))  # fmt: skip
            if isinstance(cmd, SendChildOrder):
                self.metrics.orders_out[cmd.venue] += 1
            if debug:
                parent = child.parent_id if child else order_id
                extra = {"client": client, "cl_ord_id": cmd.cl_ord_id, "order_id": parent, "venue": cmd.venue}
                log.debug("%s %s ClOrdID=%s OrderID=%s -> %s", client or "-", type(cmd).__name__,
                          cmd.cl_ord_id, parent, cmd.venue, extra=extra)  # fmt: skip
        batch = self._batch
        batch.events += events
        for o in outcome.changed:
            batch.orders[id(o)] = o
        for p in outcome.positions:
            batch.positions[id(p)] = p
        if outcome.state_changes:  # journaled with the cancels they cause, before any leaves
            batch.state_changed = True
        batch.sends += sends
        batch.venue_sends += venue_sends

    def record_event(self, event: EventRecord) -> None:
        """An event with nothing to send (session, admin, breaker): into the round's batch."""
        self._batch.events.append(event)

    # ------------------------------------------------------------ group commit

    def flush(self) -> bool:
        """Commit the round's batch in one transaction, then send what it holds (loop thread).

        Called by the engine loop after every poll round, and before anything that must see
        the batch journaled and sent (reconciliation requests, admin answers, :meth:`call`).
        False when the journal refused a batch: then nothing of it was sent."""
        ok = True
        for _ in range(3):  # sends may journal again (a circuit-breaker change): commit that too
            batch = self._batch
            if batch.empty():
                break
            self._batch = _Batch()
            ok = self._commit(batch) and ok
        return ok

    def _commit(self, batch: _Batch) -> bool:
        if batch.journals():
            meta = batch.meta
            if batch.state_changed:
                meta[TRADING_STATE_KEY] = json.dumps(self.core.pretrade.states.snapshot())
            # The watermark of batches already sent rides along (this batch's own is stored by
            # the next commit, once its sends are done: a crash before then gets its messages
            # resent and the duplicate handling answers them, as for a kill between commit and send).
            marks = self._marks_to_store()
            meta.update(marks)
            if self._crash_before_commit and any(self._crash_before_commit in e.text for e in batch.events):
                log.critical(
                    "FIXGW_CRASH_BEFORE_COMMIT: exiting before committing %d events", len(batch.events)
                )
                stop_logging()
                os._exit(71)
            try:
                started = time.perf_counter_ns()
                self.journal.write(
                    batch.events,
                    [to_record(o) for o in batch.orders.values()],
                    [position_record(p) for p in batch.positions.values()],
                    meta,
                )
                self.metrics.observe("journal", time.perf_counter_ns() - started)
            except JournalError as exc:
                self._journal_failed(exc)
                self._stored_marks.clear()  # not known to be stored: write them all next time
                self._refuse_batch(batch, exc)
                self._sent_marks.update(batch.marks)  # answered, as one failed message was before
                return False
            self._stored_marks.update({k[len(WATERMARK_KEY) :]: int(v) for k, v in marks.items()})
            if self._crash_after_journal:
                hit = next((e for e in batch.events if self._crash_after_journal in e.text), None)
                if hit is not None:
                    log.critical("FIXGW_CRASH_AFTER_JOURNAL: exiting after journaling %s", hit.text)
                    stop_logging()
                    os._exit(70)
        for sid, msg in batch.sends:
            fix.Session.sendToTarget(msg, sid)
        for cmd, msg in batch.venue_sends:
            self.flow.offer(cmd, msg)
        self._sent_marks.update(batch.marks)
        if batch.inbound:
            now = time.perf_counter_ns()
            for kind, t0 in batch.inbound:
                self._latency(kind, now - t0)
        return True

    def _refuse_batch(self, batch: _Batch, exc: JournalError) -> None:
        """The batch is not journaled: nothing of it is sent; every client message in it is
        answered with a BusinessMessageReject (what a failed write inside its callback got)."""
        text = f"internal error: {type(exc).__name__}: {exc}"[:200]
        for e in batch.events:
            if e.kind != "client_in" or e.session not in self.client_sessions:
                continue
            reject = encode_business_reject(
                e.msg_type or "", raw_field(e.text, t.MsgSeqNum), raw_field(e.text, t.ClOrdID), "0", text
            )
            fix.Session.sendToTarget(reject, self.client_sessions[e.session])

    def _marks_to_store(self) -> dict[str, str]:
        return {
            WATERMARK_KEY + name: str(seq)
            for name, seq in self._sent_marks.items()
            if self._stored_marks.get(name) != seq
        }

    def _write_marks(self) -> None:
        """Between rounds with nothing pending (the tick, shutdown) every message QuickFIX has
        counted is committed and sent (or needed no journal: market data, heartbeats), so each
        session's watermark is exactly its next expected inbound number - 1: store what moved."""
        for name, (_side, sid) in self.all_sessions().items():
            session = fix.Session.lookupSession(sid)
            if session is not None:
                self._sent_marks[name] = session.getExpectedTargetNum() - 1
        marks = self._marks_to_store()
        if not marks:
            return
        try:
            self.journal.write([], [], [], marks)
        except JournalError:
            self._stored_marks.clear()
            return
        self._stored_marks.update({k[len(WATERMARK_KEY) :]: int(v) for k, v in marks.items()})

    def _rewind_inbound(self) -> None:
        """Start-up, before the engines exist: a session whose store counted inbound messages
        beyond the journal's watermark (killed between a round's callbacks and its commit, or
        between the commit and its sends) goes back to the watermark, so the counterparty
        resends them (PossDupFlag=Y) and the duplicate handling applies each once."""
        for name, (store, reset_on_logon) in order_and_md_stores(self.cfg).items():
            saved = self.journal.get_meta(WATERMARK_KEY + name)
            if saved is None:
                continue  # written at the session's first logon
            mark = int(saved)
            self._sent_marks[name] = self._stored_marks[name] = mark
            if reset_on_logon:
                continue  # both sides start from 1 again: nothing can be resent (reconciliation)
            was = rewind_inbound(store, mark)
            if was is not None:
                log.warning("%s: inbound sequence number rewound from %d to %d (the journal's watermark); "
                            "the counterparty resends the rest", name, was, mark + 1)  # fmt: skip

    def _logged_on_marks(self, name: str) -> None:
        """At a logon QuickFIX may have reset the session (ResetSeqNumFlag, ResetOnLogon, a new
        schedule period) or the store may be new: a watermark above what the session now expects
        is lowered at once, in this round's commit (lowering is always safe; raising waits for
        the sends)."""
        sid = self.all_sessions().get(name)
        session = fix.Session.lookupSession(sid[1]) if sid else None
        if session is None:
            return
        self.inbound_reset(name, session.getExpectedTargetNum())

    def inbound_reset(self, name: str, next_in: int, operator: bool = False) -> None:
        """The session's next inbound sequence number is ``next_in``: at a logon the watermark is
        kept at or below ``next_in - 1``; an operator's reset or set-seq sets it there (messages
        skipped on purpose are not asked for again after a restart)."""
        mark = next_in - 1
        lower = self._stored_marks.get(name, mark + 1) > mark or self._sent_marks.get(name, mark + 1) > mark
        if operator or lower:
            self._sent_marks[name] = mark
            self._batch.meta[WATERMARK_KEY + name] = str(mark)
            self._stored_marks.pop(name, None)  # stored by this round's commit

    def _canceled_on_disconnect(self, venue: str) -> None:
        """The venue cancels this session's working orders when it drops: so do we (and re-route)."""
        for child in self.core.open_children(venue):
            canceled = VenueExecution(
                venue, child.cl_ord_id, None, child.venue_order_id or "NONE", f"GW-COD-{time.time_ns()}",
                ExecType.CANCELED, OrdStatus.CANCELED, child.fills.cum_qty, ZERO, child.fills.avg_px,
                text="canceled by the venue on disconnect",
            )  # fmt: skip
            outcome = self.core.venue_execution(canceled)
            self._dispatch(outcome, self._event("state", None, venue, None, "venue cancels on disconnect"))

    def _reconciled(self, outcome: Outcome, venue: str, text: str) -> None:
        self._dispatch(outcome, self._event("state", None, venue, None, f"reconcile: {text}"))

    def _venue_refused(self, cmd: VenueCommand, why: str) -> None:
        """A message the gateway never sent (rate limit, disconnect): the core hears a rejection."""
        if isinstance(cmd, SendChildOrder):
            rejected = VenueExecution(
                cmd.venue, cmd.cl_ord_id, None, "NONE", f"GW-{time.time_ns()}", ExecType.REJECTED,
                OrdStatus.REJECTED, ZERO, ZERO, ZERO, text=why,
            )  # fmt: skip
            outcome = self.core.venue_execution(rejected)
        elif isinstance(cmd, ReplaceChildOrder):
            outcome = self.core.venue_cancel_reject(
                VenueCancelReject(cmd.venue, cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.venue_order_id, None,
                                  CxlRejResponseTo.REPLACE, CxlRejReason.BROKER_OPTION, why)
            )  # fmt: skip
        else:
            log.warning("%s not sent to %s: %s", type(cmd).__name__, cmd.venue, why)
            return
        self._dispatch(outcome, self._event("state", None, cmd.venue, None, f"not sent: {why}"))

    @staticmethod
    def _event(
        kind: str, order_id: str | None, session: str | None, msg_type: str | None, text: str
    ) -> EventRecord:
        return EventRecord(kind, order_id, session, msg_type, text, time.time_ns())
