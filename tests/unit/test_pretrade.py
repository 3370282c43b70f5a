"""Pre-trade control end to end through the order core, without sockets.

``OrderCore`` runs with a real :class:`PreTrade` (a :class:`RiskEngine` of built-in checks,
instrument terms, reference prices, automatic triggers), a fake clock and a fixed IdGenerator, so
each test reads exact reports, venue commands, journal notes and risk aggregates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

import pytest

from gateway.orders import journaling
from gateway.orders.core import OrderCore, Outcome
from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from gateway.orders.ids import IdGenerator
from gateway.orders.messages import (
    CancelChildOrder,
    CancelOrder,
    CancelReject,
    ExecutionReport,
    ReplaceChildOrder,
    ReplaceOrder,
    SendChildOrder,
    VenueCancelReject,
)
from gateway.orders.model import ClientOrder
from gateway.positions.book import Position
from gateway.risk import bench
from gateway.risk.api import OrderIntent, RiskCheck
from gateway.risk.checks import (
    BUILTIN_CHECKS,
    CreditLimit,
    MarketOrders,
    MaxNotional,
    MaxOrderQty,
    MaxPosition,
    PriceCollar,
    RestrictedList,
    TickLot,
)
from gateway.risk.engine import RiskEngine
from gateway.risk.pretrade import AutoLimit, PreTrade
from gateway.risk.trading_state import StateChange, TradingState
from tests.unit.test_core import FakeClock, FakeJournal, cancel, new_order, only_er, only_reject, vexec

D = Decimal
S1, S2 = "S1", "S2"
XNYS, BATS = "XNYS", "BATS"
ACK_TIMEOUT_NS = 5_000_000_000
SECOND = 1_000_000_000
REFS = {"ACME": D("10"), "BETA": D("20")}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_core(
    clock: FakeClock,
    checks: Sequence[RiskCheck] = (),
    *,
    checks_s2: Sequence[RiskCheck] = (),
    loss: dict[str, AutoLimit] | None = None,
    bursts: dict[str, AutoLimit] | None = None,
    prefix: str = "T",
) -> OrderCore:
    """Two client sessions (S1 with ``checks``, S2 with ``checks_s2``), two venues, both up."""
    pretrade = PreTrade(
        clock,
        risk=RiskEngine({S1: list(checks), S2: list(checks_s2)}),
        ticks={"ACME": D("0.01"), "BETA": D("0.05")},
        lots={"ACME": D(1), "BETA": D(1)},
        reference_prices=REFS,
        loss_limits=loss,
        reject_bursts=bursts,
    )
    core = OrderCore(
        IdGenerator(prefix),
        routes={"ACME": XNYS, "BETA": XNYS},
        venues=[XNYS, BATS],
        ack_timeout_ns=ACK_TIMEOUT_NS,
        clock=clock,
        pretrade=pretrade,
    )
    core.set_venue_up(XNYS, True)
    core.set_venue_up(BATS, True)
    return core


# ---------------------------------------------------------------- helpers


def place(core: OrderCore, session: str, cl: str, **kw: object) -> tuple[Outcome, ClientOrder]:
    out = core.new_order(session, new_order(cl, **kw))  # type: ignore[arg-type]
    order = core.order_for(session, cl)
    assert order is not None
    return out, order


def routed(out: Outcome) -> SendChildOrder:
    assert len(out.to_venues) == 1, out.to_venues
    cmd = out.to_venues[0]
    assert isinstance(cmd, SendChildOrder)
    return cmd


def live(core: OrderCore, session: str, cl: str, **kw: object) -> tuple[ClientOrder, SendChildOrder]:
    """A routed order its venue has acknowledged."""
    out, order = place(core, session, cl, **kw)
    child = routed(out)
    core.venue_execution(vexec(child.cl_ord_id, ExecType.NEW, OrdStatus.NEW, "ack", venue=child.venue))
    assert order.status is OrdStatus.NEW
    return order, child


def trade(
    core: OrderCore, child: SendChildOrder, qty: str, px: str, exec_id: str, *, done: bool = False
) -> Outcome:
    status = OrdStatus.FILLED if done else OrdStatus.PARTIALLY_FILLED
    rpt = vexec(child.cl_ord_id, ExecType.TRADE, status, exec_id, last_qty=qty, last_px=px, venue=child.venue)
    return core.venue_execution(rpt)


def holding(core: OrderCore, session: str, qty: str, *, symbol: str = "ACME", px: str = "10") -> None:
    """Give ``session`` a filled position: a buy (qty > 0) or sell (qty < 0) filled at ``px``."""
    side = Side.BUY if D(qty) > 0 else Side.SELL
    amount = str(abs(D(qty)))
    _, child = live(core, session, f"H-{symbol}-{qty}", symbol=symbol, side=side, qty=amount, price=px)
    trade(core, child, amount, px, "H-fill", done=True)
    assert core.pretrade.exposure.position(session, symbol) == D(qty)


def refused(out: Outcome) -> ExecutionReport:
    er = only_er(out)
    assert er.exec_type is ExecType.REJECTED
    assert out.to_venues == []
    return er


def replace(cl: str, orig: str, qty: str, price: str = "10", *, side: Side = Side.BUY) -> ReplaceOrder:
    return ReplaceOrder(
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        symbol="ACME",
        side=side,
        ord_type=OrdType.LIMIT,
        qty=D(qty),
        price=D(price),
        tif=TimeInForce.DAY,
    )


def exposure_reads(core: OrderCore) -> dict:
    """Every Exposure read for the test's clients and symbols."""
    exp = core.pretrade.exposure
    return {
        "clients": {c: (exp.exposure(c), exp.open_orders(c)) for c in (S1, S2)},
        "lines": {
            (c, s): (exp.position(c, s), exp.working(c, s), exp.open_orders(c, s))
            for c in (S1, S2)
            for s in REFS
        },
    }


