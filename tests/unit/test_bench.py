"""The benchmark harness's pure parts: the raw FIX client's framing, the order flow, the figures."""

from __future__ import annotations

import socket

import pytest
import simplefix

from gateway.bench.load import OrderFlow
from gateway.bench.report import distribution, ratios, sustained_rate, target_checks
from gateway.bench.soak import memory_verdict
from gateway.bench.wire import FixWire, WireError, field, msg_type


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield FixWire(a, "CLIENT1", "FIXGW"), b
    a.close()
    b.close()


def _peer_message(msg_type_: str, *pairs: tuple[int, str], seq: int = 1) -> bytes:
    m = simplefix.FixMessage()
    for tag, value in ((8, "FIX.4.4"), (35, msg_type_), (49, "FIXGW"), (56, "CLIENT1"), (34, seq)):
        m.append_pair(tag, value, header=True)
    for tag, value in pairs:
        m.append_pair(tag, value)
    return m.encode()


def test_encode_when_parsed_by_simplefix_then_length_checksum_and_sequence_are_right(pair):
    wire, _ = pair
    raw = wire.encode(b"D", b"11=X1\x0155=AAPL\x01")
    again = wire.encode(b"D", b"11=X2\x0155=AAPL\x01")
    parser = simplefix.FixParser()
    parser.append_buffer(raw + again)
    first, second = parser.get_message(), parser.get_message()
    assert (first.get(35), first.get(49), first.get(56), first.get(11)) == (b"D", b"CLIENT1", b"FIXGW", b"X1")
    assert (first.get(34), second.get(34)) == (b"1", b"2")
    body = raw[raw.index(b"\x01") + 1 :]
    body = body[body.index(b"\x01") + 1 : raw.rindex(b"10=") - len(raw)]
    assert int(first.get(9)) == len(body)
    assert int(first.get(10)) == sum(raw[: raw.rindex(b"10=")]) % 256


def test_feed_when_messages_arrive_in_pieces_then_each_is_returned_once_whole(pair):
    wire, _ = pair
    er1 = _peer_message("8", (11, "A1"), (39, "0"), (100, "SIM-A"))  # 100= must not look like 10=
    er2 = _peer_message("8", (11, "A2"), (39, "0"), seq=2)
    stream = er1 + er2
    got = []
    for i in range(0, len(stream), 7):
        got += wire.feed(stream[i : i + 7])
    assert got == [er1, er2]
    assert field(got[0], b"100") == b"SIM-A" and msg_type(got[1]) == b"8"


def test_feed_when_test_request_then_answers_heartbeat_and_on_reject_raises(pair):
    wire, peer = pair
    assert wire.feed(_peer_message("1", (112, "TR-1"))) == []
    peer.settimeout(2)
    answer = peer.recv(4096)
    assert msg_type(answer) == b"0" and field(answer, b"112") == b"TR-1"
    with pytest.raises(WireError, match="Reject"):
        wire.feed(_peer_message("3", (45, "2"), (58, "Reject: bad tag"), seq=2))


def test_order_flow_when_consecutive_orders_then_no_two_alike_within_20000_and_index_round_trips():
    flow = OrderFlow("RUN7-")
    ts = b"20260101-00:00:00.000"
    keys = set()
    for i in range(20_000):
        body = flow.body(i, ts)
        keys.add((field(b"\x01" + body, b"38"), field(b"\x01" + body, b"44")))
    assert len(keys) == 20_000
    prices = {float(p) for _, p in keys}
    assert min(prices) == 175.0 and max(prices) == 176.99  # 7-8 % under the 190.00 book, in the collar
    er = _peer_message("8", (11, "RUN7-12345"), (39, "0"))
    assert flow.index(er) == 12345
    assert OrderFlow("OTHER-").index(er) is None
    assert b"59=3" in OrderFlow("X", ioc=True).body(0, ts) and b"59=0" in flow.body(0, ts)


def test_distribution_is_nearest_rank_in_microseconds():
    d = distribution([i * 1000 for i in range(1, 1001)])  # 1..1000 µs
    assert (d["p50"], d["p90"], d["p99"], d["p99.9"], d["max"], d["count"]) == (
        500,
        900,
        990,
        999,
        1000,
        1000,
    )
    assert distribution([]) == {}


def _m(p50: float, p99: float, throughput: float, cpu: float | None, **extra) -> dict:
    lat = {"p50": p50, "p90": p50, "p99": p99, "p99.9": p99, "max": p99}
    return {
        "latency_us": lat,
        "throughput": throughput,
        "cpu_s_per_1k": {"target": cpu, "venue": 0.1, "client": 0.1},
        "memory_mb": {"target_peak": 100.0 if cpu else None},
        "internal_us": None,
        "lost": 0,
        "rejected": 0,
        **extra,
    }


def test_ratios_and_checks_when_fixgw_is_twice_the_proxy_then_targets_report_not_met():
    sweep = lambda top: [  # noqa: E731
        _m(100, 200, r, 1.0, rate=r, saturated=r > top) for r in (500, 1000, 2000)
    ]
    doc = {
        "targets": {
            "proxy": {
                "pingpong": _m(200, 400, 3000, 0.2),
                "burst": _m(1, 1, 4000, 0.2),
                "sweep": sweep(2000),
            },
            "fixgw": {
                "pingpong": {**_m(400, 800, 1000, 1.0), "internal_us": {"client": {"p50": 50, "p99": 300}}},
                "burst": _m(1, 1, 1000, 1.0),
                "sweep": sweep(500),
            },
        }
    }
    doc["ratios"] = ratios(doc)
    r = doc["ratios"]["fixgw/proxy"]
    assert r["pingpong"]["p50"] == 2.0 and r["pingpong_cpu"] == 5.0 and r["burst_throughput"] == 0.25
    assert sustained_rate(doc["targets"]["fixgw"]["sweep"]) == 500 and r["sustained_rate"] == 0.25
    checks = {c["target"]: c["met"] for c in target_checks(doc)}
    assert checks["ping-pong p50 fixgw/proxy"] is False
    assert checks["burst throughput fixgw/proxy"] is False
    assert checks["internal client p50 µs (ping-pong)"] is True
    assert checks["internal client p99 µs (ping-pong)"] is False
    assert checks["internal venue p50 µs (ping-pong)"] is None  # not measured


def _samples(rss: list[float]) -> list[dict]:
    return [{"t_s": 10.0 * (i + 1), "sent": 1000 * (i + 1), "rss_mb": v} for i, v in enumerate(rss)]


def test_memory_verdict_when_rss_is_flat_after_warmup_then_not_grown_and_when_it_climbs_then_grown():
    flat = memory_verdict(_samples([50, 100, 101, 100, 99, 100, 101, 100, 100, 100]), growth_pct=5)
    assert flat["grew"] is False and flat["verdict"] == "memory flat"
    climbing = memory_verdict(_samples([100 + 3 * i for i in range(10)]), growth_pct=5)
    assert climbing["grew"] is True and climbing["growth_mb"] == 18.0
    assert climbing["mb_per_100k_orders"] == 300.0  # 3 MB per 1,000 orders
    assert memory_verdict(_samples([1, 2]), growth_pct=5)["grew"] is None
