"""Read QuickFIX data dictionaries (``fix_specs/*.xml``) with lxml.

QuickFIX itself validates messages; this reader gives the rest of fixgw the
names and enum meanings, so logs and tools print ``ExecType=F(TRADE)`` without
hand-kept tables, and so tests can check the codec's tag constants against the
standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lxml import etree

SPEC_DIR = Path(__file__).resolve().parent.parent.parent / "fix_specs"

BASE_DICTIONARIES = {
    "FIX.4.2": "FIX42.xml",
    "FIX.4.4": "FIX44.xml",
    "FIXT.1.1": "FIX50SP2.xml",
}


@dataclass(frozen=True)
class FieldDef:
    tag: int
    name: str
    type: str
    enums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FixDictionary:
    path: Path
    fields_by_tag: dict[int, FieldDef]
    fields_by_name: dict[str, FieldDef]
    messages: dict[str, str]  # MsgType -> message name

    def name(self, tag: int) -> str:
        f = self.fields_by_tag.get(tag)
        return f.name if f else str(tag)

    def tag(self, name: str) -> int:
        return self.fields_by_name[name].tag

    def enum_name(self, tag: int, value: str) -> str | None:
        f = self.fields_by_tag.get(tag)
        return f.enums.get(value) if f else None

    def describe(self, tag: int, value: str) -> str:
        meaning = self.enum_name(tag, value)
        return f"{self.name(tag)}={value}({meaning})" if meaning else f"{self.name(tag)}={value}"


@cache
def load_dictionary(path: str | Path) -> FixDictionary:
    """Parse one dictionary file; cached because the files are large and immutable."""
    root = etree.parse(str(path)).getroot()
    by_tag: dict[int, FieldDef] = {}
    for el in root.iterfind("fields/field"):
        enums = {v.get("enum"): v.get("description") for v in el.iterfind("value")}
        fd = FieldDef(int(el.get("number")), el.get("name"), el.get("type"), enums)
        by_tag[fd.tag] = fd
    messages = {m.get("msgtype"): m.get("name") for m in root.iterfind("messages/message")}
    return FixDictionary(Path(path), by_tag, {f.name: f for f in by_tag.values()}, messages)


def base_dictionary(begin_string: str) -> FixDictionary:
    return load_dictionary(SPEC_DIR / BASE_DICTIONARIES[begin_string])
