"""The two faces of the gateway on QuickFIX: the client acceptor and the venue initiator.

They only translate QuickFIX callbacks into calls on a handler with the session's
configured name; what happens to a message is the runtime's business.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

import quickfix as fix

from gateway.codec.fields import msg_type
from gateway.fix.application import GuardedApplication

log = logging.getLogger("gateway.fix")


class SessionHandler(Protocol):
    def on_session_up(self, side: str, name: str) -> None: ...
    def on_session_down(self, side: str, name: str) -> None: ...
    def on_admin_message(self, side: str, name: str, msg_type: str) -> None: ...
    def on_message(self, side: str, name: str, msg_type: str, message: fix.Message) -> None: ...
    def on_message_error(
        self, side: str, name: str, message: fix.Message | None, exc: BaseException
    ) -> None: ...


class SessionSide(GuardedApplication):
    """``side`` is "client" or "venue"; ``names`` maps a SessionID string to the configured name."""

    def __init__(self, side: str, names: dict[str, str], handler: SessionHandler):
        super().__init__()
        self.name = side
        self.side = side
        self.names = names
        self.ids: dict[str, fix.SessionID] = {}
        self.logged_on: set[str] = set()
        self.changed_at: dict[str, float] = {}  # name -> when it last logged on or out (epoch s)
        self.last_seen: dict[str, float] = {}  # name -> when its last message arrived (epoch s)
        self.handler = handler

    def session_name(self, session_id: fix.SessionID) -> str:
        return self.names[session_id.toString()]

    def on_create(self, session_id: fix.SessionID) -> None:
        self.ids[self.session_name(session_id)] = session_id

    def on_logon(self, session_id: fix.SessionID) -> None:
        name = self.session_name(session_id)
        self.logged_on.add(name)
        self.changed_at[name] = time.time()
        log.info("%s session %s logged on", self.side, name)
        self.handler.on_session_up(self.side, name)

    def on_logout(self, session_id: fix.SessionID) -> None:
        # QuickFIX also calls onLogout for every failed connect attempt: report real logouts only.
        name = self.session_name(session_id)
        if name not in self.logged_on:
            return
        self.logged_on.discard(name)
        self.changed_at[name] = time.time()
        log.info("%s session %s logged out", self.side, name)
        self.handler.on_session_down(self.side, name)

    def on_from_admin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        name = self.names.get(session_id.toString())
        if name is not None:
            self.last_seen[name] = time.time()
            self.handler.on_admin_message(self.side, name, msg_type(message))

    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None:
        name = self.session_name(session_id)
        self.last_seen[name] = time.time()
        self.handler.on_message(self.side, name, msg_type(message), message)

    def on_error(self, message: fix.Message | None, session_id: fix.SessionID, exc: BaseException) -> None:
        self.handler.on_message_error(self.side, self.names.get(session_id.toString(), "?"), message, exc)
