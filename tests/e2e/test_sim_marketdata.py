"""The simulated venue publishes its books: ``fixgw venue-sim`` standalone, a FixClient in the
gateway's seat sends MarketDataRequests (built with simplefix, as an independent implementation)
and reads the snapshots (W) and incremental refreshes (X) off the wire."""

from __future__ import annotations

from decimal import Decimal

import pytest
from simplefix import FixMessage

from gateway.config import load_config
from gateway.tools.fixclient import FixClient, FixClientTimeout, field
from tests.e2e.harness import HOST, Process, exec_type, report_for, write_config

D = Decimal


def md_request(
    req_id: str, symbols: list[str], depth: int = 5, request_type: str = "1", update_type: str = "1"
) -> FixMessage:
    msg = FixMessage()
    msg.append_pair(35, "V")
    msg.append_pair(262, req_id)
    msg.append_pair(263, request_type)
    msg.append_pair(264, depth)
    if request_type == "1":
        msg.append_pair(265, update_type)  # 1: incremental refresh (X), 0: full refresh (W)
    msg.append_pair(267, 3)
    for entry_type in ("0", "1", "2"):
        msg.append_pair(269, entry_type)
    msg.append_pair(146, len(symbols))
    for symbol in symbols:
        msg.append_pair(55, symbol)
    return msg


def entries(msg: FixMessage, delimiter: int) -> list[dict[int, str]]:
    """The NoMDEntries group as one dict per entry, split at the delimiter tag (in wire order)."""
    out: list[dict[int, str]] = []
    started = False
    for tag, value in msg.pairs:
        tag = int(tag)
        if tag == 268:
            started = True
        elif started and tag == delimiter:
            out.append({tag: value.decode()})
        elif started and out and tag in (269, 270, 271, 279, 55):
            out[-1][tag] = value.decode()
    assert len(out) == int(field(msg, 268)), msg
    return out


def levels(msg: FixMessage, entry_type: str) -> list[tuple[Decimal, Decimal]]:
    return [(D(e[270]), D(e[271])) for e in entries(msg, 269) if e[269] == entry_type]


def changes(msg: FixMessage) -> list[tuple[str, str, Decimal, Decimal | None]]:
    """(action, entry type, price, size) per X entry."""
    return [(e[279], e[269], D(e[270]), D(e[271]) if 271 in e else None) for e in entries(msg, 279)]


def is_md(msg_type: str, req_id: str):
    return lambda m: field(m, 35) == msg_type and field(m, 262) == req_id


@pytest.fixture
def venue_session(tmp_path, request):
    """(FixClient logged on to the standalone simulated venue as the gateway, venue name)."""
    name = request.param
    config = write_config(tmp_path, sim_a=False, sim_b=False)
    venue = Process("venue-sim", "--config", str(config), name)
    try:
        venue.wait_for_log(f"simulated venue {name}")
        cfg = load_config(config).venues[name]
        client = FixClient(HOST, cfg.port, cfg.gateway_comp_id, cfg.comp_id, cfg.begin_string)
        client.logon(reset_seq=True)
        yield client, venue
        client.logout()
    finally:
        venue.stop()


