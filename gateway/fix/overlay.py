"""Venue dictionary overlays: a venue's custom fields merged into a base QuickFIX data dictionary.

A venue that adds fields (or values, or whole messages) to standard FIX describes only the additions
in an overlay file, in the same XML format as ``fix_specs/FIX44.xml``::

    <fix>
      <messages>
        <message name="NewOrderSingle" msgtype="D">
          <field name="VenueOrderTag" required="N"/>
        </message>
      </messages>
      <fields>
        <field number="9001" name="VenueOrderTag" type="STRING"/>
      </fields>
    </fix>

:func:`merged_dictionary` writes base + overlay as one dictionary file that QuickFIX loads for the
venue session (and the simulator's side of it). The rules, checked so that a bad overlay is a clear
error at start-up rather than a rejected message at run time:

* ``<fields>``: a new number is appended; an existing number must carry the same name and type (its
  new ``<value>`` entries are added); a new number may not reuse an existing name.
* ``<messages>``: a message whose msgtype is in the base (with the same name) gets the overlay's
  ``<field>``/``<group>``/``<component>`` entries it does not already have (directly or through a
  component); a new msgtype is appended as a whole message (and added to MsgType(35)'s values).
* ``<header>``/``<trailer>``: entries are added the same way; ``<components>``: a new component is
  appended, an existing one gets the missing entries.
* Every name an overlay entry refers to must be a field (or component) of the merged dictionary.

:func:`dictionary_fields` answers "which tags may this message carry" for the codec's dialect and the
configuration loader (extra tags are only put where the venue's dictionary allows them).
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree

_SECTIONS = ("header", "trailer", "messages", "components", "fields")
_ENTRY_TAGS = ("field", "group", "component")


class OverlayError(ValueError):
    """An overlay that cannot be merged (or a dictionary that cannot be read); names the file and line."""

    def __init__(self, file: str | Path, problem: str, line: int | None = None) -> None:
        self.file = str(file)
        self.problem = problem
        self.line = line
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {problem}")


# -------------------------------------------------------------------------------------------- read


def _file_key(path: Path) -> tuple[str, int, int]:
    """Cache key: a changed file (tests rewrite them) is read again."""
    try:
        st = path.stat()
    except OSError as exc:
        raise OverlayError(path, f"cannot read file: {exc.strerror or exc}") from None
    return str(path), st.st_mtime_ns, st.st_size


def _parse(path: Path) -> etree._Element:
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False)
    try:
        root = etree.parse(str(path), parser).getroot()
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise OverlayError(path, f"invalid XML: {exc.msg}", line) from None
    except OSError as exc:
        raise OverlayError(path, f"cannot read file: {exc}") from None
    if root.tag != "fix":
        raise OverlayError(path, f"expected a <fix> root element, got <{root.tag}>", root.sourceline)
    return root


def _elements(parent: etree._Element | None, tag: str | tuple[str, ...] | None = None) -> Iterator:
    """Element children (no comments or processing instructions), optionally of the given tag(s)."""
    if parent is None:
        return iter(())
    tags = (tag,) if isinstance(tag, str) else tag
    return (c for c in parent if isinstance(c.tag, str) and (tags is None or c.tag in tags))


def _section(root: etree._Element, name: str) -> etree._Element:
    """The base's ``<name>`` section, created (in the usual order) when the base lacks it."""
    found = root.find(name)
    if found is not None:
        return found
    section = etree.Element(name)
    later = [root.find(s) for s in _SECTIONS[_SECTIONS.index(name) + 1 :]]
    anchor = next((s for s in later if s is not None), None)
    if anchor is not None:
        anchor.addprevious(section)
    else:
        root.append(section)
    return section


def _required_attr(el: etree._Element, attr: str, file: Path) -> str:
    value = el.get(attr)
    if value is None or not value.strip():
        raise OverlayError(file, f"<{el.tag}> needs a non-empty {attr}= attribute", el.sourceline)
    return value


# ------------------------------------------------------------------------------------------- merge


