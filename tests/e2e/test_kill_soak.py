"""kill -9 at random moments under load, then a full cross-check of client, journal and venue.

The venue runs standalone (``fixgw venue-sim``) so it outlives every kill, like a real one;
the client keeps its sequence numbers and resends (PossDupFlag=Y) whatever the gateway asks
for again, as a production initiator does; kills land while orders are still in flight.
Afterwards: every order the gateway admits to has exactly one journal row and the client's
status matches it; every order the venue holds for the gateway is a journaled child with the
same CumQty and the same open/done state (nothing orphaned, nothing sent twice).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time

from simplefix import FixMessage

from gateway.config import load_config
from gateway.tools.fixclient import FixClient, field
from tests.e2e.harness import HOST, Process, connect, start_gateway, write_config

KILLS = 5
ORDERS_PER_ROUND = 40
OPEN_STATUSES = {"0", "1", "A", "E", "6"}


def test_random_kill9_loses_duplicates_and_orphans_nothing(tmp_path):
    config = write_config(tmp_path, sim_a=False, ack_timeout_s=20)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    venue.wait_for_log("simulated venue SIM-A")
    rng = random.Random(11)
    sent: list[str] = []
    resting: list[tuple[str, int]] = []
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1", reset=True, resend=True)
        for _ in range(KILLS):
            for _ in range(ORDERS_PER_ROUND):
                roll = rng.random()
                if roll < 0.5:
                    qty = rng.randint(1, 9)
                    resting.append((c1.new_order("TA01", "buy", qty, str(rng.randint(1, 5))), qty))
                    sent.append(resting[-1][0])
                elif roll < 0.8:
                    sent.append(c1.new_order("AAPL", "buy", 1, "190.05"))  # fills against seeded asks
                elif resting:
                    cl, qty = resting.pop(rng.randrange(len(resting)))
                    c1.cancel(cl, "TA01", "buy", qty)
            time.sleep(rng.uniform(0.0, 0.02))  # often while orders are still in flight
            gw.kill()
            c1.close()
            gw = start_gateway(config)
            c1.logon()
            while c1.recv(0.3) is not None:  # answer the gateway's ResendRequest before sending on
                pass
        time.sleep(2)  # resends, reconciliation and the reports they bring settle
        answers = {}
        for cl in sent:
            c1.status(cl, "TA01", "buy")
            # One answer per request, in order; a canceled order answers under the cancel's ClOrdID.
            answers[cl] = c1.wait_for(lambda m: field(m, 150) == "I", 5)
        c1.logout()
    finally:
        gw.stop()

    db = sqlite3.connect(tmp_path / "sessions" / "fixgw.db")
    parents: dict[str, list[tuple]] = {}  # by every ClOrdID of the order's chain
    for row in db.execute(
        "SELECT cl_ord_id, status, cum_qty, is_open, doc FROM orders WHERE parent_id IS NULL"
    ):
        for cl in json.loads(row[4]).get("cl_ord_ids", [row[0]]):
            parents.setdefault(cl, []).append(row)
    children = {
        row[0]: row
        for row in db.execute(
            "SELECT json_extract(doc, '$.venue_order_id'), cum_qty, is_open "
            "FROM orders WHERE parent_id IS NOT NULL"
        )
    }
    unknown = 0
    for cl, answer in answers.items():
        if (field(answer, 58) or "").startswith("unknown order"):
            unknown += 1
            assert cl not in parents, f"{cl}: in the journal but unknown to the gateway: {answer}"
            continue
        assert len(parents.get(cl, [])) == 1, f"{cl}: {len(parents.get(cl, []))} journal rows"
        current, status, cum, _, _ = parents[cl][0]
        assert (field(answer, 11), field(answer, 39), field(answer, 14)) == (current, status, cum), cl

    assert unknown == 0, f"{unknown} orders the client sent (and resent when asked) are unknown"
    try:
        held = venue_orders(config)
    finally:
        venue.stop()
    assert len(held) == len(sent), "one venue order per client order: none missing, none sent twice"
    for vid, (cum, status) in held.items():
        assert vid in children, f"venue order {vid} is unknown to the journal (orphan)"
        _, child_cum, child_open = children[vid]
        assert child_cum == cum, f"{vid}: venue CumQty {cum}, journal {child_cum}"
        assert bool(child_open) == (status in OPEN_STATUSES), (
            f"{vid}: venue {status}, journal open={child_open}"
        )


def venue_orders(config) -> dict[str, tuple[str, str]]:
    """Every order the venue holds for the gateway's session (OrderMassStatusRequest, all orders)."""
    cfg = load_config(config).venues["SIM-A"]
    gw_side = FixClient(HOST, cfg.port, cfg.gateway_comp_id, cfg.comp_id, cfg.begin_string)
    gw_side.logon(reset_seq=True)
    req = FixMessage()
    req.append_pair(35, "AF")
    req.append_pair(584, "SOAK")
    req.append_pair(585, "7")
    gw_side.send(req)
    held = {}
    while True:
        rpt = gw_side.wait_for(lambda m: field(m, 584) == "SOAK", 5)
        if field(rpt, 37) != "NONE":
            held[field(rpt, 37)] = (field(rpt, 14), field(rpt, 39))
        if field(rpt, 912) == "Y":
            break
    gw_side.logout()
    return held