@pytest.mark.parametrize("venue_session", ["SIM-A"], indirect=True)
def test_snapshot_then_incremental_refreshes_follow_the_book(venue_session):
    gw_side, _ = venue_session
    gw_side.send(md_request("MD1", ["AAPL"]))
    snap = gw_side.wait_for(is_md("W", "MD1"), 5)
    assert [field(snap, t) for t in (8, 55)] == ["FIX.4.4", "AAPL"]
    assert levels(snap, "0") == [(D("189.99") - D("0.01") * i, D(100)) for i in range(5)]
    assert levels(snap, "1") == [(D("190.01") + D("0.01") * i, D(100)) for i in range(5)]
    assert levels(snap, "2") == []  # no trade yet

    # A bid improving the market: a new level at 190.00 pushes 189.95 out of the top 5.
    bid = gw_side.new_order("AAPL", "buy", 50, "190.00")
    report_for(gw_side, bid, exec_type("0"))
    x = gw_side.wait_for(is_md("X", "MD1"), 5)
    assert changes(x) == [("2", "0", D("189.95"), None), ("0", "0", D("190.00"), D(50))]
    assert {e[55] for e in entries(x, 279)} == {"AAPL"}

    # A sell hitting it for 30: the level shrinks and the trade is published.
    hit = gw_side.new_order("AAPL", "sell", 30, "190.00")
    report_for(gw_side, hit, exec_type("F"))
    x = gw_side.wait_for(is_md("X", "MD1"), 5)
    assert changes(x) == [("1", "0", D("190.00"), D(20)), ("0", "2", D("190.00"), D(30))]

    # Cancelling the rest deletes the level; 189.95 is back in the top 5.
    cxl = gw_side.cancel(bid, "AAPL", "buy", 50)
    report_for(gw_side, cxl, exec_type("4"))
    x = gw_side.wait_for(is_md("X", "MD1"), 5)
    assert changes(x) == [("2", "0", D("190.00"), None), ("0", "0", D("189.95"), D(100))]

    # A new subscription's snapshot now carries the last trade.
    gw_side.send(md_request("MD2", ["AAPL"], depth=2))
    snap = gw_side.wait_for(is_md("W", "MD2"), 5)
    assert levels(snap, "0") == [(D("189.99"), D(100)), (D("189.98"), D(100))]
    assert levels(snap, "1") == [(D("190.01"), D(100)), (D("190.02"), D(100))]
    assert levels(snap, "2") == [(D("190.00"), D(30))]

    # After unsubscribing MD1 only MD2 hears of changes.
    gw_side.send(md_request("MD1", ["AAPL"], request_type="2"))
    gw_side.new_order("AAPL", "sell", 5, "190.005")
    x = gw_side.wait_for(is_md("X", "MD2"), 5)
    # MD2 keeps 2 levels: 190.02 leaves its top 2 as 190.005 enters.
    assert changes(x) == [("2", "1", D("190.02"), None), ("0", "1", D("190.005"), D(5))]
    with pytest.raises(FixClientTimeout):
        gw_side.wait_for(is_md("X", "MD1"), 1.5)


@pytest.mark.parametrize("venue_session", ["SIM-B"], indirect=True)
def test_fix42_venue_publishes_an_empty_book_then_its_first_order(venue_session):
    gw_side, _ = venue_session
    gw_side.send(md_request("B1", ["TB01"]))
    snap = gw_side.wait_for(is_md("W", "B1"), 5)
    assert [field(snap, t) for t in (8, 55, 268)] == ["FIX.4.2", "TB01", "0"]
    gw_side.send(md_request("B2", ["TB01"], update_type="0"))  # updates as full refreshes
    gw_side.wait_for(is_md("W", "B2"), 5)
    cl = gw_side.new_order("TB01", "sell", 7, "12.5")
    report_for(gw_side, cl, exec_type("0"))
    x = gw_side.wait_for(is_md("X", "B1"), 5)
    assert changes(x) == [("0", "1", D("12.5"), D(7))]
    # (a periodic refresh may come first on a slow machine: wait for the one with the order)
    full = gw_side.wait_for(lambda m: is_md("W", "B2")(m) and levels(m, "1") != [], 5)
    assert levels(full, "1") == [(D("12.5"), D(7))]


@pytest.mark.parametrize("venue_session", ["SIM-A"], indirect=True)
def test_duplicate_request_id_is_rejected_and_quiet_books_are_refreshed(venue_session):
    gw_side, _ = venue_session
    gw_side.send(md_request("R1", ["AAPL"]))
    gw_side.wait_for(is_md("W", "R1"), 5)
    gw_side.send(md_request("R1", ["AAPL"]))
    rej = gw_side.wait_for(lambda m: field(m, 35) == "Y", 5)
    assert [field(rej, t) for t in (262, 281)] == ["R1", "1"]
    # Nothing happens in the book, yet a new full snapshot arrives (md_refresh_s, 1 s by default).
    again = gw_side.wait_for(is_md("W", "R1"), 3)
    assert levels(again, "1")[0] == (D("190.01"), D(100))
