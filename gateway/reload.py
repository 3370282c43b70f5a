"""Apply a changed configuration to a running gateway (``fixgw reload``, SIGHUP).

Runs on the engine loop thread. What it changes, and how:

* risk limits, routing, instruments (routes, tick and lot sizes, reference prices) and
  ``ack_timeout_s``: rebuilt from the new files; the next order sees them. Limits changed live
  with ``fixgw risk set`` are replaced by the files.
* a new venue: its initiator (and its simulator, when simulated) starts beside the running
  ones; nothing else is touched.
* a removed venue: drained. It is HALTED (no new orders), its working orders are canceled or
  left (``--removed-venue-orders``), and its session stays up until the next start so the
  orders left there keep reporting.
* a new client: QuickFIX cannot add a session to a running acceptor, so a client added live
  has its own ``accept_port``; a new acceptor for it alone starts and no other client's session
  is touched. Without one it starts at the next start (the result says so).
* a removed client: logged out, its session disabled and HALTED; its orders stay.
* anything else (CompIDs, ports, stores, a session's own settings): reported as needing a
  restart, and left as it runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING

import quickfix as fix

from gateway.codec.dialect import Dialect
from gateway.config import ClientConfig, GatewayConfig, VenueConfig
from gateway.fix.engine import QuickFixEngine
from gateway.fix.settings import acceptor_settings, initiator_settings, session_id
from gateway.risk.pretrade import PreTrade
from gateway.routing.router import Router

if TYPE_CHECKING:
    from gateway.runtime import Gateway

log = logging.getLogger("gateway.reload")

_RESTART_FIELDS = ("comp_id", "home", "sessions_dir", "acceptor", "engine", "store", "admin", "schedule")


def apply(gw: Gateway, new: GatewayConfig, removed_venue_orders: str = "leave") -> list[str]:
    """Bring ``gw`` in line with ``new`` as far as it can live; returns what happened, one line each."""
    old = gw.cfg
    changes: list[str] = []
    changes += [f"gateway.{f} changed: applies at the next start" for f in _RESTART_FIELDS
                if getattr(old, f) != getattr(new, f)]  # fmt: skip

    added_venues = [v for n, v in new.venues.items() if n not in old.venues]
    removed_venues = [n for n in old.venues if n not in new.venues]
    for n, v in new.venues.items():
        if n in old.venues and old.venues[n] != v:
            changes.append(f"venue {n} changed: its session settings apply at the next start")
    live_clients = {n: c for n, c in new.clients.items() if n in old.clients}
    for n, c in new.clients.items():
        if n in old.clients and _session_part(old.clients[n]) != _session_part(c):
            changes.append(f"client {n} changed: its session settings apply at the next start")
    added_clients = [c for n, c in new.clients.items() if n not in old.clients]
    for c in added_clients:
        if c.accept_port is None:
            changes.append(f"client {c.name} added: its session starts at the next start (a client added "
                           f"live needs its own accept_port)")  # fmt: skip
        else:
            live_clients[c.name] = c
    removed_clients = [n for n in old.clients if n not in new.clients]
    live_clients.update({n: old.clients[n] for n in removed_clients})  # known while their orders live

    effective = dataclasses.replace(
        new,
        comp_id=old.comp_id, home=old.home, sessions_dir=old.sessions_dir, acceptor=old.acceptor,
        engine=old.engine, store=old.store, admin=old.admin, schedule=old.schedule,
        clients=live_clients,
        venues={**{n: old.venues[n] for n in new.venues if n in old.venues},
                **{v.name: v for v in added_venues}, **{n: old.venues[n] for n in removed_venues}},
    )  # fmt: skip
    gw.cfg = effective
    _rebuild_trading_rules(gw, effective, routable=set(new.venues), changes=changes)

    for v in added_venues:
        _start_venue(gw, effective, v)
        changes.append(f"venue {v.name} added: its session starts now")
    for name in removed_venues:
        changes.append(_drain_venue(gw, name, removed_venue_orders))
    for c in added_clients:
        if c.accept_port is not None:
            _start_client(gw, effective, c)
            changes.append(f"client {c.name} added: listening on port {c.accept_port}")
    for name in removed_clients:
        session = fix.Session.lookupSession(gw.client_sessions[name])
        if session is not None:
            session.logout("session removed from the gateway's configuration")
        gw.set_trading_state("client", name, "halted", "removed from the configuration")
        changes.append(f"client {name} removed: logged out and HALTED; its orders stay")
    for line in changes:
        log.warning("reload: %s", line)
    return changes


def _session_part(c: ClientConfig) -> ClientConfig:
    """A client's settings without the parts reload applies live."""
    return dataclasses.replace(c, risk=None, routing=None, cancel_on_disconnect=None)


