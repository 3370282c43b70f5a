"""Venue-facing codec: child order commands out, venue reports in.

Venue reports are normalised to FIX 4.4 meaning (FIX 4.2's ExecType 1/2 become
Trade) so the order core sees one vocabulary whatever the venue speaks.
"""

from __future__ import annotations

from decimal import Decimal

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import (
    Body,
    CodecError,
    decimal,
    enum,
    fields,
    fmt,
    need,
    new_message,
    opt,
    utc_timestamp,
)
from gateway.orders.enums import CxlRejResponseTo, ExecType, OrdStatus, OrdType, Side
from gateway.orders.messages import (
    CancelChildOrder,
    ReplaceChildOrder,
    RequestChildStatus,
    SendChildOrder,
    VenueCancelReject,
    VenueCommand,
    VenueExecution,
    VenueReport,
)

ZERO = Decimal(0)


def encode_venue_command(cmd: VenueCommand, begin_string: str) -> fix.Message:
    if isinstance(cmd, SendChildOrder):
        msg = Body("D")
        msg.set(t.ClOrdID, cmd.cl_ord_id)
        if cmd.account:
            msg.set(t.Account, cmd.account)
        msg.set(t.HandlInst, "1")
        _terms(msg, cmd)
        return msg.message()
    if isinstance(cmd, CancelChildOrder):
        msg = _amend("F", cmd)
        msg.set(t.Symbol, cmd.symbol)
        msg.set(t.Side, cmd.side.value)
        msg.set(t.TransactTime, utc_timestamp())
        msg.set(t.OrderQty, fmt(cmd.qty))
        return msg.message()
    if isinstance(cmd, ReplaceChildOrder):
        msg = _amend("G", cmd)
        msg.set(t.HandlInst, "1")
        _terms(msg, cmd)
        return msg.message()
    if isinstance(cmd, RequestChildStatus):
        msg = Body("H")
        msg.set(t.ClOrdID, cmd.cl_ord_id)
        if cmd.venue_order_id:
            msg.set(t.OrderID, cmd.venue_order_id)
        msg.set(t.Symbol, cmd.symbol)
        msg.set(t.Side, cmd.side.value)
        return msg.message()
    raise TypeError(f"not a venue command: {cmd!r}")


def _amend(msg_type: str, cmd: CancelChildOrder | ReplaceChildOrder) -> Body:
    """Cancel and replace name the order the same way: OrigClOrdID, new ClOrdID, venue OrderID."""
    msg = Body(msg_type)
    msg.set(t.OrigClOrdID, cmd.orig_cl_ord_id)
    msg.set(t.ClOrdID, cmd.cl_ord_id)
    if cmd.venue_order_id:
        msg.set(t.OrderID, cmd.venue_order_id)
    return msg


def _terms(msg: Body, cmd: SendChildOrder | ReplaceChildOrder) -> None:
    msg.set(t.Symbol, cmd.symbol)
    msg.set(t.Side, cmd.side.value)
    msg.set(t.TransactTime, utc_timestamp())
    msg.set(t.OrderQty, fmt(cmd.qty))
    msg.set(t.OrdType, cmd.ord_type.value)
    if cmd.ord_type is OrdType.LIMIT and cmd.price is not None:
        msg.set(t.Price, fmt(cmd.price))
    msg.set(t.TimeInForce, cmd.tif.value)


def encode_mass_status_request(req_id: str) -> fix.Message:
    """OrderMassStatusRequest for every order of the session (FIX 4.4 and later)."""
    msg = new_message("AF")
    msg.setField(t.MassStatusReqID, req_id)
    msg.setField(t.MassStatusReqType, "7")  # all orders
    return msg


_EXEC_TYPE_42 = {"1": ExecType.TRADE, "2": ExecType.TRADE}


def decode_order_terms(msg: fix.Message) -> tuple[str, Side, Decimal] | None:
    """Symbol, Side and OrderQty of a status report (what a cancel of the order must repeat);
    None when the venue left one out."""
    symbol, side, qty = opt(msg, t.Symbol), opt(msg, t.Side), opt(msg, t.OrderQty)
    if symbol is None or side is None or qty is None:
        return None
    try:
        return symbol, Side(side), decimal(qty, t.OrderQty)
    except (ValueError, CodecError):
        return None


def decode_venue_message(msg_type: str, msg: fix.Message, venue: str, begin_string: str) -> VenueReport:
    f = fields(msg)
    poss_dup = f.get(t.PossDupFlag) == "Y"
    if msg_type == "9":
        return VenueCancelReject(
            venue=venue,
            cl_ord_id=need(f, t.ClOrdID),
            orig_cl_ord_id=f.get(t.OrigClOrdID) or "",
            venue_order_id=f.get(t.OrderID),
            ord_status=_status(f.get(t.OrdStatus)),
            response_to=enum(
                CxlRejResponseTo, f.get(t.CxlRejResponseTo) or "1", t.CxlRejResponseTo, "CxlRejResponseTo"
            ),
            reason=f.get(t.CxlRejReason),
            text=f.get(t.Text),
        )
    if msg_type != "8":
        raise CodecError(f"unsupported venue message type {msg_type}")
    raw_exec_type = need(f, t.ExecType)
    if begin_string == "FIX.4.2" and f.get(t.ExecTransType) == "3":
        exec_type = ExecType.ORDER_STATUS
    elif begin_string == "FIX.4.2" and raw_exec_type in _EXEC_TYPE_42:
        exec_type = _EXEC_TYPE_42[raw_exec_type]
    else:
        exec_type = enum(ExecType, raw_exec_type, t.ExecType, "ExecType")
    cl_ord_id = f.get(t.ClOrdID)
    if cl_ord_id is None:
        raise CodecError("ExecutionReport without ClOrdID", t.ClOrdID)
    return VenueExecution(
        venue=venue,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=f.get(t.OrigClOrdID),
        venue_order_id=need(f, t.OrderID),
        exec_id=need(f, t.ExecID),
        exec_type=exec_type,
        ord_status=enum(OrdStatus, need(f, t.OrdStatus), t.OrdStatus, "OrdStatus"),
        cum_qty=decimal(f.get(t.CumQty), t.CumQty) or ZERO,
        leaves_qty=decimal(f.get(t.LeavesQty), t.LeavesQty) or ZERO,
        avg_px=decimal(f.get(t.AvgPx), t.AvgPx) or ZERO,
        last_qty=decimal(f.get(t.LastQty), t.LastQty),
        last_px=decimal(f.get(t.LastPx), t.LastPx),
        text=f.get(t.Text),
        ord_rej_reason=f.get(t.OrdRejReason),
        poss_dup=poss_dup,
    )


def _status(value: str | None) -> OrdStatus | None:
    try:
        return OrdStatus(value) if value else None
    except ValueError:
        return None