class _Merge:
    """One merge of ``overlay`` into a copy of ``base``'s tree."""

    def __init__(self, base_root: etree._Element, overlay_root: etree._Element, overlay: Path) -> None:
        self.root = base_root
        self.overlay_root = overlay_root
        self.file = overlay
        for child in _elements(overlay_root):
            if child.tag not in _SECTIONS:
                expected = ", ".join(f"<{s}>" for s in _SECTIONS)
                problem = f"unknown element <{child.tag}> (expected one of: {expected})"
                raise OverlayError(overlay, problem, child.sourceline)
        self.fields = _section(self.root, "fields")
        self.by_number: dict[int, etree._Element] = {}
        self.by_name: dict[str, etree._Element] = {}
        for f in _elements(self.fields, "field"):
            number = f.get("number")
            if number is not None and number.isdigit():
                self.by_number[int(number)] = f
            self.by_name[f.get("name", "")] = f
        self.components = {c.get("name"): c for c in _elements(self.root.find("components"), "component")}
        self.added: list[etree._Element] = []  # overlay entries now in the tree, for the reference check

    def run(self) -> None:
        for f in _elements(self.overlay_root.find("fields"), "field"):
            self._field(f)
        for c in _elements(self.overlay_root.find("components"), "component"):
            self._component(c)
        for name in ("header", "trailer"):
            entries = list(_elements(self.overlay_root.find(name), _ENTRY_TAGS))
            if entries:
                self._add_entries(_section(self.root, name), entries)
        for m in _elements(self.overlay_root.find("messages"), "message"):
            self._message(m)
        self._check_references()

    def _field(self, f: etree._Element) -> None:
        raw_number = _required_attr(f, "number", self.file)
        if not raw_number.isdigit() or int(raw_number) < 1:
            problem = f"field number must be a positive integer, got {raw_number!r}"
            raise OverlayError(self.file, problem, f.sourceline)
        number, name, ftype = int(raw_number), _required_attr(f, "name", self.file), f.get("type")
        existing = self.by_number.get(number)
        if existing is None:
            if ftype is None or not ftype.strip():
                raise OverlayError(
                    self.file, f"field {number} {name!r} needs a type= attribute", f.sourceline
                )
            if name in self.by_name:
                other = self.by_name[name].get("number")
                problem = (
                    f"field {number} is named {name!r}, but the base dictionary's field {other} has that name"
                )
                raise OverlayError(self.file, problem, f.sourceline)
            added = copy.deepcopy(f)
            self.fields.append(added)
            self.by_number[number] = self.by_name[name] = added
            return
        if existing.get("name") != name:
            problem = f"field {number} is {existing.get('name')!r} in the base dictionary, not {name!r}"
            raise OverlayError(self.file, problem, f.sourceline)
        if ftype is not None and ftype != existing.get("type"):
            problem = (
                f"field {number} {name!r} has type {existing.get('type')} in the base dictionary, not {ftype}"
            )
            raise OverlayError(self.file, problem, f.sourceline)
        known = {v.get("enum") for v in _elements(existing, "value")}
        for value in _elements(f, "value"):
            enum = _required_attr(value, "enum", self.file)
            if enum not in known:
                existing.append(copy.deepcopy(value))
                known.add(enum)

    def _component(self, c: etree._Element) -> None:
        name = _required_attr(c, "name", self.file)
        existing = self.components.get(name)
        if existing is None:
            added = copy.deepcopy(c)
            _section(self.root, "components").append(added)
            self.components[name] = added
            self.added.append(added)
        else:
            self._add_entries(existing, list(_elements(c, _ENTRY_TAGS)))

    def _message(self, m: etree._Element) -> None:
        msg_type = _required_attr(m, "msgtype", self.file)
        name = _required_attr(m, "name", self.file)
        messages = _section(self.root, "messages")
        existing = next((x for x in _elements(messages, "message") if x.get("msgtype") == msg_type), None)
        if existing is None:
            other = next((x for x in _elements(messages, "message") if x.get("name") == name), None)
            if other is not None:
                problem = (
                    f"message {name!r} is msgtype {other.get('msgtype')} in the base dictionary, "
                    f"not {msg_type}"
                )
                raise OverlayError(self.file, problem, m.sourceline)
            added = copy.deepcopy(m)
            messages.append(added)
            self.added.append(added)
            self._msg_type_value(msg_type, name)
            return
        if existing.get("name") != name:
            problem = f"msgtype {msg_type} is {existing.get('name')!r} in the base dictionary, not {name!r}"
            raise OverlayError(self.file, problem, m.sourceline)
        self._add_entries(existing, list(_elements(m, _ENTRY_TAGS)))

    def _msg_type_value(self, msg_type: str, name: str) -> None:
        """QuickFIX checks MsgType(35) against its enum list: a new message needs its value there."""
        msg_type_field = self.by_number.get(35)
        if msg_type_field is None or next(_elements(msg_type_field, "value"), None) is None:
            return
        if any(v.get("enum") == msg_type for v in _elements(msg_type_field, "value")):
            return
        description = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()
        etree.SubElement(msg_type_field, "value", enum=msg_type, description=description)

    def _add_entries(self, target: etree._Element, entries: Iterable[etree._Element]) -> None:
        """Append the entries ``target`` does not already have, directly or through a component."""
        present = set(_entry_names(target, self.components))
        for entry in entries:
            name = _required_attr(entry, "name", self.file)
            if name in present:
                continue
            added = copy.deepcopy(entry)
            target.append(added)
            self.added.append(added)
            present.add(name)

    def _check_references(self) -> None:
        """QuickFIX refuses a dictionary naming an undefined field; say which entry does."""
        for top in self.added:
            nodes = [top] if top.tag in _ENTRY_TAGS else []
            nodes += list(top.iterdescendants(*_ENTRY_TAGS))
            for el in nodes:
                name = el.get("name")
                if el.tag == "component":
                    if name not in self.components:
                        problem = f"component {name!r} is not defined in <components>"
                        raise OverlayError(self.file, problem, el.sourceline)
                elif name not in self.by_name:
                    problem = f"{el.tag} {name!r} is not defined in <fields> (base or overlay)"
                    raise OverlayError(self.file, problem, el.sourceline)