def _rebuild_trading_rules(gw: Gateway, cfg: GatewayConfig, routable: set[str], changes: list[str]) -> None:
    """Risk, routing and instrument terms from ``cfg``; ``routable`` venues may get new orders."""
    core = gw.core
    core.pretrade.adopt_rules(PreTrade.from_config(cfg, core.pretrade.clock, market=gw.market))
    if gw.journal.get_meta("risk_overrides") not in (None, "{}"):
        gw.journal.set_meta("risk_overrides", json.dumps({}))
        changes.append("limits changed live (fixgw risk set) are replaced by the configuration")
    router = Router.from_config(dataclasses.replace(cfg, venues={n: v for n, v in cfg.venues.items()
                                                               if n in routable}), gw.market)  # fmt: skip
    if core.router is not None:
        router.stats = core.router.stats
    router.breaker_open, router.headroom = gw.flow.breaker_open, gw.flow.headroom
    core.router = router
    core.routes = {s: i.venue for s, i in cfg.instruments.items()}
    core.venues = set(routable)
    core.ack_timeout_ns = int(cfg.ack_timeout_s * 1e9)


def _start_venue(gw: Gateway, cfg: GatewayConfig, v: VenueConfig) -> None:
    sid = session_id(v.begin_string, v.gateway_comp_id, v.comp_id)
    gw.venue_sessions[v.name] = sid
    gw.venues.names[sid.toString()] = v.name
    gw.dialects[v.name] = Dialect.from_config(v)
    gw.flow.add(v)
    if v.simulated:  # listening before the initiator's first connect
        from gateway.simulator.venue import SimulatorHost

        host = SimulatorHost(cfg, [v])
        host.attach(gw.loop)
        gw.live_engines.append(host)
        for engine, app in zip(host.engines, host.venues, strict=True):
            gw.loop.add(engine, app)
    engine = QuickFixEngine(fix.SocketInitiator, gw.venues, initiator_settings(cfg, [v]))
    gw.live_engines.append(engine)
    gw.loop.add(engine)


def _drain_venue(gw: Gateway, name: str, orders: str) -> str:
    working = len(gw.core.open_children(name))
    gw.set_trading_state("venue", name, "halted", "removed from the configuration")
    if orders == "cancel":
        outcome = gw.core.cancel_venue_orders(name, f"canceled: venue {name} removed from the configuration")
        gw.dispatch_admin(outcome, name, f"venue {name} removed: canceling its working orders")
        what = f"{len(outcome.canceled)} working orders canceled"
    else:
        what = f"{working} working orders left there"
    return f"venue {name} removed: HALTED, {what}; its session stays up until the next start"


def _start_client(gw: Gateway, cfg: GatewayConfig, c: ClientConfig) -> None:
    sid = session_id(c.begin_string, c.gateway_comp_id, c.comp_id)
    gw.client_sessions[c.name] = sid
    gw.clients.names[sid.toString()] = c.name
    engine = QuickFixEngine(fix.SocketAcceptor, gw.clients, acceptor_settings(cfg, [c]))
    gw.live_engines.append(engine)
    gw.loop.add(engine)
