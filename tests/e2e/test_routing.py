"""Smart order routing over real FIX sessions: three simulated venues publishing their books.

CLIENT2 places liquidity at a chosen venue (its strategy is ``primary``, which honours
ExDestination); CLIENT1 routes with ``sweep`` or ``best_price`` on its own symbols.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.tools.fixclient import field
from tests.e2e.harness import connect, exec_type, report_for, start_gateway, write_config

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
