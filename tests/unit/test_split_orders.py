"""One client order, several child orders at several venues: the client sees one coherent order."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from gateway.orders.core import OrderCore
from gateway.orders.enums import CxlRejResponseTo, ExecType, OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.ids import IdGenerator
from gateway.orders.messages import CancelChildOrder, CancelReject, ExecutionReport, SendChildOrder
from gateway.risk.trading_state import TradingState
from gateway.routing.api import ChildSpec, RouteReject, VenueInfo
from gateway.routing.router import Router
from tests.unit.test_core import FakeClock, cancel, new_order, replace, vexec

S1 = "S1"
VENUES = ("A", "B", "C")


class FixedSplit:
    """A strategy that splits by fixed fractions over the venues it may use (test double)."""

    name = "fixed_split"

    def __init__(self, shares: dict[str, D]):
        self.shares = shares
        self.seen: list = []

    def route(self, req, market, venues, now_ns):
        self.seen.append((req, venues))
        usable = [v for v in self.shares if venues[v].usable(req.ord_type, req.tif) and v not in req.exclude]
        if not usable:
            return RouteReject("no usable venue")
        total = sum(self.shares[v] for v in usable)
        out, left = [], req.qty
        for v in usable[:-1]:
            q = (req.qty * self.shares[v] / total).quantize(D(1))
            out.append(ChildSpec(v, q, req.price, req.ord_type, req.tif))
            left -= q
        out.append(ChildSpec(usable[-1], left, req.price, req.ord_type, req.tif))
        return out


def make(shares: dict[str, D], reroute: bool = False) -> tuple[OrderCore, FixedSplit]:
    strategy = FixedSplit(shares)
    router = Router(
        strategies={S1: (strategy, {})},
        market=None,  # the test strategy reads no market data
        capabilities={v: VenueInfo(v, connected=False) for v in VENUES},
        primary={"ACME": "A"},
        reroute_on_child_reject=reroute,
    )
    core = OrderCore(IdGenerator("T"), {"ACME": "A"}, VENUES, 5_000_000_000, FakeClock(), router=router)
    for v in VENUES:
        core.set_venue_up(v, True)
    return core, strategy


def sent(out) -> list[SendChildOrder]:
    return [c for c in out.to_venues if isinstance(c, SendChildOrder)]


def ers(out) -> list[ExecutionReport]:
    return [r for r in out.to_clients if isinstance(r, ExecutionReport)]


def test_new_order_is_split_as_the_strategy_says():
    core, strategy = make({"A": D(1), "B": D(1), "C": D(2)})
    out = core.new_order(S1, new_order("P", qty="100"))
    assert [(c.venue, c.qty) for c in sent(out)] == [("A", D(25)), ("B", D(25)), ("C", D(50))]
    assert out.to_clients == []
    req, venues = strategy.seen[0]
    assert (req.qty, req.primary_venue, req.ex_destination) == (D(100), "A", None)
    assert all(venues[v].connected for v in VENUES)


def test_fills_aggregate_across_venues_with_exact_avg_px_and_one_new():
    core, _ = make({"A": D(1), "B": D(1), "C": D(2)})
    children = sent(core.new_order(S1, new_order("P", qty="100", price="10.05")))
    acks = [
        core.venue_execution(vexec(c.cl_ord_id, ExecType.NEW, OrdStatus.NEW, f"X{c.venue}", venue=c.venue))
        for c in children
    ]
    assert [len(ers(o)) for o in acks] == [1, 0, 0]  # the client hears New once

    fills = [("A", "25", "10.01"), ("B", "25", "10.02"), ("C", "50", "10.05")]
    reports = []
    for (venue, qty, px), child in zip(fills, children, strict=True):
        out = core.venue_execution(
            vexec(child.cl_ord_id, ExecType.TRADE, OrdStatus.FILLED, f"F{venue}", last_qty=qty, last_px=px,
                  venue=venue)
        )  # fmt: skip
        reports.append(ers(out)[0])
    assert [(r.cum_qty, r.leaves_qty, r.last_mkt) for r in reports] == [
        (D(25), D(75), "A"), (D(50), D(50), "B"), (D(100), D(0), "C"),
    ]  # fmt: skip
    assert reports[-1].ord_status is OrdStatus.FILLED
    assert reports[-1].avg_px == D("10.0325")  # (250.25 + 250.5 + 502.5) / 100


def test_cancel_cancels_every_working_child_and_client_hears_canceled_once_all_are_done():
    core, _ = make({"A": D(1), "B": D(1)})
    children = sent(core.new_order(S1, new_order("P", qty="10")))
    for c in children:
        core.venue_execution(vexec(c.cl_ord_id, ExecType.NEW, OrdStatus.NEW, f"X{c.venue}", venue=c.venue))
    out = core.cancel_order(S1, cancel("P2", "P"))
    cancels = [c for c in out.to_venues if isinstance(c, CancelChildOrder)]
    assert sorted(c.venue for c in cancels) == ["A", "B"]

    first = core.venue_execution(vexec(cancels[0].cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "C1",
                                       venue=cancels[0].venue))  # fmt: skip
    assert first.to_clients == []  # B still working
    last = core.venue_execution(vexec(cancels[1].cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "C2",
                                      venue=cancels[1].venue))  # fmt: skip
    er = ers(last)[0]
    assert (er.exec_type, er.ord_status, er.cl_ord_id, er.orig_cl_ord_id) == (
        ExecType.CANCELED, OrdStatus.CANCELED, "P2", "P",
    )  # fmt: skip


def test_rejected_child_is_rerouted_to_another_venue_when_configured():
    core, strategy = make({"A": D(1), "B": D(1)}, reroute=True)
    children = sent(core.new_order(S1, new_order("P", qty="10")))
    a = next(c for c in children if c.venue == "A")
    out = core.venue_execution(vexec(a.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "R", venue="A"))
    assert out.to_clients == []
    again = sent(out)
    assert [(c.venue, c.qty) for c in again] == [("B", D(5))]
    assert strategy.seen[-1][0].exclude == frozenset({"A"})


def test_rejected_child_without_reroute_finishes_the_parent_as_canceled_if_another_part_filled():
    core, _ = make({"A": D(1), "B": D(1)})
    a, b = sent(core.new_order(S1, new_order("P", qty="10")))
    core.venue_execution(vexec(a.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "XA", venue="A"))
    core.venue_execution(vexec(a.cl_ord_id, ExecType.TRADE, OrdStatus.FILLED, "FA", last_qty="5",
                               last_px="10", venue="A"))  # fmt: skip
    out = core.venue_execution(vexec(b.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "RB", venue="B"))
    er = ers(out)[0]
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.CANCELED, OrdStatus.CANCELED, D(5), D(0),
    )  # fmt: skip
    assert "B rejected" in er.text


def test_every_child_rejected_before_any_ack_rejects_the_parent():
    core, _ = make({"A": D(1), "B": D(1)})
    a, b = sent(core.new_order(S1, new_order("P", qty="10")))
    assert core.venue_execution(vexec(a.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "RA",
                                      venue="A")).to_clients == []  # fmt: skip
    out = core.venue_execution(vexec(b.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "RB", venue="B"))
    assert ers(out)[0].ord_status is OrdStatus.REJECTED


def test_route_reject_and_halted_venue_are_not_used():
    core, strategy = make({"A": D(1)})
    core.pretrade.states.set("venue", "A", TradingState.HALTED, "test")
    out = core.new_order(S1, new_order("P", qty="10"))
    er = ers(out)[0]
    assert er.ord_status is OrdStatus.REJECTED and "no usable venue" in er.text
    assert strategy.seen[-1][1]["A"].halted is True


@pytest.mark.parametrize("qty", ["30", "6"])
def test_replace_amends_the_resting_child(qty):
    core, _ = make({"A": D(1), "B": D(1)})
    a, b = sent(core.new_order(S1, new_order("P", qty="10")))
    for c in (a, b):
        core.venue_execution(vexec(c.cl_ord_id, ExecType.NEW, OrdStatus.NEW, f"X{c.venue}", venue=c.venue))
    out = core.replace_order(S1, replace("P2", "P", qty))
    amend = out.to_venues[0]
    assert amend.venue == "B" and amend.qty == D(5) + (D(qty) - D(10))
    assert not any(
        isinstance(r, CancelReject) and r.response_to is CxlRejResponseTo.REPLACE for r in out.to_clients
    )
    assert OrdType.LIMIT is amend.ord_type and TimeInForce.DAY is amend.tif and Side.BUY is amend.side


def make_no_replace(venue_shares: dict[str, D]) -> OrderCore:
    core, _ = make(venue_shares)
    core.router.capabilities = {
        v: VenueInfo(v, connected=False, supports_replace=(v != "A")) for v in VENUES
    }  # venue A cannot amend
    return core


def test_amend_at_a_venue_without_replace_is_cancel_then_new_and_the_client_sees_replaced():
    core = make_no_replace({"A": D(1)})
    (child,) = sent(core.new_order(S1, new_order("P", qty="10", price="5")))
    core.venue_execution(vexec(child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "X1", venue="A"))
    out = core.replace_order(S1, replace("P2", "P", "15", "5.5"))
    (cancel_cmd,) = out.to_venues
    assert isinstance(cancel_cmd, CancelChildOrder) and cancel_cmd.orig_cl_ord_id == child.cl_ord_id
    assert ers(out)[0].exec_type is ExecType.PENDING_REPLACE

    out = core.venue_execution(vexec(cancel_cmd.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X2",
                                     venue="A"))  # fmt: skip
    assert out.to_clients == []  # not Canceled: the amend goes on
    (new_child,) = sent(out)
    assert (new_child.venue, new_child.qty, new_child.price) == ("A", D(15), D("5.5"))

    out = core.venue_execution(vexec(new_child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "X3", venue="A"))
    er = ers(out)[0]
    assert (er.exec_type, er.cl_ord_id, er.orig_cl_ord_id, er.qty, er.price, er.leaves_qty) == (
        ExecType.REPLACED, "P2", "P", D(15), D("5.5"), D(15),
    )  # fmt: skip


def test_fill_while_the_cancel_of_an_amend_travels_is_kept_and_the_new_child_is_smaller():
    core = make_no_replace({"A": D(1)})
    (child,) = sent(core.new_order(S1, new_order("P", qty="10", price="5")))
    core.venue_execution(vexec(child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "X1", venue="A"))
    (cancel_cmd,) = core.replace_order(S1, replace("P2", "P", "12", "5")).to_venues
    partial = vexec(
        child.cl_ord_id,
        ExecType.TRADE,
        OrdStatus.PARTIALLY_FILLED,
        "F1",
        last_qty="4",
        last_px="5",
        venue="A",
    )
    core.venue_execution(partial)
    out = core.venue_execution(vexec(cancel_cmd.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X2",
                                     venue="A"))  # fmt: skip
    (new_child,) = sent(out)
    assert new_child.qty == D(8)  # 12 in all, 4 already filled
    er = ers(core.venue_execution(vexec(new_child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "X3", venue="A")))[
        0
    ]
    assert (er.exec_type, er.qty, er.cum_qty, er.leaves_qty) == (ExecType.REPLACED, D(12), D(4), D(8))


def test_new_child_of_an_amend_rejected_then_the_replace_is_refused_and_the_rest_canceled():
    core = make_no_replace({"A": D(1)})
    (child,) = sent(core.new_order(S1, new_order("P", qty="10", price="5")))
    core.venue_execution(vexec(child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "X1", venue="A"))
    (cancel_cmd,) = core.replace_order(S1, replace("P2", "P", "15", "5")).to_venues
    canceled = vexec(cancel_cmd.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X2", venue="A")
    (new_child,) = sent(core.venue_execution(canceled))
    out = core.venue_execution(vexec(new_child.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "X3",
                                     venue="A"))  # fmt: skip
    er, rej = out.to_clients
    assert isinstance(er, ExecutionReport) and er.ord_status is OrdStatus.CANCELED
    assert isinstance(rej, CancelReject) and rej.cl_ord_id == "P2"


def test_router_never_sends_a_child_a_venue_cannot_take_at_its_tick_or_lot_size():
    core, strategy = make({"A": D(1), "B": D(1)})
    core.router.terms = {("A", "ACME"): (D("0.05"), None)}
    out = core.new_order(S1, new_order("P", qty="10", price="10.01"))  # A: not on its 0.05 tick
    assert [(c.venue, c.qty) for c in sent(out)] == [("B", D(10))]
    assert strategy.seen[-1][0].exclude == frozenset({"A"})

    core, _ = make({"B": D(1)})
    core.router.terms = {("B", "ACME"): (None, D(10))}
    out = core.new_order(S1, new_order("Q", qty="7", price="10.01"))  # B: 7 is not a lot of 10
    assert ers(out)[0].ord_status is OrdStatus.REJECTED and "tick and lot size" in ers(out)[0].text
