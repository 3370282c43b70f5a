"""Read FIX messages out of QuickFIX logs (or journal lines) and print them for people.

Input lines look like QuickFIX's FileLog (``20261126-18:41:27.769380000 : 8=FIX.4.4<SOH>...``),
or are bare messages; fields may be separated by SOH, ``|`` (the journal's and fixgw's logs)
or ``^A`` (``cat -v``). simplefix splits the fields; the dictionaries in ``fix_specs/`` give
tag names and enum meanings (FIXT.1.1 messages use FIXT11 for the session layer and
FIX50SP2 for the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import simplefix

from gateway.fix.dictionary import SPEC_DIR, FixDictionary, base_dictionary, load_dictionary

_SOH = b"\x01"


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    timestamp: str | None  # as the log wrote it
    fields: tuple[tuple[int, str], ...]  # in wire order

    def get(self, tag: int) -> str | None:
        return next((v for t, v in self.fields if t == tag), None)


def parse_lines(lines: Iterable[str]) -> Iterator[LoggedMessage]:
    """Every FIX message in ``lines``; lines without one (event logs, blanks) are skipped."""
    for line in lines:
        line = line.rstrip("\r\n")
        start = line.find("8=FIX")
        if start < 0:
            continue
        stamp = line[:start].rstrip(" :") or None
        raw = line[start:].encode()
        if _SOH not in raw:
            raw = raw.replace(b"^A", _SOH) if b"^A" in raw else raw.replace(b"|", _SOH)
        if not raw.endswith(_SOH):
            raw += _SOH
        parser = simplefix.FixParser()
        parser.append_buffer(raw)
        msg = parser.get_message()
        if msg is None:  # no CheckSum (a journal line cut short): take the fields as they are
            msg = simplefix.FixMessage()
            for part in raw.split(_SOH):
                tag, sep, value = part.partition(b"=")
                if sep and tag.isdigit():
                    msg.append_pair(int(tag), value)
        fields = tuple((int(t), v.decode(errors="replace")) for t, v in msg.pairs)
        yield LoggedMessage(stamp, fields)


def _dictionaries(begin_string: str | None) -> list[FixDictionary]:
    if begin_string == "FIXT.1.1":
        return [load_dictionary(SPEC_DIR / "FIXT11.xml"), base_dictionary("FIXT.1.1")]
    try:
        return [base_dictionary(begin_string or "FIX.4.4")]
    except KeyError:
        return [base_dictionary("FIX.4.4")]


def _describe(dicts: list[FixDictionary], tag: int, value: str) -> tuple[str, str | None]:
    """Name and enum meaning; the first dictionary that knows the value wins (FIXT11's MsgType
    lists only session messages)."""
    known = [d for d in dicts if tag in d.fields_by_tag]
    if not known:
        return str(tag), None
    meaning = next((m for d in known if (m := d.enum_name(tag, value)) is not None), None)
    return known[0].name(tag), meaning


def message_name(msg: LoggedMessage) -> str:
    mt = msg.get(35) or "?"
    for d in _dictionaries(msg.get(8)):
        if mt in d.messages:
            return d.messages[mt]
    return f"MsgType {mt}"


def matches(msg: LoggedMessage, cl_ord_id: str | None, msg_types: tuple[str, ...]) -> bool:
    """True when ``msg`` names ``cl_ord_id`` (ClOrdID or OrigClOrdID) and is one of
    ``msg_types`` (MsgType values or message names, any case); empty filters match all."""
    if cl_ord_id is not None and cl_ord_id not in (msg.get(11), msg.get(41)):
        return False
    if msg_types:
        wanted = {m.lower() for m in msg_types}
        return (msg.get(35) or "").lower() in wanted or message_name(msg).lower() in wanted
    return True


def format_message(msg: LoggedMessage) -> str:
    """One block: a title line (time, message name, sender -> target, sequence number), then
    one line per field with its name and, for enumerations, the value's meaning."""
    dicts = _dictionaries(msg.get(8))
    title = " ".join(
        part
        for part in (
            msg.timestamp,
            f"{message_name(msg)} ({msg.get(35) or '?'})",
            f"{msg.get(49) or '?'} -> {msg.get(56) or '?'}",
            f"seq {msg.get(34)}" if msg.get(34) else None,
        )
        if part
    )
    lines = [title]
    width = max((len(_describe(dicts, t, v)[0]) + len(str(t)) for t, v in msg.fields), default=0) + 2
    for tag, value in msg.fields:
        name, meaning = _describe(dicts, tag, value)
        label = f"{name}({tag})" if name != str(tag) else str(tag)
        lines.append(f"  {label:<{width}} = {value}" + (f"  [{meaning}]" if meaning else ""))
    return "\n".join(lines)
