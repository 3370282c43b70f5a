"""Group commit (docs/durability.md): a poll round's messages are journaled in one transaction
at the end of the round and only then is anything they caused sent. QuickFIX has counted them
when their callbacks returned, so a kill between the callbacks and the commit leaves messages
QuickFIX believes processed that the journal never saw: on restart the gateway rewinds each
session's inbound sequence number to the journal's watermark and the counterparty resends them.

``FIXGW_CRASH_BEFORE_COMMIT=<text>`` makes the gateway exit exactly there: when the batch about
to be committed holds an inbound message containing the text. SIM-A runs as its own process, so
it outlives the gateway as a real venue does, and its reconciliation is off: only the resend can
bring back what the crash lost."""

from __future__ import annotations

import pytest

from gateway.journal import Journal
from gateway.tools.fixclient import FixClientTimeout, field
from tests.e2e.harness import Process, connect, exec_type, report_for, start_gateway, write_config
from tests.e2e.test_restart import _postgres_url

STORES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
]


def _config(tmp_path, store: str):
    config = write_config(tmp_path, store_url=_postgres_url() if store == "postgresql" else None, sim_a=False)
    venue = tmp_path / "venues" / "SIM-A.yaml"
    venue.write_text(venue.read_text().replace("simulator:", "reconcile: off\nsimulator:"))
    return config


def _rows(config, cl_ord_id: str) -> tuple[list, list]:
    """(parent rows with this ClOrdID, their children) as journaled."""
    from gateway.config import load_config

    with Journal(load_config(config).store.url) as journal:
        records = journal.orders(limit=1_000_000)
    parents = [r for r in records if r.parent_id is None and r.cl_ord_id == cl_ord_id]
    ids = {p.order_id for p in parents}
    return parents, [r for r in records if r.parent_id in ids]


def _crash_then_restart(config, marker: str, send):
    """Run a gateway that exits before committing the batch holding ``marker``; ``send(client)``
    sends what triggers it. Then restart the gateway and log the client back on; returns
    (client, restarted gateway, what send returned)."""
    crashing = Process("run", "--config", str(config), env={"FIXGW_CRASH_BEFORE_COMMIT": marker})
    try:
        crashing.wait_for_log("venue session SIM-A logged on")
        c1 = connect(config, reset=True, resend=True)
        sent = send(c1)
        crashing.wait_for_log("FIXGW_CRASH_BEFORE_COMMIT: exiting")
        assert crashing.proc.wait(10) == 71
        c1.close()
    finally:
        crashing.stop()
    gw = start_gateway(config)
    try:
        gw.wait_for_log("inbound sequence number rewound")
        c1.logon()
    except BaseException:
        gw.stop()
        raise
    return c1, gw, sent


@pytest.mark.parametrize("store", STORES)
def test_killed_before_the_commit_a_client_order_is_resent_and_taken_once(tmp_path, store):
    """The NewOrderSingle's callback returned (QuickFIX counted it), its batch was never
    committed and nothing of it was sent: after the restart the client resends it (PossDup) and
    it is taken as a new order, once; the venue gets one child and fills it."""
    config = _config(tmp_path, store)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    try:
        venue.wait_for_log("simulated venue SIM-A")
        c1, gw, cl = _crash_then_restart(
            config, "|11=GC-NOS-1|", lambda c: c.new_order("AAPL", "buy", 10, "190.05", cl_ord_id="GC-NOS-1")
        )
        try:
            fill = report_for(c1, cl, exec_type("F"), timeout=10)
            assert [field(fill, t) for t in (39, 14, 32)] == ["2", "10", "10"]
            with pytest.raises(FixClientTimeout):
                report_for(c1, cl, exec_type("F"), timeout=1.5)  # once, not twice
            c1.logout()
        finally:
            gw.stop()
        parents, children = _rows(config, cl)
        assert len(parents) == 1 and parents[0].cum_qty == "10"
        assert len(children) == 1 and children[0].cum_qty == "10"  # one venue order: not sent twice
    finally:
        venue.stop()


@pytest.mark.parametrize("store", STORES)
def test_killed_before_the_commit_a_venue_fill_is_resent_and_applied_once(tmp_path, store):
    """The venue's fill was applied in memory and counted by QuickFIX, never journaled nor
    reported: after the restart the venue resends it (PossDupFlag=Y; reconciliation is off) and
    the client hears of it exactly once, with the right quantities."""
    config = _config(tmp_path, store)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    try:
        venue.wait_for_log("simulated venue SIM-A")
        c1, gw, cl = _crash_then_restart(
            config, "|150=F|", lambda c: c.new_order("AAPL", "buy", 10, "190.05", cl_ord_id="GC-FILL-1")
        )
        try:
            fill = report_for(c1, cl, exec_type("F"), timeout=10)
            assert [field(fill, t) for t in (39, 14, 32)] == ["2", "10", "10"]
            with pytest.raises(FixClientTimeout):
                report_for(c1, cl, exec_type("F"), timeout=1.5)
            c1.logout()
        finally:
            gw.stop()
        parents, children = _rows(config, cl)
        assert len(parents) == 1 and parents[0].cum_qty == "10" and parents[0].status == "2"
        assert len(children) == 1 and children[0].cum_qty == "10"
    finally:
        venue.stop()
