"""Pre-trade risk, trading states and the kill switch, over real FIX sessions and the real CLI."""

from __future__ import annotations

import json

import pytest

from gateway.tools.fixclient import field
from tests.e2e.harness import (
    Process,
    connect,
    exec_type,
    fixgw,
    report_for,
    reports_for,
    start_gateway,
    write_config,
)

RISK = """risk:
  restricted_symbols: [TA39]
  checks:
    - {check: max_order_qty, max_qty: 1000}
    - {check: max_position, max_long: 5000, max_short: 5000}
"""
CLIENT2_THROTTLE = """risk:
  checks:
    - {check: throttle, orders_per_s: 5, burst: 5}
"""


@pytest.fixture(scope="module")
def risky(tmp_path_factory):
    config = write_config(
        tmp_path_factory.mktemp("risk"), risk=RISK, client_risk={"CLIENT2": CLIENT2_THROTTLE}
    )
    gw = start_gateway(config)
    yield config
    gw.stop()


def rest(client, symbol, side, qty, price, **kw) -> str:
    cl = client.new_order(symbol, side, qty, price, **kw)
    assert field(report_for(client, cl), 39) == "0"
    return cl


def test_order_beyond_a_limit_is_rejected_naming_check_limit_and_value(risky):
    c1 = connect(risky, "CLIENT1")
    cl = c1.new_order("TA30", "buy", 1001, "10")
    rej = report_for(c1, cl)
    assert [field(rej, t) for t in (150, 39, 103)] == ["8", "8", "3"]
    assert "max_order_qty" in field(rej, 58) and "1001" in field(rej, 58) and "1000" in field(rej, 58)
    restricted = c1.new_order("TA39", "buy", 1, "10")
    assert "TA39" in field(report_for(c1, restricted), 58)
    c1.logout()


def test_rejected_replace_leaves_the_original_order_live(risky):
    c1 = connect(risky, "CLIENT1")
    cl = rest(c1, "TA31", "buy", 100, "10")
    too_big = c1.replace(cl, "TA31", "buy", 5000, "10")
    rej = report_for(c1, too_big)
    assert [field(rej, t) for t in (35, 434, 39)] == ["9", "2", "0"]
    assert "max_order_qty" in field(rej, 58)
    c1.status(cl, "TA31", "buy")
    live = report_for(c1, cl, exec_type("I"))
    assert [field(live, t) for t in (39, 38, 151)] == ["0", "100", "100"]
    c1.logout()


def test_max_position_counts_working_orders_as_if_filled(risky):
    c1 = connect(risky, "CLIENT1")
    for _ in range(5):
        rest(c1, "TA32", "buy", 1000, "1")  # 5000 working: exactly at max_long
    one_more = c1.new_order("TA32", "buy", 1, "1")
    rej = report_for(c1, one_more)
    assert field(rej, 39) == "8" and "max_position" in field(rej, 58)
    c1.logout()


def test_order_throttle_trips_and_the_excess_is_rejected(risky):
    c2 = connect(risky, "CLIENT2")
    sent = [c2.new_order("TA33", "buy", 1, "1") for _ in range(8)]
    answers = list(reports_for(c2, sent).values())  # rejects overtake the venue's acknowledgements
    rejected = [a for a in answers if field(a, 39) == "8"]
    assert len(rejected) >= 3, [field(a, 58) for a in answers]
    assert all("throttle" in field(a, 58) for a in rejected)
    c2.logout()


