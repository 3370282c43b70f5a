"""Unit tests for the order core (gateway.orders.core), driven directly with domain messages.

The core runs with a fixed IdGenerator prefix ("T": OrderIDs OT-n, ExecIDs ET-n, child
ClOrdIDs GT-n) and a fake clock, so every identifier and timestamp below is exact.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from gateway.journal import OrderRecord, PositionRecord
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
    NewOrder,
    ReplaceChildOrder,
    ReplaceOrder,
    RequestStatus,
    SendChildOrder,
    VenueCancelReject,
    VenueExecution,
)
from gateway.orders.model import ChildOrder, ClientOrder

D = Decimal
S1 = "S1"
VENUE = "XNYS"
ACK_TIMEOUT_NS = 5_000_000_000
T0 = 1_700_000_000_000_000_000


class FakeClock:
    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_core(clock: FakeClock, prefix: str = "T") -> OrderCore:
    core = OrderCore(
        IdGenerator(prefix),
        routes={"ACME": VENUE, "BETA": VENUE, "NOROUTE": None},
        venues=[VENUE, "BATS", "DOWN"],
        ack_timeout_ns=ACK_TIMEOUT_NS,
        clock=clock,
    )
    core.set_venue_up(VENUE, True)
    core.set_venue_up("BATS", True)
    return core


@pytest.fixture
def core(clock: FakeClock) -> OrderCore:
    return make_core(clock)


# ---------------------------------------------------------------- helpers


def new_order(
    cl: str = "C1",
    *,
    symbol: str = "ACME",
    side: Side = Side.BUY,
    ord_type: OrdType = OrdType.LIMIT,
    qty: str = "100",
    price: str | None = "10.00",
    tif: TimeInForce = TimeInForce.DAY,
    ex_destination: str | None = None,
    account: str | None = None,
) -> NewOrder:
    return NewOrder(
        cl_ord_id=cl,
        symbol=symbol,
        side=side,
        ord_type=ord_type,
        qty=D(qty),
        price=None if price is None else D(price),
        tif=tif,
        ex_destination=ex_destination,
        account=account,
    )


def cancel(cl: str, orig: str, *, symbol: str = "ACME", side: Side = Side.BUY) -> CancelOrder:
    return CancelOrder(cl_ord_id=cl, orig_cl_ord_id=orig, symbol=symbol, side=side)


def replace(
    cl: str,
    orig: str,
    qty: str,
    price: str | None = "10.00",
    *,
    ord_type: OrdType = OrdType.LIMIT,
    tif: TimeInForce = TimeInForce.DAY,
) -> ReplaceOrder:
    return ReplaceOrder(
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        symbol="ACME",
        side=Side.BUY,
        ord_type=ord_type,
        qty=D(qty),
        price=None if price is None else D(price),
        tif=tif,
    )


def vexec(
    cl: str,
    exec_type: ExecType,
    ord_status: OrdStatus,
    exec_id: str,
    *,
    orig: str | None = None,
    last_qty: str | None = None,
    last_px: str | None = None,
    text: str | None = None,
    ord_rej_reason: str | None = None,
    venue: str = VENUE,
    venue_order_id: str = "V1",
) -> VenueExecution:
    return VenueExecution(
        venue=venue,
        cl_ord_id=cl,
        orig_cl_ord_id=orig,
        venue_order_id=venue_order_id,
        exec_id=exec_id,
        exec_type=exec_type,
        ord_status=ord_status,
        cum_qty=D(0),  # the core keeps its own totals; the venue's are informational
        leaves_qty=D(0),
        avg_px=D(0),
        last_qty=None if last_qty is None else D(last_qty),
        last_px=None if last_px is None else D(last_px),
        text=text,
        ord_rej_reason=ord_rej_reason,
    )


def ack(core: OrderCore, child_cl: str = "GT-1", exec_id: str = "X-ack") -> Outcome:
    return core.venue_execution(vexec(child_cl, ExecType.NEW, OrdStatus.NEW, exec_id))


def fill(
    core: OrderCore,
    child_cl: str,
    qty: str,
    px: str,
    exec_id: str,
    status: OrdStatus = OrdStatus.PARTIALLY_FILLED,
) -> Outcome:
    return core.venue_execution(vexec(child_cl, ExecType.TRADE, status, exec_id, last_qty=qty, last_px=px))


def only_er(out: Outcome) -> ExecutionReport:
    assert len(out.to_clients) == 1, out.to_clients
    er = out.to_clients[0]
    assert isinstance(er, ExecutionReport)
    return er


def only_reject(out: Outcome) -> CancelReject:
    assert len(out.to_clients) == 1, out.to_clients
    rej = out.to_clients[0]
    assert isinstance(rej, CancelReject)
    return rej


def working(core: OrderCore, cl: str = "C1", **kw: object) -> ClientOrder:
    """A new order the venue has acknowledged (child GT-1, venue order V1)."""
    core.new_order(S1, new_order(cl, **kw))  # type: ignore[arg-type]
    ack(core)
    order = core.order_for(S1, cl)
    assert order is not None
    assert order.status is OrdStatus.NEW
    return order


def snapshot(order: ClientOrder) -> tuple[dict, list[dict]]:
    return order.to_doc(), [c.to_doc() for c in order.children]


# ---------------------------------------------------------------- new orders


def test_new_order_when_valid_then_child_sent_to_default_venue_and_no_client_report(
    core: OrderCore, clock: FakeClock
) -> None:
    out = core.new_order(S1, new_order(account="ACC1"))

    assert out.to_clients == []
    assert out.to_venues == [
        SendChildOrder(
            VENUE, "GT-1", "ACME", Side.BUY, OrdType.LIMIT, D(100), D("10.00"), TimeInForce.DAY, "ACC1"
        )
    ]
    order = core.order_for(S1, "C1")
    assert order is not None
    assert order.order_id == "OT-1"
    assert order.status is OrdStatus.PENDING_NEW
    assert order.ord_status is OrdStatus.PENDING_NEW
    assert order.cl_ord_ids == ["C1"]
    assert order.created_ns == T0
    [child] = order.children
    assert child.child_id == child.cl_ord_id == "GT-1"
    assert child.parent_id == "OT-1"
    assert child.venue == VENUE
    assert child.status is OrdStatus.PENDING_NEW
    assert child.ack_deadline_ns == T0 + ACK_TIMEOUT_NS
    assert [type(o) for o in out.changed] == [ClientOrder, ChildOrder]
    assert out.notes == [("OT-1", "routed 100 to XNYS as GT-1 (DAY)")]


def test_new_order_when_ex_destination_given_then_it_overrides_the_default_venue(core: OrderCore) -> None:
    out = core.new_order(S1, new_order(ex_destination="BATS"))

    assert out.to_clients == []
    [cmd] = out.to_venues
    assert isinstance(cmd, SendChildOrder)
    assert cmd.venue == "BATS"
    assert cmd.cl_ord_id == "GT-1"
    assert core.order_for(S1, "C1").children[0].venue == "BATS"  # type: ignore[union-attr]


def test_new_order_when_market_order_without_price_then_routed(core: OrderCore) -> None:
    out = core.new_order(S1, new_order(ord_type=OrdType.MARKET, price=None, tif=TimeInForce.IOC))

    [cmd] = out.to_venues
    assert cmd == SendChildOrder(
        VENUE, "GT-1", "ACME", Side.BUY, OrdType.MARKET, D(100), None, TimeInForce.IOC, None
    )


@pytest.mark.parametrize(
    ("cmd", "reason", "text"),
    [
        pytest.param(
            new_order(symbol="ZZZ"), OrdRejReason.UNKNOWN_SYMBOL, "unknown symbol ZZZ", id="unknown-symbol"
        ),
        pytest.param(
            new_order(ex_destination="NOPE"),
            OrdRejReason.BROKER_OPTION,
            "unknown venue NOPE",
            id="unknown-venue",
        ),
        pytest.param(
            new_order(ex_destination="DOWN"),
            OrdRejReason.EXCHANGE_CLOSED,
            "venue DOWN is not logged on",
            id="venue-not-up",
        ),
        pytest.param(
            new_order(price=None),
            OrdRejReason.OTHER,
            "a limit order needs a positive Price",
            id="limit-no-price",
        ),
        pytest.param(
            new_order(price="0"),
            OrdRejReason.OTHER,
            "a limit order needs a positive Price",
            id="limit-zero-price",
        ),
        pytest.param(
            new_order(qty="0"), OrdRejReason.OTHER, "OrderQty must be positive, got 0", id="qty-zero"
        ),
        pytest.param(
            new_order(qty="-5"), OrdRejReason.OTHER, "OrderQty must be positive, got -5", id="qty-negative"
        ),
        pytest.param(
            new_order(symbol="NOROUTE"),
            OrdRejReason.OTHER,
            "no route for NOROUTE: no ExDestination and no default venue",
            id="no-route",
        ),
    ],
)
def test_new_order_when_invalid_then_rejected_with_reason_and_text(
    core: OrderCore, cmd: NewOrder, reason: OrdRejReason, text: str
) -> None:
    out = core.new_order(S1, cmd)

    assert out.to_venues == []
    er = only_er(out)
    assert er.exec_type is ExecType.REJECTED
    assert er.ord_status is OrdStatus.REJECTED
    assert er.ord_rej_reason is reason
    assert er.text == text
    assert er.order_id == "OT-1"
    assert er.exec_id == "ET-1"
    assert er.cl_ord_id == "C1"
    assert er.session == S1
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (0, 0, 0)
    order = core.order_for(S1, "C1")
    assert order is not None
    assert order.status is OrdStatus.REJECTED
    assert order.text == text
    assert order.children == []
    assert core.open_orders() == []


def test_new_order_when_venue_goes_down_then_later_orders_rejected_exchange_closed(core: OrderCore) -> None:
    core.set_venue_up(VENUE, False)

    er = only_er(core.new_order(S1, new_order()))

    assert er.ord_rej_reason is OrdRejReason.EXCHANGE_CLOSED
    assert er.text == "venue XNYS is not logged on"


def test_new_order_when_cl_ord_id_reused_then_rejected_and_original_untouched(core: OrderCore) -> None:
    original = working(core)
    before = snapshot(original)

    out = core.new_order(S1, new_order("C1", qty="7", price="11"))

    assert out.to_venues == []
    assert out.changed == []
    er = only_er(out)
    assert er.order_id == "NONE"
    assert er.cl_ord_id == "C1"
    assert er.exec_type is ExecType.REJECTED
    assert er.ord_status is OrdStatus.REJECTED
    assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER
    assert er.text == "duplicate ClOrdID C1 on session S1"
    assert er.qty == D(7)
    assert core.order_for(S1, "C1") is original
    assert snapshot(original) == before
    assert list(core.orders) == ["OT-1"]


def test_new_order_when_cl_ord_id_of_a_rejected_order_reused_then_duplicate(core: OrderCore) -> None:
    core.new_order(S1, new_order(symbol="ZZZ"))

    er = only_er(core.new_order(S1, new_order()))

    assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER


def test_new_order_when_same_cl_ord_id_on_another_session_then_accepted(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = core.new_order("S2", new_order())

    assert out.to_clients == []
    assert len(out.to_venues) == 1
    assert core.order_for("S2", "C1").order_id == "OT-2"  # type: ignore[union-attr]


# ---------------------------------------------------------------- acknowledgement and fills


def test_venue_execution_when_ack_then_client_gets_er_new(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = ack(core)

    er = only_er(out)
    assert er.exec_type is ExecType.NEW
    assert er.ord_status is OrdStatus.NEW
    assert (er.order_id, er.cl_ord_id, er.exec_id) == ("OT-1", "C1", "ET-1")
    assert er.orig_cl_ord_id is None
    assert (er.qty, er.price, er.cum_qty, er.leaves_qty, er.avg_px) == (D(100), D("10.00"), 0, D(100), 0)
    assert er.last_qty is None
    order = core.order_for(S1, "C1")
    child = order.children[0]  # type: ignore[union-attr]
    assert child.status is OrdStatus.NEW
    assert child.venue_order_id == "V1"
    assert child.ack_deadline_ns is None
    assert child.exec_ids == {"X-ack"}


def test_venue_execution_when_second_ack_then_no_client_report(core: OrderCore) -> None:
    core.new_order(S1, new_order())
    ack(core, exec_id="X1")

    out = ack(core, exec_id="X2")

    assert out.to_clients == []
    assert core.order_for(S1, "C1").status is OrdStatus.NEW  # type: ignore[union-attr]


def test_venue_execution_when_several_partial_fills_then_exact_totals(core: OrderCore) -> None:
    working(core)

    er1 = only_er(fill(core, "GT-1", "30", "10.00", "X1"))
    er2 = only_er(fill(core, "GT-1", "20", "10.01", "X2"))
    er3 = only_er(fill(core, "GT-1", "50", "10.02", "X3", OrdStatus.FILLED))

    # 30*10.00 + 20*10.01 + 50*10.02 = 1001.20 over 100 shares
    got = [
        (e.exec_type, e.ord_status, e.cum_qty, e.leaves_qty, e.avg_px, e.last_qty, e.last_px, e.last_mkt)
        for e in (er1, er2, er3)
    ]
    assert got == [
        (ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, D(30), D(70), D("10"), D(30), D("10.00"), VENUE),
        (ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, D(50), D(50), D("10.004"), D(20), D("10.01"), VENUE),
        (ExecType.TRADE, OrdStatus.FILLED, D(100), D(0), D("10.012"), D(50), D("10.02"), VENUE),
    ]
    assert [e.exec_id for e in (er1, er2, er3)] == ["ET-2", "ET-3", "ET-4"]
    assert str(er3.avg_px) == "10.012"
    order = core.order_for(S1, "C1")
    assert order.status is OrdStatus.FILLED  # type: ignore[union-attr]
    assert order.children[0].status is OrdStatus.FILLED  # type: ignore[union-attr]
    assert core.open_orders() == []


def test_venue_execution_when_fill_before_ack_then_partially_filled_and_deadline_cleared(
    core: OrderCore,
) -> None:
    core.new_order(S1, new_order())

    er = only_er(fill(core, "GT-1", "10", "10.00", "X1"))

    assert er.ord_status is OrdStatus.PARTIALLY_FILLED
    assert er.leaves_qty == D(90)
    assert core.order_for(S1, "C1").children[0].ack_deadline_ns is None  # type: ignore[union-attr]
    assert core.check_timeouts(T0 + 10 * ACK_TIMEOUT_NS).to_clients == []


def test_venue_execution_when_exec_id_repeated_then_ignored(core: OrderCore) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")
    before = snapshot(order)

    out = fill(core, "GT-1", "30", "10.00", "X1")

    assert out.to_clients == []
    assert out.to_venues == []
    assert out.changed == []
    assert out.notes == [("OT-1", "XNYS ExecID X1 already applied: ignored")]
    assert snapshot(order) == before
    assert order.fills.cum_qty == D(30)


def test_venue_execution_when_trade_without_last_qty_then_refused(core: OrderCore) -> None:
    order = working(core)
    before = snapshot(order)

    out = core.venue_execution(vexec("GT-1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, "X1", last_px="10"))

    assert out.to_clients == []
    assert out.changed == []
    assert snapshot(order) == before


def test_venue_execution_when_unknown_child_then_only_a_note(core: OrderCore) -> None:
    out = core.venue_execution(vexec("GT-99", ExecType.NEW, OrdStatus.NEW, "X1"))

    assert out.to_clients == []
    assert out.changed == []
    assert out.notes == [(None, "XNYS reported unknown order GT-99 (NEW)")]


# ---------------------------------------------------------------- cancel


def test_cancel_order_when_working_then_pending_cancel_to_client_and_cancel_to_venue(core: OrderCore) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")

    out = core.cancel_order(S1, cancel("C2", "C1"))

    er = only_er(out)
    assert er.exec_type is ExecType.PENDING_CANCEL
    assert er.ord_status is OrdStatus.PENDING_CANCEL
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty) == (D(30), D(70))
    assert out.to_venues == [CancelChildOrder(VENUE, "GT-2", "GT-1", "V1", "ACME", Side.BUY, D(100))]
    assert order.status is OrdStatus.PARTIALLY_FILLED
    assert order.ord_status is OrdStatus.PENDING_CANCEL
    assert order.cl_ord_id == "C1"
    assert core.order_for(S1, "C2") is order

    out = core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X2", orig="GT-1"))

    er = only_er(out)
    assert er.exec_type is ExecType.CANCELED
    assert er.ord_status is OrdStatus.CANCELED
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (D(30), D(0), D(10))
    assert er.text is None
    assert order.status is OrdStatus.CANCELED
    assert order.pending is None
    assert order.cl_ord_id == "C2"
    assert order.children[0].status is OrdStatus.CANCELED
    assert order.children[0].cl_ord_id == "GT-2"
    assert core.open_orders() == []


def test_cancel_order_when_pending_new_then_allowed(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = core.cancel_order(S1, cancel("C2", "C1"))

    assert only_er(out).ord_status is OrdStatus.PENDING_CANCEL
    assert out.to_venues == [CancelChildOrder(VENUE, "GT-2", "GT-1", None, "ACME", Side.BUY, D(100))]


def test_cancel_order_when_unknown_order_then_reject_unknown_order(core: OrderCore) -> None:
    out = core.cancel_order(S1, cancel("C2", "NOPE"))

    assert out.to_venues == []
    assert only_reject(out) == CancelReject(
        session=S1,
        order_id="NONE",
        cl_ord_id="C2",
        orig_cl_ord_id="NOPE",
        ord_status=OrdStatus.REJECTED,
        response_to=CxlRejResponseTo.CANCEL,
        reason=CxlRejReason.UNKNOWN_ORDER,
        text="unknown order NOPE",
    )


def test_cancel_order_when_order_filled_then_reject_too_late(core: OrderCore) -> None:
    working(core)
    fill(core, "GT-1", "100", "10.00", "X1", OrdStatus.FILLED)

    out = core.cancel_order(S1, cancel("C2", "C1"))

    assert out.to_venues == []
    rej = only_reject(out)
    assert rej.reason is CxlRejReason.TOO_LATE
    assert rej.ord_status is OrdStatus.FILLED
    assert rej.order_id == "OT-1"
    assert rej.text == "order is already filled"


def test_cancel_order_when_cancel_already_pending_then_reject_already_pending(core: OrderCore) -> None:
    order = working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    before = snapshot(order)

    out = core.cancel_order(S1, cancel("C3", "C1"))

    assert out.to_venues == []
    rej = only_reject(out)
    assert rej.reason is CxlRejReason.ALREADY_PENDING
    assert rej.ord_status is OrdStatus.PENDING_CANCEL
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("C3", "C1")
    assert rej.text == "order is already pending_cancel"
    assert snapshot(order) == before


def test_cancel_order_when_cl_ord_id_already_used_then_reject_duplicate(core: OrderCore) -> None:
    working(core)

    rej = only_reject(core.cancel_order(S1, cancel("C1", "C1")))

    assert rej.reason is CxlRejReason.DUPLICATE_CL_ORD_ID
    assert rej.text == "duplicate ClOrdID C1"


def test_cancel_order_when_side_differs_then_reject_broker_option(core: OrderCore) -> None:
    order = working(core)

    rej = only_reject(core.cancel_order(S1, cancel("C2", "C1", side=Side.SELL)))

    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.text == "Symbol and Side must match the original order"
    assert order.pending is None


def test_cancel_order_when_other_session_names_the_order_then_unknown(core: OrderCore) -> None:
    working(core)

    rej = only_reject(core.cancel_order("S2", cancel("C2", "C1")))

    assert rej.reason is CxlRejReason.UNKNOWN_ORDER


def test_venue_cancel_reject_when_order_still_open_then_client_cancel_reject_and_pending_cleared(
    core: OrderCore,
) -> None:
    order = working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    out = core.venue_cancel_reject(
        VenueCancelReject(VENUE, "GT-2", "GT-1", "V1", OrdStatus.NEW, CxlRejResponseTo.CANCEL, "2", "no")
    )

    assert only_reject(out) == CancelReject(
        session=S1,
        order_id="OT-1",
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
        ord_status=OrdStatus.NEW,
        response_to=CxlRejResponseTo.CANCEL,
        reason=CxlRejReason.BROKER_OPTION,
        text="XNYS: no",
    )
    assert order.pending is None
    assert order.children[0].pending is None
    assert order.ord_status is OrdStatus.NEW
    # the order can be canceled again
    assert only_er(core.cancel_order(S1, cancel("C3", "C1"))).ord_status is OrdStatus.PENDING_CANCEL


def test_venue_cancel_reject_when_venue_says_unknown_order_then_client_reason_unknown(
    core: OrderCore,
) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    out = core.venue_cancel_reject(
        VenueCancelReject(VENUE, "GT-2", "GT-1", None, None, CxlRejResponseTo.CANCEL, "1", None)
    )

    rej = only_reject(out)
    assert rej.reason is CxlRejReason.UNKNOWN_ORDER
    assert rej.text == "refused by XNYS"


def test_fill_when_cancel_pending_then_reported_pending_cancel_then_cancel_confirmed(core: OrderCore) -> None:
    order = working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    er = only_er(fill(core, "GT-1", "40", "10.00", "X1"))

    assert er.exec_type is ExecType.TRADE
    assert er.ord_status is OrdStatus.PENDING_CANCEL
    assert (er.cum_qty, er.leaves_qty, er.last_qty) == (D(40), D(60), D(40))
    assert er.cl_ord_id == "C1"
    assert order.status is OrdStatus.PARTIALLY_FILLED

    er = only_er(
        core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X2", orig="GT-1"))
    )

    assert er.ord_status is OrdStatus.CANCELED
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty) == (D(40), D(0))


def test_fill_when_it_completes_the_order_while_cancel_pending_then_filled(core: OrderCore) -> None:
    order = working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    er = only_er(fill(core, "GT-1", "100", "10.00", "X1", OrdStatus.FILLED))

    assert er.ord_status is OrdStatus.FILLED
    assert (er.cum_qty, er.leaves_qty) == (D(100), D(0))
    assert order.status is OrdStatus.FILLED
    assert order.ord_status is OrdStatus.FILLED


def test_venue_cancel_reject_when_fill_completed_order_while_cancel_pending_then_client_reject_too_late(
    core: OrderCore,
) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    fill(core, "GT-1", "100", "10.00", "X1", OrdStatus.FILLED)

    out = core.venue_cancel_reject(
        VenueCancelReject(
            VENUE, "GT-2", "GT-1", "V1", OrdStatus.FILLED, CxlRejResponseTo.CANCEL, "0", "too late to cancel"
        )
    )

    assert out.to_clients == [
        CancelReject(
            session=S1,
            order_id="OT-1",
            cl_ord_id="C2",
            orig_cl_ord_id="C1",
            ord_status=OrdStatus.FILLED,
            response_to=CxlRejResponseTo.CANCEL,
            reason=CxlRejReason.TOO_LATE,
            text="XNYS: too late to cancel",
        )
    ]


# ---------------------------------------------------------------- replace


def test_replace_order_when_qty_up_then_pending_replace_and_replaced_with_new_terms(core: OrderCore) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")

    out = core.replace_order(S1, replace("C2", "C1", "150", "10.05"))

    er = only_er(out)
    assert er.exec_type is ExecType.PENDING_REPLACE
    assert er.ord_status is OrdStatus.PENDING_REPLACE
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.qty, er.price, er.leaves_qty) == (D(100), D("10.00"), D(70))  # old terms until confirmed
    assert out.to_venues == [
        ReplaceChildOrder(
            VENUE, "GT-2", "GT-1", "V1", "ACME", Side.BUY, OrdType.LIMIT, D(150), D("10.05"), TimeInForce.DAY
        )
    ]
    assert order.ord_status is OrdStatus.PENDING_REPLACE

    out = core.venue_execution(
        vexec("GT-2", ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, "X2", orig="GT-1")
    )

    er = only_er(out)
    assert er.exec_type is ExecType.REPLACED
    assert er.ord_status is OrdStatus.PARTIALLY_FILLED
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.qty, er.price, er.cum_qty, er.leaves_qty, er.avg_px) == (
        D(150),
        D("10.05"),
        D(30),
        D(120),
        D(10),
    )
    assert order.cl_ord_ids == ["C1", "C2"]
    assert order.cl_ord_id == "C2"
    assert order.pending is None
    child = order.children[0]
    assert (child.cl_ord_id, child.qty, child.price, child.status) == (
        "GT-2",
        D(150),
        D("10.05"),
        OrdStatus.PARTIALLY_FILLED,
    )

    # later fills on the replaced child count against the new quantity
    er = only_er(fill(core, "GT-2", "120", "10.05", "X3", OrdStatus.FILLED))
    assert (er.ord_status, er.cum_qty, er.leaves_qty) == (OrdStatus.FILLED, D(150), D(0))
    assert er.cl_ord_id == "C2"


def test_replace_then_replace_then_cancel_when_chained_then_each_names_the_previous_cl_ord_id(
    core: OrderCore,
) -> None:
    order = working(core)
    core.replace_order(S1, replace("C2", "C1", "120"))
    core.venue_execution(vexec("GT-2", ExecType.REPLACED, OrdStatus.NEW, "X1", orig="GT-1"))

    out = core.replace_order(S1, replace("C3", "C2", "140"))
    [cmd] = out.to_venues
    assert isinstance(cmd, ReplaceChildOrder)
    assert (cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.qty) == ("GT-3", "GT-2", D(140))
    er = only_er(core.venue_execution(vexec("GT-3", ExecType.REPLACED, OrdStatus.NEW, "X2", orig="GT-2")))
    assert (er.cl_ord_id, er.orig_cl_ord_id, er.qty, er.leaves_qty) == ("C3", "C2", D(140), D(140))

    out = core.cancel_order(S1, cancel("C4", "C3"))
    assert out.to_venues == [CancelChildOrder(VENUE, "GT-4", "GT-3", "V1", "ACME", Side.BUY, D(140))]
    er = only_er(
        core.venue_execution(vexec("GT-4", ExecType.CANCELED, OrdStatus.CANCELED, "X3", orig="GT-3"))
    )
    assert (er.cl_ord_id, er.orig_cl_ord_id, er.ord_status) == ("C4", "C3", OrdStatus.CANCELED)
    assert order.cl_ord_ids == ["C1", "C2", "C3", "C4"]  # a cancel's ClOrdID is used up too


def test_replace_order_when_qty_down_then_child_qty_and_leaves_recomputed(core: OrderCore) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")

    out = core.replace_order(S1, replace("C2", "C1", "60", "9.90"))

    [cmd] = out.to_venues
    assert isinstance(cmd, ReplaceChildOrder)
    assert (cmd.cl_ord_id, cmd.orig_cl_ord_id, cmd.qty, cmd.price) == ("GT-2", "GT-1", D(60), D("9.90"))

    er = only_er(
        core.venue_execution(vexec("GT-2", ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, "X2", orig="GT-1"))
    )

    assert (er.qty, er.price, er.cum_qty, er.leaves_qty) == (D(60), D("9.90"), D(30), D(30))
    assert order.children[0].leaves_qty == D(30)


def test_replace_order_when_new_ord_type_market_then_price_dropped_from_reports(core: OrderCore) -> None:
    working(core)

    core.replace_order(S1, replace("C2", "C1", "100", None, ord_type=OrdType.MARKET))
    er = only_er(core.venue_execution(vexec("GT-2", ExecType.REPLACED, OrdStatus.NEW, "X2", orig="GT-1")))

    assert er.ord_type is OrdType.MARKET
    assert er.price is None


@pytest.mark.parametrize("qty", ["30", "20"])
def test_replace_order_when_qty_not_above_cum_qty_then_refused(core: OrderCore, qty: str) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")
    before = snapshot(order)

    out = core.replace_order(S1, replace("C2", "C1", qty))

    assert out.to_venues == []
    rej = only_reject(out)
    assert rej.response_to is CxlRejResponseTo.REPLACE
    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.ord_status is OrdStatus.PARTIALLY_FILLED
    assert rej.text == f"new OrderQty {qty} must exceed CumQty 30"
    assert snapshot(order) == before


def test_replace_order_when_pending_new_then_refused(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = core.replace_order(S1, replace("C2", "C1", "200"))

    assert out.to_venues == []
    rej = only_reject(out)
    assert rej.response_to is CxlRejResponseTo.REPLACE
    assert rej.reason is CxlRejReason.BROKER_OPTION
    assert rej.ord_status is OrdStatus.PENDING_NEW
    assert rej.text == "order not yet acknowledged by the venue"
    assert core.order_for(S1, "C2") is None


def test_replace_order_when_limit_without_price_then_refused(core: OrderCore) -> None:
    working(core)

    rej = only_reject(core.replace_order(S1, replace("C2", "C1", "100", None)))

    assert rej.text == "a limit order needs a positive Price"


def test_replace_order_when_cancel_pending_then_refused_already_pending(core: OrderCore) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    rej = only_reject(core.replace_order(S1, replace("C3", "C1", "200")))

    assert rej.reason is CxlRejReason.ALREADY_PENDING
    assert rej.response_to is CxlRejResponseTo.REPLACE


def test_fill_when_replace_pending_then_reported_pending_replace_and_replace_applies_after(
    core: OrderCore,
) -> None:
    order = working(core)
    core.replace_order(S1, replace("C2", "C1", "150"))

    er = only_er(fill(core, "GT-1", "40", "10.00", "X1"))
    assert er.ord_status is OrdStatus.PENDING_REPLACE
    assert (er.qty, er.leaves_qty) == (D(100), D(60))

    er = only_er(
        core.venue_execution(vexec("GT-2", ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, "X2", orig="GT-1"))
    )
    assert er.ord_status is OrdStatus.PARTIALLY_FILLED
    assert (er.qty, er.cum_qty, er.leaves_qty) == (D(150), D(40), D(110))
    assert order.children[0].leaves_qty == D(110)


def test_venue_cancel_reject_when_replace_refused_then_client_reject_and_terms_unchanged(
    core: OrderCore,
) -> None:
    order = working(core)
    core.replace_order(S1, replace("C2", "C1", "150"))

    out = core.venue_cancel_reject(
        VenueCancelReject(VENUE, "GT-2", "GT-1", "V1", OrdStatus.NEW, CxlRejResponseTo.REPLACE, "2", "no")
    )

    rej = only_reject(out)
    assert rej.response_to is CxlRejResponseTo.REPLACE
    assert (rej.cl_ord_id, rej.orig_cl_ord_id) == ("C2", "C1")
    assert rej.ord_status is OrdStatus.NEW
    assert (order.qty, order.cl_ord_id, order.pending) == (D(100), "C1", None)
    assert (order.children[0].qty, order.children[0].cl_ord_id) == (D(100), "GT-1")


# ---------------------------------------------------------------- venue-initiated outcomes


def test_venue_execution_when_venue_rejects_then_client_er_rejected(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = core.venue_execution(
        vexec("GT-1", ExecType.REJECTED, OrdStatus.REJECTED, "X1", text="price band", ord_rej_reason="3")
    )

    er = only_er(out)
    assert er.exec_type is ExecType.REJECTED
    assert er.ord_status is OrdStatus.REJECTED
    assert er.ord_rej_reason is OrdRejReason.ORDER_EXCEEDS_LIMIT
    assert er.text == "XNYS rejected the order: price band"
    assert (er.cum_qty, er.leaves_qty) == (0, 0)
    order = core.order_for(S1, "C1")
    assert order.status is OrdStatus.REJECTED  # type: ignore[union-attr]
    assert order.children[0].ack_deadline_ns is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("venue_reason", "expected"), [(None, OrdRejReason.OTHER), ("42", OrdRejReason.OTHER)]
)
def test_venue_execution_when_venue_reject_reason_missing_or_unknown_then_other(
    core: OrderCore, venue_reason: str | None, expected: OrdRejReason
) -> None:
    core.new_order(S1, new_order())

    er = only_er(
        core.venue_execution(
            vexec("GT-1", ExecType.REJECTED, OrdStatus.REJECTED, "X1", ord_rej_reason=venue_reason)
        )
    )

    assert er.ord_rej_reason is expected
    assert er.text == "XNYS rejected the order: no reason given"


def test_venue_execution_when_venue_cancels_ioc_remainder_then_client_er_canceled_with_venue_text(
    core: OrderCore,
) -> None:
    order = working(core, tif=TimeInForce.IOC)
    fill(core, "GT-1", "40", "10.00", "X1")

    out = core.venue_execution(
        vexec("GT-1", ExecType.CANCELED, OrdStatus.CANCELED, "X2", text="IOC remainder canceled")
    )

    er = only_er(out)
    assert er.exec_type is ExecType.CANCELED
    assert er.ord_status is OrdStatus.CANCELED
    assert er.cl_ord_id == "C1"
    assert er.orig_cl_ord_id is None
    assert er.text == "XNYS: IOC remainder canceled"
    assert (er.cum_qty, er.leaves_qty) == (D(40), D(0))
    assert order.text == "XNYS: IOC remainder canceled"


def test_venue_execution_when_venue_expires_without_text_then_generic_text(core: OrderCore) -> None:
    working(core)

    er = only_er(core.venue_execution(vexec("GT-1", ExecType.EXPIRED, OrdStatus.EXPIRED, "X1")))

    assert er.ord_status is OrdStatus.EXPIRED
    assert er.text == "expired by XNYS"


def test_venue_execution_when_replaced_with_nothing_pending_then_refused_and_nothing_changes(
    core: OrderCore,
) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")
    before = snapshot(order)

    out = core.venue_execution(vexec("GT-1", ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, "X2"))

    assert out.to_clients == []
    assert out.to_venues == []
    assert out.changed == []
    assert len(out.notes) == 1
    assert out.notes[0][0] == "OT-1"
    assert out.notes[0][1].startswith("refused REPLACED from XNYS: illegal transition")
    assert snapshot(order) == before
    assert "X2" not in order.children[0].exec_ids


@pytest.mark.parametrize(
    ("exec_type", "status", "kw"),
    [
        (ExecType.TRADE, OrdStatus.FILLED, {"last_qty": "1", "last_px": "10"}),
        (ExecType.NEW, OrdStatus.NEW, {}),
        (ExecType.CANCELED, OrdStatus.CANCELED, {}),
        (ExecType.REJECTED, OrdStatus.REJECTED, {}),
    ],
    ids=["fill", "ack", "cancel", "reject"],
)
def test_venue_execution_when_order_already_filled_then_report_refused(
    core: OrderCore, exec_type: ExecType, status: OrdStatus, kw: dict
) -> None:
    order = working(core)
    fill(core, "GT-1", "100", "10.00", "X1", OrdStatus.FILLED)
    before = snapshot(order)

    out = core.venue_execution(vexec("GT-1", exec_type, status, "X2", **kw))

    assert out.to_clients == []
    assert out.changed == []
    assert snapshot(order) == before


def test_venue_execution_when_venue_reports_pending_status_then_no_client_report(core: OrderCore) -> None:
    core.new_order(S1, new_order())

    out = core.venue_execution(vexec("GT-1", ExecType.PENDING_NEW, OrdStatus.PENDING_NEW, "X1"))

    assert out.to_clients == []
    assert out.notes == [("OT-1", "XNYS PENDING_NEW for GT-1: no change")]


# ---------------------------------------------------------------- timeouts


def test_check_timeouts_when_ack_overdue_then_client_rejected_and_venue_cancel(
    core: OrderCore, clock: FakeClock
) -> None:
    core.new_order(S1, new_order())
    order = core.order_for(S1, "C1")
    assert order is not None

    early = core.check_timeouts(T0 + ACK_TIMEOUT_NS - 1)
    assert (early.to_clients, early.to_venues, early.changed) == ([], [], [])

    clock.now = T0 + ACK_TIMEOUT_NS
    out = core.check_timeouts(T0 + ACK_TIMEOUT_NS)

    er = only_er(out)
    assert er.exec_type is ExecType.REJECTED
    assert er.ord_status is OrdStatus.REJECTED
    assert er.ord_rej_reason is OrdRejReason.OTHER
    assert er.text == "no acknowledgement from XNYS within 5s; cancel sent"
    assert out.to_venues == [CancelChildOrder(VENUE, "GT-2", "GT-1", None, "ACME", Side.BUY, D(100))]
    assert order.status is OrdStatus.REJECTED
    assert order.children[0].status is OrdStatus.REJECTED
    assert order.children[0].ack_deadline_ns is None
    assert order.updated_ns == T0 + ACK_TIMEOUT_NS

    again = core.check_timeouts(T0 + 2 * ACK_TIMEOUT_NS)
    assert (again.to_clients, again.to_venues) == ([], [])

    # a late acknowledgement is refused: the client was already told Rejected
    late = ack(core)
    assert late.to_clients == []
    assert order.status is OrdStatus.REJECTED


def test_check_timeouts_when_venue_down_then_rejected_without_venue_cancel(core: OrderCore) -> None:
    core.new_order(S1, new_order())
    core.set_venue_up(VENUE, False)

    out = core.check_timeouts(T0 + ACK_TIMEOUT_NS)

    assert only_er(out).ord_status is OrdStatus.REJECTED
    assert out.to_venues == []


def test_check_timeouts_when_acknowledged_then_nothing(core: OrderCore) -> None:
    working(core)

    out = core.check_timeouts(T0 + 10 * ACK_TIMEOUT_NS)

    assert (out.to_clients, out.to_venues, out.changed) == ([], [], [])


@pytest.mark.parametrize(
    ("request_change", "response_to"),
    [
        (lambda core: core.cancel_order(S1, cancel("C2", "C1")), CxlRejResponseTo.CANCEL),
        (lambda core: core.replace_order(S1, replace("C2", "C1", "150")), CxlRejResponseTo.REPLACE),
    ],
    ids=["cancel", "replace"],
)
def test_check_timeouts_when_venue_never_answers_a_change_then_client_refused_and_order_unchanged(
    core: OrderCore, clock: FakeClock, request_change, response_to
) -> None:
    order = working(core)
    request_change(core)
    assert order.ord_status in (OrdStatus.PENDING_CANCEL, OrdStatus.PENDING_REPLACE)

    early = core.check_timeouts(T0 + ACK_TIMEOUT_NS - 1)
    assert early.to_clients == []

    out = core.check_timeouts(T0 + ACK_TIMEOUT_NS)
    rej = only_reject(out)
    assert (rej.cl_ord_id, rej.orig_cl_ord_id, rej.response_to) == ("C2", "C1", response_to)
    assert (rej.reason, rej.ord_status) == (CxlRejReason.BROKER_OPTION, OrdStatus.NEW)
    assert rej.text == "no answer from XNYS within 5s; order unchanged"
    assert order.pending is None and order.children[0].pending is None
    assert (order.qty, order.cl_ord_id) == (D(100), "C1")
    assert core.check_timeouts(T0 + 2 * ACK_TIMEOUT_NS).to_clients == []

    # the client may try again, and a late venue cancel still reaches it
    again = core.cancel_order(S1, cancel("C3", "C1"))
    assert only_er(again).exec_type is ExecType.PENDING_CANCEL
    done = core.venue_execution(vexec("GT-3", ExecType.CANCELED, OrdStatus.CANCELED, "X-c"))
    assert (only_er(done).ord_status, order.cl_ord_id) == (OrdStatus.CANCELED, "C3")


def test_check_timeouts_when_change_answered_then_nothing(core: OrderCore) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X-c"))

    out = core.check_timeouts(T0 + 10 * ACK_TIMEOUT_NS)

    assert (out.to_clients, out.to_venues) == ([], [])


# ---------------------------------------------------------------- status requests


def test_order_status_when_known_then_er_order_status_with_current_totals(core: OrderCore) -> None:
    working(core)
    fill(core, "GT-1", "30", "10.00", "X1")

    out = core.order_status(S1, RequestStatus("C1", "ACME", Side.BUY))

    er = only_er(out)
    assert er.exec_type is ExecType.ORDER_STATUS
    assert er.ord_status is OrdStatus.PARTIALLY_FILLED
    assert (er.order_id, er.cl_ord_id) == ("OT-1", "C1")
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (D(30), D(70), D(10))
    assert er.last_qty is None
    assert out.changed == []


def test_order_status_when_only_order_id_known_then_found_by_order_id(core: OrderCore) -> None:
    working(core)

    er = only_er(core.order_status(S1, RequestStatus("ZZ", "ACME", Side.BUY, order_id="OT-1")))

    assert er.order_id == "OT-1"
    assert er.ord_status is OrdStatus.NEW


def test_order_status_when_order_id_of_another_session_then_unknown(core: OrderCore) -> None:
    working(core)

    er = only_er(core.order_status("S2", RequestStatus("ZZ", "ACME", Side.BUY, order_id="OT-1")))

    assert er.order_id == "NONE"
    assert er.ord_rej_reason is OrdRejReason.UNKNOWN_ORDER


def test_order_status_when_unknown_then_status_report_for_unknown_order(core: OrderCore) -> None:
    out = core.order_status(S1, RequestStatus("ZZ", "ACME", Side.SELL))

    er = only_er(out)
    assert er.exec_type is ExecType.ORDER_STATUS
    assert er.ord_status is OrdStatus.REJECTED
    assert er.order_id == "NONE"
    assert er.cl_ord_id == "ZZ"
    assert er.side is Side.SELL
    assert er.ord_rej_reason is OrdRejReason.UNKNOWN_ORDER
    assert er.text == "unknown order ZZ"


def test_order_status_when_cancel_pending_then_reports_pending_cancel(core: OrderCore) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))

    er = only_er(core.order_status(S1, RequestStatus("C2", "ACME", Side.BUY)))

    assert er.ord_status is OrdStatus.PENDING_CANCEL


# ---------------------------------------------------------------- restore


class FakeJournal:
    """The reads journaling.restore() makes, over records from to_record()/position_record()."""

    def __init__(self, records: list[OrderRecord], positions: list[PositionRecord] = ()):
        # the database stores doc as JSON: round-trip it the same way
        self.records = [dataclasses.replace(r, doc=json.loads(json.dumps(r.doc))) for r in records]
        self.position_records = [dataclasses.replace(p, doc=json.loads(json.dumps(p.doc))) for p in positions]

    def positions(self) -> list[PositionRecord]:
        return self.position_records

    def orders(self, limit: int = 100) -> list[OrderRecord]:
        return self.records[:limit]


def records_of(core: OrderCore) -> list[OrderRecord]:
    out = []
    for order in core.orders.values():
        out.append(journaling.to_record(order))
        out.extend(journaling.to_record(c) for c in order.children)
    return out


def restarted(core: OrderCore, clock: FakeClock) -> OrderCore:
    positions = [journaling.position_record(p) for p in core.pretrade.positions.positions()]
    journal = FakeJournal(records_of(core), positions)
    orders, done, used, restored_positions = journaling.restore(journal)  # type: ignore[arg-type]
    fresh = make_core(clock, prefix="R")
    fresh.restore(orders, used, restored_positions, done)
    return fresh


def test_to_record_when_partially_filled_with_pending_cancel_then_reports_pending_status(
    core: OrderCore,
) -> None:
    order = working(core)
    fill(core, "GT-1", "30", "10.00", "X1")
    core.cancel_order(S1, cancel("C2", "C1"))

    rec = journaling.to_record(order)
    child_rec = journaling.to_record(order.children[0])

    assert (rec.order_id, rec.parent_id, rec.session, rec.cl_ord_id) == ("OT-1", None, S1, "C1")
    assert (rec.status, rec.is_open, rec.qty, rec.cum_qty, rec.price) == ("6", True, "100", "30", "10.00")
    assert (child_rec.order_id, child_rec.parent_id, child_rec.session) == ("GT-1", "OT-1", VENUE)
    assert (child_rec.status, child_rec.cum_qty) == ("1", "30")
    assert child_rec.doc["pending"]["cl_ord_id"] == "GT-2"


def test_from_doc_when_round_tripped_through_json_then_equal(core: OrderCore) -> None:
    order = working(core, account="ACC1")
    fill(core, "GT-1", "30", "10.00", "X1")
    fill(core, "GT-1", "10", "10.30", "X2")
    core.cancel_order(S1, cancel("C2", "C1"))

    child_docs = [json.loads(json.dumps(journaling.to_record(c).doc)) for c in order.children]
    doc = json.loads(json.dumps(journaling.to_record(order).doc))
    children = [ChildOrder.from_doc(d) for d in child_docs]
    copy = ClientOrder.from_doc(doc, children)

    assert copy.to_doc() == order.to_doc()
    assert [c.to_doc() for c in copy.children] == [c.to_doc() for c in order.children]
    assert copy.fills.avg_px == D("10.075")
    assert copy.ord_status is OrdStatus.PENDING_CANCEL
    assert copy.pending is not None
    assert (copy.pending.cl_ord_id, copy.pending.orig_cl_ord_id) == ("C2", "C1")
    assert copy.children[0].exec_ids == {"X-ack", "X1", "X2"}


def test_restore_when_partially_filled_with_pending_cancel_then_flow_continues_on_new_core(
    core: OrderCore, clock: FakeClock
) -> None:
    working(core)
    fill(core, "GT-1", "30", "10.00", "X1")
    fill(core, "GT-1", "10", "10.30", "X2")
    core.cancel_order(S1, cancel("C2", "C1"))

    fresh = restarted(core, clock)

    order = fresh.order_for(S1, "C1")
    assert order is not None
    assert fresh.order_for(S1, "C2") is order
    assert order.to_doc() == core.order_for(S1, "C1").to_doc()  # type: ignore[union-attr]
    assert order.ord_status is OrdStatus.PENDING_CANCEL

    # a resent fill from before the restart is still recognised
    assert fill(fresh, "GT-1", "10", "10.30", "X2").to_clients == []

    er = only_er(fill(fresh, "GT-1", "40", "10.05", "X3"))
    assert er.ord_status is OrdStatus.PENDING_CANCEL
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (D(80), D(20), D("10.0625"))  # (403 + 402) / 80
    assert er.exec_id == "ER-1"

    er = only_er(
        fresh.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X4", orig="GT-1"))
    )
    assert er.ord_status is OrdStatus.CANCELED
    assert (er.cl_ord_id, er.orig_cl_ord_id) == ("C2", "C1")
    assert (er.cum_qty, er.leaves_qty, er.avg_px) == (D(80), D(0), D("10.0625"))


def test_restore_when_cl_ord_ids_used_before_restart_then_new_orders_reusing_them_rejected(
    core: OrderCore, clock: FakeClock
) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    core.new_order(S1, new_order("C3", symbol="ZZZ"))  # rejected: closed, but its ClOrdID is used

    fresh = restarted(core, clock)

    for cl in ("C1", "C2", "C3"):
        er = only_er(fresh.new_order(S1, new_order(cl)))
        assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER, cl
    assert fresh.new_order(S1, new_order("C4")).to_venues != []
    assert [o.order_id for o in fresh.open_orders()] == ["OT-1", "OR-1"]
    assert not fresh.orders["OT-2"].is_open  # the rejected one is known, for status requests


def test_restore_when_order_closed_then_known_but_not_working(core: OrderCore, clock: FakeClock) -> None:
    working(core)
    fill(core, "GT-1", "100", "10.00", "X1", OrdStatus.FILLED)

    fresh = restarted(core, clock)

    assert list(fresh.orders) == ["OT-1"]
    before = [c.to_doc() for c in core.orders["OT-1"].children]
    assert [c.to_doc() for c in fresh.orders["OT-1"].children] == before  # whole, as before the restart
    assert fresh.open_orders() == []


def test_cancel_cl_ord_id_when_same_run_then_cannot_be_reused_for_a_new_order(core: OrderCore) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X1", orig="GT-1"))

    er = only_er(core.new_order(S1, new_order("C2")))

    assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER


def test_restore_when_order_canceled_before_restart_then_ids_used_and_status_answered(
    core: OrderCore, clock: FakeClock
) -> None:
    working(core)
    core.cancel_order(S1, cancel("C2", "C1"))
    core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X1", orig="GT-1"))

    fresh = restarted(core, clock)
    er = only_er(fresh.new_order(S1, new_order("C2")))

    assert er.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER
    for asked in ("C1", "C2"):
        status = only_er(fresh.order_status(S1, RequestStatus(asked, "ACME", Side.BUY)))
        assert (status.exec_type, status.ord_status, status.cl_ord_id) == (
            ExecType.ORDER_STATUS,
            OrdStatus.CANCELED,
            "C2",
        )
    assert fresh.open_orders() == []  # known, but not working: no risk, no timers, no mass status


def test_resent_cancel_already_applied_is_answered_with_status_and_nothing_sent(core: OrderCore) -> None:
    working(core, "C1")
    core.cancel_order(S1, cancel("X1", "C1"))
    again = core.resent_order(S1, cancel("X1", "C1"))  # PossDup after a restart
    assert again is not None and again.to_venues == []
    er = only_er(again)
    assert (er.exec_type, er.ord_status, er.cl_ord_id) == (
        ExecType.ORDER_STATUS,
        OrdStatus.PENDING_CANCEL,
        "X1",
    )
    assert core.resent_order(S1, cancel("X2", "C1")) is None  # never seen: processed as new


def test_finished_orders_leave_memory_and_status_comes_from_the_archive(clock: FakeClock) -> None:
    core = make_core(clock)
    order = working(core, "C1")
    fill(core, "GT-1", str(order.qty), "10.00", "F1")
    assert not order.is_open
    clock.now += 5
    assert core.forget_done(clock.now - 10) == 0  # finished too recently
    assert core.forget_done(clock.now + 1) == 1
    assert core.order_for(S1, "C1") is None and core.child_for(VENUE, "GT-1") is None
    ask = RequestStatus("C1", "ACME", Side.BUY)
    assert "unknown order" in only_er(core.order_status(S1, ask)).text
    core.archive = lambda session, cl: order if (session, cl) == (S1, "C1") else None
    er = only_er(core.order_status(S1, ask))
    assert (er.exec_type, er.ord_status, er.cum_qty) == (ExecType.ORDER_STATUS, OrdStatus.FILLED, order.qty)
    reused = only_er(core.new_order(S1, new_order("C1")))  # its ClOrdID stays used
    assert reused.ord_rej_reason is OrdRejReason.DUPLICATE_ORDER


def test_a_forgotten_order_is_found_in_the_archive_by_any_clordid_of_its_chain(clock: FakeClock) -> None:
    """The archive (the journal) knows an order by OrderID and its current ClOrdID; a client may
    ask the status by the ClOrdID it first sent (found by the kill -9 soak, runs over 60 s)."""
    core = make_core(clock)
    order = working(core, "C1")
    core.cancel_order(S1, cancel("C2", "C1"))
    core.venue_execution(vexec("GT-2", ExecType.CANCELED, OrdStatus.CANCELED, "X2", orig="GT-1"))
    assert not order.is_open and order.cl_ord_id == "C2"
    clock.now += 5
    assert core.forget_done(clock.now + 1) == 1
    asked: list[str] = []
    core.archive = lambda session, key: asked.append(key) or order
    er = only_er(core.order_status(S1, RequestStatus("C1", "ACME", Side.BUY)))
    assert asked == [order.order_id] and (er.ord_status, er.cl_ord_id) == (OrdStatus.CANCELED, "C2")
