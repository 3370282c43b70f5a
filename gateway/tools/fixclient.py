"""Small blocking FIX initiator: talks to the gateway exactly as a buy-side client would.

People use it through ``fixgw client``, scripts and the end-to-end tests import it. It keeps its own
session layer (sequence numbers, heartbeats, resend handling) on top of simplefix instead of reusing
the gateway's QuickFIX engine, so the tests exercise the gateway against an independent implementation.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import string
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import TracebackType

from simplefix import FixMessage, FixParser
from simplefix.errors import ParsingError

from gateway.fix.dictionary import BASE_DICTIONARIES, FixDictionary, base_dictionary

__all__ = [
    "FixClient",
    "FixClientError",
    "FixClientTimeout",
    "FixMessage",
    "as_dict",
    "describe",
    "field",
    "new_cl_ord_id",
]


class FixClientError(Exception):
    """The session failed: connection refused or lost, logon refused, sequence error."""


class FixClientTimeout(FixClientError):
    """The expected answer did not arrive in time."""


# Tags send() owns (always written by it) and other standard-header tags, which QuickFIX rejects
# when they appear after a body field, so send() moves them in front of the body.
_OWN_TAGS = frozenset({8, 9, 10, 34, 35, 49, 52, 56})
_ADMIN_TYPES = frozenset({b"0", b"1", b"2", b"3", b"4", b"5", b"A"})
_HEADER_TAGS = frozenset({43, 50, 57, 97, 115, 116, 122, 128, 129, 142, 143, 144, 145, 369, 1128, 1129})

SIDES = {"buy": "1", "sell": "2", "short": "5"}
ORD_TYPES = {"market": "1", "limit": "2"}
TIFS = {"day": "0", "gtc": "1", "ioc": "3", "fok": "4"}

# What describe() shows for each order-flow answer, in order. Names and enum meanings come
# from the data dictionary of the message's own FIX version (fix_specs/, read with lxml).
_DESCRIBED: dict[str, tuple[int, ...]] = {
    "8": (11, 41, 37, 150, 39, 103, 54, 55, 32, 31, 14, 151, 6, 30, 38, 40, 44, 59, 58),
    "9": (11, 41, 37, 39, 434, 102, 58),
    "3": (45, 372, 371, 373, 58),
    "j": (45, 372, 379, 380, 58),
}
_PLAIN_ENUMS = frozenset({54})  # shown by name only: Side=Buy


_FALLBACK = base_dictionary("FIX.4.4")  # session-level tags of FIXT messages, JSON keys


def _spec(msg: FixMessage) -> FixDictionary:
    begin = field(msg, 8)
    return base_dictionary(begin if begin in BASE_DICTIONARIES else "FIX.4.4")


def _camel(description: str) -> str:
    """Dictionary enum descriptions are SHOUTING_SNAKE: PARTIALLY_FILLED -> PartiallyFilled."""
    return "".join(word.capitalize() for word in description.split("_"))


_B36 = string.digits + string.ascii_uppercase
_counter = itertools.count(1)


def _s(value: bytes | None) -> str | None:
    """simplefix values are bytes; everything here works on str."""
    return None if value is None else value.decode("utf-8", "replace")


def field(msg: FixMessage, tag: int) -> str | None:
    """Value of ``tag`` as str, or None when absent."""
    return _s(msg.get(tag))


def _utc_now() -> str:
    """FIX UTCTimestamp with milliseconds: YYYYMMDD-HH:MM:SS.sss."""
    return datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]


def _num(value: object) -> str:
    """Decimal/int/float/str quantity or price as a plain wire number (never exponent notation)."""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return format(d, "f")


def _code(value: str, names: dict[str, str]) -> str:
    """Accept a friendly name ("buy", "limit", "ioc") or the wire value itself."""
    return names.get(value.lower(), value)


def new_cl_ord_id() -> str:
    """Unique per process and across restarts: nanosecond clock in base 36 plus a counter."""
    n, digits = time.time_ns(), []
    while n:
        n, r = divmod(n, 36)
        digits.append(_B36[r])
    return f"C{''.join(reversed(digits))}{next(_counter)}"


def describe(msg: FixMessage) -> str:
    """One readable line for order-flow answers; any other message as tag=value|tag=value."""
    mtype = field(msg, 35) or "?"
    tags = _DESCRIBED.get(mtype)
    if tags is None:
        return "|".join(f"{t.decode()}={_s(v)}" for t, v in msg.pairs if t not in (b"9", b"10"))
    spec = _spec(msg)
    parts = [spec.messages.get(mtype, mtype)]
    for tag in tags:
        value = field(msg, tag)
        if value is None:
            continue
        meaning = spec.enum_name(tag, value) or _FALLBACK.enum_name(tag, value)
        if meaning and tag in _PLAIN_ENUMS:
            value = _camel(meaning)
        elif meaning:
            value = f"{value}({_camel(meaning)})"
        parts.append(f"{spec.name(tag) if tag in spec.fields_by_tag else _FALLBACK.name(tag)}={value}")
    return " ".join(parts)


def as_dict(msg: FixMessage) -> dict[str, str | list[str]]:
    """Fields keyed by tag name (number for uncommon tags); repeated tags become lists (for JSON)."""
    out: dict[str, str | list[str]] = {}
    for tag, raw in msg.pairs:
        key, value = _FALLBACK.fields_by_tag.get(int(tag), None), _s(raw) or ""
        key = key.name if key else tag.decode()
        prev = out.get(key)
        out[key] = value if prev is None else [*([prev] if isinstance(prev, str) else prev), value]
    return out


def _message(msg_type: str, *pairs: tuple[int, object]) -> FixMessage:
    """Build a message body; None values are skipped (simplefix ignores them)."""
    msg = FixMessage()
    msg.append_pair(35, msg_type)
    for tag, value in pairs:
        msg.append_pair(tag, value)
    return msg


class FixClient:
    """One FIX session as initiator. Not thread-safe; every call blocks at most ``timeout``."""

    def __init__(
        self,
        host: str,
        port: int,
        sender_comp_id: str,
        target_comp_id: str,
        begin_string: str = "FIX.4.4",
        heartbeat_s: int = 30,
        timeout: float = 5.0,
        default_appl_ver_id: str = "9",
        resend: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.sender_comp_id, self.target_comp_id = sender_comp_id, target_comp_id
        self.begin_string = begin_string
        self.heartbeat_s = heartbeat_s
        self.timeout = timeout
        self.default_appl_ver_id = default_appl_ver_id  # FIXT.1.1 only: 9 = FIX50SP2
        self.next_out = 1  # kept across reconnects, like a real initiator's store
        # resend=True keeps every application message sent and resends it (PossDupFlag=Y) when
        # the peer asks, as a production initiator does; otherwise ResendRequests are gap-filled.
        self.resend = resend
        self._sent: dict[int, tuple[FixMessage, str]] = {}
        self.next_in = 1
        self.last_seq = 0  # MsgSeqNum of the last send(), to match Reject RefSeqNum(45)
        self._sock: socket.socket | None = None
        self._parser = FixParser()
        self._missing: set[int] = set()  # inbound seq nums we asked the peer to resend
        self._logged_on = False
        self._logout_sent = False
        self._last_send = time.monotonic()

    # ------------------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open the TCP connection (closing any previous one); FixClientError if refused."""
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise FixClientError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock
        self._parser = FixParser()
        # _missing is kept: what the peer never resent is asked for again after the next Logon.
        self._logout_sent = False
        self._last_send = time.monotonic()

    def close(self) -> None:
        """Drop the connection without a Logout; sequence numbers are kept."""
        self._logged_on = False
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def __enter__(self) -> FixClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._logged_on:
            self.logout()
        self.close()

    # --------------------------------------------------------------------------------- session

    def logon(self, reset_seq: bool = False) -> FixMessage:
        """Send Logon and return the peer's Logon; a Logout or a closed socket raises FixClientError."""
        if self._sock is None:
            self.connect()
        if reset_seq:
            self.next_out = self.next_in = 1
            self._missing.clear()
        fixt = self.begin_string == "FIXT.1.1"
        self.send(
            _message(
                "A",
                (98, 0),
                (108, self.heartbeat_s),
                (141, "Y" if reset_seq else None),
                (1137, self.default_appl_ver_id if fixt else None),
            )
        )
        deadline = time.monotonic() + self.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                reply = self.recv(remaining)
            except FixClientError as exc:
                raise FixClientError(f"logon failed: {exc}") from exc
            if reply is None:
                continue
            if field(reply, 35) == "A":
                self._logged_on = True
                return reply
            if field(reply, 35) == "5":
                raise FixClientError(f"logon refused: {field(reply, 58) or 'Logout without Text'}")
        self.close()
        raise FixClientTimeout(f"no Logon reply from {self.host}:{self.port} within {self.timeout}s")

    def logout(self, text: str | None = None, timeout: float = 2.0) -> None:
        """Send Logout, wait (bounded) for the peer's Logout, close. Messages meanwhile are dropped."""
        if self._sock is None:
            return
        try:
            self.send(_message("5", (58, text)))
            self._logout_sent = True
            deadline = time.monotonic() + timeout
            while self._sock is not None and (remaining := deadline - time.monotonic()) > 0:
                reply = self.recv(remaining)
                if reply is not None and field(reply, 35) == "5":
                    break
        except FixClientError:
            pass  # the peer dropped the connection: that ends the session too
        finally:
            self.close()

    def send(self, msg: FixMessage) -> int:
        """Send ``msg`` (35 plus body) with a fresh standard header; returns its MsgSeqNum."""
        seq = self.next_out
        now = _utc_now()
        self._write(msg, seq, sending_time=now)
        if self.resend and msg.message_type not in _ADMIN_TYPES:
            self._sent[seq] = (msg, now)
        self.next_out += 1
        self.last_seq = seq
        return seq

    def _write(self, msg: FixMessage, seq: int, sending_time: str | None = None) -> None:
        if self._sock is None:
            raise FixClientError("not connected")
        if msg.message_type is None:
            raise ValueError("message has no MsgType(35)")
        out = FixMessage()
        for tag, value in (
            (8, self.begin_string),
            (35, msg.message_type),
            (49, self.sender_comp_id),
            (56, self.target_comp_id),
            (34, seq),
            (52, sending_time or _utc_now()),
        ):
            out.append_pair(tag, value)
        body = []
        for tag, value in msg.pairs:
            if int(tag) in _OWN_TAGS:
                continue
            if int(tag) in _HEADER_TAGS:
                out.append_pair(tag, value)
            else:
                body.append((tag, value))
        for tag, value in body:
            out.append_pair(tag, value)
        try:
            self._sock.sendall(out.encode())
        except OSError as exc:
            self.close()
            raise FixClientError(f"connection lost while sending: {exc}") from exc
        self._last_send = time.monotonic()

    def recv(self, timeout: float | None = None) -> FixMessage | None:
        """Next message the caller should see, or None after ``timeout`` (default: self.timeout).

        Heartbeats, TestRequests, ResendRequests, SequenceResets and sequence gaps are handled here;
        a Logout is returned (and answered if the peer started it) and the connection is then closed.
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                msg = self._parser.get_message()
            except ParsingError as exc:
                self.close()
                raise FixClientError(f"unparseable data from peer: {exc!r}") from exc
            if msg is not None:
                msg = self._handle(msg)
                if msg is not None:
                    return msg
                continue
            if self._sock is None:
                raise FixClientError("not connected")
            now = time.monotonic()
            wake = deadline
            if self._logged_on and self.heartbeat_s > 0:
                heartbeat_due = self._last_send + self.heartbeat_s
                if now >= heartbeat_due:
                    self.send(_message("0"))
                    continue
                wake = min(wake, heartbeat_due)
            if now >= deadline:
                return None
            self._sock.settimeout(max(wake - now, 0.001))
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:
                self.close()
                raise FixClientError(f"connection lost: {exc}") from exc
            if not data:
                self.close()
                raise FixClientError("connection closed by peer")
            self._parser.append_buffer(data)

    def wait_for(self, predicate: Callable[[FixMessage], bool], timeout: float) -> FixMessage:
        """recv() until ``predicate`` accepts a message; FixClientTimeout lists what came meanwhile."""
        deadline = time.monotonic() + timeout
        seen: list[FixMessage] = []
        while (remaining := deadline - time.monotonic()) > 0:
            msg = self.recv(remaining)
            if msg is None:
                continue
            if predicate(msg):
                return msg
            if field(msg, 35) == "5":
                raise FixClientError(f"peer logged out while waiting: {field(msg, 58) or 'no Text'}")
            seen.append(msg)
        got = "; ".join(describe(m) for m in seen[-5:]) or "nothing"
        raise FixClientTimeout(f"timed out after {timeout}s; received {len(seen)} message(s): {got}")

    # ------------------------------------------------------------------------ inbound handling

    def _handle(self, msg: FixMessage) -> FixMessage | None:
        """Session-level processing of one inbound message; returns it if the caller should see it."""
        mtype = field(msg, 35)
        if mtype == "4" and field(msg, 123) != "Y":  # SequenceReset-Reset ignores MsgSeqNum
            self.next_in = int(field(msg, 36) or self.next_in)
            self._missing.clear()
            return None
        seq = int(field(msg, 34) or 0)
        if mtype == "A" and field(msg, 141) == "Y":
            self.next_in = seq
            self._missing.clear()
        gap_from = self.next_in if seq > self.next_in and not self._missing and mtype != "5" else None
        if not self._accept_seq(msg, mtype, seq):
            return None
        if mtype == "A" and self._missing:
            # A gap left open on an earlier connection: its ResendRequest died with that connection,
            # so ask again from the oldest missing message (this also covers any new gap).
            gap_from = min(self._missing)
        result = self._dispatch(msg, mtype, seq)
        if gap_from is not None:
            # After answering (a GapFill must not cover our own ResendRequest); one open-ended request
            # also covers later gaps, which is why it is sent only when nothing is outstanding.
            self.send(_message("2", (7, gap_from), (16, 0)))
        return result

    def _dispatch(self, msg: FixMessage, mtype: str | None, seq: int) -> FixMessage | None:
        if mtype == "0":
            return None
        if mtype == "1":
            self.send(_message("0", (112, field(msg, 112))))
            return None
        if mtype == "2":
            self._gap_fill(int(field(msg, 7) or 1))
            return None
        if mtype == "4":  # GapFill: seq .. NewSeqNo-1 will never come
            new_seq = int(field(msg, 36) or seq + 1)
            self._missing.difference_update(range(seq, new_seq))
            self.next_in = max(self.next_in, new_seq)
            return None
        if mtype == "5":
            if not self._logout_sent:
                with contextlib.suppress(FixClientError):
                    self.send(_message("5"))
            self.close()
        return msg

    def _accept_seq(self, msg: FixMessage, mtype: str | None, seq: int) -> bool:
        """Sequence check: True to process the message, False for an already-seen duplicate."""
        if seq == self.next_in:
            self.next_in += 1
            return True
        if seq > self.next_in:
            self._missing.update(range(self.next_in, seq))
            self.next_in = seq + 1
            return True
        if seq in self._missing:
            self._missing.discard(seq)
            return True
        if field(msg, 43) == "Y":
            return False
        if mtype == "5":  # still show why the peer is leaving
            return True
        text = f"MsgSeqNum too low, expecting {self.next_in} but received {seq}"
        with contextlib.suppress(FixClientError):
            self.send(_message("5", (58, text)))
        self.close()
        raise FixClientError(text)

    def _gap_fill(self, begin: int) -> None:
        """Answer a ResendRequest for begin..next_out-1: application messages kept (``resend``) go
        again with PossDupFlag=Y and their OrigSendingTime; every other run is one GapFill."""
        seq = begin
        while seq < self.next_out:
            kept = self._sent.get(seq)
            if kept is not None:
                msg, orig_time = kept
                again = FixMessage()
                again.append_pair(35, msg.message_type)
                again.append_pair(43, "Y")
                again.append_pair(122, orig_time)
                for tag, value in msg.pairs:
                    if int(tag) not in (35, 43, 97, 122):
                        again.append_pair(tag, value)
                self._write(again, seq)
                seq += 1
                continue
            end = next((n for n in range(seq + 1, self.next_out) if n in self._sent), self.next_out)
            now = _utc_now()
            self._write(_message("4", (43, "Y"), (122, now), (123, "Y"), (36, end)), seq, sending_time=now)
            seq = end

    # ---------------------------------------------------------------------------- order flow

    def new_order(
        self,
        symbol: str,
        side: str,
        qty: object,
        price: object = None,
        ord_type: str | None = None,
        tif: str = "0",
        cl_ord_id: str | None = None,
        ex_destination: str | None = None,
        account: str | None = None,
        extra: dict[int, str] | None = None,
    ) -> str:
        """Send NewOrderSingle; returns its ClOrdID. side/ord_type/tif take wire values or names."""
        cl_ord_id = cl_ord_id or new_cl_ord_id()
        ord_type = _code(ord_type, ORD_TYPES) if ord_type else ("2" if price is not None else "1")
        msg = _message(
            "D",
            (11, cl_ord_id),
            (1, account),
            (21, "1"),
            (100, ex_destination),
            (55, symbol),
            (54, _code(side, SIDES)),
            (60, _utc_now()),
            (38, _num(qty)),
            (40, ord_type),
            (44, None if price is None else _num(price)),
            (59, _code(tif, TIFS)),
            *(extra or {}).items(),
        )
        self.send(msg)
        return cl_ord_id

    def cancel(
        self, orig_cl_ord_id: str, symbol: str, side: str, qty: object, cl_ord_id: str | None = None
    ) -> str:
        """Send OrderCancelRequest; returns the cancel's own ClOrdID."""
        cl_ord_id = cl_ord_id or new_cl_ord_id()
        self.send(
            _message(
                "F",
                (41, orig_cl_ord_id),
                (11, cl_ord_id),
                (55, symbol),
                (54, _code(side, SIDES)),
                (38, _num(qty)),
                (60, _utc_now()),
            )
        )
        return cl_ord_id

    def replace(
        self,
        orig_cl_ord_id: str,
        symbol: str,
        side: str,
        qty: object,
        price: object = None,
        ord_type: str | None = None,
        tif: str = "0",
        cl_ord_id: str | None = None,
    ) -> str:
        """Send OrderCancelReplaceRequest; returns the replacement's ClOrdID."""
        cl_ord_id = cl_ord_id or new_cl_ord_id()
        ord_type = _code(ord_type, ORD_TYPES) if ord_type else ("2" if price is not None else "1")
        self.send(
            _message(
                "G",
                (41, orig_cl_ord_id),
                (11, cl_ord_id),
                (21, "1"),
                (55, symbol),
                (54, _code(side, SIDES)),
                (60, _utc_now()),
                (38, _num(qty)),
                (40, ord_type),
                (44, None if price is None else _num(price)),
                (59, _code(tif, TIFS)),
            )
        )
        return cl_ord_id

    def status(self, cl_ord_id: str, symbol: str, side: str, order_id: str | None = None) -> None:
        """Send OrderStatusRequest; the answer is an ExecutionReport (ExecType I in FIX 4.4)."""
        self.send(_message("H", (11, cl_ord_id), (37, order_id), (55, symbol), (54, _code(side, SIDES))))
