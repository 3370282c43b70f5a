"""The bare pass-through proxy: fixgw's QuickFIX layer with nothing behind it.

A client acceptor and a venue initiator, built exactly as fixgw builds them (the session settings
come from :mod:`gateway.fix.settings` for the same config folder: dictionary validation,
ResetOnLogon, TimeStampPrecision, SocketNodelay and so on; FileStore and FileLog through
:class:`gateway.fix.engine.QuickFixEngine`), callbacks guarded by
:class:`gateway.fix.application.GuardedApplication`, and both engines driven by fixgw's own
:class:`gateway.fix.engine.EngineLoop` with the config's ``engine`` settings: the same threading
model as fixgw's default. The ``memory`` variant only swaps the store for QuickFIX's MemoryStore.

What it does not have: codec, order state, risk, routing, journal. A NewOrderSingle from the
client is copied field by field (the tags ``tools/threading_bench`` forwards, plus HandlInst) into
a new message to the venue, an ExecutionReport from the venue likewise to the client; ClOrdIDs
pass unchanged. Anything else is dropped.

Run as ``python -m gateway.bench.proxy --config DIR/gateway.yaml --store file|memory``: it prints
``READY`` on stdout once the venue session is logged on, and exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

import quickfix as fix

from gateway.bench.config import CLIENT, VENUE
from gateway.config import load_config
from gateway.fix.application import GuardedApplication
from gateway.fix.engine import EngineLoop, QuickFixEngine
from gateway.fix.settings import acceptor_settings, initiator_settings

NOS_TAGS = (11, 21, 55, 54, 60, 38, 40, 44, 59)
ER_TAGS = (37, 17, 150, 39, 11, 55, 54, 38, 40, 44, 59, 151, 14, 6, 60)


class MemoryStoreEngine(QuickFixEngine):
    """:class:`QuickFixEngine` with QuickFIX's MemoryStore instead of the FileStore (same log)."""

    def __init__(self, engine_cls: type, application: fix.Application, settings: fix.SessionSettings):
        self.settings = settings
        self.store_factory = fix.MemoryStoreFactory()
        self.log_factory = fix.FileLogFactory(settings)
        self.engine = engine_cls(application, self.store_factory, settings, self.log_factory)
        self.poll = self.engine.poll


class PassThrough(GuardedApplication):
    """One Application for both engines: D goes to the venue, 8 to the client, by tag copy."""

    name = "proxy"

    def __init__(self, client_sid: fix.SessionID, venue_sid: fix.SessionID):
        super().__init__()
        self.client_sid, self.venue_sid = client_sid, venue_sid
        self.venue_key = venue_sid.toString()
        self.ready = False

    def on_logon(self, session_id: fix.SessionID) -> None:
        if session_id.toString() == self.venue_key and not self.ready:
            self.ready = True
            print("READY", flush=True)

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        mt = message.getHeader().getField(35)
        if mt == "D":
            tags, dest = NOS_TAGS, self.venue_sid
        elif mt == "8":
            tags, dest = ER_TAGS, self.client_sid
        else:
            return
        out = fix.Message()
        out.getHeader().setField(35, mt)
        for tag in tags:
            if message.isSetField(tag):
                out.setField(tag, message.getField(tag))
        fix.Session.sendToTarget(out, dest)


def _die_with_parent() -> None:
    """Exit (without QuickFIX teardown, which can segfault) when the parent closes our stdin."""

    def watch() -> None:
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True, name="stdin-watch").start()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m gateway.bench.proxy", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="the benchmark config folder's gateway.yaml")
    ap.add_argument("--store", choices=("file", "memory"), default="file")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    client, venue = cfg.clients[CLIENT], cfg.venues[VENUE]
    client_sid = fix.SessionID(client.begin_string, client.gateway_comp_id, client.comp_id)
    venue_sid = fix.SessionID(venue.begin_string, venue.gateway_comp_id, venue.comp_id)
    app = PassThrough(client_sid, venue_sid)
    engine = QuickFixEngine if args.store == "file" else MemoryStoreEngine
    cfg.sessions_dir.mkdir(parents=True, exist_ok=True)
    acceptor = engine(fix.SocketAcceptor, app, acceptor_settings(cfg, [client]))
    initiator = engine(fix.SocketInitiator, app, initiator_settings(cfg, [venue]))
    loop = EngineLoop(
        [acceptor, initiator],
        [app],
        spin_s=cfg.engine.spin_ms / 1000,
        idle_sleep_s=cfg.engine.idle_sleep_us / 1e6,
    )
    _die_with_parent()
    loop.run()


if __name__ == "__main__":
    main()
