"""Client-facing codec: client requests in, ExecutionReports and cancel rejects out.

One decoder for every FIX version: the data dictionary already validated the
message, so decoding only reads tags. The version differences live in the encoder
(FIX 4.2's ExecTransType and ExecType 1/2 for fills).
"""

from __future__ import annotations

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import (
    CodecError,
    Fields,
    decimal,
    enum,
    fields,
    fmt,
    need,
    new_message,
    set_opt,
    utc_timestamp,
)
from gateway.orders.enums import ExecType, OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.messages import (
    CancelOrder,
    CancelReject,
    ClientCommand,
    ExecutionReport,
    NewOrder,
    ReplaceOrder,
    RequestMassStatus,
    RequestStatus,
)

FIX42 = "FIX.4.2"
_ORD_REJ_REASONS_42 = frozenset("012345678")


def _order_terms(f: Fields) -> tuple[OrdType, object, object, TimeInForce]:
    ord_type = enum(OrdType, need(f, t.OrdType), t.OrdType, "OrdType")
    qty = decimal(f.get(t.OrderQty), t.OrderQty)
    if qty is None:
        raise CodecError("OrderQty is required", t.OrderQty)
    price = decimal(f.get(t.Price), t.Price) if ord_type is OrdType.LIMIT else None
    tif = enum(TimeInForce, f.get(t.TimeInForce) or TimeInForce.DAY.value, t.TimeInForce, "TimeInForce")
    return ord_type, qty, price, tif


def decode_new_order(msg: fix.Message) -> NewOrder:
    f = fields(msg)
    ord_type, qty, price, tif = _order_terms(f)
    return NewOrder(
        cl_ord_id=need(f, t.ClOrdID),
        symbol=need(f, t.Symbol),
        side=enum(Side, need(f, t.Side), t.Side, "Side"),
        ord_type=ord_type,
        qty=qty,
        price=price,
        tif=tif,
        ex_destination=f.get(t.ExDestination),
        account=f.get(t.Account),
    )


def decode_cancel(msg: fix.Message) -> CancelOrder:
    f = fields(msg)
    return CancelOrder(
        cl_ord_id=need(f, t.ClOrdID),
        orig_cl_ord_id=need(f, t.OrigClOrdID),
        symbol=need(f, t.Symbol),
        side=enum(Side, need(f, t.Side), t.Side, "Side"),
        order_id=f.get(t.OrderID),
    )


def decode_replace(msg: fix.Message) -> ReplaceOrder:
    f = fields(msg)
    ord_type, qty, price, tif = _order_terms(f)
    return ReplaceOrder(
        cl_ord_id=need(f, t.ClOrdID),
        orig_cl_ord_id=need(f, t.OrigClOrdID),
        symbol=need(f, t.Symbol),
        side=enum(Side, need(f, t.Side), t.Side, "Side"),
        ord_type=ord_type,
        qty=qty,
        price=price,
        tif=tif,
        order_id=f.get(t.OrderID),
    )


def decode_status_request(msg: fix.Message) -> RequestStatus:
    f = fields(msg)
    return RequestStatus(
        cl_ord_id=need(f, t.ClOrdID),
        symbol=need(f, t.Symbol),
        side=enum(Side, need(f, t.Side), t.Side, "Side"),
        order_id=f.get(t.OrderID),
    )


def decode_mass_status_request(msg: fix.Message) -> RequestMassStatus:
    f = fields(msg)
    return RequestMassStatus(req_id=need(f, t.MassStatusReqID))


DECODERS = {
    "D": decode_new_order,
    "F": decode_cancel,
    "G": decode_replace,
    "H": decode_status_request,
    "AF": decode_mass_status_request,
}


def decode_client_message(msg_type: str, msg: fix.Message) -> ClientCommand:
    """Raises KeyError for a message type clients may not send (the caller answers with reason 3)."""
    return DECODERS[msg_type](msg)