# ---------------------------------------------------------------- checks through the core


@pytest.mark.parametrize(
    ("check", "order_kw", "name", "reason", "words"),
    [
        (
            MaxOrderQty(max_qty=1000),
            {"qty": "5000"},
            "max_order_qty",
            OrdRejReason.ORDER_EXCEEDS_LIMIT,
            ["5000"],
        ),
        (
            MaxNotional(max_notional=10_000),
            {"qty": "1001", "price": "10"},
            "max_notional",
            OrdRejReason.ORDER_EXCEEDS_LIMIT,
            ["10010", "10000"],
        ),
        (PriceCollar(max_pct=5), {"price": "10.60"}, "price_collar", OrdRejReason.OTHER, ["10.60", "5%"]),
        (TickLot(), {"price": "10.005"}, "tick_lot", OrdRejReason.OTHER, ["10.005", "0.01"]),
        (RestrictedList(symbols=["ACME"]), {}, "restricted_list", OrdRejReason.OTHER, ["ACME"]),
        (
            MarketOrders(allowed=False),
            {"ord_type": OrdType.MARKET, "price": None},
            "market_orders",
            OrdRejReason.OTHER,
            ["market"],
        ),
    ],
)
def test_new_order_when_a_check_rejects_then_er_rejected_names_the_check_and_decision_is_journaled(
    clock: FakeClock,
    check: RiskCheck,
    order_kw: dict,
    name: str,
    reason: OrdRejReason,
    words: list[str],
) -> None:
    core = make_core(clock, [TickLot() if name != "tick_lot" else MaxOrderQty(max_qty=10**6), check])

    out, order = place(core, S1, "C1", **order_kw)

    er = refused(out)
    assert er.ord_status is OrdStatus.REJECTED
    assert er.ord_rej_reason is reason
    assert er.text is not None and er.text.startswith(f"{name}: ")
    assert all(w in er.text for w in words), er.text
    decision = [text for oid, text in out.notes if oid == order.order_id and text.startswith("risk ")]
    assert len(decision) == 1
    assert decision[0].startswith(f"risk rejected by {name}: {er.text}")
    assert decision[0].endswith(f", {name})")  # every check that ran, the rejecting one last
    assert core.pretrade.exposure.open_orders(S1) == 0  # a refused order never counted
    assert core.pretrade.exposure.exposure(S1) == (D(0), D(0))


def test_new_order_when_every_check_passes_then_routed_and_risk_passed_noted(clock: FakeClock) -> None:
    core = make_core(clock, [TickLot(), MaxOrderQty(max_qty=1000), CreditLimit(max_gross=5000)])

    out, order = place(core, S1, "C1", qty="100", price="10")

    child = routed(out)
    assert (child.venue, child.qty, child.price) == (XNYS, D(100), D(10))
    assert out.to_clients == []
    assert (order.order_id, "risk passed: tick_lot, max_order_qty, credit_limit") in out.notes
    assert core.pretrade.exposure.working(S1, "ACME") == (D(100), D(0))
    assert core.pretrade.exposure.exposure(S1) == (D(1000), D(1000))


