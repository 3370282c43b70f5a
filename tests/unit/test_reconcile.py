"""Bringing a child order in line with what its venue reports after a restart or reconnect."""

from __future__ import annotations

from decimal import Decimal as D

from gateway.orders.enums import ExecType, OrdStatus
from gateway.orders.messages import ExecutionReport, VenueExecution
from tests.unit.test_core import VENUE, FakeClock, ack, fill, make_core, new_order

S1 = "S1"


def status(ord_status: OrdStatus, cum: str, avg: str, leaves: str = "0") -> VenueExecution:
    return VenueExecution(
        VENUE, "GT-1", None, "V1", "X-status", ExecType.ORDER_STATUS, ord_status, D(cum), D(leaves), D(avg)
    )


def ers(out) -> list[ExecutionReport]:
    return [r for r in out.to_clients if isinstance(r, ExecutionReport)]


def placed(ack_it: bool = True):
    core = make_core(FakeClock())
    core.new_order(S1, new_order("C1", qty="100", price="10.00"))
    if ack_it:
        ack(core)
    order = core.order_for(S1, "C1")
    return core, order, order.children[0]


def test_missed_fills_are_one_fill_at_the_price_that_makes_the_venues_average():
    core, order, child = placed()
    fill(core, "GT-1", "30", "10.00", "F1")  # the gateway saw 30 @ 10.00
    out = core.reconcile_child(child, status(OrdStatus.PARTIALLY_FILLED, "80", "10.025", leaves="20"))
    (er,) = ers(out)
    assert (er.exec_type, er.last_qty, er.cum_qty, er.leaves_qty) == (ExecType.TRADE, D(50), D(80), D(20))
    assert er.last_px == D("10.04")  # (80 x 10.025 - 30 x 10.00) / 50
    assert order.fills.avg_px == D("10.025")


def test_reconciling_twice_applies_nothing_twice():
    core, order, child = placed()
    core.reconcile_child(child, status(OrdStatus.PARTIALLY_FILLED, "40", "10", leaves="60"))
    again = core.reconcile_child(child, status(OrdStatus.PARTIALLY_FILLED, "40", "10", leaves="60"))
    assert ers(again) == [] and order.fills.cum_qty == D(40)


def test_unacknowledged_child_the_venue_filled_gets_new_then_fill():
    core, _, child = placed(ack_it=False)
    out = core.reconcile_child(child, status(OrdStatus.FILLED, "100", "9.99"))
    assert [(r.exec_type, r.ord_status) for r in ers(out)] == [
        (ExecType.NEW, OrdStatus.NEW), (ExecType.TRADE, OrdStatus.FILLED),
    ]  # fmt: skip


def test_child_canceled_at_the_venue_after_a_partial_fill_ends_canceled_with_the_fill():
    core, order, child = placed()
    out = core.reconcile_child(child, status(OrdStatus.CANCELED, "25", "10"))
    assert [(r.exec_type, r.cum_qty) for r in ers(out)] == [
        (ExecType.TRADE, D(25)),
        (ExecType.CANCELED, D(25)),
    ]
    assert order.status is OrdStatus.CANCELED


def test_child_the_venue_does_not_know_is_rejected_if_never_acknowledged_else_canceled():
    core, _, child = placed(ack_it=False)
    assert ers(core.reconcile_child(child, None))[0].ord_status is OrdStatus.REJECTED
    core, _, child = placed()
    (er,) = ers(core.reconcile_child(child, None))
    assert er.ord_status is OrdStatus.CANCELED and "does not know" in er.text


def test_a_late_real_fill_already_counted_by_reconciliation_is_ignored():
    core, order, child = placed()
    core.reconcile_child(child, status(OrdStatus.PARTIALLY_FILLED, "40", "10", leaves="60"))
    out = core.venue_execution(
        VenueExecution(VENUE, "GT-1", None, "V1", "F-real", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, D(40),
                       D(60), D(10), last_qty=D(40), last_px=D(10))
    )  # fmt: skip
    assert ers(out) == [] and order.fills.cum_qty == D(40)


def trade(exec_id: str, last: str, px: str, cum: str) -> VenueExecution:
    partial = OrdStatus.PARTIALLY_FILLED
    leaves = D(100) - D(cum)
    return VenueExecution(VENUE, "GT-1", None, "V1", exec_id, ExecType.TRADE, partial, D(cum), leaves, D(px),
                          last_qty=D(last), last_px=D(px))  # fmt: skip


def test_fills_delivered_highest_cumqty_first_each_count_once():
    core, order, child = placed()
    for exec_id, last, px, cum in (
        ("F3", "30", "10.02", "60"),
        ("F2", "20", "10.01", "30"),
        ("F1", "10", "10", "10"),
    ):
        assert len(ers(core.venue_execution(trade(exec_id, last, px, cum)))) == 1
    assert (child.fills.cum_qty, order.fills.cum_qty) == (D(60), D(60))
    assert order.fills.avg_px == (D(30) * D("10.02") + D(20) * D("10.01") + D(10) * D(10)) / D(60)


def test_the_reconciled_mark_survives_a_restart():
    core, _, child = placed()
    core.reconcile_child(child, status(OrdStatus.PARTIALLY_FILLED, "40", "10", leaves="60"))
    assert type(child).from_doc(child.to_doc()).reconciled_cum == D(40)
