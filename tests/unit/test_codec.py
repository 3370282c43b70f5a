"""Unit tests for the codec (gateway.codec) and the dictionary reader (gateway.fix.dictionary).

Messages are built and checked by tag number as quickfix.Message objects; every encoded
message is validated against the QuickFIX data dictionary of its FIX version. No sockets.
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix

from gateway.codec import tags
from gateway.codec.client import (
    decode_cancel,
    decode_client_message,
    decode_new_order,
    decode_replace,
    decode_status_request,
    encode_business_reject,
    encode_cancel_reject,
    encode_execution_report,
)
from gateway.codec.fields import CodecError, decimal, fmt, raw, utc_timestamp
from gateway.codec.venue import decode_venue_message, encode_venue_command
from gateway.fix.dictionary import SPEC_DIR, base_dictionary, load_dictionary
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
from gateway.orders.messages import (
    CancelChildOrder,
    CancelOrder,
    CancelReject,
    ExecutionReport,
    NewOrder,
    ReplaceChildOrder,
    ReplaceOrder,
    RequestChildStatus,
    RequestStatus,
    SendChildOrder,
    VenueCancelReject,
    VenueExecution,
)

D = Decimal
FIX42 = "FIX.4.2"
FIX44 = "FIX.4.4"
SPECS = Path(__file__).resolve().parents[2] / "fix_specs"
TIMESTAMP = re.compile(r"^\d{8}-\d{2}:\d{2}:\d{2}\.\d{3}$")


# ---------------------------------------------------------------- helpers


def message(msg_type: str, fields: dict[int, str], header: dict[int, str] | None = None) -> fix.Message:
    msg = fix.Message()
    msg.getHeader().setField(35, msg_type)
    for tag, value in (header or {}).items():
        msg.getHeader().setField(tag, value)
    for tag, value in fields.items():
        msg.setField(tag, value)
    return msg


def field(msg: fix.Message, tag: int) -> str | None:
    return msg.getField(tag) if msg.isSetField(tag) else None


_DICTIONARIES: dict[str, fix.DataDictionary] = {}


def data_dictionary(begin_string: str) -> fix.DataDictionary:
    if begin_string not in _DICTIONARIES:
        name = {FIX42: "FIX42.xml", FIX44: "FIX44.xml"}[begin_string]
        _DICTIONARIES[begin_string] = fix.DataDictionary(str(SPECS / name))
    return _DICTIONARIES[begin_string]


def validate(msg: fix.Message, begin_string: str) -> None:
    """Stamp the session header as QuickFIX would, then validate; raises a quickfix exception."""
    header = msg.getHeader()
    header.setField(8, begin_string)
    header.setField(49, "FIXGW")
    header.setField(56, "CLIENT1")
    header.setField(34, "7")
    header.setField(52, "20240102-03:04:05.678")
    msg.toString()  # fills in BodyLength (9) and CheckSum (10), which validate() requires
    data_dictionary(begin_string).validate(msg)


def er(**changes: object) -> ExecutionReport:
    base = ExecutionReport(
        session="S1",
        order_id="OT-1",
        cl_ord_id="C1",
        orig_cl_ord_id=None,
        exec_id="ET-1",
        exec_type=ExecType.NEW,
        ord_status=OrdStatus.NEW,
        symbol="ACME",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=D(100),
        price=D("10.50"),
        tif=TimeInForce.DAY,
        cum_qty=D(0),
        leaves_qty=D(100),
        avg_px=D(0),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def ocr(**changes: object) -> CancelReject:
    base = CancelReject(
        session="S1",
        order_id="OT-1",
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
        ord_status=OrdStatus.NEW,
        response_to=CxlRejResponseTo.CANCEL,
        reason=CxlRejReason.BROKER_OPTION,
        text="refused",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


PARTIAL = {
    "exec_type": ExecType.TRADE,
    "ord_status": OrdStatus.PARTIALLY_FILLED,
    "cum_qty": D(30),
    "leaves_qty": D(70),
    "avg_px": D("10.00"),
    "last_qty": D(30),
    "last_px": D("10.00"),
    "last_mkt": "XNYS",
}
FULL = {
    **PARTIAL,
    "ord_status": OrdStatus.FILLED,
    "cum_qty": D(100),
    "leaves_qty": D(0),
    "avg_px": D("10.012"),
    "last_qty": D(50),
    "last_px": D("10.02"),
}

# Every kind of ExecutionReport the order core sends, with reasons FIX 4.2 knows too.
ER_CASES = {
    "new": er(),
    "new-market-with-account": er(ord_type=OrdType.MARKET, price=None, tif=TimeInForce.IOC, account="ACC1"),
    "partial-fill": er(**PARTIAL),
    "full-fill": er(**FULL),
    "fill-while-pending-cancel": er(**{**PARTIAL, "ord_status": OrdStatus.PENDING_CANCEL}),
    "pending-cancel": er(
        exec_type=ExecType.PENDING_CANCEL,
        ord_status=OrdStatus.PENDING_CANCEL,
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
    ),
    "canceled": er(
        exec_type=ExecType.CANCELED,
        ord_status=OrdStatus.CANCELED,
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
        cum_qty=D(30),
        leaves_qty=D(0),
        avg_px=D(10),
    ),
    "canceled-by-venue": er(
        exec_type=ExecType.CANCELED,
        ord_status=OrdStatus.CANCELED,
        leaves_qty=D(0),
        text="XNYS: IOC remainder",
    ),
    "pending-replace": er(
        exec_type=ExecType.PENDING_REPLACE,
        ord_status=OrdStatus.PENDING_REPLACE,
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
    ),
    "replaced": er(
        exec_type=ExecType.REPLACED,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        cl_ord_id="C2",
        orig_cl_ord_id="C1",
        qty=D(150),
        cum_qty=D(30),
        leaves_qty=D(120),
        avg_px=D(10),
    ),
    "expired": er(exec_type=ExecType.EXPIRED, ord_status=OrdStatus.EXPIRED, leaves_qty=D(0)),
    "done-for-day": er(exec_type=ExecType.DONE_FOR_DAY, ord_status=OrdStatus.DONE_FOR_DAY, leaves_qty=D(0)),
    "rejected": er(
        exec_type=ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        leaves_qty=D(0),
        ord_rej_reason=OrdRejReason.EXCHANGE_CLOSED,
        text="venue XNYS is not logged on",
    ),
    "rejected-duplicate-unknown-order": er(
        order_id="NONE",
        exec_type=ExecType.REJECTED,
        ord_status=OrdStatus.REJECTED,
        ord_type=None,
        price=None,
        tif=None,
        qty=D(7),
        leaves_qty=D(0),
        ord_rej_reason=OrdRejReason.DUPLICATE_ORDER,
        text="duplicate ClOrdID C1 on session S1",
    ),
    "order-status": er(exec_type=ExecType.ORDER_STATUS, ord_status=OrdStatus.PARTIALLY_FILLED, cum_qty=D(30)),
    "order-status-unknown": er(
        order_id="NONE",
        exec_type=ExecType.ORDER_STATUS,
        ord_status=OrdStatus.REJECTED,
        ord_type=None,
        price=None,
        tif=None,
        qty=D(0),
        leaves_qty=D(0),
        ord_rej_reason=OrdRejReason.UNKNOWN_ORDER,
        text="unknown order ZZ",
    ),
}

OCR_CASES = {
    "unknown-order": ocr(order_id="NONE", ord_status=OrdStatus.REJECTED, reason=CxlRejReason.UNKNOWN_ORDER),
    "too-late": ocr(ord_status=OrdStatus.FILLED, reason=CxlRejReason.TOO_LATE),
    "already-pending": ocr(ord_status=OrdStatus.PENDING_CANCEL, reason=CxlRejReason.ALREADY_PENDING),
    "duplicate": ocr(reason=CxlRejReason.DUPLICATE_CL_ORD_ID),
    "other": ocr(reason=CxlRejReason.OTHER),
    "replace-refused": ocr(
        ord_status=OrdStatus.PARTIALLY_FILLED, response_to=CxlRejResponseTo.REPLACE, text="below CumQty"
    ),
}


# ---------------------------------------------------------------- tag constants


def _spec_fields(name: str) -> dict[str, int]:
    root = ET.parse(SPECS / name).getroot()
    return {f.get("name"): int(f.get("number")) for f in root.iterfind("fields/field")}  # type: ignore[misc]


FIX44_FIELDS = _spec_fields("FIX44.xml")
FIX42_FIELDS = _spec_fields("FIX42.xml")
TAG_CONSTANTS = {k: v for k, v in vars(tags).items() if not k.startswith("_") and isinstance(v, int)}
FIX42_ONLY = {"ExecTransType"}


def test_tag_constants_when_listed_then_all_the_codec_uses_are_there() -> None:
    assert len(TAG_CONSTANTS) >= 40  # the filter below found the module's constants
    assert len(set(TAG_CONSTANTS.values())) == len(TAG_CONSTANTS)  # no two names share a number


@pytest.mark.parametrize(("name", "number"), sorted(TAG_CONSTANTS.items()))
def test_tag_constant_when_compared_with_fix_spec_then_same_number(name: str, number: int) -> None:
    spec = FIX42_FIELDS if name in FIX42_ONLY else FIX44_FIELDS
    assert spec.get(name) == number


def test_exec_trans_type_when_looked_up_then_only_in_fix42() -> None:
    assert "ExecTransType" not in FIX44_FIELDS
    assert FIX42_FIELDS["ExecTransType"] == tags.ExecTransType == 20


def test_last_qty_when_looked_up_then_named_last_shares_in_fix42() -> None:
    assert FIX44_FIELDS["LastQty"] == tags.LastQty == 32
    assert FIX42_FIELDS["LastShares"] == 32
    assert "LastQty" not in FIX42_FIELDS


# ---------------------------------------------------------------- client decode


def test_decode_new_order_when_limit_order_then_all_terms_read() -> None:
    msg = message(
        "D",
        {11: "C1", 55: "ACME", 54: "1", 40: "2", 38: "100", 44: "10.25", 59: "3", 100: "BATS", 1: "ACC1"},
    )

    assert decode_new_order(msg) == NewOrder(
        cl_ord_id="C1",
        symbol="ACME",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=D(100),
        price=D("10.25"),
        tif=TimeInForce.IOC,
        ex_destination="BATS",
        account="ACC1",
    )


def test_decode_new_order_when_market_with_price_and_no_tif_then_price_ignored_and_day() -> None:
    msg = message("D", {11: "C1", 55: "ACME", 54: "5", 40: "1", 38: "2.5", 44: "10"})

    cmd = decode_new_order(msg)

    assert cmd.ord_type is OrdType.MARKET
    assert cmd.side is Side.SELL_SHORT
    assert cmd.qty == D("2.5")
    assert cmd.price is None
    assert cmd.tif is TimeInForce.DAY
    assert (cmd.ex_destination, cmd.account) == (None, None)


def test_decode_new_order_when_limit_without_price_then_price_none_for_the_core_to_reject() -> None:
    cmd = decode_new_order(message("D", {11: "C1", 55: "ACME", 54: "1", 40: "2", 38: "100"}))

    assert cmd.price is None


def test_decode_cancel_when_all_fields_then_cancel_order() -> None:
    msg = message("F", {11: "C2", 41: "C1", 55: "ACME", 54: "2", 37: "OT-1", 38: "100"})

    assert decode_cancel(msg) == CancelOrder(
        cl_ord_id="C2", orig_cl_ord_id="C1", symbol="ACME", side=Side.SELL, order_id="OT-1"
    )


def test_decode_replace_when_all_fields_then_replace_order() -> None:
    msg = message("G", {11: "C3", 41: "C2", 55: "ACME", 54: "1", 40: "2", 38: "150", 44: "10.5", 59: "1"})

    assert decode_replace(msg) == ReplaceOrder(
        cl_ord_id="C3",
        orig_cl_ord_id="C2",
        symbol="ACME",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        qty=D(150),
        price=D("10.5"),
        tif=TimeInForce.GTC,
        order_id=None,
    )


def test_decode_status_request_when_no_order_id_then_request_status() -> None:
    msg = message("H", {11: "C1", 55: "ACME", 54: "1"})

    assert decode_status_request(msg) == RequestStatus(cl_ord_id="C1", symbol="ACME", side=Side.BUY)


@pytest.mark.parametrize(
    ("msg_type", "fields", "expected_type"),
    [
        ("D", {11: "C1", 55: "ACME", 54: "1", 40: "1", 38: "1"}, NewOrder),
        ("F", {11: "C2", 41: "C1", 55: "ACME", 54: "1"}, CancelOrder),
        ("G", {11: "C2", 41: "C1", 55: "ACME", 54: "1", 40: "1", 38: "1"}, ReplaceOrder),
        ("H", {11: "C1", 55: "ACME", 54: "1"}, RequestStatus),
    ],
)
def test_decode_client_message_when_supported_type_then_dispatched(
    msg_type: str, fields: dict[int, str], expected_type: type
) -> None:
    assert type(decode_client_message(msg_type, message(msg_type, fields))) is expected_type


def test_decode_client_message_when_unsupported_type_then_key_error() -> None:
    with pytest.raises(KeyError):
        decode_client_message("8", message("8", {11: "C1"}))


@pytest.mark.parametrize(
    ("changes", "tag", "text"),
    [
        pytest.param({40: "3"}, 40, "unsupported OrdType '3'", id="ord-type-stop"),
        pytest.param({38: "abc"}, 38, "tag 38: not a number: 'abc'", id="qty-not-a-number"),
        pytest.param({38: "NaN"}, 38, "tag 38: not a finite number: 'NaN'", id="qty-nan"),
        pytest.param({38: "Infinity"}, 38, "tag 38: not a finite number: 'Infinity'", id="qty-infinite"),
        pytest.param({44: "1O.5"}, 44, "tag 44: not a number: '1O.5'", id="price-not-a-number"),
        pytest.param({54: "7"}, 54, "unsupported Side '7'", id="side"),
        pytest.param({59: "6"}, 59, "unsupported TimeInForce '6'", id="tif-gtd"),
    ],
)
def test_decode_new_order_when_value_unsupported_then_codec_error(
    changes: dict[int, str], tag: int, text: str
) -> None:
    fields = {11: "C1", 55: "ACME", 54: "1", 40: "2", 38: "100", 44: "10", **changes}

    with pytest.raises(CodecError) as exc:
        decode_new_order(message("D", fields))

    assert exc.value.tag == tag
    assert exc.value.text == text


def test_decode_replace_when_ord_type_unsupported_then_codec_error() -> None:
    msg = message("G", {11: "C3", 41: "C2", 55: "ACME", 54: "1", 40: "3", 38: "150"})

    with pytest.raises(CodecError, match=r"unsupported OrdType '3'"):
        decode_replace(msg)


def test_decode_new_order_when_qty_missing_then_codec_error() -> None:
    with pytest.raises(CodecError) as exc:
        decode_new_order(message("D", {11: "C1", 55: "ACME", 54: "1", 40: "1"}))

    assert (exc.value.tag, exc.value.text) == (38, "OrderQty is required")


def test_decode_new_order_when_cl_ord_id_missing_then_field_not_found() -> None:
    with pytest.raises(fix.FieldNotFound):
        decode_new_order(message("D", {55: "ACME", 54: "1", 40: "1", 38: "1"}))


def test_decimal_when_empty_or_missing_then_none() -> None:
    assert decimal(None, 38) is None
    assert decimal("", 38) is None
    assert decimal("1e3", 38) == D(1000)


# ---------------------------------------------------------------- client encode


def test_encode_execution_report_when_fix44_fill_then_exec_type_f_and_fill_fields() -> None:
    msg = encode_execution_report(er(**PARTIAL), FIX44)

    assert msg.getHeader().getField(35) == "8"
    assert {tag: field(msg, tag) for tag in (37, 11, 17, 150, 39, 55, 54, 40, 38, 44, 59)} == {
        37: "OT-1",
        11: "C1",
        17: "ET-1",
        150: "F",
        39: "1",
        55: "ACME",
        54: "1",
        40: "2",
        38: "100",
        44: "10.5",
        59: "0",
    }
    assert {tag: field(msg, tag) for tag in (32, 31, 30, 151, 14, 6)} == {
        32: "30",
        31: "10",
        30: "XNYS",
        151: "70",
        14: "30",
        6: "10",
    }
    assert not msg.isSetField(20)  # no ExecTransType in 4.4
    assert not msg.isSetField(41)
    assert not msg.isSetField(103)
    assert not msg.isSetField(58)
    assert TIMESTAMP.match(msg.getField(60))


def test_encode_execution_report_when_market_order_then_no_price_and_account_set() -> None:
    msg = encode_execution_report(ER_CASES["new-market-with-account"], FIX44)

    assert not msg.isSetField(44)
    assert (field(msg, 40), field(msg, 59), field(msg, 1)) == ("1", "3", "ACC1")


def test_encode_execution_report_when_rejected_then_reason_and_text() -> None:
    msg = encode_execution_report(ER_CASES["rejected"], FIX44)

    assert (field(msg, 150), field(msg, 39), field(msg, 103), field(msg, 58)) == (
        "8",
        "8",
        "2",
        "venue XNYS is not logged on",
    )


def test_encode_execution_report_when_replaced_then_orig_cl_ord_id_and_new_qty() -> None:
    msg = encode_execution_report(ER_CASES["replaced"], FIX44)

    assert (field(msg, 150), field(msg, 39), field(msg, 11), field(msg, 41)) == ("5", "1", "C2", "C1")
    assert (field(msg, 38), field(msg, 151)) == ("150", "120")


@pytest.mark.parametrize(
    ("case", "exec_trans_type", "exec_type", "ord_status"),
    [
        ("new", "0", "0", "0"),
        ("partial-fill", "0", "1", "1"),
        ("full-fill", "0", "2", "2"),
        ("fill-while-pending-cancel", "0", "1", "6"),
        ("pending-cancel", "0", "6", "6"),
        ("canceled", "0", "4", "4"),
        ("replaced", "0", "5", "1"),
        ("rejected", "0", "8", "8"),
        ("order-status", "3", "1", "1"),
        ("order-status-unknown", "3", "8", "8"),
    ],
)
def test_encode_execution_report_when_fix42_then_exec_trans_type_and_42_exec_type(
    case: str, exec_trans_type: str, exec_type: str, ord_status: str
) -> None:
    msg = encode_execution_report(ER_CASES[case], FIX42)

    assert (field(msg, 20), field(msg, 150), field(msg, 39)) == (exec_trans_type, exec_type, ord_status)


def test_encode_execution_report_when_fix42_fill_then_last_shares_on_tag_32() -> None:
    msg = encode_execution_report(er(**FULL), FIX42)

    assert (field(msg, 32), field(msg, 31), field(msg, 6)) == ("50", "10.02", "10.012")


@pytest.mark.parametrize("case", sorted(ER_CASES))
@pytest.mark.parametrize("begin_string", [FIX44, FIX42])
def test_encode_execution_report_when_validated_then_dictionary_accepts_it(
    case: str, begin_string: str
) -> None:
    validate(encode_execution_report(ER_CASES[case], begin_string), begin_string)


def test_encode_execution_report_when_fix44_reason_other_then_valid() -> None:
    report = dataclasses.replace(ER_CASES["rejected"], ord_rej_reason=OrdRejReason.OTHER)

    msg = encode_execution_report(report, FIX44)

    assert field(msg, 103) == "99"
    validate(msg, FIX44)


def test_encode_execution_report_when_fix42_reason_other_then_valid_against_fix42() -> None:
    report = dataclasses.replace(ER_CASES["rejected"], ord_rej_reason=OrdRejReason.OTHER)

    validate(encode_execution_report(report, FIX42), FIX42)


def test_validate_when_exec_type_invalid_then_dictionary_raises() -> None:
    # guards the validation tests above: the dictionary does reject a bad message
    msg = encode_execution_report(er(**PARTIAL), FIX44)
    msg.setField(150, "1")  # a FIX 4.2 fill code, gone from 4.4

    with pytest.raises(fix.IncorrectTagValue):
        validate(msg, FIX44)


def test_validate_when_required_field_missing_then_dictionary_raises() -> None:
    msg = encode_execution_report(er(), FIX44)
    msg.removeField(151)

    with pytest.raises(fix.RequiredTagMissing):
        validate(msg, FIX44)


def test_validate_static_binding_when_called_then_same_result() -> None:
    msg = encode_execution_report(er(), FIX44)
    validate(msg, FIX44)
    dd = data_dictionary(FIX44)

    fix.DataDictionary.validate(msg, dd, dd)
    msg.setField(39, "Z")
    with pytest.raises(fix.IncorrectTagValue):
        fix.DataDictionary.validate(msg, dd, dd)


def test_encode_cancel_reject_when_fix44_then_fields_as_given() -> None:
    msg = encode_cancel_reject(OCR_CASES["duplicate"], FIX44)

    assert msg.getHeader().getField(35) == "9"
    assert {tag: field(msg, tag) for tag in (37, 11, 41, 39, 434, 102, 58)} == {
        37: "OT-1",
        11: "C2",
        41: "C1",
        39: "0",
        434: "1",
        102: "6",
        58: "refused",
    }


@pytest.mark.parametrize(
    ("reason", "fix42_value"),
    [
        (CxlRejReason.TOO_LATE, "0"),
        (CxlRejReason.UNKNOWN_ORDER, "1"),
        (CxlRejReason.BROKER_OPTION, "2"),
        (CxlRejReason.ALREADY_PENDING, "3"),
        (CxlRejReason.DUPLICATE_CL_ORD_ID, "2"),
        (CxlRejReason.OTHER, "2"),
    ],
)
def test_encode_cancel_reject_when_fix42_then_reason_mapped_to_0_to_3(
    reason: CxlRejReason, fix42_value: str
) -> None:
    msg = encode_cancel_reject(ocr(reason=reason), FIX42)

    assert field(msg, 102) == fix42_value
    assert field(encode_cancel_reject(ocr(reason=reason), FIX44), 102) == reason.value


@pytest.mark.parametrize("case", sorted(OCR_CASES))
@pytest.mark.parametrize("begin_string", [FIX44, FIX42])
def test_encode_cancel_reject_when_validated_then_dictionary_accepts_it(case: str, begin_string: str) -> None:
    validate(encode_cancel_reject(OCR_CASES[case], begin_string), begin_string)


@pytest.mark.parametrize("begin_string", [FIX44, FIX42])
def test_encode_business_reject_when_validated_then_dictionary_accepts_it(begin_string: str) -> None:
    msg = encode_business_reject("X", "12", None, "3", "unsupported message type X")

    assert (field(msg, 372), field(msg, 45), field(msg, 380)) == ("X", "12", "3")
    assert not msg.isSetField(379)
    validate(msg, begin_string)


# ---------------------------------------------------------------- decimal and time formatting


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1E+2"), "100"),
        (D("1E+1"), "10"),  # what Fills.avg_px's normalize() makes of 10.00
        (D("10.00"), "10"),
        (D("10.500"), "10.5"),
        (D("0"), "0"),
        (D("0.000"), "0"),
        (D("1E-7"), "0.0000001"),
        (D("-2.50"), "-2.5"),
        (D("1000000"), "1000000"),
        (D("10.01234567891"), "10.0123456789"),
        (D("10.01234567895"), "10.012345679"),  # half-even to 10 places, then trailing zero dropped
        (D(1001) / D(3), "333.6666666667"),
        (D(2) / D(3), "0.6666666667"),
        (D("1E-12"), "0"),
    ],
)
def test_fmt_when_decimal_then_plain_text_without_exponent(value: Decimal, text: str) -> None:
    assert fmt(value) == text
    assert "E" not in fmt(value)


def test_encode_execution_report_when_avg_px_normalised_to_exponent_form_then_plain_on_the_wire() -> None:
    report = er(**{**PARTIAL, "avg_px": D("10.00").normalize(), "qty": D("1E+2"), "cum_qty": D("3E+1")})

    msg = encode_execution_report(report, FIX44)

    assert (field(msg, 6), field(msg, 38), field(msg, 14)) == ("10", "100", "30")


def test_encode_execution_report_when_long_avg_px_then_quantised_to_10_places() -> None:
    msg = encode_execution_report(er(**{**PARTIAL, "avg_px": D("1003") / D(3)}), FIX44)

    assert field(msg, 6) == "334.3333333333"


def test_utc_timestamp_when_given_ns_then_fix_format_with_millis() -> None:
    assert utc_timestamp(1_700_000_000_123_456_789) == "20231114-22:13:20.123"
    assert utc_timestamp(0) == "19700101-00:00:00.000"
    assert TIMESTAMP.match(utc_timestamp())


def test_raw_when_message_then_pipe_separated() -> None:
    msg = message("D", {11: "C1"}, header={8: FIX44})

    text = raw(msg)

    assert "\x01" not in text
    assert text.startswith("8=FIX.4.4|9=")
    assert "|35=D|11=C1|" in text


# ---------------------------------------------------------------- venue decode


def venue_er(begin_string: str, **fields: str) -> fix.Message:
    base = {
        37: "V1",
        11: "GT-1",
        17: "X1",
        39: "1",
        55: "ACME",
        54: "1",
        38: "100",
        14: "30",
        151: "70",
        6: "10",
        32: "30",
        31: "10.00",
    }
    if begin_string == FIX42:
        base[20] = "0"
    base.update({int(k[1:]): v for k, v in fields.items()})
    return message("8", base, header={8: begin_string})


def test_decode_venue_message_when_fix42_partial_fill_then_trade() -> None:
    msg = venue_er(FIX42, t150="1")

    rpt = decode_venue_message("8", msg, "XNYS", FIX42)

    assert rpt == VenueExecution(
        venue="XNYS",
        cl_ord_id="GT-1",
        orig_cl_ord_id=None,
        venue_order_id="V1",
        exec_id="X1",
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.PARTIALLY_FILLED,
        cum_qty=D(30),
        leaves_qty=D(70),
        avg_px=D(10),
        last_qty=D(30),
        last_px=D("10.00"),
        text=None,
        ord_rej_reason=None,
        poss_dup=False,
    )


def test_decode_venue_message_when_fix42_full_fill_then_trade_filled() -> None:
    rpt = decode_venue_message("8", venue_er(FIX42, t150="2", t39="2", t14="100", t151="0"), "XNYS", FIX42)

    assert isinstance(rpt, VenueExecution)
    assert (rpt.exec_type, rpt.ord_status, rpt.cum_qty, rpt.leaves_qty) == (
        ExecType.TRADE,
        OrdStatus.FILLED,
        D(100),
        D(0),
    )


def test_decode_venue_message_when_fix42_exec_trans_type_status_then_order_status() -> None:
    rpt = decode_venue_message("8", venue_er(FIX42, t20="3", t150="1"), "XNYS", FIX42)

    assert isinstance(rpt, VenueExecution)
    assert rpt.exec_type is ExecType.ORDER_STATUS


@pytest.mark.parametrize(
    ("raw_exec_type", "expected"),
    [("0", ExecType.NEW), ("4", ExecType.CANCELED), ("5", ExecType.REPLACED), ("8", ExecType.REJECTED)],
)
def test_decode_venue_message_when_fix42_non_fill_exec_type_then_same_meaning(
    raw_exec_type: str, expected: ExecType
) -> None:
    rpt = decode_venue_message("8", venue_er(FIX42, t150=raw_exec_type), "XNYS", FIX42)

    assert rpt.exec_type is expected  # type: ignore[union-attr]


@pytest.mark.parametrize(("raw_exec_type", "expected"), [("F", ExecType.TRADE), ("I", ExecType.ORDER_STATUS)])
def test_decode_venue_message_when_fix44_then_exec_type_read_as_is(
    raw_exec_type: str, expected: ExecType
) -> None:
    rpt = decode_venue_message("8", venue_er(FIX44, t150=raw_exec_type), "XNYS", FIX44)

    assert rpt.exec_type is expected  # type: ignore[union-attr]


def test_decode_venue_message_when_fix44_sends_42_fill_code_then_codec_error() -> None:
    with pytest.raises(CodecError, match=r"unsupported ExecType '1'"):
        decode_venue_message("8", venue_er(FIX44, t150="1"), "XNYS", FIX44)


def test_decode_venue_message_when_poss_dup_then_flagged_and_text_read() -> None:
    msg = venue_er(FIX44, t150="4", t39="4", t58="IOC remainder", t41="GT-0")
    msg.getHeader().setField(43, "Y")

    rpt = decode_venue_message("8", msg, "XNYS", FIX44)

    assert isinstance(rpt, VenueExecution)
    assert (rpt.poss_dup, rpt.text, rpt.orig_cl_ord_id) == (True, "IOC remainder", "GT-0")


def test_decode_venue_message_when_no_cl_ord_id_then_codec_error() -> None:
    msg = venue_er(FIX44, t150="0")
    msg.removeField(11)

    with pytest.raises(CodecError, match="without ClOrdID"):
        decode_venue_message("8", msg, "XNYS", FIX44)


def test_decode_venue_message_when_cancel_reject_then_venue_cancel_reject() -> None:
    msg = message("9", {37: "V1", 11: "GT-2", 41: "GT-1", 39: "2", 102: "0", 58: "too late"})

    rpt = decode_venue_message("9", msg, "XNYS", FIX44)

    assert rpt == VenueCancelReject(
        venue="XNYS",
        cl_ord_id="GT-2",
        orig_cl_ord_id="GT-1",
        venue_order_id="V1",
        ord_status=OrdStatus.FILLED,
        response_to=CxlRejResponseTo.CANCEL,
        reason="0",
        text="too late",
    )


def test_decode_venue_message_when_cancel_reject_for_replace_with_odd_status_then_status_none() -> None:
    msg = message("9", {11: "GT-2", 434: "2", 39: "Z"})

    rpt = decode_venue_message("9", msg, "XNYS", FIX42)

    assert isinstance(rpt, VenueCancelReject)
    assert (rpt.response_to, rpt.ord_status, rpt.orig_cl_ord_id) == (CxlRejResponseTo.REPLACE, None, "")


def test_decode_venue_message_when_unsupported_type_then_codec_error() -> None:
    with pytest.raises(CodecError, match="unsupported venue message type j"):
        decode_venue_message("j", message("j", {58: "x"}), "XNYS", FIX44)


# ---------------------------------------------------------------- venue encode

VENUE_COMMANDS = {
    "new-limit": SendChildOrder(
        "XNYS", "GT-1", "ACME", Side.BUY, OrdType.LIMIT, D("100"), D("10.50"), TimeInForce.DAY, "ACC1"
    ),
    "new-market": SendChildOrder(
        "XNYS", "GT-1", "ACME", Side.SELL, OrdType.MARKET, D("1E+2"), None, TimeInForce.IOC
    ),
    "cancel": CancelChildOrder("XNYS", "GT-2", "GT-1", "V1", "ACME", Side.BUY, D(100)),
    "cancel-unacked": CancelChildOrder("XNYS", "GT-2", "GT-1", None, "ACME", Side.BUY, D(100)),
    "replace": ReplaceChildOrder(
        "XNYS", "GT-3", "GT-1", "V1", "ACME", Side.BUY, OrdType.LIMIT, D(150), D("10.05"), TimeInForce.DAY
    ),
    "status": RequestChildStatus("XNYS", "GT-1", "V1", "ACME", Side.BUY),
}


def test_encode_venue_command_when_new_limit_then_new_order_single() -> None:
    msg = encode_venue_command(VENUE_COMMANDS["new-limit"], FIX44)

    assert msg.getHeader().getField(35) == "D"
    assert {tag: field(msg, tag) for tag in (11, 1, 21, 55, 54, 38, 40, 44, 59)} == {
        11: "GT-1",
        1: "ACC1",
        21: "1",
        55: "ACME",
        54: "1",
        38: "100",
        40: "2",
        44: "10.5",
        59: "0",
    }
    assert TIMESTAMP.match(msg.getField(60))


def test_encode_venue_command_when_market_then_no_price_and_plain_qty() -> None:
    msg = encode_venue_command(VENUE_COMMANDS["new-market"], FIX44)

    assert not msg.isSetField(44)
    assert not msg.isSetField(1)
    assert (field(msg, 38), field(msg, 40), field(msg, 59)) == ("100", "1", "3")


def test_encode_venue_command_when_cancel_then_order_id_only_if_known() -> None:
    acked = encode_venue_command(VENUE_COMMANDS["cancel"], FIX44)
    unacked = encode_venue_command(VENUE_COMMANDS["cancel-unacked"], FIX44)

    assert acked.getHeader().getField(35) == "F"
    assert (field(acked, 11), field(acked, 41), field(acked, 37), field(acked, 38)) == (
        "GT-2",
        "GT-1",
        "V1",
        "100",
    )
    assert not unacked.isSetField(37)


def test_encode_venue_command_when_replace_then_new_terms() -> None:
    msg = encode_venue_command(VENUE_COMMANDS["replace"], FIX44)

    assert msg.getHeader().getField(35) == "G"
    assert (field(msg, 11), field(msg, 41), field(msg, 38), field(msg, 44)) == (
        "GT-3",
        "GT-1",
        "150",
        "10.05",
    )


def test_encode_venue_command_when_not_a_command_then_type_error() -> None:
    with pytest.raises(TypeError):
        encode_venue_command("D", FIX44)  # type: ignore[arg-type]


@pytest.mark.parametrize("case", sorted(VENUE_COMMANDS))
@pytest.mark.parametrize("begin_string", [FIX44, FIX42])
def test_encode_venue_command_when_validated_then_dictionary_accepts_it(case: str, begin_string: str) -> None:
    validate(encode_venue_command(VENUE_COMMANDS[case], begin_string), begin_string)


# ---------------------------------------------------------------- dictionary reader


def test_dictionary_when_fix44_then_names_and_enum_meanings() -> None:
    d = base_dictionary(FIX44)

    assert d.enum_name(150, "F") == "TRADE"
    assert d.enum_name(39, "6") == "PENDING_CANCEL"
    assert d.enum_name(150, "1") is None  # 4.2's partial fill is not 4.4
    assert d.name(11) == "ClOrdID"
    assert d.name(32) == "LastQty"
    assert d.name(999_999) == "999999"
    assert d.tag("ExDestination") == 100
    assert d.describe(150, "F") == "ExecType=F(TRADE)"
    assert d.describe(11, "C1") == "ClOrdID=C1"
    assert d.messages["D"] == "NewOrderSingle"
    assert d.messages["9"] == "OrderCancelReject"
    assert d.fields_by_tag[38].type == "QTY"


def test_dictionary_when_fix42_then_42_names_and_fill_codes() -> None:
    d = base_dictionary(FIX42)

    assert d.name(32) == "LastShares"
    assert d.name(20) == "ExecTransType"
    assert d.enum_name(150, "1") == "PARTIAL_FILL"
    assert d.enum_name(150, "2") == "FILL"
    assert d.enum_name(20, "3") == "STATUS"


def test_dictionary_when_loaded_twice_then_cached() -> None:
    assert load_dictionary(SPEC_DIR / "FIX44.xml") is load_dictionary(SPEC_DIR / "FIX44.xml")
    assert base_dictionary(FIX44) is base_dictionary(FIX44)
    assert SPEC_DIR == SPECS


def test_dictionary_when_compared_with_spec_file_then_every_field_read() -> None:
    assert {f.name: f.tag for f in base_dictionary(FIX44).fields_by_tag.values()} == FIX44_FIELDS


def test_a_journal_line_becomes_a_message_to_send_again():
    from gateway.codec.fields import from_raw

    msg = from_raw(
        "8=FIX.4.4|9=99|35=8|34=7|49=FIXGW|52=20261126-18:00:00.000|56=C1|43=Y|11=A|17=E1|58=x|y|10=123|"
    )
    assert msg.getHeader().getField(35) == "8"
    assert not any(msg.getHeader().isSetField(tag) for tag in (34, 49, 52, 56, 43))
    assert (msg.getField(11), msg.getField(17), msg.getField(58)) == ("A", "E1", "x|y")
    assert not msg.isSetField(9) and not msg.isSetField(10)
