"""Client-facing codec: client requests in, ExecutionReports and cancel rejects out.

One decoder for every FIX version: the data dictionary already validated the
message, so decoding only reads tags. The version differences live in the encoder
(FIX 4.2's ExecTransType and ExecType 1/2 for fills).
"""

from __future__ import annotations

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import (
    Body,
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


def encode_execution_report(
    er: ExecutionReport, begin_string: str, transact_ns: int | None = None
) -> fix.Message:
    """``transact_ns``: TransactTime(60) in ns since the epoch (default now; a backtest's venue
    passes simulated time)."""
    msg = Body("8")
    msg.set(t.OrderID, er.order_id)
    msg.set(t.ClOrdID, er.cl_ord_id)
    msg.set_opt(t.OrigClOrdID, er.orig_cl_ord_id)
    msg.set(t.ExecID, er.exec_id)
    if begin_string == FIX42:
        msg.set(t.ExecTransType, "3" if er.exec_type is ExecType.ORDER_STATUS else "0")
        msg.set(t.ExecType, _exec_type_42(er))
    else:
        msg.set(t.ExecType, er.exec_type.value)
    msg.set(t.OrdStatus, er.ord_status.value)
    if er.ord_rej_reason is not None:
        reason = er.ord_rej_reason.value
        if begin_string == FIX42 and reason not in _ORD_REJ_REASONS_42:
            reason = "0"  # Broker option: FIX 4.2 has no "Other"; the Text says why
        msg.set(t.OrdRejReason, reason)
    msg.set_opt(t.Account, er.account)
    msg.set(t.Symbol, er.symbol)
    msg.set(t.Side, er.side.value)
    if er.ord_type is not None:
        msg.set(t.OrdType, er.ord_type.value)
    msg.set(t.OrderQty, fmt(er.qty))
    if er.price is not None:
        msg.set(t.Price, fmt(er.price))
    if er.tif is not None:
        msg.set(t.TimeInForce, er.tif.value)
    if er.last_qty is not None:
        msg.set(t.LastQty, fmt(er.last_qty))
        msg.set(t.LastPx, fmt(er.last_px))
    msg.set_opt(t.LastMkt, er.last_mkt)
    msg.set(t.LeavesQty, fmt(er.leaves_qty))
    msg.set(t.CumQty, fmt(er.cum_qty))
    msg.set(t.AvgPx, fmt(er.avg_px))
    msg.set(t.TransactTime, utc_timestamp(transact_ns))
    msg.set_opt(t.Text, er.text)
    if er.mass_status is not None:
        req_id, total, last = er.mass_status
        msg.set(t.MassStatusReqID, req_id)
        msg.set(t.TotNumReports, str(total))
        msg.set(t.LastRptRequested, "Y" if last else "N")
    return msg.message()


def _exec_type_42(er: ExecutionReport) -> str:
    if er.exec_type is ExecType.TRADE:
        return "2" if er.ord_status is OrdStatus.FILLED else "1"
    if er.exec_type is ExecType.ORDER_STATUS:
        return er.ord_status.value
    return er.exec_type.value


def encode_cancel_reject(rej: CancelReject, begin_string: str) -> fix.Message:
    msg = Body("9")
    msg.set(t.OrderID, rej.order_id)
    msg.set(t.ClOrdID, rej.cl_ord_id)
    msg.set(t.OrigClOrdID, rej.orig_cl_ord_id)
    msg.set(t.OrdStatus, rej.ord_status.value)
    msg.set(t.CxlRejResponseTo, rej.response_to.value)
    reason = rej.reason.value
    if begin_string == FIX42 and reason not in ("0", "1", "2", "3"):
        reason = "2"  # FIX 4.2 knows only 0-3
    msg.set(t.CxlRejReason, reason)
    msg.set(t.Text, rej.text)
    return msg.message()


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
