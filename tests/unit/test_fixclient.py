"""FixClient and ``fixgw client`` against a scripted acceptor written here with socket + simplefix.

The acceptor checks the framing of every message the client sends (BodyLength, CheckSum, header
order), so each test also proves the wire format; the script's own assertions run in its thread and
are re-raised by ``Acceptor.join()``.
"""

from __future__ import annotations

import json
import re
import socket
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner
from simplefix import FixMessage, FixParser

from gateway.tools.fixclient import FixClient, FixClientError, FixClientTimeout, as_dict, describe, field

FRAME_START = re.compile(rb"8=([^\x01]+)\x019=(\d+)\x01")
TIMESTAMP = re.compile(r"\d{8}-\d{2}:\d{2}:\d{2}\.\d{3}")
HEADER_TAGS = {8, 9, 35, 34, 43, 49, 52, 56, 97, 122, 1128}


class Peer:
    """The acceptor's side of one connection: strict framing checks on input, scripted output."""

    def __init__(self, conn: socket.socket, begin_string: str) -> None:
        self.conn = conn
        self.begin_string = begin_string
        self.buf = b""
        self.seq = 1
        self.received: list[FixMessage] = []

    def _frame(self) -> bytes | None:
        match = FRAME_START.match(self.buf)
        if match is None:
            assert len(self.buf) < 20 or self.buf.startswith(b"8="), f"garbage from client: {self.buf[:40]!r}"
            return None
        body_end = match.end() + int(match.group(2))
        if len(self.buf) < body_end + 7:
            return None
        trailer = self.buf[body_end : body_end + 7]
        assert re.fullmatch(rb"10=\d{3}\x01", trailer), f"BodyLength wrong in {self.buf[: body_end + 7]!r}"
        assert int(trailer[3:6]) == sum(self.buf[:body_end]) % 256, "CheckSum wrong"
        frame, self.buf = self.buf[: body_end + 7], self.buf[body_end + 7 :]
        return frame

    def read(self, timeout: float = 5.0) -> FixMessage:
        deadline = time.monotonic() + timeout
        while (frame := self._frame()) is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0, "client sent nothing in time"
            self.conn.settimeout(remaining)
            data = self.conn.recv(65536)
            assert data, "client closed the connection"
            self.buf += data
        parser = FixParser()
        parser.append_buffer(frame)
        msg = parser.get_message()
        assert msg is not None
        self.received.append(msg)
        return msg

    def expect(self, msg_type: str, timeout: float = 5.0) -> FixMessage:
        msg = self.read(timeout)
        assert field(msg, 35) == msg_type, f"expected 35={msg_type}, got {describe(msg)}"
        return msg

    def send(
        self, msg_type: str, *pairs: tuple[int, object], seq: int | None = None, poss_dup: bool = False
    ) -> None:
        msg = FixMessage()
        for tag, value in (
            (8, self.begin_string),
            (35, msg_type),
            (49, "FIXGW"),
            (56, "CLIENT1"),
            (34, self.seq if seq is None else seq),
            (52, datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]),
            (43, "Y" if poss_dup else None),
            *pairs,
        ):
            msg.append_pair(tag, value)
        if seq is None:
            self.seq += 1
        self.conn.sendall(msg.encode())

    def logon(self, *pairs: tuple[int, object]) -> FixMessage:
        msg = self.expect("A")
        self.send("A", (98, 0), (108, field(msg, 108)), *pairs)
        return msg

    def logout(self) -> None:
        self.expect("5")
        self.send("5")


class Acceptor:
    """Listens on a free 127.0.0.1 port and runs ``script`` on the first connection in a thread."""

    def __init__(self, script: Callable[[Peer], None], begin_string: str = "FIX.4.4") -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.begin_string = begin_string
        self.peer: Peer | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script: Callable[[Peer], None]) -> None:
        try:
            conn, _ = self.server.accept()
            with conn:
                self.peer = Peer(conn, self.begin_string)
                script(self.peer)
        except BaseException as exc:  # re-raised in the test thread by join()
            self.error = exc
        finally:
            self.server.close()

    def join(self) -> Peer:
        self.thread.join(15)
        assert not self.thread.is_alive(), "acceptor script did not finish"
        if self.error is not None:
            raise self.error
        assert self.peer is not None
        return self.peer


