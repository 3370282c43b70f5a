"""The admin API's HTTP server: JSON over HTTP/1.1 on 127.0.0.1, bearer-token authenticated.

It is polled by the engine loop like a QuickFIX engine, so every request runs on the one
thread that owns order state, between FIX messages, with no lock. h11 (python-hyper's
sans-I/O HTTP/1.1 state machine) parses and frames the bytes: it does no I/O of its own, so
the sockets stay non-blocking in our loop and a slow or stalled admin client can never hold
the engine thread, which a threaded server (http.server, aiohttp) would make us coordinate.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

log = logging.getLogger("gateway.admin")

_MAX_BODY = 256 * 1024
_IDLE_S = 10.0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON (None when empty)
    actor: str  # who, as the client says (X-Fixgw-Actor) and from where


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes with ``content_type``
    content_type: str = "application/json"


class HttpError(Exception):
    """Raised by handlers: answered with this status and ``{"error": message}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


Handler = Callable[[Request], Response]


@dataclass
class _Conn:
    sock: socket.socket
    peer: str
    h11: h11.Connection = field(default_factory=lambda: h11.Connection(h11.SERVER))
    request: h11.Request | None = None
    body: bytearray = field(default_factory=bytearray)
    last_io: float = field(default_factory=time.monotonic)


class AdminServer:
    def __init__(self, host: str, port: int, token: str, handler: Handler):
        if not token:
            raise ValueError("the admin API needs a token")
        self._token = token.encode()
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self._conns: dict[int, _Conn] = {}
        # The loop polls this between FIX messages: one poll(2) answers "anything to do?"
        # (an accept() that fails costs a syscall and a Python exception every time).
        self._ready = select.poll()
        self._ready.register(self.sock, select.POLLIN)

    # -- engine-loop side ---------------------------------------------------------------------

    def poll(self) -> None:
        """Accept, read what has arrived, answer complete requests; never blocks."""
        if not self._ready.poll(0):
            if self._conns:
                self._close_idle()
            return
        while True:
            try:
                sock, addr = self.sock.accept()
            except BlockingIOError:
                break
            sock.setblocking(False)
            self._conns[sock.fileno()] = _Conn(sock, f"{addr[0]}:{addr[1]}")
            self._ready.register(sock, select.POLLIN)
        if not self._conns:
            return
        now = time.monotonic()
        for fd, conn in list(self._conns.items()):
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                if now - conn.last_io > _IDLE_S:
                    self._close(fd)
                continue
            except OSError:
                self._close(fd)
                continue
            conn.last_io = now
            conn.h11.receive_data(data)
            try:
                self._serve(conn)
            except (h11.RemoteProtocolError, ValueError) as exc:
                with contextlib.suppress(Exception):
                    self._send(conn, Response(400, {"error": f"bad request: {exc}"}))
                self._close(fd)
                continue
            if conn.h11.our_state in (h11.MUST_CLOSE, h11.CLOSED) or not data:
                self._close(fd)

    def close(self) -> None:
        for fd in list(self._conns):
            self._close(fd)
        self.sock.close()

    def _close(self, fd: int) -> None:
        conn = self._conns.pop(fd, None)
        if conn is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._ready.unregister(fd)
            with contextlib.suppress(OSError):
                conn.sock.close()

    def _close_idle(self) -> None:
        now = time.monotonic()
        for fd, conn in list(self._conns.items()):
            if now - conn.last_io > _IDLE_S:
                self._close(fd)

    def _serve(self, conn: _Conn) -> None:
        while True:
            event = conn.h11.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                conn.request, conn.body = event, bytearray()
            elif isinstance(event, h11.Data):
                conn.body += event.data
                if len(conn.body) > _MAX_BODY:
                    raise ValueError("body too large")
            elif isinstance(event, h11.EndOfMessage):
                assert conn.request is not None
                self._send(conn, self._answer(conn, conn.request, bytes(conn.body)))
                return  # one request per connection (responses say Connection: close)
            elif isinstance(event, h11.ConnectionClosed):
                return

    def _answer(self, conn: _Conn, req: h11.Request, body: bytes) -> Response:
        headers = {k.decode().lower(): v.decode(errors="replace") for k, v in req.headers}
        target = urlsplit(req.target.decode(errors="replace"))
        method = req.method.decode()
        actor = f"{headers.get('x-fixgw-actor', 'unknown')}@{conn.peer}"
        if not self._authorised(headers.get("authorization", "")):
            log.warning("admin: refused %s %s from %s: missing or wrong token", method, target.path, actor)
            return Response(401, {"error": "missing or wrong token"})
        try:
            parsed = json.loads(body) if body.strip() else None
        except ValueError:
            return Response(400, {"error": "the body is not JSON"})
        query = {k: v[-1] for k, v in parse_qs(target.query).items()}
        request = Request(method, target.path, query, parsed, actor)
        try:
            return self.handler(request)
        except HttpError as exc:
            return Response(exc.status, {"error": str(exc)})
        except (KeyError, ValueError) as exc:
            return Response(400, {"error": str(exc).strip("'\"")})
        except Exception as exc:  # the engine loop must survive any request
            log.exception("admin: %s %s failed", method, target.path)
            return Response(500, {"error": f"{type(exc).__name__}: {exc}"})

    def _authorised(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self._token)

    @staticmethod
    def _send(conn: _Conn, resp: Response) -> None:
        if isinstance(resp.body, bytes):
            payload = resp.body
        else:
            payload = (json.dumps(resp.body, default=str) + "\n").encode()
        headers = [
            ("Content-Type", resp.content_type),
            ("Content-Length", str(len(payload))),
            ("Connection", "close"),
        ]
        out = conn.h11.send(h11.Response(status_code=resp.status, headers=headers))
        out += conn.h11.send(h11.Data(data=payload))
        out += conn.h11.send(h11.EndOfMessage())
        conn.sock.setblocking(True)  # a reply is small; the peer is a local admin client
        conn.sock.settimeout(1.0)
        try:
            conn.sock.sendall(out)
        finally:
            conn.sock.setblocking(False)
