"""Finished orders leave the gateway's memory and are then answered from the journal."""

from __future__ import annotations

import time

from gateway.tools.fixclient import field
from tests.e2e.harness import connect, exec_type, report_for, start_gateway, write_config


def test_a_finished_order_out_of_memory_is_still_answered_and_its_clordid_still_used(tmp_path):
    config = write_config(tmp_path, gateway_options="done_orders_in_memory_s: 0.2")
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        cl = c1.new_order("AAPL", "buy", 10, "190.05")
        fill = report_for(c1, cl, exec_type("F"))
        assert field(fill, 39) == "2"
        time.sleep(1.5)  # a few loop ticks: the order has left memory
        c1.status(cl, "AAPL", "buy")
        status = report_for(c1, cl, exec_type("I"))
        assert [field(status, t) for t in (39, 14, 151, 37)] == ["2", "10", "0", field(fill, 37)]
        again = c1.new_order("AAPL", "buy", 10, "190.05", cl_ord_id=cl)
        assert again == cl
        assert "duplicate" in field(report_for(c1, cl, exec_type("8")), 58).lower()
        c1.logout()
    finally:
        gw.stop()
