"""Session-level behaviour beyond the order flow: FIXT 1.1 clients, acknowledgement
timeouts, and the simulated venue's status answers."""

from __future__ import annotations

import contextlib
import time

import pytest
from simplefix import FixMessage

from gateway.config import load_config
from gateway.tools.fixclient import FixClient, FixClientTimeout, field
from tests.e2e.harness import HOST, Process, connect, exec_type, report_for, start_gateway, write_config


def test_fixt11_client_trades_through_a_fix44_venue(gateway, gateway_config, client2, sym_a):
    c3 = connect(gateway_config, "CLIENT3")
    try:
        cl = c3.new_order(sym_a, "buy", 7, "11.5")
        ack = report_for(c3, cl, exec_type("0"))
        assert [field(ack, t) for t in (8, 39, 151)] == ["FIXT.1.1", "0", "7"]
        client2.new_order(sym_a, "sell", 7, "11.5")
        fill = report_for(c3, cl, exec_type("F"))
        assert [field(fill, t) for t in (39, 32, 31, 14, 30)] == ["2", "7", "11.5", "7", "SIM-A"]
    finally:
        c3.logout()


def test_order_the_venue_never_acknowledges_is_rejected_after_the_timeout(tmp_path):
    config = write_config(tmp_path, ack_timeout_s=0.5, sim_a_ack_delay_ms=1500)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        cl = c1.new_order("TA01", "buy", 5, "3")
        rej = report_for(c1, cl, timeout=3)
        assert [field(rej, t) for t in (150, 39)] == ["8", "8"]
        assert "no acknowledgement from SIM-A within 0.5s" in field(rej, 58)
        # The venue's late acknowledgement and cancel confirmation must not reach the client.
        with pytest.raises(FixClientTimeout):
            report_for(c1, cl, timeout=2.5)
        gw.wait_for_log("refused NEW from SIM-A", timeout=1)  # the late ack: logged, not applied
        c1.logout()
    finally:
        gw.stop()


@contextlib.contextmanager
def as_the_gateway_to_a_standalone_sim(root):
    """``fixgw venue-sim`` for SIM-A, and a FIX session to it under the gateway's CompIDs."""
    config = write_config(root, sim_a=False)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    try:
        venue.wait_for_log("simulated venue SIM-A")
        cfg = load_config(config).venues["SIM-A"]
        gw_side = FixClient(HOST, cfg.port, cfg.gateway_comp_id, cfg.comp_id, cfg.begin_string)
        gw_side.logon(reset_seq=True)
        yield gw_side
        gw_side.logout()
    finally:
        venue.stop()


def test_simulated_venue_answers_order_mass_status_request(tmp_path):
    with as_the_gateway_to_a_standalone_sim(tmp_path) as gw_side:
        first = gw_side.new_order("TA02", "buy", 10, "1")
        second = gw_side.new_order("TA02", "sell", 4, "9")
        for cl in (first, second):
            assert field(report_for(gw_side, cl, exec_type("0")), 39) == "0"
        req = FixMessage()
        req.append_pair(35, "AF")
        req.append_pair(584, "MS1")
        req.append_pair(585, "7")  # all orders
        gw_side.send(req)
        reports = [gw_side.wait_for(lambda m: field(m, 584) == "MS1", 5) for _ in range(2)]
        assert sorted(field(r, 11) for r in reports) == sorted([first, second])
        assert [field(r, 911) for r in reports] == ["2", "2"]
        assert [field(r, 912) for r in reports] == ["N", "Y"]
        assert {field(r, 150) for r in reports} == {"I"}


def test_simulated_venue_cancel_confirmation_names_the_original_order(tmp_path):
    with as_the_gateway_to_a_standalone_sim(tmp_path) as gw_side:
        cl = gw_side.new_order("TA03", "buy", 10, "1")
        report_for(gw_side, cl, exec_type("0"))
        cxl = gw_side.cancel(cl, "TA03", "buy", 10)
        done = report_for(gw_side, cxl, exec_type("4"))
        assert [field(done, t) for t in (39, 41, 151)] == ["4", cl, "0"]


def test_resent_new_order_is_answered_with_its_status_and_never_sent_twice(gateway, gateway_config, sym_a):
    c1 = connect(gateway_config, "CLIENT1")
    try:
        cl = c1.new_order(sym_a, "buy", 4, "2")
        assert field(report_for(c1, cl, exec_type("0")), 39) == "0"
        c1.new_order(sym_a, "buy", 4, "2", cl_ord_id=cl, extra={43: "Y", 122: "20260101-00:00:00.000"})
        status = report_for(c1, cl)
        assert [field(status, t) for t in (150, 39, 38)] == ["I", "0", "4"]  # not a duplicate reject
        c1.status(cl, sym_a, "buy")
        assert field(report_for(c1, cl, exec_type("I")), 151) == "4"  # one order, still 4 working
    finally:
        c1.logout()


def test_cancel_on_disconnect_after_the_grace_period_but_not_for_gtc_or_a_quick_return(tmp_path):
    cod = "cancel_on_disconnect: {grace_s: 0.5}\n"
    config = write_config(tmp_path, client_risk={"CLIENT1": cod})
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        day = c1.new_order("TA38", "buy", 5, "3")
        gtc = c1.new_order("TA38", "buy", 5, "3", tif="gtc")
        for cl in (day, gtc):
            assert field(report_for(c1, cl, exec_type("0")), 39) == "0"

        c1.close()  # the connection drops: no Logout
        c1.logon()  # back within the grace: nothing is canceled
        time.sleep(1.0)
        c1.status(day, "TA38", "buy")
        assert field(report_for(c1, day, exec_type("I")), 39) == "0"

        c1.close()
        gw.wait_for_log("did not come back within 0.5s: canceling 1 orders")
        c1.logon()  # the Canceled report comes in the resend of what it missed
        canceled = report_for(c1, day, exec_type("4"))
        assert "cancel on disconnect" in field(canceled, 58)
        c1.status(gtc, "TA38", "buy")
        assert field(report_for(c1, gtc, exec_type("I")), 39) == "0"  # GTC kept
        c1.logout()
    finally:
        gw.stop()


def test_client_order_mass_status_request_is_answered_from_the_gateways_state(gateway, gateway_config, sym_a):
    c1, c2 = connect(gateway_config, "CLIENT1"), connect(gateway_config, "CLIENT2")
    try:
        mine = [c1.new_order(sym_a, "buy", 3, "1"), c1.new_order(sym_a, "sell", 2, "99")]
        for cl in mine:
            assert field(report_for(c1, cl), 39) == "0"
        other = c2.new_order(sym_a, "buy", 1, "1")
        assert field(report_for(c2, other), 39) == "0"
        req = FixMessage()
        req.append_pair(35, "AF")
        req.append_pair(584, "CMS1")
        req.append_pair(585, "7")
        c1.send(req)
        reports = []
        while not reports or field(reports[-1], 912) != "Y":
            reports.append(c1.wait_for(lambda m: field(m, 584) == "CMS1", 5))
        working = {field(r, 11) for r in reports}
        assert set(mine) <= working and other not in working  # this session's orders only
        assert {field(r, 150) for r in reports} == {"I"}
        assert {field(r, 911) for r in reports} == {str(len(reports))}
    finally:
        c1.logout()
        c2.logout()