def encode_execution_report(er: ExecutionReport, begin_string: str) -> fix.Message:
    msg = new_message("8")
    msg.setField(t.OrderID, er.order_id)
    msg.setField(t.ClOrdID, er.cl_ord_id)
    set_opt(msg, t.OrigClOrdID, er.orig_cl_ord_id)
    msg.setField(t.ExecID, er.exec_id)
    if begin_string == FIX42:
        msg.setField(t.ExecTransType, "3" if er.exec_type is ExecType.ORDER_STATUS else "0")
        msg.setField(t.ExecType, _exec_type_42(er))
    else:
        msg.setField(t.ExecType, er.exec_type.value)
    msg.setField(t.OrdStatus, er.ord_status.value)
    if er.ord_rej_reason is not None:
        reason = er.ord_rej_reason.value
        if begin_string == FIX42 and reason not in _ORD_REJ_REASONS_42:
            reason = "0"  # Broker option: FIX 4.2 has no "Other"; the Text says why
        msg.setField(t.OrdRejReason, reason)
    set_opt(msg, t.Account, er.account)
    msg.setField(t.Symbol, er.symbol)
    msg.setField(t.Side, er.side.value)
    if er.ord_type is not None:
        msg.setField(t.OrdType, er.ord_type.value)
    msg.setField(t.OrderQty, fmt(er.qty))
    if er.price is not None:
        msg.setField(t.Price, fmt(er.price))
    if er.tif is not None:
        msg.setField(t.TimeInForce, er.tif.value)
    if er.last_qty is not None:
        msg.setField(t.LastQty, fmt(er.last_qty))
        msg.setField(t.LastPx, fmt(er.last_px))
    set_opt(msg, t.LastMkt, er.last_mkt)
    msg.setField(t.LeavesQty, fmt(er.leaves_qty))
    msg.setField(t.CumQty, fmt(er.cum_qty))
    msg.setField(t.AvgPx, fmt(er.avg_px))
    msg.setField(t.TransactTime, utc_timestamp())
    set_opt(msg, t.Text, er.text)
    if er.mass_status is not None:
        req_id, total, last = er.mass_status
        msg.setField(t.MassStatusReqID, req_id)
        msg.setField(t.TotNumReports, str(total))
        msg.setField(t.LastRptRequested, "Y" if last else "N")
    return msg


def _exec_type_42(er: ExecutionReport) -> str:
    if er.exec_type is ExecType.TRADE:
        return "2" if er.ord_status is OrdStatus.FILLED else "1"
    if er.exec_type is ExecType.ORDER_STATUS:
        return er.ord_status.value
    return er.exec_type.value


def encode_cancel_reject(rej: CancelReject, begin_string: str) -> fix.Message:
    msg = new_message("9")
    msg.setField(t.OrderID, rej.order_id)
    msg.setField(t.ClOrdID, rej.cl_ord_id)
    msg.setField(t.OrigClOrdID, rej.orig_cl_ord_id)
    msg.setField(t.OrdStatus, rej.ord_status.value)
    msg.setField(t.CxlRejResponseTo, rej.response_to.value)
    reason = rej.reason.value
    if begin_string == FIX42 and reason not in ("0", "1", "2", "3"):
        reason = "2"  # FIX 4.2 knows only 0-3
    msg.setField(t.CxlRejReason, reason)
    msg.setField(t.Text, rej.text)
    return msg


def encode_business_reject(
    ref_msg_type: str, ref_seq_num: str | None, ref_id: str | None, reason: str, text: str
) -> fix.Message:
    msg = new_message("j")
    set_opt(msg, t.RefSeqNum, ref_seq_num)
    msg.setField(t.RefMsgType, ref_msg_type)
    set_opt(msg, t.BusinessRejectRefID, ref_id)
    msg.setField(t.BusinessRejectReason, reason)
    msg.setField(t.Text, text)
    return msg
