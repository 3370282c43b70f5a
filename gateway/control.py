"""A local control channel into the running gateway (until the admin API exists).

A Unix socket under ``sessions/`` that takes one JSON request per connection and
answers one JSON reply. It is polled by the engine loop like a QuickFIX engine, so
a request runs on the one thread that owns order state, between FIX messages; its
socket is one of the process's sockets the loop waits on, so it wakes the loop.
Only local users with access to the sessions folder can reach it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("gateway.control")

Handler = Callable[[dict[str, Any]], dict[str, Any]]
_MAX_REQUEST = 64 * 1024


class ControlServer:
    def __init__(self, path: Path, handler: Handler):
        self.path = path
        self.handler = handler
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()  # left behind by a killed gateway
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o600)
        self.sock.listen(8)
        self.sock.setblocking(False)

    def poll(self) -> None:
        """Serve every waiting request; never blocks the loop for long."""
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    reply = self._serve(_read_request(conn))
                except (OSError, ValueError) as exc:
                    reply = {"ok": False, "error": f"bad request: {exc}"}
                with contextlib.suppress(OSError):  # the requester went away
                    conn.sendall(json.dumps(reply).encode() + b"\n")

    def _serve(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"ok": True, **self.handler(request)}
        except (KeyError, ValueError) as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # the loop must survive any request
            log.exception("control request %s failed", request)
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)


def _read_request(conn: socket.socket) -> dict[str, Any]:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_REQUEST:
            raise ValueError("request too large")
    request = json.loads(data or b"{}")
    if not isinstance(request, dict):
        raise ValueError("a request is a JSON object")
    return request


def request(path: Path, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Client side: send one request to a running gateway and return its reply."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ConnectionError(f"no running gateway at {path}: {exc.strerror or exc}") from None
        sock.sendall(json.dumps(payload).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)
