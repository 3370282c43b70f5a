"""Venue dialects (gateway.codec.dialect): symbology both ways, SecurityID, extra tags with
placeholders, and what the venue supports. Every adapted message is validated by QuickFIX against
the venue's own (merged) dictionary."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
import quickfix as fix

from gateway.codec.dialect import Dialect
from gateway.codec.venue import encode_venue_command
from gateway.config import VenueConfig, load_config
from gateway.config.model import VenueFees
from gateway.fix.overlay import merged_dictionary
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.orders.messages import CancelChildOrder, ReplaceChildOrder, RequestChildStatus, SendChildOrder

REPO = Path(__file__).resolve().parents[2]

GATEWAY = """\
gateway: {comp_id: FIXGW, home: .., acceptor: {port: 9878}}
instruments:
  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, venue: V1}
  - {symbol: ESH4, tick_size: "0.25", lot_size: 1, currency: USD, venue: V1}
  - {symbol: MSFT, tick_size: "0.01", lot_size: 1, currency: USD, venue: V1}
"""
# 9001-9004 on every order message, 9005 only on new orders.
OVERLAY = """\
<fix>
  <messages>
    <message name="NewOrderSingle" msgtype="D">
      <field name="TagA" required="N"/><field name="TagB" required="N"/>
      <field name="TagC" required="N"/><field name="TagD" required="N"/><field name="TagE" required="N"/>
    </message>
    <message name="OrderCancelRequest" msgtype="F">
      <field name="TagA" required="N"/><field name="TagB" required="N"/>
      <field name="TagC" required="N"/><field name="TagD" required="N"/>
    </message>
    <message name="OrderCancelReplaceRequest" msgtype="G">
      <field name="TagA" required="N"/><field name="TagB" required="N"/>
      <field name="TagC" required="N"/><field name="TagD" required="N"/>
    </message>
    <message name="OrderStatusRequest" msgtype="H">
      <field name="TagA" required="N"/><field name="TagB" required="N"/>
      <field name="TagC" required="N"/><field name="TagD" required="N"/>
    </message>
  </messages>
  <fields>
    <field number="9001" name="TagA" type="STRING"/>
    <field number="9002" name="TagB" type="STRING"/>
    <field number="9003" name="TagC" type="STRING"/>
    <field number="9004" name="TagD" type="STRING"/>
    <field number="9005" name="TagE" type="STRING"/>
  </fields>
</fix>
"""
VENUE = """\
name: V1
host: 127.0.0.1
port: 9881
fix_version: "{version}"
dictionary_overlay: overlay.xml
symbology:
  AAPL: AAPL.OQ
  ESH4: {{symbol: ES, security_id: "123456", id_source: 8}}
extra_tags:
  50: DESK1
  9001: "{{account}}"
  9002: "{{client}}"
  9003: "{{symbol}}"
  9004: "{{venue_symbol}}"
  9005: FIXED
order_types: [limit]
time_in_force: [day, ioc]
fees: {{maker_bps: "-0.2", taker_bps: 0.3}}
instruments:
  AAPL: {{lot_size: 100}}
  ESH4: {{tick_size: "0.5"}}
"""


def load_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venue: str) -> VenueConfig:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config/venues").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config/gateway.yaml").write_text(GATEWAY)
    (tmp_path / "overlay.xml").write_text(OVERLAY)
    (tmp_path / "config/venues/V1.yaml").write_text(textwrap.dedent(venue))
    return load_config("config/gateway.yaml").venues["V1"]


@pytest.fixture
def venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> VenueConfig:
    return load_venue(tmp_path, monkeypatch, VENUE.format(version="4.4"))


def validate(venue: VenueConfig, msg: fix.Message, tmp_path: Path) -> None:
    """Stamp the session header and validate against the venue's merged dictionary."""
    assert venue.dictionary_overlay is not None
    path = merged_dictionary(venue.dictionary, venue.dictionary_overlay, tmp_path / "dictionaries")
    header = msg.getHeader()
    header.setField(8, venue.begin_string)
    header.setField(49, "FIXGW")
    header.setField(56, "V1")
    header.setField(34, "7")
    header.setField(52, "20240102-03:04:05.678")
    msg.toString()
    dd = fix.DataDictionary(str(path))
    fix.DataDictionary.validate(msg, dd, dd)


