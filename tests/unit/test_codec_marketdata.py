"""Unit tests for the market-data codec (gateway.codec.marketdata).

Every encoded message is validated against the QuickFIX data dictionary of its version
(FIXT 1.1 messages against FIXT11.xml + FIX50SP2.xml), then parsed back from its wire form
with that dictionary, as a session would hand it over, and decoded. No sockets.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import quickfix as fix

from gateway.codec import marketdata as md
from gateway.codec.fields import CodecError
from gateway.codec.marketdata import (
    MDAction,
    MDRejectReason,
    MDRequest,
    MDSide,
    MDUpdate,
    decode_market_data,
    decode_md_reject,
    decode_md_request,
    encode_incremental,
    encode_md_reject,
    encode_md_request,
    encode_snapshot,
    level_changes,
)
from gateway.fix.dictionary import SPEC_DIR, base_dictionary

D = Decimal
FIX42, FIX44, FIXT11 = "FIX.4.2", "FIX.4.4", "FIXT.1.1"
VERSIONS = [FIX42, FIX44, FIXT11]
BID, ASK, TRADE = MDSide.BID, MDSide.ASK, MDSide.TRADE
NEW, CHANGE, DELETE, SNAP = MDAction.NEW, MDAction.CHANGE, MDAction.DELETE, MDAction.SNAPSHOT

_DD: dict[str, fix.DataDictionary] = {}


def dd(name: str) -> fix.DataDictionary:
    if name not in _DD:
        _DD[name] = fix.DataDictionary(str(SPEC_DIR / name))
    return _DD[name]


def stamp(msg: fix.Message, begin_string: str) -> str:
    header = msg.getHeader()
    header.setField(8, begin_string)
    header.setField(49, "SIM")
    header.setField(56, "FIXGW")
    header.setField(34, "7")
    header.setField(52, "20240102-03:04:05.678")
    return msg.toString()


def validate(msg: fix.Message, begin_string: str) -> fix.Message:
    """Validate as QuickFIX would on receipt; returns the message parsed back from the wire."""
    wire = stamp(msg, begin_string)
    if begin_string == FIXT11:
        fix.DataDictionary.validate(msg, dd("FIXT11.xml"), dd("FIX50SP2.xml"))
        parsed = fix.Message(wire, dd("FIXT11.xml"), dd("FIX50SP2.xml"), True)
        fix.DataDictionary.validate(parsed, dd("FIXT11.xml"), dd("FIX50SP2.xml"))
    else:
        spec = dd({FIX42: "FIX42.xml", FIX44: "FIX44.xml"}[begin_string])
        spec.validate(msg)
        parsed = fix.Message(wire, spec, True)
        spec.validate(parsed)
    return parsed


def pairs(msg: fix.Message) -> list[tuple[int, str]]:
    out = []
    for token in msg.toString().split("\x01")[:-1]:
        tag, _, value = token.partition("=")
        out.append((int(tag), value))
    return out


def body(msg: fix.Message) -> list[tuple[int, str]]:
    return [(t, v) for t, v in pairs(msg) if t not in (8, 9, 10, 34, 35, 49, 52, 56)]


# ---------------------------------------------------------------- tags


@pytest.mark.parametrize(
    "name",
    [
        "NoRelatedSym",
        "MDReqID",
        "SubscriptionRequestType",
        "MarketDepth",
        "MDUpdateType",
        "AggregatedBook",
        "NoMDEntryTypes",
        "NoMDEntries",
        "MDEntryType",
        "MDEntryPx",
        "MDEntrySize",
        "MDUpdateAction",
        "MDReqRejReason",
        "LastUpdateTime",
    ],
)
def test_tag_constants_match_the_dictionaries(name):
    spec = base_dictionary(FIXT11 if name == "LastUpdateTime" else FIX44)
    assert spec.tag(name) == getattr(md, name)


@pytest.mark.parametrize("version", VERSIONS)
def test_enum_values_exist_in_every_dictionary(version):
    spec = base_dictionary(version)
    assert {s.value for s in MDSide} <= set(spec.fields_by_tag[md.MDEntryType].enums)
    assert {a.value for a in (NEW, CHANGE, DELETE)} <= set(spec.fields_by_tag[md.MDUpdateAction].enums)
    assert {r.value for r in MDRejectReason} <= set(spec.fields_by_tag[md.MDReqRejReason].enums)


# ---------------------------------------------------------------- MarketDataRequest


@pytest.mark.parametrize("version", VERSIONS)
def test_subscribe_request_round_trip(version):
    msg = encode_md_request("MD1", ["AAPL", "MSFT"], 5, True, version)
    parsed = validate(msg, version)
    fields = body(parsed)
    assert (263, "1") in fields and (264, "5") in fields and (265, "1") in fields and (266, "Y") in fields
    # Groups: count, then each entry led by its delimiter.
    i = fields.index((267, "3"))
    assert fields[i + 1 : i + 4] == [(269, "0"), (269, "1"), (269, "2")]
    i = fields.index((146, "2"))
    assert fields[i + 1 : i + 3] == [(55, "AAPL"), (55, "MSFT")]
    assert decode_md_request(parsed) == MDRequest("MD1", True, 5, ("AAPL", "MSFT"))


@pytest.mark.parametrize("version", VERSIONS)
def test_unsubscribe_and_snapshot_only_requests(version):
    unsub = validate(encode_md_request("MD1", ["AAPL"], 0, False, version), version)
    assert dict(body(unsub))[263] == "2"
    assert 265 not in dict(body(unsub))
    req = decode_md_request(unsub)
    assert (req.req_id, req.subscribe, req.depth, req.symbols) == ("MD1", False, 0, ("AAPL",))

    once = validate(encode_md_request("S1", ["AAPL"], 1, True, version, snapshot_only=True), version)
    req = decode_md_request(once)
    assert (req.subscribe, req.snapshot_only, dict(body(once))[263]) == (True, True, "0")


@pytest.mark.parametrize("version", VERSIONS)
def test_request_options_full_refresh_and_entry_types(version):
    msg = encode_md_request("F1", ["X"], 10, True, version, full_refresh=True, entry_types=[ASK])
    req = decode_md_request(validate(msg, version))
    assert (req.full_refresh, req.entry_types, req.depth) == (True, frozenset({ASK}), 10)


def test_request_arguments_are_checked():
    with pytest.raises(ValueError):
        encode_md_request("R", [], 5, True, FIX44)
    with pytest.raises(ValueError):
        encode_md_request("R", ["A"], -1, True, FIX44)


def test_request_decoding_skips_unknown_entry_types_and_refuses_bad_depth():
    msg = encode_md_request("R", ["A"], 5, True, FIX44)
    g = fix.Group(md.NoMDEntryTypes, md.MDEntryType)
    g.setField(md.MDEntryType, "4")  # opening price: not published by fixgw
    msg.addGroup(g)
    assert decode_md_request(validate(msg, FIX44)).entry_types == frozenset(MDSide)
    msg.setField(md.MarketDepth, "-3")
    with pytest.raises(CodecError) as exc:
        decode_md_request(msg)
    assert exc.value.tag == md.MarketDepth


# ---------------------------------------------------------------- snapshots (W)

BIDS = [(D("189.99"), D(100)), (D("189.98"), D(250))]
ASKS = [(D("190.01"), D(100)), (D("190.02"), D("0.5"))]


@pytest.mark.parametrize("version", VERSIONS)
def test_snapshot_round_trip(version):
    msg = encode_snapshot("MD1", "AAPL", BIDS, ASKS, (D("190.00"), D(30)), version)
    parsed = validate(msg, version)
    fields = body(parsed)
    i = fields.index((268, "5"))
    assert fields[i + 1 : i + 4] == [(269, "0"), (270, "189.99"), (271, "100")]
    assert fields[i + 10 : i + 13] == [(269, "1"), (270, "190.02"), (271, "0.5")]
    assert fields[i + 13 : i + 16] == [(269, "2"), (270, "190"), (271, "30")]
    assert (779 in dict(fields)) is (version == FIXT11)  # LastUpdateTime: required by FIX 5.0 SP2 only
    assert decode_market_data("W", parsed, version) == [
        MDUpdate("AAPL", BID, D("189.99"), D(100), SNAP),
        MDUpdate("AAPL", BID, D("189.98"), D(250), SNAP),
        MDUpdate("AAPL", ASK, D("190.01"), D(100), SNAP),
        MDUpdate("AAPL", ASK, D("190.02"), D("0.5"), SNAP),
        MDUpdate("AAPL", TRADE, D("190.00"), D(30), SNAP),
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_book_snapshot_says_the_book_is_empty(version):
    parsed = validate(encode_snapshot("MD1", "NEW", [], [], None, version), version)
    assert dict(body(parsed))[268] == "0"
    assert decode_market_data("W", parsed, version) == [MDUpdate("NEW", None, None, None, SNAP)]
    parsed = validate(encode_snapshot(None, "NEW", [], [], (D(5), D(1)), version), version)
    assert 262 not in dict(body(parsed))
    assert decode_market_data("W", parsed, version) == [
        MDUpdate("NEW", None, None, None, SNAP),
        MDUpdate("NEW", TRADE, D(5), D(1), SNAP),
    ]


# ---------------------------------------------------------------- incremental refreshes (X)

CHANGES = [
    MDUpdate("AAPL", BID, D("189.95"), None, DELETE),
    MDUpdate("AAPL", BID, D("190.00"), D(50), NEW),
    MDUpdate("AAPL", ASK, D("190.01"), D(70), CHANGE),
    MDUpdate("MSFT", TRADE, D("410.5"), D(3), NEW),
]


@pytest.mark.parametrize("version", VERSIONS)
def test_incremental_round_trip(version):
    parsed = validate(encode_incremental("MD1", CHANGES, version), version)
    fields = body(parsed)
    i = fields.index((268, "4"))
    assert fields[i + 1 : i + 5] == [(279, "2"), (269, "0"), (55, "AAPL"), (270, "189.95")]  # no size
    assert fields[i + 5 : i + 10] == [(279, "0"), (269, "0"), (55, "AAPL"), (270, "190"), (271, "50")]
    assert decode_market_data("X", parsed, version) == CHANGES


def test_incremental_refuses_what_it_cannot_say():
    with pytest.raises(ValueError):
        encode_incremental("R", [], FIX44)
    with pytest.raises(ValueError):
        encode_incremental("R", [MDUpdate("A", BID, D(1), D(1), SNAP)], FIX44)
    with pytest.raises(ValueError):
        encode_incremental("R", [MDUpdate("A", BID, None, D(1), NEW)], FIX44)


def x_message(*entries: dict[int, str], version: str = FIX44) -> fix.Message:
    msg = fix.Message()
    msg.getHeader().setField(35, "X")
    msg.setField(md.MDReqID, "R")
    for e in entries:
        g = fix.Group(md.NoMDEntries, md.MDUpdateAction)
        for tag, value in e.items():
            g.setField(tag, value)
        msg.addGroup(g)
    return validate(msg, version)


def test_incremental_entries_without_symbol_take_the_previous_one():
    msg = x_message(
        {279: "0", 269: "0", 55: "A", 270: "1", 271: "2"},
        {279: "1", 269: "1", 270: "3", 271: "4"},
    )
    assert [u.symbol for u in decode_market_data("X", msg, FIX44)] == ["A", "A"]
    msg = x_message({279: "2", 269: "1", 270: "3"})
    with pytest.raises(CodecError):
        decode_market_data("X", msg, FIX44)
    assert decode_market_data("X", msg, FIX44, symbol="S") == [MDUpdate("S", ASK, D(3), None, DELETE)]


def test_incremental_skips_other_entry_types_and_refuses_unusable_entries():
    msg = x_message({279: "0", 269: "4", 55: "A", 270: "1"}, {279: "0", 269: "2", 55: "A", 270: "9"})
    assert decode_market_data("X", msg, FIX44) == [MDUpdate("A", TRADE, D(9), None, NEW)]
    for entry in (
        {279: "0", 269: "0", 55: "A", 271: "2"},  # no price
        {279: "1", 269: "0", 55: "A", 270: "2"},  # no size on a change
        {279: "0", 269: "0", 55: "A", 270: "abc", 271: "1"},
    ):
        with pytest.raises(CodecError):
            decode_market_data("X", x_message(entry), FIX44)
    overlay = x_message({279: "5", 269: "0", 55: "A", 270: "1", 271: "1"}, version=FIXT11)
    with pytest.raises(CodecError) as exc:
        decode_market_data("X", overlay, FIXT11)
    assert exc.value.tag == md.MDUpdateAction
    with pytest.raises(CodecError):
        decode_market_data("D", overlay, FIX44)


@pytest.mark.parametrize("version", VERSIONS)
def test_wire_reading_and_group_reading_agree(version):
    for msg_type, msg in (
        ("X", encode_incremental("MD1", CHANGES, version)),
        ("W", encode_snapshot("MD1", "AAPL", BIDS, ASKS, (D(1), D(2)), version)),
    ):
        parsed = validate(msg, version)
        delim = "279" if msg_type == "X" else "269"
        assert md._wire_entries(parsed, version, delim) == md._group_entries(parsed, msg_type == "W")


def test_raw_data_in_an_entry_falls_back_to_group_reading():
    """EncodedText may hold the field separator; the wire form must not be trusted then."""
    msg = encode_incremental("R", [MDUpdate("AAPL", BID, D(1), D(2), NEW)], FIX44)
    g = fix.Group(md.NoMDEntries, md.MDUpdateAction)
    msg.getGroup(1, g)
    g.setField(354, "7")
    g.setField(355, "a\x01270=9")
    msg.replaceGroup(1, g)
    parsed = validate(msg, FIX44)
    assert md._wire_entries(parsed, FIX44, "279") is None
    assert decode_market_data("X", parsed, FIX44) == [MDUpdate("AAPL", BID, D(1), D(2), NEW)]


# ---------------------------------------------------------------- reject (Y)


@pytest.mark.parametrize("version", VERSIONS)
def test_reject_round_trip(version):
    parsed = validate(encode_md_reject("MD1", MDRejectReason.DUPLICATE_MD_REQ_ID, "dup", version), version)
    rej = decode_md_reject(parsed)
    assert (rej.req_id, rej.reason, rej.text) == ("MD1", "1", "dup")
    rej = decode_md_reject(validate(encode_md_reject("MD2", None, None, version), version))
    assert (rej.reason, rej.text) == (None, None)


# ---------------------------------------------------------------- level_changes


def test_level_changes_are_keyed_by_price():
    old = ([(D(10), D(1)), (D(9), D(1))], [(D(11), D(1)), (D(12), D(1))])
    new = ([(D("10.5"), D(2)), (D(10), D(3))], [(D(11), D(1)), (D(12), D(1))])
    assert level_changes("S", old, new) == [
        MDUpdate("S", BID, D(9), None, DELETE),
        MDUpdate("S", BID, D("10.5"), D(2), NEW),
        MDUpdate("S", BID, D(10), D(3), CHANGE),
    ]
    assert level_changes("S", old, old) == []
    assert level_changes("S", ([], []), ([], [(D(1), D(1))])) == [MDUpdate("S", ASK, D(1), D(1), NEW)]
