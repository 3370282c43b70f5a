"""Reconciliation on a venue logon, against a standalone venue that outlives the gateway.

Orders sent while the mass status is in flight are not judged by it. Orphans: working orders
a venue holds for the gateway that its journal does not know. The journal is deleted between
two runs (as a power loss without ``synchronous: full``
could leave it) while a standalone venue keeps the order. On the next logon the mass
status finds it: with ``orphans: cancel`` the gateway cancels it, with the default
``leave`` it only logs and journals it, and it stays on the venue's book.
"""

from __future__ import annotations

import pytest

from gateway.tools.fixclient import FixClientTimeout, field
from tests.e2e.harness import Process, connect, exec_type, report_for, start_gateway, write_config


@pytest.mark.parametrize("policy", ["leave", "cancel"])
def test_orphan_found_on_logon_is_canceled_or_left_as_configured(tmp_path, policy):
    config = write_config(tmp_path, sim_a=False)
    venue_file = tmp_path / "venues" / "SIM-A.yaml"
    venue_file.write_text(venue_file.read_text() + f"orphans: {policy}\n")
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    venue.wait_for_log("simulated venue SIM-A")
    try:
        gw = start_gateway(config)
        c1 = connect(config)
        resting = c1.new_order("TA01", "buy", 5, "3")
        report_for(c1, resting, exec_type("0"))
        c1.logout()
        gw.stop()
        for path in (tmp_path / "sessions").glob("fixgw.db*"):
            path.unlink()

        gw = start_gateway(config)
        try:
            gw.wait_for_log("orphan at SIM-A")
            line = next(ln for ln in gw.lines if "orphan at SIM-A" in ln)
            assert ("cancel sent" in line) is (policy == "cancel"), line
            c2 = connect(config, "CLIENT2")
            seller = c2.new_order("TA01", "sell", 5, "3")
            report_for(c2, seller, exec_type("0"))
            if policy == "cancel":
                with pytest.raises(FixClientTimeout):  # nothing left to trade with
                    report_for(c2, seller, exec_type("1", "2"), timeout=1.5)
            else:
                fill = report_for(c2, seller, exec_type("1", "2"), timeout=5)
                assert field(fill, 14) == "5"
            c2.logout()
        finally:
            gw.stop()
    finally:
        venue.stop()


def test_orders_sent_while_the_mass_status_is_in_flight_are_not_judged_by_it(tmp_path):
    """The answer covers only what the venue had seen when asked: a child sent after the
    request is missing from it for that reason, not because the venue does not know it."""
    config = write_config(tmp_path, sim_a=False, ack_timeout_s=20, sim_a_ack_delay_ms=300)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")  # answers everything 0.3 s late
    venue.wait_for_log("simulated venue SIM-A")
    try:
        gw = start_gateway(config)
        c1 = connect(config, "CLIENT1", reset=True, resend=True)
        resting = [c1.new_order("TA01", "buy", 1, "10") for _ in range(5)]
        for cl in resting:
            report_for(c1, cl, exec_type("0"))
        gw.stop()
        c1.close()
        gw = start_gateway(config)  # logged on to SIM-A: the mass status is on its way
        try:
            c1.logon()
            sent = [c1.new_order("AAPL", "buy", 1, "190.05") for _ in range(5)]
            for cl in sent:
                fill = report_for(c1, cl, exec_type("F"), timeout=10)
                assert field(fill, 39) == "2", field(fill, 58)
            gw.wait_for_log("reconciled with SIM-A")
            assert not any("illegal transition" in line or "does not know" in line for line in gw.lines)
            c1.logout()
        finally:
            gw.stop()
    finally:
        venue.stop()