def test_new_order_when_credit_limit_counts_working_orders_then_the_order_past_it_is_refused(
    clock: FakeClock,
) -> None:
    core = make_core(clock, [CreditLimit(max_gross=2500)])
    live(core, S1, "C1", qty="100")  # 1000 at the reference 10
    live(core, S1, "C2", qty="100", side=Side.SELL)  # gross counts both sides: 2000

    er = refused(place(core, S1, "C3", qty="60")[0])

    assert er.text is not None and er.text.startswith("credit_limit: gross exposure 2600")
    routed(place(core, S1, "C4", qty="50")[0])  # exactly at the limit passes


def test_new_order_when_max_position_counts_position_and_working_buys_then_refused_past_it(
    clock: FakeClock,
) -> None:
    core = make_core(clock, [MaxPosition(max_long=150, max_short=10)])
    holding(core, S1, "100")
    live(core, S1, "C1", qty="30")

    er = refused(place(core, S1, "C2", qty="30")[0])

    assert er.text == (
        "max_position: long 160 in ACME (position 100 + working buys 30 + order 30) exceeds limit 150"
    )
    routed(place(core, S1, "C3", qty="20")[0])  # 150: at the limit
    routed(place(core, S1, "C4", side=Side.SELL, qty="110")[0])  # sells reduce the long: 100 - 110
    refused(place(core, S1, "C5", side=Side.SELL, qty="1")[0])  # short 11 with C4 working


def test_replace_when_a_check_refuses_then_cancel_reject_and_order_live_with_old_terms(
    clock: FakeClock,
) -> None:
    core = make_core(clock, [MaxOrderQty(max_qty=200), CreditLimit(max_gross=1500)])
    order, child = live(core, S1, "C1", qty="100", price="10")
    trade(core, child, "20", "10", "F1")

    out = core.replace_order(S1, replace("C2", "C1", "300", "10.01"))

    rej = only_reject(out)
    assert rej.response_to is CxlRejResponseTo.REPLACE
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("C2", "C1")
    assert rej.text is not None and rej.text.startswith("max_order_qty: OrderQty 300 exceeds limit 200")
    assert out.to_venues == []
    assert (order.order_id, f"risk rejected by max_order_qty: {rej.text} (ran max_order_qty)") in out.notes
    assert (order.qty, order.price, order.status, order.pending) == (
        D(100),
        D(10),
        OrdStatus.PARTIALLY_FILLED,
        None,
    )
    assert order.cl_ord_id == "C1"
    assert core.pretrade.exposure.working(S1, "ACME") == (D(80), D(0))

    # the credit limit sees only what the replace adds: 1000 now, +40 x 10.01 passes, +60 x 10.01 not
    out = core.replace_order(S1, replace("C3", "C1", "160", "10.01"))
    assert only_reject(out).text.startswith("credit_limit: gross exposure 1600.6")  # type: ignore[union-attr]
    assert order.qty == D(100)

    out = core.replace_order(S1, replace("C4", "C1", "140", "10.01"))
    assert isinstance(out.to_venues[0], ReplaceChildOrder)
    assert (order.order_id, "risk passed: max_order_qty, credit_limit") in out.notes
    assert core.pretrade.exposure.working(S1, "ACME") == (D(120), D(0))  # the larger size while pending


# ---------------------------------------------------------------- trading states


@pytest.mark.parametrize(
    ("side", "qty", "accepted"),
    [
        (Side.SELL, "60", True),
        (Side.SELL, "100", True),  # closes exactly
        (Side.SELL, "101", False),  # would flip to short
        (Side.BUY, "1", False),  # adds to the long
    ],
)
def test_reducing_when_long_then_only_orders_that_reduce_are_accepted(
    clock: FakeClock, side: Side, qty: str, accepted: bool
) -> None:
    core = make_core(clock)
    holding(core, S1, "100")
    core.pretrade.states.set("client", S1, TradingState.REDUCING, "desk review")

    out, _ = place(core, S1, "C1", side=side, qty=qty)

    if accepted:
        routed(out)
    else:
        er = refused(out)
        assert er.text is not None and "REDUCING" in er.text and "desk review" in er.text


