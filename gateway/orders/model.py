"""Parent (client) and child (venue) orders.

A client order is keyed by (session, ClOrdID) with its OrigClOrdID chain; the
gateway's OrderID names it for good. Each client order owns one or more child
orders at venues, each with gateway-generated ClOrdIDs. Quantities and prices
are ``Decimal`` so fills and average prices stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.state import Event, next_status, reported_status

ZERO = Decimal(0)


@dataclass
class PendingChange:
    """A client's cancel or replace that a venue has not answered yet."""

    kind: OrdStatus  # PENDING_CANCEL or PENDING_REPLACE
    cl_ord_id: str
    orig_cl_ord_id: str
    qty: Decimal | None = None
    price: Decimal | None = None
    ord_type: OrdType | None = None
    tif: TimeInForce | None = None
    deadline_ns: int | None = None  # parent only: when the client hears "no answer from the venue"
    unsolicited: bool = False  # the gateway's own cancel (kill switch): the client asked nothing
    reason: str | None = None  # why the gateway canceled on its own, for the client's report
    replacing: bool = False  # child: this cancel is the first half of an amend by cancel and new
    replacement: str | None = None  # parent: the new child that completes such an amend


@dataclass
class Fills:
    """Cumulative execution totals; shared by parents and children."""

    cum_qty: Decimal = ZERO
    notional: Decimal = ZERO

    def add(self, qty: Decimal, px: Decimal) -> None:
        self.cum_qty += qty
        self.notional += qty * px

    @property
    def avg_px(self) -> Decimal:
        return self.notional / self.cum_qty if self.cum_qty else ZERO


@dataclass
class ChildOrder:
    child_id: str  # the first ClOrdID sent to the venue; stable name in the journal
    parent_id: str
    venue: str
    cl_ord_id: str  # the current ClOrdID at the venue (changes with each replace)
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    status: OrdStatus = OrdStatus.PENDING_NEW
    pending: PendingChange | None = None
    venue_order_id: str | None = None
    fills: Fills = field(default_factory=Fills)
    exec_ids: set[str] = field(default_factory=set)  # venue ExecIDs applied: resends are ignored
    # The venue CumQty reconciliation brought this child to: a venue fill report at or below it
    # is already counted (in reconciliation's one catch-up fill), whatever its ExecID.
    reconciled_cum: Decimal = ZERO
    ack_deadline_ns: int | None = None
    updated_ns: int = 0

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.status.is_terminal else self.qty - self.fills.cum_qty

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def apply(self, event: Event) -> None:
        self.status = next_status(self.status, event)
        if self.status.is_terminal:
            self.pending = None
            self.ack_deadline_ns = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "child_id": self.child_id,
            "parent_id": self.parent_id,
            "venue": self.venue,
            "cl_ord_id": self.cl_ord_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "ord_type": self.ord_type.value,
            "qty": str(self.qty),
            "price": _s(self.price),
            "tif": self.tif.value,
            "status": self.status.value,
            "pending": _pending_doc(self.pending),
            "venue_order_id": self.venue_order_id,
            "cum_qty": str(self.fills.cum_qty),
            "notional": str(self.fills.notional),
            "exec_ids": sorted(self.exec_ids),
            "reconciled_cum": str(self.reconciled_cum),
            "ack_deadline_ns": self.ack_deadline_ns,
        }

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> ChildOrder:
        return cls(
            child_id=d["child_id"],
            parent_id=d["parent_id"],
            venue=d["venue"],
            cl_ord_id=d["cl_ord_id"],
            symbol=d["symbol"],
            side=Side(d["side"]),
            ord_type=OrdType(d["ord_type"]),
            qty=Decimal(d["qty"]),
            price=_d(d["price"]),
            tif=TimeInForce(d["tif"]),
            status=OrdStatus(d["status"]),
            pending=_pending_from(d["pending"]),
            venue_order_id=d["venue_order_id"],
            fills=Fills(Decimal(d["cum_qty"]), Decimal(d["notional"])),
            exec_ids=set(d["exec_ids"]),
            reconciled_cum=Decimal(d.get("reconciled_cum", "0")),
            ack_deadline_ns=d["ack_deadline_ns"],
        )


