"""Smart order routing over real FIX sessions: three simulated venues publishing their books.

CLIENT2 places liquidity at a chosen venue (its strategy is ``primary``, which honours
ExDestination); CLIENT1 routes with ``sweep`` or ``best_price`` on its own symbols.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.tools.fixclient import field
from tests.e2e.harness import (
    Process,
    connect,
    exec_type,
    report_for,
    reports_for,
    start_gateway,
    write_config,
)

VENUES = ("SIM-A", "SIM-B", "SIM-C")
CLIENT1_ROUTING = """routing:
  instruments:
    TA20: {strategy: sweep}
    TA21: {strategy: best_price}
    TA22: {strategy: best_price}
"""
OVERLAY = """<fix>
  <messages>
    <message name='NewOrderSingle' msgtype='D'>
      <field name='VenueOrderTag' required='Y'/>
    </message>
  </messages>
  <fields>
    <field number='9001' name='VenueOrderTag' type='STRING'/>
  </fields>
</fix>
"""


def three_venue_config(root: Path, stale_a: bool = False) -> Path:
    config = write_config(root, client_risk={"CLIENT1": CLIENT1_ROUTING})
    for venue in VENUES:
        path = root / "venues" / f"{venue}.yaml"
        text = path.read_text().replace("enabled: false", "enabled: true")
        stale_ms, refresh = (400, 0) if (stale_a and venue == "SIM-A") else (5000, 1)
        text = text.replace("simulator:\n", f"simulator:\n  md_refresh_s: {refresh}\n")
        path.write_text(text + f"market_data: {{enabled: true, depth: 5, stale_after_ms: {stale_ms}}}\n")
    return config


@pytest.fixture(scope="module")
def routed(tmp_path_factory):
    config = three_venue_config(tmp_path_factory.mktemp("routing"))
    gw = start_gateway(config, venues=VENUES)
    yield config
    gw.stop()


def liquidity(client, symbol: str, side: str, qty, price, venue: str) -> None:
    cl = client.new_order(symbol, side, qty, price, ex_destination=venue)
    assert field(report_for(client, cl), 39) == "0"


def test_sweep_fills_across_three_venues_with_one_aggregated_order(routed):
    c1, c2 = connect(routed, "CLIENT1"), connect(routed, "CLIENT2")
    liquidity(c2, "TA20", "sell", 30, "10.00", "SIM-A")
    liquidity(c2, "TA20", "sell", 20, "10.01", "SIM-B")
    liquidity(c2, "TA20", "sell", 50, "10.02", "SIM-C")
    time.sleep(0.5)  # the venues' market data reaches the gateway
    cl = c1.new_order("TA20", "buy", 100, "10.02")
    assert field(report_for(c1, cl, exec_type("0")), 39) == "0"
    fills = [report_for(c1, cl, exec_type("F")) for _ in range(3)]
    assert sorted(field(f, 30) for f in fills) == list(VENUES)
    last = max(fills, key=lambda f: Decimal(field(f, 14)))
    assert [field(last, t) for t in (39, 14, 151)] == ["2", "100", "0"]
    assert Decimal(field(last, 6)) == Decimal("10.012")  # (300 + 200.2 + 501) / 100, across venues
    c1.logout()
    c2.logout()


def test_best_price_choice_follows_the_books(routed):
    c1, c2 = connect(routed, "CLIENT1"), connect(routed, "CLIENT2")
    liquidity(c2, "TA21", "sell", 5, "20.05", "SIM-A")
    liquidity(c2, "TA21", "sell", 5, "20.03", "SIM-B")
    time.sleep(0.5)
    first = c1.new_order("TA21", "buy", 5, "20.10")
    assert field(report_for(c1, first, exec_type("F")), 30) == "SIM-B"
    liquidity(c2, "TA21", "sell", 5, "20.01", "SIM-C")  # the book moves: SIM-C is best now
    time.sleep(0.5)
    second = c1.new_order("TA21", "buy", 5, "20.10")
    fill = report_for(c1, second, exec_type("F"))
    assert (field(fill, 30), field(fill, 31)) == ("SIM-C", "20.01")
    c1.logout()
    c2.logout()


def test_stale_market_data_is_not_used_for_routing(tmp_path):
    config = three_venue_config(tmp_path, stale_a=True)  # SIM-A sends one snapshot, stale after 0.4 s
    gw = start_gateway(config, venues=VENUES)
    try:
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        liquidity(c2, "TA22", "sell", 5, "30.00", "SIM-A")  # best price, but about to go stale
        liquidity(c2, "TA22", "sell", 5, "30.05", "SIM-B")
        time.sleep(1.0)
        cl = c1.new_order("TA22", "buy", 5, "30.10")
        fill = report_for(c1, cl, exec_type("F"))
        assert (field(fill, 30), field(fill, 31)) == ("SIM-B", "30.05")
        c1.logout()
        c2.logout()
    finally:
        gw.stop()


def test_fix42_venue_with_symbology_and_a_required_custom_tag(tmp_path):
    config = write_config(tmp_path)
    overlay = tmp_path / "sim-b-overlay.xml"
    overlay.write_text(OVERLAY)
    venue = tmp_path / "venues" / "SIM-B.yaml"
    venue.write_text(
        venue.read_text()
        + 'symbology: {TB05: "TB05.XB"}\n'
        + 'extra_tags: {9001: "{client}"}\n'
        + f"dictionary_overlay: {overlay}\n"
    )
    gw = start_gateway(config)
    try:
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        buy = c1.new_order("TB05", "buy", 3, "7")
        assert field(report_for(c1, buy), 39) == "0"  # the venue's dictionary requires 9001
        c2.new_order("TB05", "sell", 3, "7")
        fill = report_for(c1, buy, exec_type("F"))
        assert [field(fill, t) for t in (55, 39, 30)] == ["TB05", "2", "SIM-B"]  # client symbol back
        log = next((tmp_path / "sessions" / "log" / "sim-SIM-B").glob("*messages.current.log")).read_text()
        assert "\x0155=TB05.XB\x01" in log and "\x019001=CLIENT1\x01" in log and "\x019001=CLIENT2\x01" in log
        c1.logout()
        c2.logout()
    finally:
        gw.stop()


def _arrivals(root: Path, venue: str, msg_type: str) -> list[datetime]:
    """When the simulated venue received each message of a type, from its QuickFIX message log."""
    log = next((root / "sessions" / "log" / f"sim-{venue}").glob("*messages.current.log"))
    times = []
    for line in log.read_text().splitlines():
        stamp, _, message = line.partition(" : ")
        if f"\x0135={msg_type}\x01" in message and "\x0149=FIXGW\x01" in message:
            times.append(datetime.strptime(stamp[:24], "%Y%m%d-%H:%M:%S.%f"))  # ns -> µs
    return times


def test_venue_rate_limit_is_held_exactly_and_queued_orders_still_go(tmp_path):
    config = write_config(tmp_path)
    venue = tmp_path / "venues" / "SIM-A.yaml"
    venue.write_text(
        venue.read_text() + "rate_limits: {orders_per_s: 5, on_exhausted: queue, max_wait_ms: 5000}\n"
    )
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        sent = [c1.new_order("TA25", "buy", 1, "1") for _ in range(12)]
        acks = reports_for(c1, sent, timeout=6)
        assert all(field(a, 39) == "0" for a in acks.values())  # queued, never refused
        arrivals = sorted(_arrivals(tmp_path, "SIM-A", "D"))
        assert len(arrivals) == 12
        window = timedelta(seconds=1)
        busiest = max(sum(1 for u in arrivals if t <= u < t + window) for t in arrivals)
        assert busiest == 5  # exactly the limit: never more in any one-second window
        assert arrivals[-1] - arrivals[0] >= timedelta(seconds=2)  # 12 orders at 5/s need > 2 s
        c1.logout()
    finally:
        gw.stop()


def test_circuit_breaker_opens_after_consecutive_rejects_and_routing_avoids_the_venue(tmp_path):
    config = write_config(tmp_path)
    venue = tmp_path / "venues" / "SIM-A.yaml"
    text = venue.read_text().replace("seed: 7\n", "seed: 7\n  reject_probability: 1.0\n")
    venue.write_text(text + "circuit_breaker: {max_consecutive_rejects: 2, half_open_after_s: 60}\n")
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        for _ in range(2):
            rej = report_for(c1, c1.new_order("TA26", "buy", 1, "1"))
            assert field(rej, 39) == "8" and "simulated reject" in field(rej, 58)
        gw.wait_for_log("circuit breaker SIM-A: CLOSED -> OPEN")
        refused = report_for(c1, c1.new_order("TA26", "buy", 1, "1"))
        assert field(refused, 39) == "8" and "circuit breaker open" in field(refused, 58)
        c1.logout()
    finally:
        gw.stop()


def test_venue_disconnect_mid_order_reroutes_the_remainder_and_the_client_sees_one_order(tmp_path):
    config = write_config(
        tmp_path, sim_a=False,
        risk="routing:\n  strategy: primary\n  params: {fallback: true}\n  on_child_reject: reroute\n",
    )  # fmt: skip
    venue_file = tmp_path / "venues" / "SIM-A.yaml"
    venue_file.write_text(venue_file.read_text() + "cancel_on_disconnect: true\n")
    sim_a = Process("venue-sim", "--config", str(config), "SIM-A")
    sim_a.wait_for_log("simulated venue SIM-A")
    gw = start_gateway(config)
    try:
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        cl = c1.new_order("TA27", "buy", 10, "4")  # rests at SIM-A, its primary venue
        assert field(report_for(c1, cl, exec_type("0")), 39) == "0"
        c2.new_order("TA27", "sell", 3, "4")
        assert field(report_for(c1, cl, exec_type("F")), 14) == "3"

        sim_a.kill()  # SIM-A drops: it cancels the rest; the gateway re-routes the 7 left to SIM-B
        gw.wait_for_log("re-routed 7 away from SIM-A")
        c2.new_order("TA27", "sell", 7, "4", ex_destination="SIM-B")
        fill = report_for(c1, cl, exec_type("F"))
        assert [field(fill, t) for t in (30, 32, 14, 151, 39)] == ["SIM-B", "7", "10", "0", "2"]
        c1.logout()
        c2.logout()
    finally:
        gw.stop()
        sim_a.stop()


def test_market_data_over_a_separate_session_drives_routing(tmp_path):
    config = write_config(
        tmp_path, client_risk={"CLIENT1": "routing:\n  instruments:\n    TA28: {strategy: best_price}\n"}
    )
    for venue, md in (("SIM-A", "{enabled: true, comp_id: SIM-A-MD}"), ("SIM-B", "{enabled: true}")):
        path = tmp_path / "venues" / f"{venue}.yaml"
        path.write_text(path.read_text() + f"market_data: {md}\n")
    gw = start_gateway(config)
    try:
        gw.wait_for_log("venue session SIM-A#md logged on")
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        liquidity(c2, "TA28", "sell", 5, "40.02", "SIM-A")
        liquidity(c2, "TA28", "sell", 5, "40.05", "SIM-B")
        time.sleep(0.5)
        fill = report_for(c1, c1.new_order("TA28", "buy", 5, "40.10"), exec_type("F"))
        assert (field(fill, 30), field(fill, 31)) == ("SIM-A", "40.02")
        logs = tmp_path / "sessions" / "log" / "sim-SIM-A"
        md_log = next(logs.glob("*SIM-A-MD*messages.current.log"))
        assert "\x0135=V\x01" in md_log.read_text()  # subscribed on the market-data session
        order_log = next(
            p
            for p in logs.glob("*messages.current.log")
            if "SIM-A-MD" not in p.name and "GLOBAL" not in p.name
        )
        assert "\x0135=V\x01" not in order_log.read_text()
        c1.logout()
        c2.logout()
    finally:
        gw.stop()
