"""The admin API's routes: what operators see and steer in a running gateway.

Every handler runs on the engine loop thread (see :mod:`gateway.admin.server`), so it reads
and changes the gateway's state directly. Every state-changing call is journaled as an
``admin`` event naming who asked (the client's X-Fixgw-Actor and address) and what.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import quickfix as fix
from prometheus_client import generate_latest

from gateway.admin.server import HttpError, Request, Response
from gateway.config import ConfigError
from gateway.journal.journal import EventRecord
from gateway.orders.model import ClientOrder

if TYPE_CHECKING:
    from gateway.runtime import Gateway

Route = tuple[str, re.Pattern[str], Callable[..., Any]]


def _iso(epoch_s: float | None) -> str | None:
    return (
        None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds")
    )


class AdminApi:
    def __init__(self, gw: Gateway):
        self.gw = gw
        self.routes: list[Route] = [
            ("GET", re.compile(r"/api/sessions"), self.sessions),
            (
                "POST",
                re.compile(r"/api/sessions/(?P<name>[^/]+)/(?P<action>logout|logon|reset|set-seq)"),
                self.session_action,
            ),
            ("GET", re.compile(r"/api/orders"), self.orders),
            ("GET", re.compile(r"/api/orders/(?P<order_id>[^/]+)"), self.order),
            ("POST", re.compile(r"/api/orders/(?P<order_id>[^/]+)/cancel"), self.cancel_order),
            ("GET", re.compile(r"/api/positions"), self.positions),
            ("GET", re.compile(r"/api/venues"), self.venues),
            ("GET", re.compile(r"/api/quiescence"), self.quiescence),
            ("POST", re.compile(r"/api/kill-switch"), self.kill_switch),
            ("GET", re.compile(r"/api/trading-state"), self.trading_state),
            ("POST", re.compile(r"/api/trading-state"), self.set_trading_state),
            ("GET", re.compile(r"/api/risk"), self.risk),
            ("POST", re.compile(r"/api/risk"), self.set_risk),
            ("POST", re.compile(r"/api/reload"), self.reload),
            ("GET", re.compile(r"/api/latency"), self.latency),
            ("POST", re.compile(r"/api/latency/reset"), self.reset_latency),
            ("GET", re.compile(r"/metrics"), self.metrics),
        ]

    def __call__(self, req: Request) -> Response:
        allowed = []
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(req.path.rstrip("/") or "/")
            if m is None:
                continue
            if method != req.method:
                allowed.append(method)
                continue
            # Group commit: a read sees what this round's messages journaled, and what an action
            # journaled is committed and sent before it is answered.
            self.gw.flush()
            result = handler(req, **m.groupdict())
            if not self.gw.flush():
                raise HttpError(
                    503, "journal unavailable: the action was not journaled, nothing of it was sent"
                )
            return result if isinstance(result, Response) else Response(200, result)
        if allowed:
            raise HttpError(405, f"{req.method} not allowed on {req.path} (use {', '.join(allowed)})")
        raise HttpError(404, f"no such endpoint: {req.path}")

    def _journal(self, req: Request, target: str | None, text: str) -> None:
        """Into the gateway's batch, committed before the answer (see __call__)."""
        self.gw.record_event(
            EventRecord("admin", None, target, None, f"{text} (by {req.actor})", time.time_ns())
        )

    # -- sessions -------------------------------------------------------------------------------

    def sessions(self, req: Request) -> list[dict]:
        rows = []
        for name, (side, sid) in self.gw.all_sessions().items():
            session = fix.Session.lookupSession(sid)
            app = self.gw.clients if side == "client" else self.gw.venues
            rows.append({
                "name": name,
                "side": side,
                "fix_version": sid.getBeginString().getValue(),
                "sender_comp_id": sid.getSenderCompID().getValue(),
                "target_comp_id": sid.getTargetCompID().getValue(),
                "logged_on": bool(session and session.isLoggedOn()),
                "enabled": bool(session and session.isEnabled()),
                "since": _iso(app.changed_at.get(name)),
                "next_in": session.getExpectedTargetNum() if session else None,
                "next_out": session.getExpectedSenderNum() if session else None,
                "last_message": _iso(app.last_seen.get(name)),
            })  # fmt: skip
        return rows

    def session_action(self, req: Request, name: str, action: str) -> dict:
        ids = self.gw.all_sessions()
        if name not in ids:
            raise HttpError(404, f"unknown session {name!r} (sessions: {', '.join(ids)})")
        session = fix.Session.lookupSession(ids[name][1])
        if session is None:
            raise HttpError(409, f"session {name} is not running")
        body = req.body or {}
        if action == "logout":
            session.logout(str(body.get("reason") or "logged out by the operator"))
            text = "logged out; it stays down until logon"
        elif action == "logon":
            session.logon()
            text = "enabled for logon"
        elif action == "reset":
            session.reset()
            self.gw.inbound_reset(name, 1, operator=True)
            text = "sequence numbers reset to 1 (logged out if it was on)"
        else:
            seq_in, seq_out = body.get("in"), body.get("out")
            if seq_in is None and seq_out is None:
                raise ValueError("set-seq needs 'in' and/or 'out'")
            for value in (seq_in, seq_out):
                if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                    raise ValueError(f"sequence numbers are integers >= 1, got {value!r}")
            if seq_in is not None:
                session.setNextTargetMsgSeqNum(seq_in)
                self.gw.inbound_reset(name, seq_in, operator=True)
            if seq_out is not None:
                session.setNextSenderMsgSeqNum(seq_out)
            text = f"next sequence numbers set: in {seq_in or 'unchanged'}, out {seq_out or 'unchanged'}"
        self._journal(req, name, f"session {name} {action}: {text}")
        return {"session": name, "action": action, "result": text}

    # -- orders ---------------------------------------------------------------------------------

    def orders(self, req: Request) -> list[dict]:
        every = req.query.get("all") in ("1", "true", "yes")
        client = req.query.get("client")
        rows = [
            _order_row(o)
            for o in self.gw.core.orders.values()
            if (every or o.is_open) and (client is None or o.session == client)
        ]
        return sorted(rows, key=lambda r: r["updated"] or "")

    def _find(self, key: str) -> ClientOrder:
        core = self.gw.core
        order = core.orders.get(key) or next((o for o in core.orders.values() if o.cl_ord_id == key), None)
        if order is None:
            raise HttpError(404, f"unknown order {key!r} (an OrderID or a current ClOrdID)")
        return order

    def order(self, req: Request, order_id: str) -> dict:
        order = self._find(order_id)
        return {**_order_row(order), "children": [_child_row(c) for c in order.children]}

    def cancel_order(self, req: Request, order_id: str) -> dict:
        order = self._find(order_id)
        reason = f"canceled by the operator: {(req.body or {}).get('reason') or 'no reason given'}"
        outcome = self.gw.core.cancel_by_operator(order.order_id, reason)
        self.gw.dispatch_admin(
            outcome, order.session, f"operator cancel of {order.order_id} (by {req.actor})"
        )
        return {"order_id": order.order_id, "canceling": outcome.canceled}

    def positions(self, req: Request) -> list[dict]:
        client = req.query.get("client")
        rows = []
        for p in self.gw.core.pretrade.positions.positions(client):
            rows.append({
                "client": p.client, "account": p.account, "symbol": p.symbol, "qty": str(p.qty),
                "avg_cost": str(p.avg_cost), "realised_pnl": str(p.realised_pnl), "bought": str(p.bought),
                "sold": str(p.sold),
            })  # fmt: skip
        return rows

    # -- venues, risk, trading state ------------------------------------------------------------

    def venues(self, req: Request) -> list[dict]:
        gw = self.gw
        now = time.time_ns()
        rows = []
        for name, vcfg in gw.cfg.venues.items():
            breaker = gw.flow.breakers[name]
            breaker.is_open(now)  # brings a time-driven change (open -> half-open) up to date
            limiter = gw.flow.limiters.get(name)
            rows.append({
                "name": name,
                "fix_version": vcfg.begin_string,
                "logged_on": name in gw.venues.logged_on,
                "simulated": vcfg.simulated,
                "circuit_breaker": breaker.state.value,
                "consecutive_rejects": breaker.consecutive_rejects,
                "rate_limit_headroom": None if limiter is None else limiter.headroom(now),
                "queued": 0 if limiter is None else limiter.queued,
                "working_children": len(gw.core.open_children(name)),
                "ack_latency_us": gw.flow.ack_latency_us(name),
            })  # fmt: skip
        return rows

    def quiescence(self, req: Request) -> dict:
        """One consistent snapshot for ``fixgw backtest``: every session's logon state and sequence
        numbers, and each venue's circuit-breaker state (read-only)."""
        sessions = {}
        for name, (_side, sid) in self.gw.all_sessions().items():
            session = fix.Session.lookupSession(sid)
            sessions[name] = {
                "logged_on": bool(session and session.isLoggedOn()),
                "next_in": session.getExpectedTargetNum() if session else None,
                "next_out": session.getExpectedSenderNum() if session else None,
            }
        now = time.time_ns()
        breakers = {}
        for name, breaker in self.gw.flow.breakers.items():
            breaker.is_open(now)
            breakers[name] = breaker.state.value
        return {"sessions": sessions, "breakers": breakers}

    def kill_switch(self, req: Request) -> dict:
        body = req.body or {}
        action = body.get("action")
        if action not in ("engage", "release"):
            raise ValueError("action must be engage or release")
        scope, target = body.get("scope", "global"), body.get("target")
        reason = str(body.get("reason") or f"operator {req.actor}")
        result = self.gw.kill_switch(action == "engage", scope, target, reason)
        self._journal(req, target, f"kill switch {action}: {scope} {target or ''}".rstrip())
        return result

    def trading_state(self, req: Request) -> dict:
        return self.gw.trading_state()

    def set_trading_state(self, req: Request) -> dict:
        body = req.body or {}
        scope, target = body.get("scope", "global"), body.get("target")
        self.gw.set_trading_state(scope, target, str(body.get("state")), str(body.get("reason") or ""))
        self._journal(req, target, f"trading state {scope} {target or ''} set to {body.get('state')}")
        return self.gw.trading_state()

    def risk(self, req: Request) -> dict:
        engine = self.gw.core.pretrade.risk
        clients = [req.query["client"]] if "client" in req.query else list(self.gw.cfg.clients)
        out = {}
        for client in clients:
            if client not in self.gw.cfg.clients:
                raise HttpError(404, f"unknown client session {client!r}")
            limits = engine.limits(client) if engine is not None else []
            out[client] = [{"check": name, "params": params} for name, params in limits]
        return out

    def set_risk(self, req: Request) -> dict:
        body = req.body or {}
        client, check, param = body.get("client"), body.get("check"), body.get("param")
        if not (client and check and param) or "value" not in body:
            raise ValueError("risk set needs client, check, param and value")
        engine = self.gw.core.pretrade.risk
        if engine is None:
            raise HttpError(409, "the gateway runs without risk checks")
        try:
            self.gw.set_risk_param(client, check, param, body["value"])
        except ConfigError as exc:  # names the config file and key of the check
            raise HttpError(400, f"{exc} (limit unchanged)") from None
        self._journal(req, client, f"risk {client} {check}.{param} set to {body['value']!r}")
        return {client: [{"check": n, "params": p} for n, p in engine.limits(client)]}

    def reload(self, req: Request) -> dict:
        orders = (req.body or {}).get("removed_venue_orders", "leave")
        if orders not in ("leave", "cancel"):
            raise ValueError("removed_venue_orders must be leave or cancel")
        try:
            result = self.gw.reload(orders, req.actor)
        except ConfigError as exc:
            raise HttpError(400, f"reload refused, nothing changed: {exc}") from None
        return result

    def latency(self, req: Request) -> dict:
        """Gateway-internal time per inbound message (µs percentiles): client message in ->
        everything it caused sent ("client"), venue report in -> likewise ("venue")."""
        return self.gw.latency.summary()

    def reset_latency(self, req: Request) -> dict:
        self.gw.latency.clear()
        return {}

    def metrics(self, req: Request) -> Response:
        return Response(
            200, generate_latest(self.gw.metrics.registry), "text/plain; version=0.0.4; charset=utf-8"
        )


def _order_row(o: ClientOrder) -> dict:
    return {
        "order_id": o.order_id,
        "client": o.session,
        "cl_ord_id": o.cl_ord_id,
        "symbol": o.symbol,
        "side": o.side.name.lower(),
        "qty": str(o.qty),
        "price": None if o.price is None else str(o.price),
        "status": o.ord_status.name.lower(),
        "cum_qty": str(o.fills.cum_qty),
        "avg_px": str(o.fills.avg_px),
        "leaves_qty": str(o.leaves_qty),
        "venues": sorted({c.venue for c in o.children}),
        "updated": _iso(o.updated_ns / 1e9) if o.updated_ns else None,
    }


def _child_row(c) -> dict:
    return {
        "cl_ord_id": c.cl_ord_id,
        "venue": c.venue,
        "venue_order_id": c.venue_order_id,
        "qty": str(c.qty),
        "price": None if c.price is None else str(c.price),
        "status": c.status.name.lower(),
        "cum_qty": str(c.fills.cum_qty),
        "avg_px": str(c.fills.avg_px),
    }
