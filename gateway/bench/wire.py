"""A lean FIX 4.4 initiator on a raw socket: the load client of every benchmark target.

``gateway.tools.fixclient`` is built for people and tests (a full session layer on simplefix);
at tens of thousands of messages a second its per-message cost would be the bottleneck and hide
the target's. This one does what a load generator needs and nothing else: it encodes with byte
templates, splits the stream on the ``10=`` trailer and reads the two or three fields it wants with
``bytes.find``, answers TestRequests, and treats anything else at session level (Reject, Logout,
ResendRequest) as a failure of the run. It logs on with ResetSeqNumFlag=Y. The same client is used
against the venue directly, the bare proxy and fixgw, so none of them is favoured.
"""

from __future__ import annotations

import contextlib
import socket
import time

SOH = b"\x01"


class WireError(Exception):
    """The session failed (refused, dropped, rejected a message)."""


_ts_second = -1
_ts_text = b""


def recv_ready(sock: socket.socket) -> bytes | None:
    """What a non-blocking socket has for us (None: nothing yet); WireError once it is gone."""
    try:
        data = sock.recv(1 << 20)
    except BlockingIOError:
        return None
    except OSError as exc:
        raise WireError(f"connection lost: {exc}") from exc
    if not data:
        raise WireError("connection closed by the peer")
    return data


def utc_timestamp() -> bytes:
    """FIX UTCTimestamp with milliseconds (the seconds part is formatted once a second)."""
    global _ts_second, _ts_text
    ns = time.time_ns()
    second, rest = divmod(ns, 1_000_000_000)
    if second != _ts_second:
        _ts_second = second
        _ts_text = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(second)).encode()
    return b"%s.%03d" % (_ts_text, rest // 1_000_000)


def field(msg: bytes, tag: bytes) -> bytes | None:
    """Value of ``tag`` (e.g. ``b"11"``) in a raw message, or None (not for the first field, 8)."""
    key = SOH + tag + b"="
    i = msg.find(key)
    if i < 0:
        return None
    i += len(key)
    return msg[i : msg.index(SOH, i)]


def msg_type(msg: bytes) -> bytes:
    i = msg.index(b"\x0135=") + 4
    return msg[i : msg.index(SOH, i)]


class FixWire:
    """One FIX session as initiator over a plain socket; single-threaded, not thread-safe."""

    def __init__(self, sock: socket.socket, sender: str, target: str, begin_string: str = "FIX.4.4"):
        """Over a connected socket (:meth:`connect` opens one; tests use a socketpair)."""
        self.sock = sock
        try:
            peer = sock.getpeername()
        except OSError:
            peer = None
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "the peer"
        self._begin = b"8=" + begin_string.encode() + SOH
        self._route = b"49=" + sender.encode() + b"\x0156=" + target.encode() + SOH
        self.seq = 1
        self.buf = bytearray()

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        sender: str,
        target: str,
        begin_string: str = "FIX.4.4",
        connect_timeout_s: float = 15.0,
    ) -> FixWire:
        """Connect (retrying while nothing listens yet, up to ``connect_timeout_s``), TCP_NODELAY."""
        sock = _connect(host, port, connect_timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(sock, sender, target, begin_string)

    # ------------------------------------------------------------------ encoding

    def encode(self, mtype: bytes, body: bytes) -> bytes:
        """A complete message with the next MsgSeqNum: ``body`` is ``tag=value\\x01...``."""
        seq = self.seq
        self.seq = seq + 1
        rest = b"35=%s\x01%s34=%d\x0152=%s\x01%s" % (mtype, self._route, seq, utc_timestamp(), body)
        head = b"%s9=%d\x01%s" % (self._begin, len(rest), rest)
        return b"%s10=%03d\x01" % (head, sum(head) & 255)

    def send(self, mtype: bytes, body: bytes = b"") -> None:
        self.sock.sendall(self.encode(mtype, body))

    # ------------------------------------------------------------------ decoding

    def feed(self, data: bytes) -> list[bytes]:
        """Append received bytes; return the complete application messages (admin ones handled)."""
        buf = self.buf
        buf += data
        out: list[bytes] = []
        pos = 0
        find = buf.find
        while True:
            i = find(b"\x0110=", pos)
            if i < 0:
                break
            j = find(SOH, i + 4)
            if j < 0:
                break
            msg = bytes(buf[pos : j + 1])
            pos = j + 1
            t = msg_type(msg)
            if t in (b"8", b"9"):
                out.append(msg)
            else:
                self._admin(t, msg)
        if pos:
            del buf[:pos]
        return out

    def _admin(self, t: bytes, msg: bytes) -> None:
        if t == b"0" or t == b"A":
            return
        if t == b"1":  # TestRequest: answer at once
            self.send(b"0", b"112=%s\x01" % (field(msg, b"112") or b""))
            return
        text = (field(msg, b"58") or b"").decode(errors="replace")
        raise WireError(f"session message {t.decode()} from {self.peer}: {text or msg!r}")

    def recv(self, timeout_s: float | None) -> list[bytes]:
        """Block up to ``timeout_s`` for data; the application messages it completed."""
        self.sock.settimeout(None if timeout_s is None else max(timeout_s, 0.001))
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return []
        except OSError as exc:
            raise WireError(f"connection to {self.peer} lost: {exc}") from exc
        if not data:
            raise WireError(f"connection to {self.peer} closed by the peer")
        return self.feed(data)

    # ------------------------------------------------------------------ session

    def logon(self, timeout_s: float = 15.0) -> None:
        """Logon with ResetSeqNumFlag=Y and wait for the answer."""
        self.send(b"A", b"98=0\x01108=30\x01141=Y\x01")
        deadline = time.monotonic() + timeout_s
        self.sock.settimeout(timeout_s)
        while time.monotonic() < deadline:
            data = self.sock.recv(1 << 16)
            if not data:
                raise WireError(f"logon to {self.peer} refused (connection closed)")
            self.buf += data
            i = self.buf.find(b"\x0110=")
            if i >= 0 and self.buf.find(SOH, i + 4) >= 0:
                j = self.buf.index(SOH, i + 4)
                first = bytes(self.buf[: j + 1])
                del self.buf[: j + 1]
                if msg_type(first) != b"A":
                    raise WireError(f"logon to {self.peer} answered with {first!r}")
                return
        raise WireError(f"no logon answer from {self.peer} within {timeout_s}s")

    def close(self) -> None:
        """Send Logout and close without waiting (the targets are discarded after each run)."""
        with contextlib.suppress(OSError):
            self.send(b"5")
        self.sock.close()


def _connect(host: str, port: int, timeout_s: float) -> socket.socket:
    """Connect, retrying while the peer is still starting (connection refused)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return socket.create_connection((host, port), timeout=5)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise WireError(f"nothing listening on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.1)
