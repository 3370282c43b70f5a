"""Dictionary overlays (gateway.fix.overlay): the merge QuickFIX loads, its rules, and the session
settings that use the merged file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import quickfix as fix

from gateway.config import load_config
from gateway.fix.overlay import OverlayError, dictionary_fields, merged_dictionary
from gateway.fix.settings import initiator_settings, session_id, simulator_settings

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "fix_specs"
EXAMPLE = SPECS / "overlays" / "example-venue.xml"
FIX42, FIX44, FIX50 = SPECS / "FIX42.xml", SPECS / "FIX44.xml", SPECS / "FIX50SP2.xml"


def overlay(tmp_path: Path, body: str, name: str = "venue.xml") -> Path:
    path = tmp_path / name
    path.write_text(f"<fix>\n{textwrap.dedent(body)}</fix>\n")
    return path


def stamped(msg_type: str, fields: dict[int, str], begin_string: str = "FIX.4.4") -> fix.Message:
    """A message with the session header QuickFIX would add, ready for DataDictionary.validate."""
    msg = fix.Message()
    header = msg.getHeader()
    for tag, value in ((8, begin_string), (35, msg_type), (49, "FIXGW"), (56, "VENUE"), (34, "2")):
        header.setField(tag, value)
    header.setField(52, "20240102-03:04:05.678")
    for tag, value in fields.items():
        msg.setField(tag, value)
    msg.toString()  # fills in BodyLength and CheckSum
    return msg


NEW_ORDER = {11: "C1", 21: "1", 55: "AAPL", 54: "1", 60: "20240102-03:04:05.678", 38: "10", 40: "2", 44: "1"}
CANCEL = {41: "C1", 11: "C2", 55: "AAPL", 54: "1", 60: "20240102-03:04:05.678", 38: "10"}


def validate(dd: fix.DataDictionary, msg: fix.Message) -> None:
    fix.DataDictionary.validate(msg, dd, dd)


# ------------------------------------------------------------------------------------ example file


def test_example_overlay_merged_dictionary_is_loaded_by_quickfix(tmp_path: Path) -> None:
    path = merged_dictionary(FIX44, EXAMPLE, tmp_path / "dictionaries")

    assert path == tmp_path / "dictionaries" / "example-venue-FIX44.xml"
    dd = fix.DataDictionary(str(path))
    validate(dd, stamped("D", {**NEW_ORDER, 9001: "desk-7"}))  # the custom tag is accepted
    assert dd.isMsgField("G", 9001) and dd.isMsgField("8", 9001)
    assert not dd.isMsgField("F", 9001)  # the example does not add it to cancels
    with pytest.raises(fix.TagNotDefinedForMessage):
        validate(dd, stamped("F", {**CANCEL, 9001: "desk-7"}))
    with pytest.raises(fix.InvalidTagNumber):
        validate(dd, stamped("D", {**NEW_ORDER, 9002: "x"}))


def test_base_dictionary_alone_rejects_the_custom_tag() -> None:
    dd = fix.DataDictionary(str(FIX44))
    with pytest.raises(fix.InvalidTagNumber):
        validate(dd, stamped("D", {**NEW_ORDER, 9001: "desk-7"}))


@pytest.mark.parametrize("base", [FIX42, FIX50])
def test_example_overlay_merges_into_other_versions(tmp_path: Path, base: Path) -> None:
    path = merged_dictionary(base, EXAMPLE, tmp_path)
    assert path.name == f"example-venue-{base.name}"
    dd = fix.DataDictionary(str(path))
    assert dd.isField(9001) and dd.isMsgField("D", 9001) and dd.isMsgField("G", 9001)


def test_output_is_deterministic_and_not_rewritten(tmp_path: Path) -> None:
    first = merged_dictionary(FIX44, EXAMPLE, tmp_path / "a")
    again = merged_dictionary(FIX44, EXAMPLE, tmp_path / "b")
    assert first.read_bytes() == again.read_bytes()
    stamp = first.stat().st_mtime_ns
    assert merged_dictionary(FIX44, EXAMPLE, tmp_path / "a") == first
    assert first.stat().st_mtime_ns == stamp
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["example-venue-FIX44.xml"]  # no temp files


def test_changed_overlay_is_merged_again(tmp_path: Path) -> None:
    ovl = overlay(tmp_path, '<fields><field number="9001" name="A" type="STRING"/></fields>\n')
    assert "9001" in merged_dictionary(FIX44, ovl, tmp_path / "out").read_text()
    ovl.write_text('<fix><fields><field number="9002" name="BB" type="INT"/></fields></fix>\n')
    text = merged_dictionary(FIX44, ovl, tmp_path / "out").read_text()
    assert 'number="9002"' in text and 'number="9001"' not in text


# ----------------------------------------------------------------------------------------- rules


def test_existing_field_gets_new_enum_values(tmp_path: Path) -> None:
    ovl = overlay(
        tmp_path,
        """\
        <fields>
          <field number="40" name="OrdType" type="CHAR">
            <value enum="2" description="LIMIT"/>
            <value enum="Z" description="VENUE_PEG"/>
          </field>
        </fields>
        """,
    )
    dd = fix.DataDictionary(str(merged_dictionary(FIX44, ovl, tmp_path)))
    validate(dd, stamped("D", {**NEW_ORDER, 40: "Z"}))
    with pytest.raises(fix.IncorrectTagValue):
        validate(dd, stamped("D", {**NEW_ORDER, 40: "Y"}))


def test_new_message_and_header_field(tmp_path: Path) -> None:
    ovl = overlay(
        tmp_path,
        """\
        <header>
          <field name="VenueSession" required="N"/>
        </header>
        <messages>
          <message name="VenuePing" msgtype="U1" msgcat="app">
            <field name="VenueOrderTag" required="Y"/>
          </message>
        </messages>
        <fields>
          <field number="9001" name="VenueOrderTag" type="STRING"/>
          <field number="9100" name="VenueSession" type="STRING"/>
        </fields>
        """,
    )
    path = merged_dictionary(FIX44, ovl, tmp_path)
    assert '<value enum="U1" description="VENUE_PING"/>' in path.read_text()  # MsgType(35) knows it
    dd = fix.DataDictionary(str(path))
    assert dd.isMsgType("U1")
    msg = stamped("U1", {9001: "x"})
    msg.getHeader().setField(9100, "S1")
    msg.toString()
    validate(dd, msg)
    with pytest.raises(fix.RequiredTagMissing):
        validate(dd, stamped("U1", {}))


def test_fields_already_in_a_message_are_not_duplicated(tmp_path: Path) -> None:
    ovl = overlay(
        tmp_path,
        """\
        <messages>
          <message name="NewOrderSingle" msgtype="D">
            <field name="Symbol" required="N"/>
            <field name="Account" required="N"/>
            <field name="SecondaryOrderID" required="N"/>
          </message>
        </messages>
        """,
    )
    text = merged_dictionary(FIX44, ovl, tmp_path).read_text()
    message = text[text.index('msgtype="D"') : text.index("</message>", text.index('msgtype="D"'))]
    assert message.count('name="Account"') == 1
    assert 'name="Symbol"' not in message  # already there through the Instrument component
    assert message.count('name="SecondaryOrderID"') == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            '<fields>\n<field number="44" name="VenuePrice" type="PRICE"/>\n</fields>\n',
            "line 3: field 44 is 'Price' in the base dictionary, not 'VenuePrice'",
        ),
        (
            '<fields>\n<field number="44" name="Price" type="STRING"/>\n</fields>\n',
            "line 3: field 44 'Price' has type PRICE in the base dictionary, not STRING",
        ),
        (
            '<fields>\n<field number="9001" name="Price" type="PRICE"/>\n</fields>\n',
            "line 3: field 9001 is named 'Price', but the base dictionary's field 44 has that name",
        ),
        (
            '<fields>\n<field number="x1" name="A" type="STRING"/>\n</fields>\n',
            "line 3: field number must be a positive integer, got 'x1'",
        ),
        (
            '<fields>\n<field number="9001" name="A"/>\n</fields>\n',
            "line 3: field 9001 'A' needs a type= attribute",
        ),
        (
            '<messages>\n<message name="NewOrder" msgtype="D"/>\n</messages>\n',
            "line 3: msgtype D is 'NewOrderSingle' in the base dictionary, not 'NewOrder'",
        ),
        (
            '<messages>\n<message name="NewOrderSingle" msgtype="U9"/>\n</messages>\n',
            "line 3: message 'NewOrderSingle' is msgtype D in the base dictionary, not U9",
        ),
        (
            '<messages>\n<message name="NewOrderSingle" msgtype="D">\n<field name="Nope" required="N"/>\n'
            "</message>\n</messages>\n",
            "line 4: field 'Nope' is not defined in <fields> (base or overlay)",
        ),
        (
            '<messages>\n<message name="X" msgtype="U1">\n<component name="Nope" required="N"/>\n'
            "</message>\n</messages>\n",
            "line 4: component 'Nope' is not defined in <components>",
        ),
        ("<msgs/>\n", "line 2: unknown element <msgs>"),
    ],
)
def test_merge_mistake_is_reported(tmp_path: Path, body: str, expected: str) -> None:
    ovl = overlay(tmp_path, body)
    with pytest.raises(OverlayError) as info:
        merged_dictionary(FIX44, ovl, tmp_path / "out")
    assert str(info.value).startswith(f"{ovl}, {expected}")
    assert not (tmp_path / "out").exists()


def test_bad_xml_and_root(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<fix><fields></fix>")
    with pytest.raises(OverlayError, match="invalid XML"):
        merged_dictionary(FIX44, bad, tmp_path)
    bad.write_text("<dictionary/>")
    with pytest.raises(OverlayError, match="expected a <fix> root element, got <dictionary>"):
        merged_dictionary(FIX44, bad, tmp_path)


# ---------------------------------------------------------------------------- fields per message


def test_dictionary_fields_expand_components_and_use_the_transport_header() -> None:
    f44 = dictionary_fields(FIX44)
    assert {55, 48, 22, 11, 1}.issubset(f44.messages["D"])  # Symbol etc. via <component Instrument>
    assert 78 in f44.messages["D"] and 79 not in f44.messages["D"]  # NoAllocs counts, AllocAccount not
    assert {49, 50, 57, 115}.issubset(f44.header) and 55 not in f44.header
    assert f44.message_names["H"] == "OrderStatusRequest"

    merged = dictionary_fields(FIX44, EXAMPLE)
    assert merged.allows("D", 9001) and not merged.allows("F", 9001) and merged.names[9001] == "VenueOrderTag"

    fixt = dictionary_fields(FIX50, EXAMPLE, SPECS / "FIXT11.xml")
    assert {50, 57, 1128}.issubset(fixt.header) and fixt.allows("G", 9001)


# -------------------------------------------------------------------------------------- settings


def test_venue_sessions_use_the_merged_dictionary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config/venues").mkdir(parents=True)
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays/v.xml").write_bytes(EXAMPLE.read_bytes())
    (tmp_path / "config/gateway.yaml").write_text(
        "gateway: {comp_id: FIXGW, home: .., acceptor: {port: 9878}}\n"
        "instruments:\n  - {symbol: AAPL, tick_size: '0.01', lot_size: 1, currency: USD, venue: V44}\n"
    )
    (tmp_path / "config/venues/V44.yaml").write_text(
        "name: V44\nhost: 127.0.0.1\nport: 9881\nfix_version: '4.4'\n"
        "dictionary_overlay: overlays/v.xml\nsimulator: {}\n"
    )
    (tmp_path / "config/venues/V50.yaml").write_text(
        "name: V50\nhost: 127.0.0.1\nport: 9882\nfix_version: FIXT1.1\ndictionary_overlay: overlays/v.xml\n"
    )
    (tmp_path / "config/venues/PLAIN.yaml").write_text(
        "name: PLAIN\nhost: 127.0.0.1\nport: 9883\nfix_version: '4.2'\n"
    )
    cfg = load_config("config/gateway.yaml")
    assert cfg.venues["V44"].dictionary_overlay == tmp_path / "overlays/v.xml"
    assert cfg.venues["PLAIN"].dictionary_overlay is None

    settings = initiator_settings(cfg, cfg.venues.values())
    out = tmp_path / "sessions/dictionaries"
    v44 = settings.get(session_id("FIX.4.4", "FIXGW", "V44"))
    assert v44.getString("DataDictionary") == str(out / "v-FIX44.xml")
    v50 = settings.get(session_id("FIXT.1.1", "FIXGW", "V50"))
    assert v50.getString("AppDataDictionary") == str(out / "v-FIX50SP2.xml")
    assert v50.getString("TransportDataDictionary") == str(SPECS / "FIXT11.xml")
    plain = settings.get(session_id("FIX.4.2", "FIXGW", "PLAIN"))
    assert plain.getString("DataDictionary") == str(SPECS / "FIX42.xml")
    assert fix.DataDictionary(str(out / "v-FIX44.xml")).isMsgField("D", 9001)

    sim_settings = simulator_settings(cfg, cfg.venues["V44"])
    sim = sim_settings.get(session_id("FIX.4.4", "V44", "FIXGW"))
    assert sim.getString("DataDictionary") == str(out / "v-FIX44.xml")
