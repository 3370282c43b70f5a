"""The codec's fast paths give what the binding's field-by-field calls give."""

from __future__ import annotations

import pytest
import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import Body, fields, need, new_message, raw_field


def test_body_serialises_like_set_field() -> None:
    slow = new_message("8")
    fast = Body("8")
    for tag, value in ((t.OrderID, "O1"), (t.ClOrdID, "C|1"), (t.Symbol, "ESH4"), (t.Price, "4800.25")):
        slow.setField(tag, value)
        fast.set(tag, value)
    fast.set_opt(t.Text, None)
    assert fast.message().toString() == slow.toString()


def test_body_keeps_soh_from_injecting_fields() -> None:
    body = Body("8")
    body.set(t.Text, "bad\x0144=1")
    msg = body.message()
    assert msg.getField(t.Text) == "bad 44=1"
    assert not msg.isSetField(t.Price)


def test_fields_reads_body_and_header_by_tag() -> None:
    msg = fix.Message("8=FIX.4.4\x019=5\x0135=D\x0143=Y\x0111=A=B\x0155=ES\x0110=000\x01", False)
    f = fields(msg)
    assert (f.get(t.ClOrdID), f.get(t.PossDupFlag), f.get(t.Price)) == ("A=B", "Y", None)
    with pytest.raises(fix.FieldNotFound):
        need(f, t.Price)


def test_fields_falls_back_to_the_binding_for_data_fields() -> None:
    msg = new_message("D")
    msg.setField(95, "3")
    msg.setField(96, "a\x01b")
    msg.setField(t.ClOrdID, "C1")
    f = fields(msg)
    assert not isinstance(f, dict)
    assert f.get(t.ClOrdID) == "C1" and f.get(96) == "a\x01b"


def test_raw_field_reads_a_journal_line() -> None:
    line = "8=FIX.4.4|9=60|35=D|34=7|11=A=B|55=ES|10=000|"
    assert (raw_field(line, 34), raw_field(line, 11), raw_field(line, 44)) == ("7", "A=B", None)
    assert raw_field("35=D|11=LAST", 11) == "LAST"
