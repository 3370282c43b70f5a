"""The admin API and the operator CLI against a running gateway (and its stores when stopped)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from gateway.config import load_config
from gateway.fix.stores import stored_session
from gateway.tools.fixclient import field
from tests.e2e.harness import connect, exec_type, fixgw, fixgw_ok, report_for, start_gateway, write_config


def sessions(config) -> dict[str, dict]:
    return {s["name"]: s for s in json.loads(fixgw_ok(config, "sessions", "list", "--json"))}


def get(config, path: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{load_config(config).admin.port}{path}")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_sessions_list_logout_logon_and_sequence_numbers_offline(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        listed = sessions(config)
        assert listed["CLIENT1"]["logged_on"] and listed["SIM-A"]["logged_on"]
        assert (listed["CLIENT1"]["fix_version"], listed["CLIENT1"]["target_comp_id"]) == (
            "FIX.4.4",
            "CLIENT1",
        )
        assert listed["CLIENT1"]["next_in"] == 2 and listed["CLIENT1"]["since"] is not None
        text = fixgw_ok(config, "sessions", "list")
        assert text.splitlines()[0].split()[:3] == ["SESSION", "SIDE", "FIX"] and "CLIENT3" in text

        assert "stays down" in fixgw_ok(config, "sessions", "logout", "SIM-A")
        start = gw.wait_for_log("venue session SIM-A logged out")
        refused = c1.new_order("TA01", "buy", 1, "5")  # SIM-A is down: nowhere to route
        assert field(report_for(c1, refused), 39) == "8"
        assert not sessions(config)["SIM-A"]["enabled"]
        fixgw_ok(config, "sessions", "logon", "SIM-A")
        gw.wait_for_log("venue session SIM-A logged on", start=start)
        c1.logout()
    finally:
        gw.stop()

    # Stopped: the CLI edits the QuickFIX store itself, after asking.
    asked = subprocess.run(
        [sys.executable, "-m", "gateway", "sessions", "set-seq", "CLIENT1", "--in", "9", "--out", "12",
         "--config", str(config)],
        input="n\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert asked.returncode == 1 and "Aborted" in asked.stderr
    assert "store set offline" in fixgw_ok(
        config, "sessions", "set-seq", "CLIENT1", "--in", "9", "--out", "12", "--yes"
    )
    assert stored_session(load_config(config), "CLIENT1").read() == (12, 9)
    gw = start_gateway(config)
    try:
        listed = sessions(config)["CLIENT1"]
        assert (listed["next_in"], listed["next_out"]) == (9, 12)  # QuickFIX took them up
    finally:
        gw.stop()
    assert "store reset offline" in fixgw_ok(config, "sessions", "reset", "CLIENT1", "--yes")
    assert stored_session(load_config(config), "CLIENT1").read() == (1, 1)
    unknown = fixgw(config, "sessions", "reset", "NOPE", "--yes")
    assert unknown.returncode == 1 and "unknown session 'NOPE'" in unknown.stderr


RISK = "risk:\n  checks:\n    - {check: max_order_qty, max_qty: 100}\n"


def test_raise_a_limit_live_cancel_an_order_and_see_venues_and_metrics(tmp_path):
    config = write_config(tmp_path, client_risk={"CLIENT1": RISK})
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        too_big = c1.new_order("TA01", "buy", 150, "5")
        assert "max_order_qty" in field(report_for(c1, too_big, exec_type("8")), 58)
        shown = fixgw_ok(config, "risk", "set", "--client", "CLIENT1", "max_order_qty", "max_qty", "500")
        assert "max_order_qty: max_qty=500" in shown
        working = c1.new_order("TA01", "buy", 150, "5")
        report_for(c1, working, exec_type("0"))
        bad = fixgw(config, "risk", "set", "--client", "CLIENT1", "max_order_qty", "max_qty", "lots")
        assert bad.returncode == 1 and "HTTP 400" in bad.stderr and "limit unchanged" in bad.stderr
        assert (
            "clients/CLIENT1.yaml: risk.checks[0].max_qty" in bad.stderr and len(bad.stderr.splitlines()) == 1
        )
        assert (
            json.loads(fixgw_ok(config, "risk", "show", "--json"))["CLIENT1"][0]["params"]["max_qty"] == 500
        )

        venues = {v["name"]: v for v in json.loads(fixgw_ok(config, "venues", "list", "--json"))}
        assert venues["SIM-A"]["logged_on"] and venues["SIM-A"]["circuit_breaker"] == "closed"
        assert venues["SIM-A"]["working_children"] == 1 and venues["SIM-A"]["ack_latency_us"]["count"] >= 1

        assert "cancel sent" in fixgw_ok(config, "orders", "cancel", working, "--reason", "desk request")
        canceled = report_for(c1, working, exec_type("4"))
        assert "canceled by the operator: desk request" in field(canceled, 58)

        token = load_config(config).admin.token_file.read_text().strip()
        status, metrics = get(config, "/metrics", token)
        assert status == 200
        assert 'fixgw_orders_in_total{client="CLIENT1"} 2.0' in metrics
        assert 'fixgw_rejects_total{client="CLIENT1",reason="ORDER_EXCEEDS_LIMIT"} 1.0' in metrics
        assert 'fixgw_session_logged_on{session="CLIENT1",side="client"} 1.0' in metrics
        assert (
            "fixgw_client_latency_seconds_bucket" in metrics
            and "fixgw_journal_latency_seconds_count" in metrics
        )
        c1.logout()
    finally:
        gw.stop()
    events = json.loads(fixgw_ok(config, "orders", "show", working, "--json"))["events"]
    assert any("operator cancel" in (e["text"] or "") for e in events)


@pytest.mark.parametrize("token", [None, "wrong"])
def test_the_admin_api_refuses_a_missing_or_wrong_token(tmp_path, token):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        status, body = get(config, "/api/sessions", token)
        assert status == 401 and json.loads(body) == {"error": "missing or wrong token"}
        assert get(config, "/metrics", token)[0] == 401
        gw.wait_for_log("admin: refused GET /api/sessions")
        real = load_config(config).admin.token_file.read_text().strip()
        assert get(config, "/api/nothing-here", real)[0] == 404
    finally:
        gw.stop()


def test_json_logs_carry_the_order_fields_so_one_order_can_be_followed(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config, "--log-format", "json")
    try:
        c1 = connect(config, "CLIENT1")
        cl = c1.new_order("TA01", "buy", 5, "3")
        ack = report_for(c1, cl, exec_type("0"))
        c1.logout()
    finally:
        gw.stop()
    lines = [json.loads(line) for line in gw.lines if line.startswith("{")]
    assert lines and len(lines) == len([ln for ln in gw.lines if ln.strip()])  # every line is JSON
    order_id = field(ack, 37)
    mine = [d for d in lines if d.get("order_id") == order_id]
    assert {d.get("venue") for d in mine} >= {"SIM-A"} and all(d["client"] == "CLIENT1" for d in mine)
    assert any(d.get("cl_ord_id") == cl for d in mine) and all(
        {"ts", "level", "logger", "msg"} <= d.keys() for d in mine
    )