def client_for(acceptor: Acceptor, **kwargs: object) -> FixClient:
    params: dict = {"begin_string": acceptor.begin_string, "timeout": 5.0, **kwargs}
    return FixClient("127.0.0.1", acceptor.port, "CLIENT1", "FIXGW", **params)


def er(cl_ord_id: str, status: str = "0", exec_type: str = "0") -> tuple[tuple[int, object], ...]:
    return (
        (37, "O1"),
        (17, f"E-{cl_ord_id}-{exec_type}"),
        (150, exec_type),
        (39, status),
        (11, cl_ord_id),
        (54, 1),
        (55, "AAPL"),
        (38, 100),
        (14, 0),
        (151, 100),
        (6, 0),
    )


def check_header(msg: FixMessage, seq: int, begin_string: str = "FIX.4.4") -> None:
    tags = [int(t) for t, _ in msg.pairs]
    assert tags[:3] == [8, 9, 35]
    first_body = next((i for i, t in enumerate(tags) if t not in HEADER_TAGS and t != 10), len(tags))
    assert all(t not in HEADER_TAGS for t in tags[first_body:]), f"header field after body: {tags}"
    assert field(msg, 8) == begin_string
    assert (field(msg, 34), field(msg, 49), field(msg, 56)) == (str(seq), "CLIENT1", "FIXGW")
    sending_time = field(msg, 52) or ""
    assert TIMESTAMP.fullmatch(sending_time), sending_time
    sent = datetime.strptime(sending_time, "%Y%m%d-%H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - sent) < timedelta(seconds=5), "SendingTime is not UTC now"


# ----------------------------------------------------------------------------------------- session


@pytest.fixture
def not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run in a local time zone far from UTC, so local timestamps cannot pass for UTC ones."""
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("not_utc")
def test_logon_logout_round_trip() -> None:
    acc = Acceptor(lambda peer: (peer.logon(), peer.logout()))
    client = client_for(acc)
    client.connect()
    reply = client.logon()
    assert field(reply, 35) == "A"
    client.logout()
    peer = acc.join()

    assert [field(m, 35) for m in peer.received] == ["A", "5"]
    for seq, msg in enumerate(peer.received, 1):
        check_header(msg, seq)
    logon = peer.received[0]
    assert [field(logon, tag) for tag in (98, 108, 141, 1137)] == ["0", "30", None, None]
    assert (client.next_out, client.next_in) == (3, 3)
    assert not client.connected


def test_reset_seq_logon_sends_141_and_restarts_at_1() -> None:
    acc = Acceptor(lambda peer: (peer.logon((141, "Y")), peer.logout()))
    client = client_for(acc)
    client.next_out, client.next_in = 7, 9  # left over from an earlier session
    client.logon(reset_seq=True)
    assert (client.next_out, client.next_in) == (2, 2)
    client.logout()
    logon = acc.join().received[0]
    check_header(logon, 1)
    assert field(logon, 141) == "Y"


def test_logon_without_reset_continues_sequence_numbers() -> None:
    acc = Acceptor(lambda peer: (peer.logon(), peer.logout()))
    client = client_for(acc)
    client.next_out = 7
    client.logon()
    client.logout()
    logon, logout = acc.join().received
    assert field(logon, 141) is None
    check_header(logon, 7)
    check_header(logout, 8)


def test_fixt_logon_carries_default_appl_ver_id() -> None:
    acc = Acceptor(lambda peer: (peer.logon((1137, "9")), peer.logout()), begin_string="FIXT.1.1")
    client = client_for(acc)
    client.logon()
    client.logout()
    logon = acc.join().received[0]
    check_header(logon, 1, "FIXT.1.1")
    assert field(logon, 1137) == "9"


def test_logon_refused_raises_with_text_and_answers_logout() -> None:
    def script(peer: Peer) -> None:
        peer.expect("A")
        peer.send("5", (58, "unknown CompID CLIENT1"))
        peer.expect("5")

    acc = Acceptor(script)
    client = client_for(acc)
    with pytest.raises(FixClientError, match="unknown CompID CLIENT1"):
        client.logon()
    acc.join()
    assert not client.connected


def test_logon_fails_when_socket_closes() -> None:
    acc = Acceptor(lambda peer: peer.expect("A"))  # then the connection is closed
    client = client_for(acc)
    with pytest.raises(FixClientError, match="logon failed: connection closed"):
        client.logon()
    acc.join()


def test_connection_refused_is_a_client_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(FixClientError, match="cannot connect"):
        FixClient("127.0.0.1", port, "CLIENT1", "FIXGW", timeout=2).connect()


def test_test_request_answered_with_heartbeat_echoing_112() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.send("1", (112, "PING-42"))
        heartbeat = peer.expect("0")
        check_header(heartbeat, 2)
        assert field(heartbeat, 112) == "PING-42"
        peer.send("8", *er("C1"))
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    msg = client.recv(timeout=5)  # the TestRequest is handled, not returned
    assert msg is not None and field(msg, 35) == "8" and field(msg, 11) == "C1"
    client.logout()
    acc.join()


def test_resend_request_answered_with_gap_fill_to_next_out() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.expect("D")
        peer.send("2", (7, 1), (16, 0))
        gap_fill = peer.expect("4")
        check_header(gap_fill, 1)  # a GapFill carries the BeginSeqNo it replaces
        assert (field(gap_fill, 123), field(gap_fill, 36), field(gap_fill, 43)) == ("Y", "3", "Y")
        assert TIMESTAMP.fullmatch(field(gap_fill, 122) or "")
        peer.send("8", *er("C1"))
        logout = peer.expect("5")
        check_header(logout, 3)  # the GapFill did not consume a sequence number
        peer.send("5")

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    client.new_order("AAPL", "buy", 100, "190.05", cl_ord_id="C1")
    msg = client.recv(timeout=5)
    assert msg is not None and field(msg, 11) == "C1"
    assert client.next_out == 3
    client.logout()
    acc.join()


def test_inbound_gap_requests_resend_once_and_drops_duplicates() -> None:
    def script(peer: Peer) -> None:
        peer.logon()  # peer seq 1
        peer.send("8", *er("E4"), seq=4)  # 2 and 3 missing
        request = peer.expect("2")
        check_header(request, 2)
        assert (field(request, 7), field(request, 16)) == ("2", "0")
        peer.send("8", *er("E2"), seq=2, poss_dup=True)
        peer.send("4", (123, "Y"), (36, 4), seq=3, poss_dup=True)
        peer.send("8", *er("E4"), seq=4, poss_dup=True)  # already seen: dropped
        peer.send("8", *er("E5"), seq=5)
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    got = [client.recv(timeout=5) for _ in range(3)]
    assert [field(m, 11) for m in got if m is not None] == ["E4", "E2", "E5"]
    assert client.recv(timeout=0.3) is None
    assert client.next_in == 6
    client.logout()
    peer = acc.join()
    assert [field(m, 35) for m in peer.received].count("2") == 1


def test_gap_left_open_by_a_dropped_connection_is_requested_again_after_logon() -> None:
    """The peer died before resending 2-3: the next session asks for them again, not only for
    whatever gap its own Logon shows (a real initiator keeps expecting the oldest missing one)."""

    def first(peer: Peer) -> None:
        peer.logon()  # peer seq 1
        peer.send("8", *er("E4"), seq=4)  # 2 and 3 missing
        assert field(peer.expect("2"), 7) == "2"  # ...and the peer goes away without resending

    def second(peer: Peer) -> None:
        peer.seq = 5
        peer.logon()  # seq 5: no new gap
        request = peer.expect("2")
        assert (field(request, 7), field(request, 16)) == ("2", "0")
        peer.send("8", *er("E2"), seq=2, poss_dup=True)
        peer.send("8", *er("E3"), seq=3, poss_dup=True)
        peer.send("4", (123, "Y"), (36, 6), seq=4, poss_dup=True)
        peer.logout()

    acc = Acceptor(first)
    client = client_for(acc)
    client.logon()
    msg = client.recv(timeout=5)
    assert msg is not None and field(msg, 11) == "E4"
    acc.join()
    client.close()
    acc = Acceptor(second)
    client.port = acc.port
    client.logon()
    got = [client.recv(timeout=5) for _ in range(2)]
    assert [field(m, 11) for m in got if m is not None] == ["E2", "E3"]
    assert client.recv(timeout=0.3) is None
    assert client.next_in == 6
    client.logout()
    acc.join()


def test_sequence_reset_sets_next_in() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.send("4", (36, 10), seq=2)
        peer.send("8", *er("C10"), seq=10)
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    msg = client.recv(timeout=5)
    assert msg is not None and field(msg, 11) == "C10"
    assert client.next_in == 11
    client.logout()
    assert [field(m, 35) for m in acc.join().received] == ["A", "5"]  # no ResendRequest


def test_seq_too_low_without_possdup_is_fatal() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.send("8", *er("C1"), seq=1)
        logout = peer.expect("5")
        assert "MsgSeqNum too low" in (field(logout, 58) or "")

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    with pytest.raises(FixClientError, match="MsgSeqNum too low, expecting 2 but received 1"):
        client.recv(timeout=5)
    acc.join()
    assert not client.connected


def test_peer_logout_is_returned_and_answered() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.send("5", (58, "end of day"))
        check_header(peer.expect("5"), 2)

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    msg = client.recv(timeout=5)
    assert msg is not None and field(msg, 35) == "5" and field(msg, 58) == "end of day"
    acc.join()
    assert not client.connected


def test_heartbeat_sent_when_idle() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        heartbeat = peer.expect("0", timeout=3)
        assert field(heartbeat, 112) is None
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc, heartbeat_s=1)
    client.logon()
    assert client.recv(timeout=1.5) is None
    client.logout()
    acc.join()


def test_wait_for_timeout_describes_what_arrived() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        peer.send("8", *er("OTHER"))
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    with pytest.raises(FixClientTimeout, match=r"received 1 message.*ClOrdID=OTHER"):
        client.wait_for(lambda m: field(m, 11) == "MINE", timeout=0.5)
    client.logout()
    acc.join()


# -------------------------------------------------------------------------------------- order flow


def test_order_messages_write_expected_tags() -> None:
    def script(peer: Peer) -> None:
        peer.logon()
        for msg_type in "DDFGHB":
            peer.expect(msg_type)
        peer.logout()

    acc = Acceptor(script)
    client = client_for(acc)
    client.logon()
    limit = client.new_order(
        "AAPL",
        "buy",
        Decimal("100"),
        Decimal("190.05"),
        tif="gtc",
        ex_destination="SIM-A",
        account="ACC1",
        extra={526: "SEC-7"},
    )
    market = client.new_order("MSFT", "2", Decimal("1E+3"))  # never exponent notation on the wire
    cancel = client.cancel(limit, "AAPL", "1", Decimal("100"))
    replace = client.replace(limit, "AAPL", "buy", Decimal("150"), Decimal("190.10"), cl_ord_id="R1")
    client.status("R1", "AAPL", "buy", order_id="O1")
    news = FixMessage()
    for tag, value in ((35, "B"), (148, "hello"), (97, "Y"), (34, 999)):
        news.append_pair(tag, value)
    assert client.send(news) == 7
    client.logout()
    peer = acc.join()
    _, d1, d2, f, g, h, b, _ = peer.received
    for seq, msg in enumerate(peer.received, 1):
        check_header(msg, seq)

    assert limit != market and limit.startswith("C") and market.startswith("C")
    assert cancel not in (limit, market) and replace == "R1"
    assert TIMESTAMP.fullmatch(field(d1, 60) or "")
    expected_d1 = {
        11: limit,
        1: "ACC1",
        21: "1",
        100: "SIM-A",
        55: "AAPL",
        54: "1",
        38: "100",
        40: "2",
        44: "190.05",
        59: "1",
        526: "SEC-7",
    }
    assert {tag: field(d1, tag) for tag in expected_d1} == expected_d1
    expected_d2 = {
        11: market,
        21: "1",
        55: "MSFT",
        54: "2",
        38: "1000",
        40: "1",
        44: None,
        59: "0",
        100: None,
    }
    assert {tag: field(d2, tag) for tag in expected_d2} == expected_d2
    expected_f = {41: limit, 11: cancel, 55: "AAPL", 54: "1", 38: "100"}
    assert {tag: field(f, tag) for tag in expected_f} == expected_f and field(f, 60)
    expected_g = {
        41: limit,
        11: "R1",
        21: "1",
        55: "AAPL",
        54: "1",
        38: "150",
        40: "2",
        44: "190.10",
        59: "0",
    }
    assert {tag: field(g, tag) for tag in expected_g} == expected_g and field(g, 60)
    assert {tag: field(h, tag) for tag in (11, 37, 55, 54)} == {11: "R1", 37: "O1", 55: "AAPL", 54: "1"}
    assert field(b, 148) == "hello" and field(b, 97) == "Y"  # PossResend moved into the header


def test_cl_ord_ids_are_unique() -> None:
    from gateway.tools.fixclient import new_cl_ord_id

    ids = {new_cl_ord_id() for _ in range(1000)}
    assert len(ids) == 1000


# ----------------------------------------------------------------------------------------- describe


def message(*pairs: tuple[int, object]) -> FixMessage:
    msg = FixMessage()
    for tag, value in pairs:
        msg.append_pair(tag, value)
    return msg


def test_describe_fix42_fill() -> None:
    msg = message(
        (8, "FIX.4.2"),
        (35, "8"),
        (37, "O1"),
        (17, "E1"),
        (20, "0"),
        (150, "2"),
        (39, "2"),
        (11, "C1"),
        (54, "1"),
        (55, "AAPL"),
        (32, "100"),
        (31, "190.01"),
        (14, "100"),
        (151, "0"),
        (6, "190.01"),
        (30, "SIM-B"),
    )
    # FIX 4.2 names tag 32 LastShares: names come from the message's own dictionary
    assert describe(msg) == (
        "ExecutionReport ClOrdID=C1 OrderID=O1 ExecType=2(Fill) OrdStatus=2(Filled) "
        "Side=Buy Symbol=AAPL LastShares=100 LastPx=190.01 CumQty=100 LeavesQty=0 "
        "AvgPx=190.01 LastMkt=SIM-B"
    )
    partial = message((8, "FIX.4.2"), (35, "8"), (150, "1"), (39, "1"))
    assert describe(partial) == "ExecutionReport ExecType=1(PartialFill) OrdStatus=1(PartiallyFilled)"


def test_describe_fix44_partial_fill() -> None:
    msg = message(
        (8, "FIX.4.4"),
        (35, "8"),
        (11, "C1"),
        (37, "O1"),
        (150, "F"),
        (39, "1"),
        (54, "2"),
        (55, "AAPL"),
        (32, "50"),
        (31, "190.01"),
        (14, "50"),
        (151, "50"),
        (6, "190.01"),
        (30, "SIM-A"),
        (58, "partial"),
    )
    assert describe(msg) == (
        "ExecutionReport ClOrdID=C1 OrderID=O1 ExecType=F(Trade) "
        "OrdStatus=1(PartiallyFilled) Side=Sell Symbol=AAPL LastQty=50 LastPx=190.01 "
        "CumQty=50 LeavesQty=50 AvgPx=190.01 LastMkt=SIM-A Text=partial"
    )


def test_describe_rejects_and_fallback() -> None:
    cxl = message(
        (35, "9"), (11, "X2"), (41, "X1"), (37, "O1"), (39, "2"), (434, "1"), (102, "0"), (58, "too late")
    )
    assert describe(cxl) == (
        "OrderCancelReject ClOrdID=X2 OrigClOrdID=X1 OrderID=O1 OrdStatus=2(Filled) "
        "CxlRejResponseTo=1(OrderCancelRequest) CxlRejReason=0(TooLateToCancel) "
        "Text=too late"
    )
    rejected = message((35, "8"), (11, "C9"), (150, "8"), (39, "8"), (103, "1"))
    assert describe(rejected) == (
        "ExecutionReport ClOrdID=C9 ExecType=8(Rejected) OrdStatus=8(Rejected) OrdRejReason=1(UnknownSymbol)"
    )
    reject = message((35, "3"), (45, "7"), (371, "44"), (373, "5"))
    assert describe(reject) == "Reject RefSeqNum=7 RefTagID=44 SessionRejectReason=5(ValueIsIncorrect)"
    bmr = message((35, "j"), (45, "3"), (372, "D"), (380, "3"))
    assert describe(bmr) == (
        "BusinessMessageReject RefSeqNum=3 RefMsgType=D BusinessRejectReason=3(UnsupportedMessageType)"
    )
    assert describe(message((8, "FIX.4.4"), (35, "B"), (148, "hi"))) == "8=FIX.4.4|35=B|148=hi"


def test_as_dict_names_tags_and_keeps_repeats() -> None:
    msg = message((35, "8"), (11, "C1"), (9999, "a"), (9999, "b"))
    assert as_dict(msg) == {"MsgType": "8", "ClOrdID": "C1", "9999": ["a", "b"]}


# -------------------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli() -> ModuleType:
    from gateway.cli import client_cmd

    return client_cmd


def write_config(root: Path, port: int) -> str:
    (root / "config/clients").mkdir(parents=True)
    (root / "config/gateway.yaml").write_text(
        textwrap.dedent(f"""\
        gateway:
          comp_id: FIXGW
          home: ..
          acceptor:
            port: {port}
        instruments:
          - {{symbol: AAPL, tick_size: "0.01", lot_size: "1", currency: USD}}
        """)
    )
    (root / "config/clients/CLIENT1.yaml").write_text('name: CLIENT1\nfix_version: "4.4"\n')
    return str(root / "config/gateway.yaml")


Config = Callable[[int], str]  # port -> path of a temporary gateway.yaml with CLIENT1 (FIX 4.4)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return lambda port: write_config(tmp_path, port)


def run_cli(cli: ModuleType, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.client, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["new", "AAPL", "hold", "100"], "'hold'"),
        (["new", "AAPL", "buy", "abc"], "'abc' is not a number"),
        (["new", "AAPL", "buy", "0"], "is not a positive number"),
        (["new", "AAPL", "buy", "100", "--type", "limit"], "a limit order needs a PRICE"),
        (["new", "AAPL", "buy", "100", "190", "--type", "market"], "a market order takes no PRICE"),
        (["cancel", "C1", "AAPL", "sideways", "100"], "'sideways'"),
        (["--session", "NOPE", "status", "C1", "AAPL", "buy"], "unknown session 'NOPE'"),
    ],
)
def test_cli_usage_errors(cli: ModuleType, config: Config, args: list[str], message: str) -> None:
    code, output = run_cli(cli, "--config", config(9), *args)
    assert code == 2
    assert "Error" in output and message in output


def test_cli_config_error_is_one_line(cli: ModuleType, tmp_path: Path) -> None:
    code, output = run_cli(cli, "--config", str(tmp_path / "missing.yaml"), "listen")
    assert code == 2
    assert output.startswith("Error: ") and output.count("\n") == 1 and "file not found" in output


@pytest.mark.parametrize("command", [[], ["new"], ["cancel"], ["replace"], ["status"], ["listen"]])
def test_cli_help(cli: ModuleType, command: list[str]) -> None:
    code, output = run_cli(cli, *command, "--help")
    assert code == 0 and "Usage:" in output


def test_cli_connection_failure_exits_2(cli: ModuleType, config: Config) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    code, output = run_cli(cli, "--config", config(port), "--timeout", "2", "new", "AAPL", "buy", "100")
    assert code == 2 and "Error: cannot connect" in output


def answer_order(
    *replies: Callable[[str], tuple[str, tuple[tuple[int, object], ...]]], request: str = "D"
) -> Callable[[Peer], None]:
    """Script: logon (must carry 141=Y), answer one request with replies built from its ClOrdID, logout."""

    def script(peer: Peer) -> None:
        assert field(peer.logon((141, "Y")), 141) == "Y"
        cl_ord_id = field(peer.expect(request), 11) or ""
        for reply in replies:
            msg_type, pairs = reply(cl_ord_id)
            peer.send(msg_type, *pairs)
        peer.logout()

    return script


def test_cli_new_waits_for_ack(cli: ModuleType, config: Config) -> None:
    acc = Acceptor(answer_order(lambda cl: ("8", er(cl, "A", "A")), lambda cl: ("8", er(cl, "0", "0"))))
    code, output = run_cli(
        cli, "--config", config(acc.port), "new", "AAPL", "buy", "100", "190.05", "--venue", "SIM-A"
    )
    peer = acc.join()
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 2 and "OrdStatus=A(PendingNew)" in lines[0] and "OrdStatus=0(New)" in lines[1]
    order = peer.received[1]
    assert (field(order, 55), field(order, 54), field(order, 38), field(order, 44), field(order, 100)) == (
        "AAPL",
        "1",
        "100",
        "190.05",
        "SIM-A",
    )


def test_cli_new_rejected_exits_1_with_json(cli: ModuleType, config: Config) -> None:
    reject = lambda cl: ("8", (*er(cl, "8", "8"), (58, "unknown symbol")))  # noqa: E731
    acc = Acceptor(answer_order(reject))
    code, output = run_cli(cli, "--config", config(acc.port), "new", "ZZZ", "sell", "10", "--json")
    acc.join()
    assert code == 1, output
    record = json.loads(output.splitlines()[0])
    assert (record["MsgType"], record["OrdStatus"], record["Text"]) == ("8", "8", "unknown symbol")


def test_cli_cancel_reject_exits_1(cli: ModuleType, config: Config) -> None:
    reject = lambda cl: ("9", ((11, cl), (41, "C1"), (37, "O1"), (39, "2"), (434, "1"), (102, "0")))  # noqa: E731
    acc = Acceptor(answer_order(reject, request="F"))
    code, output = run_cli(cli, "--config", config(acc.port), "cancel", "C1", "AAPL", "buy", "100")
    acc.join()
    assert code == 1, output
    assert "OrderCancelReject" in output and "CxlRejReason=0(TooLateToCancel)" in output


def test_cli_timeout_exits_2(cli: ModuleType, config: Config) -> None:
    acc = Acceptor(answer_order())  # never answers the order
    code, output = run_cli(
        cli, "--config", config(acc.port), "--timeout", "0.5", "new", "AAPL", "buy", "1", "2"
    )
    acc.join()
    assert code == 2 and "Error: no answer" in output


def test_cli_new_wait_fill_prints_every_report(cli: ModuleType, config: Config) -> None:
    acc = Acceptor(
        answer_order(
            lambda cl: ("8", er(cl, "0", "0")),
            lambda cl: ("8", er(cl, "1", "F")),
            lambda cl: ("8", er(cl, "2", "F")),
        )
    )
    code, output = run_cli(cli, "--config", config(acc.port), "new", "AAPL", "buy", "100", "--wait", "fill")
    acc.join()
    assert code == 0, output
    assert [line.split(" OrdStatus=")[1].split()[0] for line in output.splitlines()] == [
        "0(New)",
        "1(PartiallyFilled)",
        "2(Filled)",
    ]


def test_cli_listen_prints_every_message(cli: ModuleType, config: Config) -> None:
    def script(peer: Peer) -> None:
        peer.logon((141, "Y"))
        peer.send("8", *er("C1"))
        peer.send("B", (148, "hello"))
        peer.logout()

    acc = Acceptor(script)
    code, output = run_cli(cli, "--config", config(acc.port), "listen", "--seconds", "1")
    acc.join()
    assert code == 0, output
    lines = output.splitlines()
    assert len(lines) == 2 and lines[0].startswith("ExecutionReport ClOrdID=C1") and "|148=hello" in lines[1]
