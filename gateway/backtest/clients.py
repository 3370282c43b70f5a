"""The order-flow side: one QuickFIX initiator with a FIX client session per flow client.

Orders go out through the codec's order encoders; ExecutionReports and cancel rejects from the
gateway are decoded by the codec and held in :attr:`ClientApp.inbox` until the coordinator has
reached quiescence, so they are handled in a deterministic order whatever the wall-clock timing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import CodecError, msg_type, opt
from gateway.codec.venue import decode_venue_message, encode_venue_command
from gateway.config.loader import BASE_DICTIONARIES, FIX_SPECS_DIR
from gateway.config.model import BEGIN_STRINGS
from gateway.fix.application import GuardedApplication
from gateway.fix.engine import QuickFixEngine
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.orders.messages import (
    CancelChildOrder,
    ReplaceChildOrder,
    SendChildOrder,
    VenueCancelReject,
    VenueExecution,
)
from gateway.tools.testbed import HOST


@dataclass(frozen=True)
class Inbound:
    client: str
    report: VenueExecution | VenueCancelReject
    last_mkt: str | None
    wall_ns: int


class ClientApp(GuardedApplication):
    name = "backtest-clients"

    def __init__(self, gateway_comp_id: str, clients: dict[str, str]):
        super().__init__()
        self.begin = {c: BEGIN_STRINGS[v] for c, v in clients.items()}
        self.sids = {c: fix.SessionID(self.begin[c], c, gateway_comp_id) for c in clients}
        self.inbox: list[Inbound] = []
        self.errors: list[str] = []

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        client = session_id.getSenderCompID().getValue()
        mt = msg_type(message)
        if mt not in ("8", "9"):
            self.errors.append(f"{client}: unexpected message type {mt} from the gateway")
            return
        try:
            report = decode_venue_message(mt, message, client, self.begin[client])
        except CodecError as exc:
            self.errors.append(f"{client}: undecodable {mt}: {exc}")
            return
        self.inbox.append(Inbound(client, report, opt(message, t.LastMkt), time.time_ns()))

    def take_inbox(self) -> list[Inbound]:
        out, self.inbox = self.inbox, []
        return out

    def counts(self, client: str) -> tuple[bool, int | None, int | None]:
        session = fix.Session.lookupSession(self.sids[client])
        if session is None:
            return False, None, None
        return session.isLoggedOn(), session.getExpectedTargetNum(), session.getExpectedSenderNum()

    def logged_on(self) -> bool:
        return all(self.counts(c)[0] for c in self.sids)

    # ------------------------------------------------------------------ sending

    def _send(self, client: str, cmd) -> None:
        fix.Session.sendToTarget(encode_venue_command(cmd, self.begin[client]), self.sids[client])

    def new_order(
        self, client: str, cl_ord_id: str, symbol: str, side: Side, ord_type: OrdType,
        qty: Decimal, price: Decimal | None, tif: TimeInForce,
    ) -> None:  # fmt: skip
        self._send(client, SendChildOrder("", cl_ord_id, symbol, side, ord_type, qty, price, tif))

    def cancel(self, client: str, cl_ord_id: str, orig: str, symbol: str, side: Side, qty: Decimal) -> None:
        self._send(client, CancelChildOrder("", cl_ord_id, orig, None, symbol, side, qty))

    def replace(
        self, client: str, cl_ord_id: str, orig: str, symbol: str, side: Side, ord_type: OrdType,
        qty: Decimal, price: Decimal | None, tif: TimeInForce,
    ) -> None:  # fmt: skip
        self._send(
            client, ReplaceChildOrder("", cl_ord_id, orig, None, symbol, side, ord_type, qty, price, tif)
        )


def client_engine(app: ClientApp, sessions_dir: Path, port: int) -> QuickFixEngine:
    """A SocketInitiator for every client session of ``app``, connecting to the gateway on ``port``."""
    settings = fix.SessionSettings()
    base = fix.Dictionary()
    for k, v in {
        "ConnectionType": "initiator",
        "FileStorePath": str(sessions_dir / "store" / "backtest-clients"),
        "FileLogPath": str(sessions_dir / "log" / "backtest-clients"),
        "StartTime": "00:00:00",
        "EndTime": "00:00:00",
        "HeartBtInt": "60",
        "ReconnectInterval": "1",
        "SocketConnectHost": HOST,
        "SocketConnectPort": str(port),
        "UseDataDictionary": "Y",
        "TimeStampPrecision": "3",
        "SocketNodelay": "Y",
    }.items():
        base.setString(k, v)
    settings.set(base)
    for client, sid in app.sids.items():
        d = fix.Dictionary()
        version = next(v for v, b in BEGIN_STRINGS.items() if b == app.begin[client])
        d.setString("DataDictionary", str(FIX_SPECS_DIR / BASE_DICTIONARIES[version]))
        settings.set(sid, d)
    return QuickFixEngine(fix.SocketInitiator, app, settings)