def test_reducing_when_working_sells_already_close_the_position_then_one_more_is_refused(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    holding(core, S1, "100")
    core.pretrade.states.set("client", S1, TradingState.REDUCING, "desk review")

    routed(place(core, S1, "C1", side=Side.SELL, qty="60")[0])
    routed(place(core, S1, "C2", side=Side.SELL, qty="40")[0])
    refused(place(core, S1, "C3", side=Side.SELL, qty="1")[0])  # 60 + 40 + 1 working would flip


def test_reducing_when_short_then_a_buy_closes_and_a_sell_is_refused(clock: FakeClock) -> None:
    core = make_core(clock)
    holding(core, S1, "-50")
    core.pretrade.states.set("client", S1, TradingState.REDUCING, "loss")

    routed(place(core, S1, "C1", side=Side.BUY, qty="50")[0])
    refused(place(core, S1, "C2", side=Side.SELL, qty="1")[0])
    refused(place(core, S1, "C3", symbol="BETA", side=Side.BUY, qty="1", price="20")[0])  # flat: opening


def test_reducing_when_replace_takes_quantity_away_then_accepted_and_adding_is_refused(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    holding(core, S1, "100")
    live(core, S1, "C1", side=Side.SELL, qty="80")
    core.pretrade.states.set("client", S1, TradingState.REDUCING, "desk review")

    rej = only_reject(core.replace_order(S1, replace("C2", "C1", "120", side=Side.SELL)))
    assert rej.text is not None and "REDUCING" in rej.text

    out = core.replace_order(S1, replace("C3", "C1", "50", side=Side.SELL))
    assert isinstance(out.to_venues[0], ReplaceChildOrder)


ORDERS = {  # (session, venue) for each ClOrdID of the halted-scope test
    "A": (S1, XNYS),
    "B": (S1, BATS),
    "C": (S2, XNYS),
    "D": (S2, BATS),
}


@pytest.mark.parametrize(
    ("scope", "target", "halted"),
    [
        ("client", S1, {"A", "B"}),
        ("venue", BATS, {"B", "D"}),
        ("global", None, {"A", "B", "C", "D"}),
    ],
)
def test_halted_when_in_scope_then_refused_and_outside_it_accepted(
    clock: FakeClock, scope: str, target: str | None, halted: set[str]
) -> None:
    core = make_core(clock)
    core.pretrade.states.set(scope, target, TradingState.HALTED, "ops")

    for cl, (session, venue) in ORDERS.items():
        out, _ = place(core, session, cl, ex_destination=venue)
        if cl in halted:
            er = refused(out)
            assert er.text is not None and er.text.startswith("trading halted") and "ops" in er.text
        else:
            assert routed(out).venue == venue


def test_halted_when_client_has_working_order_then_replace_refused_but_cancel_allowed(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    order, _ = live(core, S1, "C1")
    core.pretrade.states.set("client", S1, TradingState.HALTED, "ops")

    rej = only_reject(core.replace_order(S1, replace("C2", "C1", "50")))
    assert rej.text is not None and rej.text.startswith("trading halted")

    out = core.cancel_order(
        S1, CancelOrder(cl_ord_id="C3", orig_cl_ord_id="C1", symbol="ACME", side=Side.BUY)
    )
    assert [type(c) for c in out.to_venues] == [CancelChildOrder]
    assert order.ord_status is OrdStatus.PENDING_CANCEL


# ---------------------------------------------------------------- kill switch


def kill_switch_book(core: OrderCore) -> dict[str, tuple[ClientOrder, SendChildOrder]]:
    """S1 works at both venues; S2 at both venues too."""
    return {
        "S1-XNYS": live(core, S1, "A", ex_destination=XNYS),
        "S1-BATS": live(core, S1, "B", symbol="BETA", price="20", ex_destination=BATS),
        "S2-XNYS": live(core, S2, "C", ex_destination=XNYS),
        "S2-BATS": live(core, S2, "D", ex_destination=BATS),
    }


@pytest.mark.parametrize(
    ("scope", "target", "in_scope"),
    [
        ("client", S1, ["S1-XNYS", "S1-BATS"]),
        ("venue", BATS, ["S1-BATS", "S2-BATS"]),
        ("global", None, ["S1-XNYS", "S1-BATS", "S2-XNYS", "S2-BATS"]),
    ],
)
def test_kill_switch_when_engaged_then_cancels_every_working_child_in_scope_and_nothing_else(
    clock: FakeClock, scope: str, target: str | None, in_scope: list[str]
) -> None:
    core = make_core(clock)
    book = kill_switch_book(core)

    out = core.kill_switch(True, scope, target, "runaway algo")

    cancels = [c for c in out.to_venues if isinstance(c, CancelChildOrder)]
    assert len(cancels) == len(out.to_venues) == len(in_scope)
    assert {(c.venue, c.orig_cl_ord_id) for c in cancels} == {
        (book[k][1].venue, book[k][1].cl_ord_id) for k in in_scope
    }
    assert sorted(out.canceled) == sorted(book[k][0].order_id for k in in_scope)
    assert out.state_changes == [StateChange(scope, target, TradingState.HALTED, "runaway algo")]
    for key, (order, _) in book.items():
        expected = OrdStatus.PENDING_CANCEL if key in in_scope else OrdStatus.NEW
        assert order.ord_status is expected, key
    # the halt holds for new orders in scope
    session, venue = (S1, BATS)
    out, _ = place(core, session, "N1", ex_destination=venue)
    refused(out)


def test_kill_switch_when_venue_confirms_then_client_er_canceled_with_kill_switch_text(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    book = kill_switch_book(core)
    order, child = book["S1-XNYS"]
    trade(core, child, "30", "10", "F1")
    assert core.pretrade.exposure.open_orders(S1) == 2
    out = core.kill_switch(True, "client", S1)
    cancel = next(c for c in out.to_venues if isinstance(c, CancelChildOrder) and c.venue == XNYS)

    out = core.venue_execution(
        vexec(cancel.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-cxl", orig=child.cl_ord_id)
    )

    er = only_er(out)
    assert er.exec_type is ExecType.CANCELED
    assert er.ord_status is OrdStatus.CANCELED
    assert er.cl_ord_id == "A"
    assert er.orig_cl_ord_id is None  # the client asked nothing: no OrigClOrdID
    assert er.text is not None and "kill switch" in er.text
    assert (er.cum_qty, er.leaves_qty) == (D(30), D(0))
    assert order.pending is None
    assert core.pretrade.exposure.open_orders(S1) == 1
    assert core.pretrade.exposure.working(S1, "ACME") == (D(0), D(0))
    assert core.pretrade.exposure.position(S1, "ACME") == D(30)


def test_kill_switch_when_released_then_active_again_and_nothing_resent(clock: FakeClock) -> None:
    core = make_core(clock)
    kill_switch_book(core)
    core.kill_switch(True, "client", S1, "ops")
    refused(place(core, S1, "N1")[0])

    out = core.kill_switch(False, "client", S1, "all clear")

    assert out.to_venues == []
    assert out.canceled == []
    assert out.state_changes == [StateChange("client", S1, TradingState.ACTIVE, "all clear")]
    assert core.pretrade.states.effective(S1, XNYS) == (TradingState.ACTIVE, "")
    routed(place(core, S1, "N2")[0])


def test_kill_switch_when_replace_pending_then_the_order_still_gets_canceled(clock: FakeClock) -> None:
    core = make_core(clock)
    order, child = live(core, S1, "A")
    out = core.replace_order(S1, replace("A2", "A", "150"))
    amend = out.to_venues[0]
    assert isinstance(amend, ReplaceChildOrder)

    engaged = core.kill_switch(True, "client", S1)
    answered = core.venue_execution(
        vexec(amend.cl_ord_id, ExecType.REPLACED, OrdStatus.NEW, "X-rpl", orig=child.cl_ord_id)
    )

    sent = engaged.to_venues + answered.to_venues
    assert any(isinstance(c, CancelChildOrder) for c in sent) or not order.is_open


def test_kill_switch_when_replace_in_flight_then_cancel_names_it_and_client_hears_replace_too_late(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    order, _ = live(core, S1, "A")
    amend = core.replace_order(S1, replace("A2", "A", "150")).to_venues[0]
    assert isinstance(amend, ReplaceChildOrder)

    engaged = core.kill_switch(True, "client", S1)
    cancel = engaged.to_venues[0]
    assert isinstance(cancel, CancelChildOrder)
    assert cancel.orig_cl_ord_id == amend.cl_ord_id  # the venue sees the replace first
    assert engaged.canceled == [order.order_id]

    done = core.venue_execution(vexec(cancel.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-c"))
    er, rej = done.to_clients
    assert isinstance(er, ExecutionReport) and er.ord_status is OrdStatus.CANCELED
    assert er.text == "canceled by the gateway's kill switch"
    assert isinstance(rej, CancelReject)
    assert (rej.cl_ord_id, rej.reason, rej.ord_status) == ("A2", CxlRejReason.TOO_LATE, OrdStatus.CANCELED)
    assert order.pending is None


def test_client_cancel_refused_by_venue_while_halted_then_the_kill_switch_cancels_again(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    order, child = live(core, S1, "A")
    own_cancel = core.cancel_order(S1, cancel("A2", "A")).to_venues[0]
    engaged = core.kill_switch(True, "client", S1)
    assert engaged.to_venues == []  # the client's own cancel is in flight: left to it

    refused_out = core.venue_cancel_reject(
        VenueCancelReject(XNYS, own_cancel.cl_ord_id, child.cl_ord_id, "V1", OrdStatus.NEW,
                          CxlRejResponseTo.CANCEL, "2", "busy")
    )  # fmt: skip

    rej = only_reject(refused_out)
    assert (rej.cl_ord_id, rej.response_to) == ("A2", CxlRejResponseTo.CANCEL)
    again = refused_out.to_venues
    assert len(again) == 1 and isinstance(again[0], CancelChildOrder)
    assert refused_out.canceled == [order.order_id]


# ---------------------------------------------------------------- automatic triggers


@pytest.mark.parametrize("state", [TradingState.REDUCING, TradingState.HALTED])
def test_loss_limit_when_a_fill_realises_a_loss_past_it_then_client_moves_to_its_state(
    clock: FakeClock, state: TradingState
) -> None:
    core = make_core(clock, loss={S1: AutoLimit(state, max_loss=D(100))})
    holding(core, S1, "100")  # bought at 10
    _, child = live(core, S1, "C1", side=Side.SELL, qty="100", price="8.30")

    out = trade(core, child, "50", "9.50", "F1")  # -25: within the limit
    assert out.state_changes == []

    out = trade(core, child, "50", "8.30", "F2", done=True)  # -25 - 85 = -110

    assert len(out.state_changes) == 1
    change = out.state_changes[0]
    assert (change.scope, change.target, change.state) == ("client", S1, state)
    assert "-110" in change.reason and "100" in change.reason
    assert (None, f"trading state client {S1} -> {state.name}: {change.reason}") in out.notes
    assert core.pretrade.states.effective(S1, XNYS)[0] is state
    refused(place(core, S1, "N1")[0])  # flat now: a new order opens, refused in either state
    routed(place(core, S2, "N2")[0])  # another client is not affected


def test_loss_limit_when_unrealised_loss_on_a_buy_fill_then_triggered(clock: FakeClock) -> None:
    core = make_core(clock, loss={S1: AutoLimit(TradingState.REDUCING, max_loss=D(100))})
    _, child = live(core, S1, "C1", qty="101", price="10")
    assert trade(core, child, "50", "10", "F1").state_changes == []

    out = trade(core, child, "50", "7.80", "F2")  # 100 held at avg 8.90, marked 7.80: -110

    assert [c.state for c in out.state_changes] == [TradingState.REDUCING]
    out = trade(core, child, "1", "7.70", "F3", done=True)  # a further loss
    assert out.state_changes == []  # already REDUCING: no repeat


def reject_at_venue(core: OrderCore, session: str, cl: str) -> Outcome:
    out, _ = place(core, session, cl)
    child = routed(out)
    return core.venue_execution(
        vexec(child.cl_ord_id, ExecType.REJECTED, OrdStatus.REJECTED, "X-rej", text="no", venue=child.venue)
    )


def test_reject_burst_when_count_reached_within_window_then_client_halted(clock: FakeClock) -> None:
    core = make_core(clock, bursts={S1: AutoLimit(TradingState.HALTED, count=3, window_ns=SECOND)})

    assert reject_at_venue(core, S1, "C1").state_changes == []
    clock.now += 400_000_000
    assert reject_at_venue(core, S1, "C2").state_changes == []
    clock.now += 400_000_000
    out = reject_at_venue(core, S1, "C3")

    assert [(c.scope, c.target, c.state) for c in out.state_changes] == [("client", S1, TradingState.HALTED)]
    assert "3 venue rejects within 1s" in out.state_changes[0].reason
    assert only_er(out).exec_type is ExecType.REJECTED  # the client still hears of its reject
    refused(place(core, S1, "C4")[0])
    routed(place(core, S2, "C5")[0])


def test_reject_burst_when_rejects_are_spread_out_then_nothing_happens(clock: FakeClock) -> None:
    core = make_core(clock, bursts={S1: AutoLimit(TradingState.REDUCING, count=3, window_ns=SECOND)})

    for i in range(6):
        assert reject_at_venue(core, S1, f"C{i}").state_changes == []
        clock.now += 600_000_000  # at most two rejects in any one-second window

    assert core.pretrade.states.effective(S1, XNYS)[0] is TradingState.ACTIVE


def test_reject_burst_when_other_clients_reject_then_they_do_not_count(clock: FakeClock) -> None:
    bursts = {
        S1: AutoLimit(TradingState.HALTED, count=2, window_ns=SECOND),
        S2: AutoLimit(TradingState.HALTED, count=3, window_ns=SECOND),
    }
    core = make_core(clock, bursts=bursts)

    assert reject_at_venue(core, S2, "C1").state_changes == []
    assert reject_at_venue(core, S1, "C2").state_changes == []
    assert reject_at_venue(core, S2, "C3").state_changes == []
    assert [c.state for c in reject_at_venue(core, S1, "C4").state_changes] == [TradingState.HALTED]


# ---------------------------------------------------------------- positions and restart


def test_fills_when_applied_then_outcome_positions_and_exposure_follow(clock: FakeClock) -> None:
    core = make_core(clock)
    _, child = live(core, S1, "C1", qty="100", account="ACC1")

    out = trade(core, child, "30", "10", "F1")
    assert len(out.positions) == 1
    pos = out.positions[0]
    assert (pos.client, pos.account, pos.symbol, pos.qty, pos.avg_cost) == (S1, "ACC1", "ACME", D(30), D(10))

    out = trade(core, child, "70", "10.50", "F2", done=True)
    assert out.positions == [pos]
    assert (pos.qty, pos.avg_cost, pos.bought, pos.realised_pnl) == (D(100), D("10.35"), D(100), D(0))
    assert core.pretrade.exposure.position(S1, "ACME") == D(100)
    assert core.pretrade.exposure.working(S1, "ACME") == (D(0), D(0))
    assert core.pretrade.exposure.exposure(S1) == (D(1050), D(1050))  # marked at the last fill

    _, sell = live(core, S1, "C2", side=Side.SELL, qty="40", price="11", account="ACC1")
    out = trade(core, sell, "40", "11", "F3", done=True)
    assert out.positions == [pos]
    assert (pos.qty, pos.realised_pnl) == (D(60), D(26))  # 40 x (11 - 10.35)


def restart(core: OrderCore, clock: FakeClock) -> OrderCore:
    """Journal every order and position as the runtime does, then restore a fresh core from it."""
    records = []
    for order in core.orders.values():
        records.append(journaling.to_record(order))
        records.extend(journaling.to_record(c) for c in order.children)
    positions = [journaling.position_record(p) for p in core.pretrade.positions.positions()]
    orders, _, used, restored = journaling.restore(FakeJournal(records, positions))  # type: ignore[arg-type]
    fresh = make_core(clock, prefix="R")
    fresh.restore(orders, used, restored)
    return fresh


def busy_core(clock: FakeClock, fill_px: str = "10") -> OrderCore:
    """Open, partly filled, pending-replace, pending-cancel, closed orders and positions, two clients."""
    core = make_core(clock)
    _, a = live(core, S1, "A", qty="100", account="ACC1")
    trade(core, a, "30", fill_px, "F1")
    _, b = live(core, S1, "B", symbol="BETA", side=Side.SELL, qty="20", price="20")
    trade(core, b, "5", "20", "F2")
    live(core, S1, "C", qty="40", ex_destination=BATS)
    core.replace_order(S1, replace("C2", "C", "90"))  # pending: counts at 90
    live(core, S1, "D", side=Side.SELL_SHORT, qty="15")
    core.cancel_order(
        S1, CancelOrder(cl_ord_id="D2", orig_cl_ord_id="D", symbol="ACME", side=Side.SELL_SHORT)
    )  # pending cancel: still working
    _, e = live(core, S1, "E", qty="10")
    trade(core, e, "10", fill_px, "F3", done=True)  # closed: only its position remains
    refused(place(core, S1, "F", qty="0")[0])  # rejected: never counted
    _, g = live(core, S2, "G", qty="7", account="X")
    trade(core, g, "7", fill_px, "F4", done=True)
    live(core, S2, "H", symbol="BETA", qty="3", price="20")
    return core


def test_restore_when_restarted_from_journal_records_then_aggregates_rebuilt_exactly(
    clock: FakeClock,
) -> None:
    core = busy_core(clock)
    before = exposure_reads(core)
    assert before["clients"][S1][1] == 4
    assert before["lines"][(S1, "ACME")] == (D(40), (D(160), D(15)), 3)

    fresh = restart(core, clock)

    assert exposure_reads(fresh) == before
    pos_docs = [p.to_doc() for p in core.pretrade.positions.positions()]
    assert [p.to_doc() for p in fresh.pretrade.positions.positions()] == pos_docs
    assert fresh.pretrade.positions.realised(S1) == core.pretrade.positions.realised(S1)

    # and the restored aggregates keep moving with the restored orders
    order = fresh.order_for(S1, "D")
    assert order is not None
    cancel = order.children[0].pending
    assert cancel is not None
    fresh.venue_execution(
        vexec(cancel.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-cxl", orig=cancel.orig_cl_ord_id)
    )
    assert fresh.pretrade.exposure.working(S1, "ACME") == (D(160), D(0))
    assert fresh.pretrade.exposure.open_orders(S1) == 3


def test_restore_when_fills_traded_away_from_the_reference_then_exposure_still_rebuilt_exactly(
    clock: FakeClock,
) -> None:
    core = busy_core(clock, fill_px="10.40")
    before = exposure_reads(core)

    fresh = restart(core, clock)

    assert exposure_reads(fresh) == before


# ---------------------------------------------------------------- cost on the fill path


def held_order(symbol: str) -> ClientOrder:
    return ClientOrder(
        order_id=f"O-{symbol}",
        session=S1,
        cl_ord_id=f"C-{symbol}",
        symbol=symbol,
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=D(1000),
        price=D(10),
        tif=TimeInForce.DAY,
    )


def test_loss_limit_when_client_holds_many_positions_then_a_fill_revalues_only_its_own(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    symbols = [f"S{i:03d}" for i in range(200)]
    pretrade = PreTrade(
        clock,
        reference_prices=dict.fromkeys(symbols, D(10)),
        loss_limits={S1: AutoLimit(TradingState.REDUCING, max_loss=D(10**9))},
    )
    orders = [held_order(s) for s in symbols]
    for order in orders:
        pretrade.on_fill(order, D(1), D(10))
    valued: list[str] = []
    unrealised = Position.unrealised
    monkeypatch.setattr(
        Position, "unrealised", lambda p, mark: (valued.append(p.symbol), unrealised(p, mark))[1]
    )

    pretrade.on_fill(orders[0], D(1), D("10.5"))

    assert len(valued) <= 1, f"{len(valued)} positions valued for one fill"


# ---------------------------------------------------------------- the benchmark's own setup


def test_bench_build_when_asked_then_state_is_what_it_claims_and_every_check_passes() -> None:
    pretrade, orders = bench.build(instruments=20, working=50, positions=5, seed=3)

    assert len(orders) == 50
    assert pretrade.exposure.open_orders(bench.CLIENT) == 50
    assert sum(pretrade.exposure.open_orders(bench.CLIENT, s) for s in pretrade.prices.configured) == 50
    assert len(pretrade.positions.positions(bench.CLIENT)) == 5
    assert pretrade.risk is not None
    assert sorted(pretrade.risk.checks(bench.CLIENT)) == sorted(BUILTIN_CHECKS)
    intent = OrderIntent(
        bench.CLIENT, bench.ACCOUNT, orders[0].symbol, Side.BUY, OrdType.LIMIT, D(10), orders[0].price,
        TimeInForce.DAY, bench.VENUE,
    )  # fmt: skip
    decision, problem = pretrade.admit(intent)
    assert problem is None
    assert decision is not None and len(decision.ran) == len(BUILTIN_CHECKS)


def test_bench_run_when_small_then_both_scenarios_timed_without_rejects() -> None:
    result = bench.run(orders=300, instruments=20, working=40, scale=3)

    assert [s.working for s in result.scenarios] == [40, 120]
    for s in result.scenarios:
        assert s.admit_rejects == 0
        assert s.admit.count == s.book_on_fill.count == s.pretrade_on_fill.count == 300
        assert 0 < s.admit.p50 <= s.admit.p99 <= s.admit.max
    doc = json.loads(json.dumps(result.to_json()))
    assert set(doc["verdict"]) == {"admit p50", "admit p99", "position update p50"}
    report = bench.format_report(result)
    assert "PreTrade.admit" in report and "working=120" in report