def field(msg: fix.Message, tag: int) -> str | None:
    return msg.getField(tag) if msg.isSetField(tag) else None


def new_order(symbol: str, account: str | None = "ACC1") -> SendChildOrder:
    return SendChildOrder(
        "V1", "C1", symbol, Side.BUY, OrdType.LIMIT, Decimal(10), Decimal("1.5"), TimeInForce.DAY, account
    )


AMENDS = {
    "F": CancelChildOrder("V1", "C2", "C1", "V-1", "ESH4", Side.SELL, Decimal(3)),
    "G": ReplaceChildOrder(
        "V1",
        "C2",
        "C1",
        "V-1",
        "ESH4",
        Side.SELL,
        OrdType.LIMIT,
        Decimal(3),
        Decimal("4800"),
        TimeInForce.DAY,
    ),
    "H": RequestChildStatus("V1", "C1", "V-1", "ESH4", Side.SELL),
}


# -------------------------------------------------------------------------------------- symbology


def test_symbols_map_both_ways_and_unmapped_ones_pass_through(venue: VenueConfig) -> None:
    dialect = Dialect.from_config(venue)
    assert dialect.venue_symbol("AAPL") == "AAPL.OQ" and dialect.inbound_symbol("AAPL.OQ") == "AAPL"
    assert dialect.venue_symbol("ESH4") == "ES" and dialect.inbound_symbol("ES") == "ESH4"
    assert dialect.venue_symbol("MSFT") == "MSFT" and dialect.inbound_symbol("MSFT") == "MSFT"
    assert dialect.inbound_symbol("UNKNOWN") == "UNKNOWN"
    assert dialect.security("ESH4") is not None and dialect.security("MSFT") is None


def test_new_order_gets_venue_symbol_and_every_extra_tag(venue: VenueConfig, tmp_path: Path) -> None:
    msg = encode_venue_command(new_order("AAPL"), venue.begin_string)
    Dialect.from_config(venue).outbound(msg, symbol="AAPL", account="ACC1", client="CLIENT1")

    assert field(msg, 55) == "AAPL.OQ"
    assert field(msg, 48) is None and field(msg, 22) is None  # no SecurityID configured for AAPL
    assert msg.getHeader().getField(50) == "DESK1" and field(msg, 50) is None  # header tag
    assert {tag: field(msg, tag) for tag in range(9001, 9006)} == {
        9001: "ACC1",
        9002: "CLIENT1",
        9003: "AAPL",
        9004: "AAPL.OQ",
        9005: "FIXED",
    }
    assert field(msg, 1) == "ACC1" and field(msg, 38) == "10" and field(msg, 11) == "C1"  # untouched
    validate(venue, msg, tmp_path)


def test_security_id_and_message_specific_tags(venue: VenueConfig, tmp_path: Path) -> None:
    dialect = Dialect.from_config(venue)
    msg = encode_venue_command(new_order("ESH4"), venue.begin_string)
    dialect.outbound(msg, symbol="ESH4", account="ACC1", client="CLIENT1")
    assert (field(msg, 55), field(msg, 48), field(msg, 22)) == ("ES", "123456", "8")
    assert field(msg, 9004) == "ES" and field(msg, 9003) == "ESH4"
    validate(venue, msg, tmp_path)

    for msg_type, cmd in AMENDS.items():
        msg = encode_venue_command(cmd, venue.begin_string)
        dialect.outbound(msg, symbol="ESH4", account=None, client="CLIENT1")
        assert msg.getHeader().getField(35) == msg_type
        assert (field(msg, 55), field(msg, 48), field(msg, 22)) == ("ES", "123456", "8")
        assert field(msg, 9001) is None  # {account}: the order has none, so the tag is left out
        assert field(msg, 9002) == "CLIENT1" and msg.getHeader().getField(50) == "DESK1"
        assert field(msg, 9005) is None  # only NewOrderSingle defines it in the venue's dictionary
        validate(venue, msg, tmp_path)


