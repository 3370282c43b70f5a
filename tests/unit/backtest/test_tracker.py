from decimal import Decimal

from gateway.backtest.tracker import OrderRecord, OrderTracker
from gateway.orders.enums import ExecType, OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.messages import VenueCancelReject, VenueExecution


def er(cl, et, st, cum, last_qty=None, last_px=None, exec_id="E", orig=None, text=None, avg="0"):
    return VenueExecution(
        "C1", cl, orig, "O1", exec_id, et, st, Decimal(cum), Decimal(0), Decimal(avg),
        None if last_qty is None else Decimal(last_qty), None if last_px is None else Decimal(last_px), text,
    )  # fmt: skip


def tracker() -> tuple[OrderTracker, OrderRecord]:
    t = OrderTracker(lambda text: "risk" if text.startswith("max_order_qty:") else "gateway")
    rec = OrderRecord(
        "C1", "A1", "ESH4", Side.BUY, Decimal(5), Decimal("100"), OrdType.LIMIT, TimeInForce.DAY, 10, 1_000,
        Decimal("100.5"),
    )  # fmt: skip
    t.sent(rec)
    return t, rec


def test_fills_replace_and_duplicates():
    t, rec = tracker()
    t.received("C1", er("A1", ExecType.NEW, OrdStatus.NEW, 0, exec_id="E1"), None, 20, 3_000)
    r = t.received(
        "C1",
        er("A1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, 2, 2, "100", "E2", avg="100"),
        "V",
        30,
        4_000,
    )
    assert r.exec_type == "TRADE" and r.cl_ord_id == "A1" and r.venue == "V" and r.last_qty == 2
    assert (
        t.received("C1", er("A1", ExecType.TRADE, OrdStatus.PARTIALLY_FILLED, 2, 2, "100", "E2"), "V", 31, 0)
        is None
    )
    t.amend_sent(rec, "A2", Decimal(4), Decimal("99"))
    t.received(
        "C1", er("A2", ExecType.REPLACED, OrdStatus.PARTIALLY_FILLED, 2, exec_id="E3", orig="A1"), None, 40, 0
    )
    assert (rec.qty, rec.price, rec.current_id, rec.first_response_wall_ns) == (4, Decimal("99"), "A2", 3_000)
    t.received("C1", er("A2", ExecType.TRADE, OrdStatus.FILLED, 4, 2, "99", "E4", avg="99.5"), "V", 50, 0)
    assert rec.status is OrdStatus.FILLED and rec.avg_px == Decimal("99.5")
    assert [(f.ts_ns, f.cl_ord_id, f.qty, f.price) for f in t.fills] == [
        (30, "A1", 2, 100),
        (50, "A1", 2, 99),
    ]
    assert t.positions[("C1", "ESH4")] == 4


def test_rejects_are_classified_and_cancel_rejects_reported():
    t, rec = tracker()
    t.received(
        "C1", er("A1", ExecType.REJECTED, OrdStatus.REJECTED, 0, text="max_order_qty: 5 > 1"), None, 20, 0
    )
    assert rec.reject == {"source": "risk", "reason": "max_order_qty: 5 > 1"} and not rec.open
    t.amend_sent(rec, "A2", None, None)
    cxl = VenueCancelReject("C1", "A2", "A1", None, OrdStatus.REJECTED, "1", "0", "too late")  # type: ignore[arg-type]
    r = t.received("C1", cxl, None, 30, 0)
    assert r.kind == "cancel_reject" and r.cl_ord_id == "A1" and r.text == "too late"
    assert (
        t.received("C1", er("ZZ", ExecType.NEW, OrdStatus.NEW, 0), None, 40, 0) is None and t.unmatched == 1
    )
