"""A QuickFIX Application whose callbacks can neither raise nor block the engine.

In the Python binding, an exception escaping a callback calls ``Py_Exit`` and
hangs the engine thread with every session on it. Only the four QuickFIX
exceptions the binding translates into FIX rejects may pass (FieldNotFound,
IncorrectDataFormat, IncorrectTagValue, UnsupportedMessageType; RejectLogon
from fromAdmin, DoNotSend from toApp); everything else is logged and turned
into a FIX answer by :meth:`GuardedApplication.on_error`.
"""

from __future__ import annotations

import logging

import quickfix as fix

log = logging.getLogger("gateway.fix")

PASS_THROUGH = (
    fix.FieldNotFound,
    fix.IncorrectDataFormat,
    fix.IncorrectTagValue,
    fix.UnsupportedMessageType,
    fix.RejectLogon,
    fix.DoNotSend,
)


class GuardedApplication(fix.Application):
    """Subclasses override the ``on_*`` hooks; the QuickFIX callbacks here only guard them."""

    name = "fix"

    def __init__(self) -> None:
        super().__init__()
        self.activity = 0  # bumped on every callback; the engine loop spins while it moves

    # -- hooks for subclasses (the message is borrowed: copy what you keep)
    def on_create(self, session_id: fix.SessionID) -> None: ...
    def on_logon(self, session_id: fix.SessionID) -> None: ...
    def on_logout(self, session_id: fix.SessionID) -> None: ...
    def on_to_admin(self, message: fix.Message, session_id: fix.SessionID) -> None: ...
    def on_from_admin(self, message: fix.Message, session_id: fix.SessionID) -> None: ...
    def on_to_app(self, message: fix.Message, session_id: fix.SessionID) -> None: ...
    def on_from_app(self, message: fix.Message, session_id: fix.SessionID) -> None: ...

    def on_error(self, message: fix.Message | None, session_id: fix.SessionID, exc: BaseException) -> None:
        """Answer a message whose handling failed; the default only logs."""

    # -- QuickFIX callbacks
    def onCreate(self, sessionID):
        self._guard(self.on_create, None, sessionID)

    def onLogon(self, sessionID):
        self.activity += 1
        self._guard(self.on_logon, None, sessionID)

    def onLogout(self, sessionID):
        self.activity += 1
        self._guard(self.on_logout, None, sessionID)

    def toAdmin(self, message, sessionID):
        self._guard(self.on_to_admin, message, sessionID)

    def fromAdmin(self, message, sessionID):
        self.activity += 1
        self._guard(self.on_from_admin, message, sessionID)

    def toApp(self, message, sessionID):
        self._guard(self.on_to_app, message, sessionID)

    def fromApp(self, message, sessionID):
        self.activity += 1
        self._guard(self.on_from_app, message, sessionID)

    def _guard(self, hook, message, session_id) -> None:
        try:
            if message is None:
                hook(session_id)
            else:
                hook(message, session_id)
        except PASS_THROUGH:
            raise
        except BaseException as exc:  # nothing may escape into QuickFIX
            log.exception("%s: %s failed on %s", self.name, hook.__name__, session_id.toString())
            try:
                self.on_error(message, session_id, exc)
            except BaseException:
                log.exception("%s: error handler failed", self.name)