def test_kill_switch_cancels_working_orders_on_two_venues_and_halts_until_released(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        on_a = rest(c1, "TA01", "buy", 10, "5")
        on_b = rest(c1, "TB01", "sell", 10, "50")
        done = fixgw(config, "kill-switch", "engage", "--client", "CLIENT1", "--reason", "test")
        assert done.returncode == 0, done.stderr
        assert "canceling 2 working order(s)" in done.stdout
        for canceled in reports_for(c1, [on_a, on_b], exec_type("4")).values():
            assert field(canceled, 39) == "4" and "kill switch" in field(canceled, 58)
        halted = c1.new_order("TA01", "buy", 1, "5")
        assert "trading halted" in field(report_for(c1, halted), 58)

        state = json.loads(fixgw(config, "trading-state", "--json").stdout)
        assert state["clients"]["CLIENT1"]["state"] == "HALTED"
        assert fixgw(config, "kill-switch", "release", "--client", "CLIENT1").returncode == 0
        assert field(report_for(c1, c1.new_order("TA01", "buy", 1, "5")), 39) == "0"
        c1.logout()
    finally:
        gw.stop()


def test_kill_switch_cli_mistakes_are_one_line_errors(tmp_path):
    config = write_config(tmp_path)
    both = fixgw(config, "kill-switch", "engage", "--client", "CLIENT1", "--all")
    assert both.returncode == 2 and "exactly one of" in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1  # usage mistakes are one line too
    typo = fixgw(config, "kill-switch", "engag", "--all")
    assert typo.returncode == 2 and typo.stderr.startswith("Error: ") and len(typo.stderr.splitlines()) == 1
    no_gateway = fixgw(config, "kill-switch", "engage", "--all")
    assert no_gateway.returncode != 0 and "no admin token" in no_gateway.stderr
    assert len(no_gateway.stderr.strip().splitlines()) == 1


def test_loss_limit_moves_client_to_reducing_which_accepts_closing_and_refuses_opening(tmp_path):
    config = write_config(
        tmp_path, client_risk={"CLIENT1": "risk:\n  loss_limit: {max_loss: 1, action: reduce}\n"}
    )
    gw = start_gateway(config)
    try:
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        rest(c2, "TA02", "sell", 10, "10")
        buy = c1.new_order("TA02", "buy", 10, "10")
        report_for(c1, buy, exec_type("F"))  # long 10 @ 10
        rest(c2, "TA02", "buy", 5, "9")
        sell = c1.new_order("TA02", "sell", 5, "9")
        report_for(c1, sell, exec_type("F"))  # realised -5: beyond the loss limit of 1
        gw.wait_for_log("-> REDUCING")

        opening = c1.new_order("TA02", "buy", 1, "9")
        assert "REDUCING" in field(report_for(c1, opening), 58)
        closing = c1.new_order("TA02", "sell", 5, "9.5")
        assert field(report_for(c1, closing), 39) == "0"  # reduces the remaining long 5
        too_far = c1.new_order("TA02", "sell", 1, "9.5")
        assert "REDUCING" in field(report_for(c1, too_far), 58)  # would flip short
        c1.logout()
        c2.logout()
    finally:
        gw.stop()


def _positions(config, client: str) -> dict[str, dict]:
    out = fixgw(config, "positions", "--client", client, "--json")
    assert out.returncode == 0, out.stderr
    return {p["symbol"]: p for p in json.loads(out.stdout)["positions"]}


def test_positions_across_venues_partial_fills_and_a_restart(tmp_path):
    config = write_config(tmp_path, sim_a=False, sim_b=False)
    venues = Process("venue-sim", "--config", str(config), "SIM-A", "SIM-B")
    venues.wait_for_log("simulated venue SIM-B")
    gw = start_gateway(config)
    try:
        c1, c2 = connect(config, "CLIENT1"), connect(config, "CLIENT2")
        working = rest(c1, "TA05", "buy", 10, "10")  # at SIM-A
        c2.new_order("TA05", "sell", 4, "10")
        assert field(report_for(c1, working, exec_type("F")), 14) == "4"
        on_b = rest(c1, "TA05", "buy", 6, "11", ex_destination="SIM-B")
        c2.new_order("TA05", "sell", 6, "11", ex_destination="SIM-B")
        assert field(report_for(c1, on_b, exec_type("F")), 39) == "2"

        pos = _positions(config, "CLIENT1")["TA05"]
        assert (pos["qty"], pos["avg_cost"], pos["realised_pnl"]) == ("10", "10.6", "0")
        assert _positions(config, "CLIENT2")["TA05"]["qty"] == "-10"

        gw.kill()  # kill -9: positions come back from the journal
        c1.close()
        c2.close()
        gw = start_gateway(config)
        assert any("1 open orders and 2 positions" in line for line in gw.lines), gw.lines[-10:]
        assert _positions(config, "CLIENT1")["TA05"]["qty"] == "10"

        c1.logon()
        c2 = connect(config, "CLIENT2")
        c2.new_order("TA05", "sell", 6, "10")  # fills the restored working order at SIM-A
        fill = report_for(c1, working, exec_type("F"))
        assert [field(fill, t) for t in (14, 151, 39)] == ["10", "0", "2"]
        pos = _positions(config, "CLIENT1")["TA05"]
        assert (pos["qty"], pos["avg_cost"]) == ("16", "10.375")
        c1.logout()
        c2.logout()
    finally:
        gw.stop()
        venues.stop()


def test_a_halt_survives_a_gateway_restart_until_released(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        assert fixgw(config, "kill-switch", "engage", "--venue", "SIM-B").returncode == 0
        gw.kill()
        gw = start_gateway(config)
        state = json.loads(fixgw(config, "trading-state", "--json").stdout)
        assert state["venues"]["SIM-B"]["state"] == "HALTED"
        c1 = connect(config, "CLIENT1")
        assert "trading halted" in field(
            report_for(c1, c1.new_order("TB02", "buy", 1, "5")), 58
        )  # via routing
        assert field(report_for(c1, c1.new_order("TA02", "buy", 1, "5")), 39) == "0"  # SIM-A unaffected
        assert fixgw(config, "kill-switch", "release", "--venue", "SIM-B").returncode == 0
        assert field(report_for(c1, c1.new_order("TB02", "buy", 1, "5")), 39) == "0"
        c1.logout()
    finally:
        gw.stop()
