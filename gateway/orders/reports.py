"""Where the gateway's ExecutionReports and OrderCancelRejects to clients are built.

The codec turns these domain reports into FIX for the client's version; this
module decides what they say, from the parent order's state.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
)
from gateway.orders.messages import CancelReject, ExecutionReport
from gateway.orders.model import ZERO, ClientOrder

UNKNOWN_ORDER_ID = "NONE"


def execution_report(
    order: ClientOrder,
    exec_id: str,
    exec_type: ExecType,
    *,
    cl_ord_id: str | None = None,
    orig_cl_ord_id: str | None = None,
    last_qty: Decimal | None = None,
    last_px: Decimal | None = None,
    last_mkt: str | None = None,
    ord_rej_reason: OrdRejReason | None = None,
    text: str | None = None,
) -> ExecutionReport:
    return ExecutionReport(
        session=order.session,
        order_id=order.order_id,
        cl_ord_id=cl_ord_id or order.cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        exec_id=exec_id,
        exec_type=exec_type,
        ord_status=order.ord_status,
        symbol=order.symbol,
        side=order.side,
        ord_type=order.ord_type,
        qty=order.qty,
        price=order.price if order.ord_type is OrdType.LIMIT else None,
        tif=order.tif,
        cum_qty=order.fills.cum_qty,
        leaves_qty=order.leaves_qty,
        avg_px=order.fills.avg_px,
        last_qty=last_qty,
        last_px=last_px,
        last_mkt=last_mkt,
        ord_rej_reason=ord_rej_reason,
        text=text,
        account=order.account,
    )


def reject_unknown(
    session: str,
    exec_id: str,
    exec_type: ExecType,
    cl_ord_id: str,
    symbol: str,
    side: Side,
    reason: OrdRejReason,
    text: str,
    qty: Decimal = ZERO,
) -> ExecutionReport:
    """A rejecting report for a message that names no order the gateway keeps."""
    return ExecutionReport(
        session=session,
        order_id=UNKNOWN_ORDER_ID,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=None,
        exec_id=exec_id,
        exec_type=exec_type,
        ord_status=OrdStatus.REJECTED,
        symbol=symbol,
        side=side,
        ord_type=None,
        qty=qty,
        price=None,
        tif=None,
        cum_qty=ZERO,
        leaves_qty=ZERO,
        avg_px=ZERO,
        ord_rej_reason=reason,
        text=text,
    )


def cancel_reject(
    session: str,
    order: ClientOrder | None,
    cl_ord_id: str,
    orig_cl_ord_id: str,
    response_to: CxlRejResponseTo,
    reason: CxlRejReason,
    text: str,
) -> CancelReject:
    return CancelReject(
        session=session,
        order_id=order.order_id if order else UNKNOWN_ORDER_ID,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig_cl_ord_id,
        ord_status=order.ord_status if order else OrdStatus.REJECTED,
        response_to=response_to,
        reason=reason,
        text=text,
    )