@dataclass
class ClientOrder:
    order_id: str
    session: str
    cl_ord_id: str  # current ClOrdID (the latest accepted in the chain)
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    account: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    pending: PendingChange | None = None
    cl_ord_ids: list[str] = field(default_factory=list)  # every ClOrdID the client used on it, oldest first
    children: list[ChildOrder] = field(default_factory=list)
    fills: Fills = field(default_factory=Fills)
    text: str | None = None
    created_ns: int = 0
    updated_ns: int = 0

    @property
    def ord_status(self) -> OrdStatus:
        """The OrdStatus to report, with the pending overlay applied."""
        return reported_status(self.status, self.pending.kind if self.pending else None)

    @property
    def leaves_qty(self) -> Decimal:
        return ZERO if self.status.is_terminal else self.qty - self.fills.cum_qty

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    def apply(self, event: Event) -> None:
        """A pending cancel/replace outlives a terminal status: the venue still answers it."""
        self.status = next_status(self.status, event)

    def to_doc(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "session": self.session,
            "cl_ord_id": self.cl_ord_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "ord_type": self.ord_type.value,
            "qty": str(self.qty),
            "price": _s(self.price),
            "tif": self.tif.value,
            "account": self.account,
            "status": self.status.value,
            "pending": _pending_doc(self.pending),
            "cl_ord_ids": list(self.cl_ord_ids),
            "child_ids": [c.child_id for c in self.children],
            "cum_qty": str(self.fills.cum_qty),
            "notional": str(self.fills.notional),
            "text": self.text,
            "created_ns": self.created_ns,
        }

    @classmethod
    def from_doc(cls, d: dict[str, Any], children: list[ChildOrder]) -> ClientOrder:
        by_id = {c.child_id: c for c in children}
        return cls(
            order_id=d["order_id"],
            session=d["session"],
            cl_ord_id=d["cl_ord_id"],
            symbol=d["symbol"],
            side=Side(d["side"]),
            ord_type=OrdType(d["ord_type"]),
            qty=Decimal(d["qty"]),
            price=_d(d["price"]),
            tif=TimeInForce(d["tif"]),
            account=d["account"],
            status=OrdStatus(d["status"]),
            pending=_pending_from(d["pending"]),
            cl_ord_ids=list(d["cl_ord_ids"]),
            children=[by_id[i] for i in d["child_ids"] if i in by_id],
            fills=Fills(Decimal(d["cum_qty"]), Decimal(d["notional"])),
            text=d["text"],
            created_ns=d["created_ns"],
        )


def _s(v: Decimal | None) -> str | None:
    return None if v is None else str(v)


def _d(v: str | None) -> Decimal | None:
    return None if v is None else Decimal(v)


def _pending_doc(p: PendingChange | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {
        "kind": p.kind.value,
        "cl_ord_id": p.cl_ord_id,
        "orig_cl_ord_id": p.orig_cl_ord_id,
        "qty": _s(p.qty),
        "price": _s(p.price),
        "ord_type": p.ord_type.value if p.ord_type else None,
        "tif": p.tif.value if p.tif else None,
        "deadline_ns": p.deadline_ns,
        "unsolicited": p.unsolicited,
        "reason": p.reason,
        "replacing": p.replacing,
        "replacement": p.replacement,
    }


def _pending_from(d: dict[str, Any] | None) -> PendingChange | None:
    if d is None:
        return None
    return PendingChange(
        kind=OrdStatus(d["kind"]),
        cl_ord_id=d["cl_ord_id"],
        orig_cl_ord_id=d["orig_cl_ord_id"],
        qty=_d(d["qty"]),
        price=_d(d["price"]),
        ord_type=OrdType(d["ord_type"]) if d["ord_type"] else None,
        tif=TimeInForce(d["tif"]) if d["tif"] else None,
        deadline_ns=d.get("deadline_ns"),
        unsolicited=d.get("unsolicited", False),
        reason=d.get("reason"),
        replacing=d.get("replacing", False),
        replacement=d.get("replacement"),
    )
