"""Onboarding by YAML and `fixgw reload`: a venue and a client added to a running gateway."""

from __future__ import annotations

import json
import os
import signal

from gateway.tools.fixclient import FixClient, field
from tests.e2e.harness import (
    HOST,
    connect,
    exec_type,
    fixgw,
    fixgw_ok,
    free_port,
    report_for,
    start_gateway,
    write_config,
)


def test_add_a_venue_and_a_client_to_a_running_gateway_and_trade_through_them(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        venue_port, client_port = free_port(), free_port()
        wrote = fixgw_ok(config, "venues", "add", "SIM-D", "--host", HOST, "--port", str(venue_port),
                   "--fix-version", "4.4", "--simulated")  # fmt: skip
        assert "venues/SIM-D.yaml" in wrote
        text = (tmp_path / "venues" / "SIM-D.yaml").read_text()
        assert "name: SIM-D" in text and "# reconnect_s: 5" in text  # the template's options follow
        gateway_yaml = tmp_path / "gateway.yaml"
        td01 = '  - {symbol: TD01, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-D}\n'
        gateway_yaml.write_text(gateway_yaml.read_text().replace("instruments:\n", "instruments:\n" + td01))
        fixgw_ok(config, "clients", "add", "NEWC", "--fix-version", "4.4", "--accept-port", str(client_port))

        start = len(gw.lines)
        changes = json.loads(fixgw_ok(config, "reload", "--json"))["changes"]
        assert "venue SIM-D added: its session starts now" in changes
        assert f"client NEWC added: listening on port {client_port}" in changes
        gw.wait_for_log("venue session SIM-D logged on", start=start)

        on_d = c1.new_order("TD01", "buy", 5, "10")
        assert field(report_for(c1, on_d, exec_type("0")), 39) == "0"  # routed to the new venue
        venues = {v["name"]: v for v in json.loads(fixgw_ok(config, "venues", "list", "--json"))}
        assert venues["SIM-D"]["logged_on"] and venues["SIM-D"]["working_children"] == 1

        newc = FixClient(HOST, client_port, "NEWC", "FIXGW", "FIX.4.4", timeout=5)
        newc.logon(reset_seq=True)
        mine = newc.new_order("TA01", "buy", 1, "5")
        assert field(report_for(newc, mine, exec_type("0")), 39) == "0"
        newc.logout()
        assert not any("CLIENT1 logged out" in line for line in gw.lines[start:])  # others untouched

        gateway_yaml.write_text(gateway_yaml.read_text() + "\nnonsense: 1\n")
        refused = fixgw(config, "reload")  # the CLI reads the same files first and stops there
        assert refused.returncode == 1 and "gateway.yaml: unknown key 'nonsense'" in refused.stderr
        assert len(refused.stderr.splitlines()) == 1
        os.kill(gw.proc.pid, signal.SIGHUP)  # the gateway's own check: logged, nothing changed
        gw.wait_for_log("reload refused, nothing changed: ", start=start)
        assert field(report_for(c1, c1.new_order("TD01", "buy", 1, "10")), 39) == "0"  # still trading
        c1.logout()
    finally:
        gw.stop()


def test_a_removed_venue_is_drained_and_its_orders_canceled_when_asked(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        on_b = c1.new_order("TB01", "buy", 5, "10")
        report_for(c1, on_b, exec_type("0"))
        gateway_yaml = tmp_path / "gateway.yaml"
        kept = [line for line in gateway_yaml.read_text().splitlines() if "venue: SIM-B" not in line]
        gateway_yaml.write_text("\n".join(kept) + "\n")
        (tmp_path / "venues" / "SIM-B.yaml").unlink()

        changes = json.loads(fixgw_ok(config, "reload", "--removed-venue-orders", "cancel", "--json"))[
            "changes"
        ]
        assert any(c.startswith("venue SIM-B removed: HALTED, 1 working orders canceled") for c in changes), (
            changes
        )
        canceled = report_for(c1, on_b, exec_type("4"))
        assert "removed from the configuration" in field(canceled, 58)
        state = json.loads(fixgw_ok(config, "trading-state", "--json"))
        assert state["venues"]["SIM-B"]["state"] == "HALTED"
        on_a = c1.new_order("TA01", "buy", 1, "5")  # the others trade on
        assert field(report_for(c1, on_a, exec_type("0")), 39) == "0"
        c1.logout()
    finally:
        gw.stop()