def _entry_names(parent: etree._Element, components: dict[str, etree._Element]) -> Iterator[str]:
    """Names of ``parent``'s direct entries, with components expanded (not groups' contents)."""
    seen: set[str] = set()

    def walk(el: etree._Element) -> Iterator[str]:
        for child in _elements(el, _ENTRY_TAGS):
            name = child.get("name", "")
            yield name
            if child.tag == "component" and name not in seen and name in components:
                seen.add(name)
                yield from walk(components[name])

    return walk(parent)


@lru_cache(maxsize=32)
def _merged(base_key: tuple[str, int, int], overlay_key: tuple[str, int, int]) -> etree._Element:
    base_root = _parse(Path(base_key[0]))
    merge = _Merge(base_root, _parse(Path(overlay_key[0])), Path(overlay_key[0]))
    merge.run()
    etree.indent(merge.root, space=" ")
    return merge.root


def merged_tree(base: Path, overlay: Path) -> etree._Element:
    """The merged dictionary's root element (cached: treat it as read-only). Raises OverlayError."""
    return _merged(_file_key(Path(base).resolve()), _file_key(Path(overlay).resolve()))


def merged_path(base: Path, overlay: Path, out_dir: Path) -> Path:
    """Where :func:`merged_dictionary` writes: ``<overlay stem>-<base file name>`` in ``out_dir``."""
    return Path(out_dir) / f"{Path(overlay).stem}-{Path(base).name}"


def merged_dictionary(base: Path, overlay: Path, out_dir: Path) -> Path:
    """Merge ``overlay`` into ``base`` and write the result to ``out_dir``; returns the file's path.

    The output depends only on the two inputs, so the gateway and an in-process simulator share one
    file; it is rewritten (atomically) only when its content changes. Raises OverlayError.
    """
    data = etree.tostring(
        merged_tree(base, overlay), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    out = merged_path(base, overlay, out_dir)
    try:
        if out.read_bytes() == data:
            return out
    except OSError:
        pass
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


# ------------------------------------------------------------------------------ fields per message


@dataclass(frozen=True, slots=True)
class DictionaryFields:
    """Tags a dictionary allows where: in the header, and at the top level of each message type
    (components expanded; a repeating group contributes its count field only)."""

    names: dict[int, str]  # every defined field: number -> name
    header: frozenset[int]
    messages: dict[str, frozenset[int]]  # msgtype -> tags
    message_names: dict[str, str]  # msgtype -> message name

    def allows(self, msg_type: str, tag: int) -> bool:
        return tag in self.messages.get(msg_type, frozenset())


def _numbers(root: etree._Element) -> dict[str, int]:
    numbers = {}
    for f in _elements(root.find("fields"), "field"):
        number = f.get("number", "")
        if number.isdigit():
            numbers[f.get("name", "")] = int(number)
    return numbers


def _tags(parent: etree._Element | None, root: etree._Element, numbers: dict[str, int]) -> frozenset[int]:
    """Tags of ``parent``'s entries (components of ``root`` expanded)."""
    if parent is None:
        return frozenset()
    components = {c.get("name"): c for c in _elements(root.find("components"), "component")}
    return frozenset(numbers[n] for n in _entry_names(parent, components) if n in numbers)


@lru_cache(maxsize=32)
def _fields(
    dictionary_key: tuple[str, int, int],
    overlay_key: tuple[str, int, int] | None,
    transport_key: tuple[str, int, int] | None,
) -> DictionaryFields:
    root = _parse(Path(dictionary_key[0])) if overlay_key is None else _merged(dictionary_key, overlay_key)
    numbers = _numbers(root)
    header_root = root if transport_key is None else _parse(Path(transport_key[0]))
    header_numbers = numbers if transport_key is None else {**numbers, **_numbers(header_root)}
    messages, message_names = {}, {}
    for m in _elements(root.find("messages"), "message"):
        msg_type = m.get("msgtype", "")
        messages[msg_type] = _tags(m, root, numbers)
        message_names[msg_type] = m.get("name", msg_type)
    return DictionaryFields(
        names={number: name for name, number in header_numbers.items()},
        header=_tags(header_root.find("header"), header_root, header_numbers),
        messages=messages,
        message_names=message_names,
    )


def dictionary_fields(
    dictionary: Path, overlay: Path | None = None, transport: Path | None = None
) -> DictionaryFields:
    """Which tags ``dictionary`` (merged with ``overlay``) allows where; cached. Raises OverlayError.

    ``transport`` is the FIXT transport dictionary, whose header applies to FIX 5.0 sessions.
    """
    return _fields(
        _file_key(Path(dictionary).resolve()),
        _file_key(Path(overlay).resolve()) if overlay is not None else None,
        _file_key(Path(transport).resolve()) if transport is not None else None,
    )
