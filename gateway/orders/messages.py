"""Domain messages between the codec and the order core.

Commands (imperative names) come in from clients and go out to venues; reports
(past tense) come back from venues and go out to clients. Nothing here knows a
FIX tag or version: the codec translates both ways.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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

# ---------------------------------------------------------------- client -> gateway


@dataclass(frozen=True, slots=True)
class NewOrder:
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    ex_destination: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: Side
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReplaceOrder:
    cl_ord_id: str
    orig_cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestStatus:
    cl_ord_id: str
    symbol: str
    side: Side
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestMassStatus:
    """OrderMassStatusRequest: every working order of the session."""

    req_id: str


ClientCommand = NewOrder | CancelOrder | ReplaceOrder | RequestStatus | RequestMassStatus

# ---------------------------------------------------------------- gateway -> client


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One report to a client about its order (the gateway's view of the parent)."""

    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    symbol: str
    side: Side
    ord_type: OrdType | None
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce | None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    last_qty: Decimal | None = None
    last_px: Decimal | None = None
    last_mkt: str | None = None
    ord_rej_reason: OrdRejReason | None = None
    text: str | None = None
    account: str | None = None
    mass_status: tuple[str, int, bool] | None = None  # (MassStatusReqID, TotNumReports, LastRptRequested)


@dataclass(frozen=True, slots=True)
class CancelReject:
    session: str
    order_id: str
    cl_ord_id: str
    orig_cl_ord_id: str
    ord_status: OrdStatus
    response_to: CxlRejResponseTo
    reason: CxlRejReason
    text: str


# ---------------------------------------------------------------- gateway -> venue


@dataclass(frozen=True, slots=True)
class SendChildOrder:
    venue: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    account: str | None = None


@dataclass(frozen=True, slots=True)
class CancelChildOrder:
    venue: str
    cl_ord_id: str
    orig_cl_ord_id: str
    venue_order_id: str | None
    symbol: str
    side: Side
    qty: Decimal


@dataclass(frozen=True, slots=True)
class ReplaceChildOrder:
    venue: str
    cl_ord_id: str
    orig_cl_ord_id: str
    venue_order_id: str | None
    symbol: str
    side: Side
    ord_type: OrdType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce


@dataclass(frozen=True, slots=True)
class RequestChildStatus:
    venue: str
    cl_ord_id: str
    venue_order_id: str | None
    symbol: str
    side: Side


VenueCommand = SendChildOrder | CancelChildOrder | ReplaceChildOrder | RequestChildStatus

# ---------------------------------------------------------------- venue -> gateway


@dataclass(frozen=True, slots=True)
class VenueExecution:
    """A venue's ExecutionReport about one child order, normalised to FIX 4.4 meaning."""

    venue: str
    cl_ord_id: str
    orig_cl_ord_id: str | None
    venue_order_id: str
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_px: Decimal
    last_qty: Decimal | None = None
    last_px: Decimal | None = None
    text: str | None = None
    ord_rej_reason: str | None = None
    poss_dup: bool = False


@dataclass(frozen=True, slots=True)
class VenueCancelReject:
    venue: str
    cl_ord_id: str
    orig_cl_ord_id: str
    venue_order_id: str | None
    ord_status: OrdStatus | None
    response_to: CxlRejResponseTo
    reason: str | None
    text: str | None


VenueReport = VenueExecution | VenueCancelReject
