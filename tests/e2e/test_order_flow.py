"""Order lifecycle through the real gateway and simulated venues, over loopback FIX sessions.

CLIENT1 speaks FIX 4.4 and CLIENT2 FIX 4.2; SIM-A speaks 4.4 and SIM-B 4.2, so the
cross-version paths run in both directions. Each test trades its own symbol on an
empty book and makes its own liquidity through the other client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from gateway.tools.fixclient import field
from tests.e2e.harness import exec_type, report_for


def rest(client, symbol, side, qty, price, **kw) -> str:
    cl = client.new_order(symbol, side, qty, price, **kw)
    ack = report_for(client, cl)
    assert field(ack, 39) == "0", ack
    return cl


def test_full_fill_against_seeded_liquidity(client1):
    cl = client1.new_order("AAPL", "buy", 50, "190.05")
    assert field(report_for(client1, cl, exec_type("0")), 39) == "0"
    fill = report_for(client1, cl, exec_type("F"))
    assert [field(fill, t) for t in (39, 32, 31, 14, 151, 6, 30)] == [
        "2",
        "50",
        "190.01",
        "50",
        "0",
        "190.01",
        "SIM-A",
    ]


def test_partial_fills_across_price_levels_keep_exact_cumulative_quantities(client1, client2, sym_a):
    for qty, px in ((30, "10.00"), (20, "10.01"), (50, "10.02")):
        rest(client2, sym_a, "sell", qty, px)
    cl = client1.new_order(sym_a, "buy", 100, "10.02")
    report_for(client1, cl, exec_type("0"))
    fills = [report_for(client1, cl, exec_type("F")) for _ in range(3)]
    assert [(field(f, 32), field(f, 31), field(f, 14), field(f, 151), field(f, 39)) for f in fills] == [
        ("30", "10", "30", "70", "1"),
        ("20", "10.01", "50", "50", "1"),
        ("50", "10.02", "100", "0", "2"),
    ]
    assert Decimal(field(fills[0], 6)) == Decimal("10")
    assert Decimal(field(fills[1], 6)) == Decimal("10.004")
    assert Decimal(field(fills[2], 6)) == Decimal("10.012")


def test_fix42_client_gets_exec_trans_type_and_fix42_fill_exec_types(client1, client2, sym_a):
    cl = rest(client2, sym_a, "buy", 100, "20")
    rest(client1, sym_a, "sell", 40, "20")
    partial = report_for(client2, cl, exec_type("1"))
    assert [field(partial, t) for t in (20, 39, 14, 151, 30)] == ["0", "1", "40", "60", "SIM-A"]
    client1.new_order(sym_a, "sell", 60, "20")
    full = report_for(client2, cl, exec_type("2"))
    assert [field(full, t) for t in (20, 39, 14, 151)] == ["0", "2", "100", "0"]


def test_fix44_client_to_fix42_venue(client1, client2, sym_b):
    cl = rest(client1, sym_b, "buy", 10, "5.5")
    rest(client2, sym_b, "sell", 10, "5.5")
    fill = report_for(client1, cl, exec_type("F"))
    assert [field(fill, t) for t in (39, 32, 31, 14, 151, 30)] == ["2", "10", "5.5", "10", "0", "SIM-B"]


def test_cancel_resting_order(client1, sym_a):
    cl = rest(client1, sym_a, "buy", 10, "5")
    cxl = client1.cancel(cl, sym_a, "buy", 10)
    pending = report_for(client1, cxl, exec_type("6"))
    assert [field(pending, t) for t in (39, 41)] == ["6", cl]
    done = report_for(client1, cxl, exec_type("4"))
    assert [field(done, t) for t in (39, 41, 151, 14)] == ["4", cl, "0", "0"]


def test_replace_up_then_down_then_below_cum_qty_is_refused(client1, client2, sym_a):
    cl = rest(client1, sym_a, "buy", 100, "5")
    up = client1.replace(cl, sym_a, "buy", 150, "5.5")
    assert field(report_for(client1, up, exec_type("E")), 39) == "E"
    replaced = report_for(client1, up, exec_type("5"))
    assert [field(replaced, t) for t in (39, 41, 38, 44, 151)] == ["0", cl, "150", "5.5", "150"]

    down = client1.replace(up, sym_a, "buy", 60, "5.5")
    replaced = report_for(client1, down, exec_type("5"))
    assert [field(replaced, t) for t in (38, 151)] == ["60", "60"]

    client2.new_order(sym_a, "sell", 40, "5.5")
    fill = report_for(client1, down, exec_type("F"))
    assert [field(fill, t) for t in (14, 151, 39)] == ["40", "20", "1"]

    too_small = client1.replace(down, sym_a, "buy", 30, "5.5")
    rej = report_for(client1, too_small)
    assert [field(rej, t) for t in (35, 434, 39, 41)] == ["9", "2", "1", down]
    assert "CumQty 40" in field(rej, 58)

    client1.status(down, sym_a, "buy")
    status = report_for(client1, down, exec_type("I"))
    assert [field(status, t) for t in (39, 38, 14, 151)] == ["1", "60", "40", "20"]


def test_cancel_of_filled_order_is_rejected_too_late(client1):
    cl = client1.new_order("AAPL", "buy", 1, "190.05")
    report_for(client1, cl, lambda m: field(m, 39) == "2")
    cxl = client1.cancel(cl, "AAPL", "buy", 1)
    rej = report_for(client1, cxl)
    assert [field(rej, t) for t in (35, 102, 434, 39, 41)] == ["9", "0", "1", "2", cl]


def test_cancel_of_unknown_order_is_rejected(client1):
    cxl = client1.cancel("NO-SUCH-ORDER", "AAPL", "buy", 1)
    rej = report_for(client1, cxl)
    assert [field(rej, t) for t in (35, 102, 37)] == ["9", "1", "NONE"]


def test_duplicate_cl_ord_id_is_rejected_and_original_untouched(client1, sym_a):
    cl = rest(client1, sym_a, "buy", 10, "3")
    client1.new_order(sym_a, "buy", 10, "3", cl_ord_id=cl)
    dup = report_for(client1, cl)
    assert [field(dup, t) for t in (39, 103)] == ["8", "6"]
    client1.status(cl, sym_a, "buy")
    assert field(report_for(client1, cl, exec_type("I")), 39) == "0"


def test_unknown_symbol_is_rejected(client1):
    cl = client1.new_order("NOPE", "buy", 1, "1")
    rej = report_for(client1, cl)
    assert [field(rej, t) for t in (150, 39, 103)] == ["8", "8", "1"]
    assert "unknown symbol NOPE" in field(rej, 58)


def test_unknown_venue_is_rejected(client1):
    cl = client1.new_order("AAPL", "buy", 1, "1", ex_destination="NOWHERE")
    rej = report_for(client1, cl)
    assert field(rej, 39) == "8" and "unknown venue NOWHERE" in field(rej, 58)


def test_symbol_without_route_is_rejected(client1):
    cl = client1.new_order("NOROUTE", "buy", 1, "1")
    rej = report_for(client1, cl)
    assert field(rej, 39) == "8" and "no primary venue for NOROUTE" in field(rej, 58)


def test_venue_not_logged_on_is_rejected_at_once(client1):
    cl = client1.new_order("TC01", "buy", 1, "1")
    rej = report_for(client1, cl, timeout=2)
    assert [field(rej, t) for t in (39, 103)] == ["8", "2"]
    assert "SIM-C is not usable: disconnected" in field(rej, 58)


def test_ex_destination_routes_to_the_named_venue(client1, client2, sym_a):
    cl = rest(client1, sym_a, "buy", 5, "7", ex_destination="SIM-B")
    rest(client2, sym_a, "sell", 5, "7", ex_destination="SIM-B")
    assert field(report_for(client1, cl, exec_type("F")), 30) == "SIM-B"


def test_ioc_market_order_remainder_is_canceled(client1, client2, sym_a):
    rest(client2, sym_a, "sell", 30, "8")
    cl = client1.new_order(sym_a, "buy", 50, tif="ioc")
    fill = report_for(client1, cl, exec_type("F"))
    assert [field(fill, t) for t in (32, 31, 14, 39)] == ["30", "8", "30", "1"]
    done = report_for(client1, cl, exec_type("4"))
    assert [field(done, t) for t in (39, 14, 151)] == ["4", "30", "0"]


def test_status_of_unknown_order(client1):
    client1.status("NEVER-SENT", "AAPL", "buy")
    rep = report_for(client1, "NEVER-SENT")
    assert [field(rep, t) for t in (150, 39, 37)] == ["I", "8", "NONE"]


def test_orders_show_reads_the_journal(client1, gateway_config, sym_a):
    cl = rest(client1, sym_a, "buy", 3, "2")
    run = [sys.executable, "-m", "gateway"]
    listed = subprocess.run(
        [*run, "orders", "list", "--status", "open", "--json", "--config", str(gateway_config)],
        capture_output=True,
        text=True,
        check=True,
    )
    mine = [json.loads(line) for line in listed.stdout.splitlines() if json.loads(line)["cl_ord_id"] == cl]
    assert len(mine) == 1 and mine[0]["status"] == "New" and mine[0]["open"] is True
    shown = subprocess.run(
        [*run, "orders", "show", mine[0]["order_id"], "--json", "--config", str(gateway_config)],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(shown.stdout)
    kinds = [e["kind"] for e in doc["events"]]
    assert kinds[:2] == ["client_in", "state"] and "venue_out" in kinds and "client_out" in kinds
    assert doc["children"][0]["session"] == "SIM-A"