def test_fix42_venue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venue = load_venue(tmp_path, monkeypatch, VENUE.format(version="4.2"))
    dialect = Dialect.from_config(venue)
    for cmd in (new_order("ESH4"), *AMENDS.values()):
        msg = encode_venue_command(cmd, venue.begin_string)
        dialect.outbound(msg, symbol="ESH4", account="A", client="C")
        assert (field(msg, 55), field(msg, 48), field(msg, 22)) == ("ES", "123456", "8")
        validate(venue, msg, tmp_path)


def test_example_overlay_tag_only_where_the_venue_defines_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlay = REPO / "fix_specs/overlays/example-venue.xml"
    venue = load_venue(
        tmp_path,
        monkeypatch,
        f'name: V1\nhost: 127.0.0.1\nport: 9881\nfix_version: "4.4"\n'
        f"dictionary_overlay: {overlay}\nextra_tags: {{9001: '{{client}}'}}\n",
    )
    dialect = Dialect.from_config(venue)
    new = encode_venue_command(new_order("AAPL"), venue.begin_string)
    dialect.outbound(new, symbol="AAPL", account=None, client="CLIENT1")
    assert field(new, 9001) == "CLIENT1" and field(new, 55) == "AAPL"
    validate(venue, new, tmp_path)
    replace = encode_venue_command(AMENDS["G"], venue.begin_string)
    dialect.outbound(replace, symbol="ESH4", account=None, client="CLIENT1")
    assert field(replace, 9001) == "CLIENT1"
    cancel = encode_venue_command(AMENDS["F"], venue.begin_string)
    dialect.outbound(cancel, symbol="ESH4", account=None, client="CLIENT1")
    assert field(cancel, 9001) is None  # the example overlay does not put it on cancels
    validate(venue, cancel, tmp_path)


def test_plain_venue_leaves_messages_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venue = load_venue(tmp_path, monkeypatch, 'name: V1\nhost: 127.0.0.1\nport: 9881\nfix_version: "4.4"\n')
    dialect = Dialect.from_config(venue)
    for cmd in (new_order("AAPL"), *AMENDS.values()):
        msg = encode_venue_command(cmd, venue.begin_string)
        before = msg.toString()
        dialect.outbound(msg, symbol=cmd.symbol, account="A", client="C")
        assert msg.toString() == before
    assert dialect.supports(OrdType.MARKET, TimeInForce.FOK)
    assert dialect.fees == VenueFees(Decimal(0), Decimal(0))


# ---------------------------------------------------------------------------------- capabilities


def test_supports_fees_and_size_overrides(venue: VenueConfig) -> None:
    dialect = Dialect.from_config(venue)
    assert dialect.supports(OrdType.LIMIT, TimeInForce.DAY)
    assert dialect.supports(OrdType.LIMIT, TimeInForce.IOC)
    assert not dialect.supports(OrdType.MARKET, TimeInForce.DAY)
    assert not dialect.supports(OrdType.LIMIT, TimeInForce.GTC)
    assert dialect.fees == VenueFees(Decimal("-0.2"), Decimal("0.3"))
    assert dialect.lot_size("AAPL", Decimal(1)) == Decimal(100)
    assert dialect.tick_size("AAPL", Decimal("0.01")) == Decimal("0.01")  # not overridden
    assert dialect.tick_size("ESH4", Decimal("0.25")) == Decimal("0.5")
    assert dialect.lot_size("MSFT", Decimal(1)) == Decimal(1)
