"""What the order-flow clients sent and what came back: orders, fills, positions.

Pure bookkeeping fed by the coordinator (no FIX, no clock): :meth:`OrderTracker.sent` when an
order leaves, :meth:`OrderTracker.received` for each decoded report, in the coordinator's
deterministic order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.backtest.strategy import Report
from gateway.orders.enums import ExecType, OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.messages import VenueCancelReject, VenueExecution

ZERO = Decimal(0)


@dataclass
class OrderRecord:
    client: str
    cl_ord_id: str  # the first ClOrdID; replaces add to ``ids``
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal | None
    ord_type: OrdType
    tif: TimeInForce
    sent_ns: int
    sent_wall_ns: int
    arrival_mid: Decimal | None
    current_id: str = ""
    ids: list[str] = field(default_factory=list)
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    avg_px: Decimal | None = None
    reject: dict | None = None
    first_response_wall_ns: int | None = None
    first_response_ns: int | None = None  # simulated: what the venue latency models add up to
    pending: dict[str, tuple[Decimal, Decimal | None]] = field(default_factory=dict)  # replace id -> terms

    @property
    def open(self) -> bool:
        return not self.status.is_terminal


@dataclass(frozen=True)
class FillRecord:
    ts_ns: int
    client: str
    cl_ord_id: str
    symbol: str
    side: Side
    venue: str | None
    qty: Decimal
    price: Decimal
    exec_id: str


class OrderTracker:
    def __init__(self, classify_reject: Callable[[str], str]):
        self.orders: list[OrderRecord] = []
        self._by_id: dict[tuple[str, str], OrderRecord] = {}
        self.fills: list[FillRecord] = []
        self._exec_ids: set[tuple[str, str]] = set()
        self.positions: dict[tuple[str, str], Decimal] = {}
        self.classify_reject = classify_reject
        self.unmatched = 0

    def find(self, client: str, cl_ord_id: str) -> OrderRecord | None:
        return self._by_id.get((client, cl_ord_id))

    def sent(self, rec: OrderRecord) -> None:
        rec.current_id = rec.cl_ord_id
        rec.ids.append(rec.cl_ord_id)
        self.orders.append(rec)
        self._by_id[(rec.client, rec.cl_ord_id)] = rec

    def amend_sent(self, rec: OrderRecord, new_id: str, qty: Decimal | None, price: Decimal | None) -> None:
        """A cancel (qty None) or replace with ClOrdID ``new_id`` left for ``rec``."""
        rec.ids.append(new_id)
        self._by_id[(rec.client, new_id)] = rec
        if qty is not None:
            rec.pending[new_id] = (qty, price)

    def received(self, client: str, report, last_mkt: str | None, now_ns: int, wall_ns: int) -> Report | None:
        rec = self._by_id.get((client, report.cl_ord_id))
        if rec is None and report.orig_cl_ord_id:
            rec = self._by_id.get((client, report.orig_cl_ord_id))
        if rec is None:
            self.unmatched += 1
            return None
        if rec.first_response_wall_ns is None:
            rec.first_response_wall_ns = wall_ns
            rec.first_response_ns = now_ns
        if isinstance(report, VenueCancelReject):
            rec.pending.pop(report.cl_ord_id, None)
            return self._report(rec, now_ns, "cancel_reject", None, None, None, report.text, "REJECTED")
        assert isinstance(report, VenueExecution)
        if (client, report.exec_id) in self._exec_ids:
            return None  # a duplicate (PossDup resend)
        self._exec_ids.add((client, report.exec_id))
        et = report.exec_type
        if et is ExecType.REPLACED:
            terms = rec.pending.pop(report.cl_ord_id, None)
            if terms is not None:
                rec.qty, rec.price = terms[0], terms[1] if terms[1] is not None else rec.price
            rec.current_id = report.cl_ord_id
        elif et is ExecType.CANCELED:
            rec.current_id = report.cl_ord_id
        if et is not ExecType.ORDER_STATUS:
            rec.status = report.ord_status
        rec.cum_qty = report.cum_qty
        rec.avg_px = report.avg_px if report.cum_qty > 0 else None
        if et is ExecType.REJECTED:
            text = report.text or ""
            rec.reject = {"source": self.classify_reject(text), "reason": text}
        if et is ExecType.TRADE and report.last_qty:
            px = report.last_px or ZERO
            self.fills.append(
                FillRecord(now_ns, client, rec.cl_ord_id, rec.symbol, rec.side, last_mkt, report.last_qty, px,
                           report.exec_id)
            )  # fmt: skip
            key = (client, rec.symbol)
            self.positions[key] = self.positions.get(key, ZERO) + rec.side.sign * report.last_qty
        return self._report(
            rec, now_ns, "execution", et.name, report.last_qty, report.last_px, report.text,
            report.ord_status.name, report.leaves_qty, last_mkt,
        )  # fmt: skip

    def _report(
        self, rec: OrderRecord, now_ns: int, kind: str, exec_type: str | None, last_qty, last_px, text,
        ord_status: str, leaves: Decimal | None = None, venue: str | None = None,
    ) -> Report:  # fmt: skip
        return Report(
            ts_ns=now_ns, kind=kind, cl_ord_id=rec.cl_ord_id, exec_type=exec_type or "CANCEL_REJECT",
            ord_status=ord_status if kind == "execution" else rec.status.name, symbol=rec.symbol,
            side=rec.side, cum_qty=rec.cum_qty,
            leaves_qty=leaves if leaves is not None else rec.qty - rec.cum_qty,
            avg_px=rec.avg_px or ZERO, last_qty=last_qty, last_px=last_px, venue=venue, text=text,
        )  # fmt: skip
