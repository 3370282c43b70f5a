"""The gateway against a misbehaving venue: the simulator's injected faults (duplicate
reports, fills out of order, withheld acknowledgements, unanswered status requests, dropped
sessions, a gateway killed between journaling a fill and reporting it) must leave every
order consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from gateway.tools.fixclient import FixClientTimeout, field
from tests.e2e.harness import Process, connect, exec_type, report_for, start_gateway, write_config


def with_faults(tmp_path, faults: str, venue_extra: str = "", **kw):
    config = write_config(tmp_path, **kw)
    venue = tmp_path / "venues" / "SIM-A.yaml"
    venue.write_text(venue.read_text() + f"  faults: {{{faults}}}\n{venue_extra}")
    return config


def test_duplicated_venue_reports_are_counted_once(tmp_path):
    config = with_faults(tmp_path, "duplicate_reports: 1.0")
    gw = start_gateway(config)
    try:
        c1 = connect(config)
        cl = c1.new_order("AAPL", "buy", 150, "190.05")  # sweeps 100 @ 190.01 and 50 @ 190.02
        fills = [report_for(c1, cl, exec_type("F")) for _ in range(2)]
        assert [field(f, 32) for f in fills] == ["100", "50"]
        assert [field(fills[-1], t) for t in (39, 14, 151)] == ["2", "150", "0"]
        assert Decimal(field(fills[-1], 6)).quantize(Decimal("0.0001")) == Decimal("190.0133")
        with pytest.raises(FixClientTimeout):
            report_for(c1, cl, timeout=1.5)  # the venue's second copies never reach the client
        c1.logout()
    finally:
        gw.stop()
    ignored = [text for text in journaled(config, cl) if "already applied: ignored" in text]
    assert len(ignored) >= 2  # the journal says why each copy was dropped (the ack's copy too)


def journaled(config, cl_ord_id: str) -> list[str]:
    """The texts of an order's journal events, through ``fixgw orders show``."""
    shown = subprocess.run(
        [sys.executable, "-m", "gateway", "orders", "show", cl_ord_id, "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [e["text"] or "" for e in json.loads(shown.stdout)["events"]]


def test_dropped_venue_session_reconnects_and_reconciles_without_losing_orders(tmp_path):
    # The drop opens SIM-A's circuit breaker; a short half-open delay lets the next order probe it.
    config = with_faults(tmp_path, "drop_after_orders: 2", "circuit_breaker: {half_open_after_s: 0.5}\n")
    gw = start_gateway(config)
    try:
        c1 = connect(config)
        working = [c1.new_order("TA01", "buy", 5, px) for px in ("3", "4")]
        for cl in working:
            assert field(report_for(c1, cl, exec_type("0")), 39) == "0"
        start = gw.wait_for_log("SIM-A: fault: dropping")
        gw.wait_for_log("reconciled with SIM-A", start=start)
        gw.wait_for_log("circuit breaker SIM-A: OPEN -> HALF_OPEN", start=start)
        third = c1.new_order("TA01", "buy", 5, "5")
        assert field(report_for(c1, third, exec_type("0"), timeout=5), 39) == "0"
        for cl in working:
            c1.status(cl, "TA01", "buy")
            status = report_for(c1, cl, exec_type("I"))
            assert [field(status, t) for t in (39, 151)] == ["0", "5"]
        c1.logout()
    finally:
        gw.stop()


def test_unanswered_status_requests_time_out_and_the_gateway_keeps_trading(tmp_path):
    """An embedded venue restarts empty with the gateway, and this one will not answer the
    reconciliation's OrderMassStatusRequest: the gateway says so and carries on."""
    config = with_faults(tmp_path, "withhold_status: true")
    gw = start_gateway(config)
    try:
        c1 = connect(config, reset=False)
        cl = c1.new_order("TA01", "buy", 5, "3")
        report_for(c1, cl, exec_type("0"))
        c1.close()
        gw.stop()
        gw = start_gateway(config)
        gw.wait_for_log("SIM-A: fault: AF from", timeout=10)
        gw.wait_for_log("reconciliation with SIM-A: no complete mass status within", timeout=15)
        c1.logon()
        fresh = c1.new_order("TA01", "sell", 5, "9")
        assert field(report_for(c1, fresh, exec_type("0"), timeout=5), 39) == "0"
        c1.logout()
    finally:
        gw.stop()


def test_fills_delivered_out_of_order_are_each_counted_once(tmp_path):
    config = with_faults(tmp_path, "reorder_fills: 1.0")
    gw = start_gateway(config)
    try:
        c1 = connect(config)
        cl = c1.new_order("AAPL", "buy", 150, "190.05")  # 100 @ 190.01 and 50 @ 190.02, sent last first
        fills = [report_for(c1, cl, exec_type("F")) for _ in range(2)]
        assert [(field(f, 32), field(f, 31), field(f, 14)) for f in fills] == [
            ("50", "190.02", "50"),
            ("100", "190.01", "150"),
        ]
        assert field(fills[-1], 39) == "2"
        assert Decimal(field(fills[-1], 6)).quantize(Decimal("0.0001")) == Decimal("190.0133")
        c1.logout()
    finally:
        gw.stop()


def test_withheld_acknowledgements_time_out_and_leave_nothing_working(tmp_path):
    config = with_faults(tmp_path, "withhold_acks: 1.0", ack_timeout_s=1)
    gw = start_gateway(config)
    try:
        c1 = connect(config)
        crossing = c1.new_order("AAPL", "buy", 10, "190.05")  # fills: a fill needs no ack first
        fill = report_for(c1, crossing, exec_type("F"))
        assert [field(fill, t) for t in (39, 14)] == ["2", "10"]
        resting = c1.new_order("TA01", "buy", 5, "3")
        rejected = report_for(c1, resting, exec_type("8"), timeout=5)
        assert "no acknowledgement from SIM-A" in field(rejected, 58)
        seller = c1.new_order("TA01", "sell", 5, "3")  # would trade with the buy had it stayed
        assert field(report_for(c1, seller, exec_type("8", "F"), timeout=5), 150) == "8"
        c1.logout()
    finally:
        gw.stop()
    assert any("CANCELED for finished" in text for text in journaled(config, resting))  # venue confirmed


def test_killed_between_journaling_a_fill_and_reporting_it_the_client_still_gets_it_once(tmp_path):
    """The venue resends the fill (PossDupFlag=Y) the journal already applied: its ExecID is
    ignored, and the client's report journaled with it goes out again, PossResend=Y."""
    config = write_config(tmp_path, sim_a=False)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    venue.wait_for_log("simulated venue SIM-A")
    crashing = Process("run", "--config", str(config), env={"FIXGW_CRASH_AFTER_JOURNAL": "|150=F|"})
    try:
        crashing.wait_for_log("venue session SIM-A logged on")
        c1 = connect(config, reset=True, resend=True)
        cl = c1.new_order("AAPL", "buy", 10, "190.05")
        crashing.wait_for_log("FIXGW_CRASH_AFTER_JOURNAL: exiting")
        assert crashing.proc.wait(10) == 70
        c1.close()
        gw = start_gateway(config)
        try:
            c1.logon()
            fill = report_for(c1, cl, exec_type("F"), timeout=10)
            assert [field(fill, t) for t in (39, 14, 32, 97)] == ["2", "10", "10", "Y"]
            with pytest.raises(FixClientTimeout):
                report_for(c1, cl, exec_type("F"), timeout=1.5)  # once, not twice
            c1.logout()
        finally:
            gw.stop()
    finally:
        crashing.stop()
        venue.stop()
