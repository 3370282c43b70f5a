"""Market-data codec: MarketDataRequest (V) out and in, snapshots (W), incremental
refreshes (X) and request rejects (Y), for FIX 4.2, FIX 4.4 and FIXT 1.1 / FIX 5.0 SP2.

Books are price-level (aggregated) books keyed by price:

* a snapshot (W) carries the top N levels of each side, best first, as MDEntryType 0
  (bid) / 1 (offer) entries, plus the last trade (MDEntryType 2) if there is one;
* an incremental refresh (X) carries one entry per changed level, keyed by its price:
  MDUpdateAction 0 (new price level), 1 (change: new size at an existing price) and
  2 (delete: the price left the top N), plus MDUpdateAction 0 entries of type 2 for
  trades. A receiver applies them by price; when a level leaves the top N the sender
  also sends the level that moved into it as a new one, so a receiver keeping N levels
  never needs MDEntryID or MDPriceLevel. :func:`level_changes` computes these entries
  from two top-N pictures of a book.

Group entries are built with ``quickfix.Group(count_tag, delimiter_tag, order)`` whose
order arrays start with the delimiter the dictionaries name (MDEntryType 269 in W,
MDUpdateAction 279 in X, MDEntryType 269 in V's NoMDEntryTypes and Symbol 55 in
NoRelatedSym); the fields written are the same in every version. The version
differences: FIX 5.0 SP2 requires LastUpdateTime (779) on W, which FIX 4.2/4.4 do not
define there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import CodecError, decimal, fmt, new_message, opt, req, set_opt, utc_timestamp
from gateway.fix.dictionary import base_dictionary

FIX42 = "FIX.4.2"
FIX44 = "FIX.4.4"
FIXT11 = "FIXT.1.1"

# Tag numbers, named as in the FIX 4.4 dictionary (tests check them against fix_specs/).
NoRelatedSym = 146
MDReqID = 262
SubscriptionRequestType = 263
MarketDepth = 264
MDUpdateType = 265
AggregatedBook = 266
NoMDEntryTypes = 267
NoMDEntries = 268
MDEntryType = 269
MDEntryPx = 270
MDEntrySize = 271
MDUpdateAction = 279
MDReqRejReason = 281
LastUpdateTime = 779  # FIX 5.0 SP2 (required on W there)

SNAPSHOT_ONLY = "0"
SNAPSHOT_AND_UPDATES = "1"
UNSUBSCRIBE = "2"
FULL_REFRESH = "0"
INCREMENTAL_REFRESH = "1"


class MDSide(StrEnum):
    """MDEntryType values fixgw understands; other entry types are skipped on decode."""

    BID = "0"
    ASK = "1"
    TRADE = "2"


class MDAction(StrEnum):
    NEW = "0"
    CHANGE = "1"
    DELETE = "2"
    SNAPSHOT = "S"  # an entry of a full refresh (W): the symbol's book is replaced by the refresh


class MDRejectReason(StrEnum):
    UNKNOWN_SYMBOL = "0"
    DUPLICATE_MD_REQ_ID = "1"
    UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE = "4"
    UNSUPPORTED_MARKET_DEPTH = "5"
    UNSUPPORTED_MD_UPDATE_TYPE = "6"
    UNSUPPORTED_MD_ENTRY_TYPE = "8"


ALL_ENTRY_TYPES = frozenset(MDSide)


@dataclass(frozen=True, slots=True)
class MDRequest:
    """A decoded MarketDataRequest.

    ``subscribe`` is False for an unsubscribe (263=2), True for 263=0 and 263=1;
    ``snapshot_only`` is True for 263=0 (one snapshot, no updates). ``depth`` 0 means the
    full book. ``full_refresh`` asks for updates as W messages (MDUpdateType 0)
    instead of X. ``entry_types`` holds the requested types fixgw supports.
    """

    req_id: str
    subscribe: bool
    depth: int
    symbols: tuple[str, ...]
    snapshot_only: bool = False
    full_refresh: bool = False
    entry_types: frozenset[MDSide] = ALL_ENTRY_TYPES


@dataclass(frozen=True, slots=True)
class MDUpdate:
    """One normalised market-data entry.

    ``side`` is None only on a SNAPSHOT update that stands for an empty full refresh
    (a W without entries): the symbol's book is emptied. ``qty`` is None on deletes.
    """

    symbol: str
    side: MDSide | None
    price: Decimal | None
    qty: Decimal | None
    action: MDAction


@dataclass(frozen=True, slots=True)
class MDReject:
    req_id: str
    reason: str | None
    text: str | None


# ---------------------------------------------------------------- groups


def _order(*tags: int) -> fix.IntArray:
    arr = fix.IntArray(len(tags) + 1)
    for i, tag in enumerate(tags):
        arr[i] = tag
    arr[len(tags)] = 0
    return arr


# Module-level so the arrays outlive every Group built from them.
_ENTRY_TYPES_ORDER = _order(MDEntryType)
_RELATED_SYM_ORDER = _order(t.Symbol)
_FULL_ORDER = _order(MDEntryType, MDEntryPx, MDEntrySize)
_INC_ORDER = _order(MDUpdateAction, MDEntryType, t.Symbol, MDEntryPx, MDEntrySize)


def _full_entry(entry_type: str, price: Decimal, qty: Decimal | None) -> fix.Group:
    g = fix.Group(NoMDEntries, MDEntryType, _FULL_ORDER)
    g.setField(MDEntryType, entry_type)
    g.setField(MDEntryPx, fmt(price))
    if qty is not None:
        g.setField(MDEntrySize, fmt(qty))
    return g


# ---------------------------------------------------------------- MarketDataRequest (V)


def encode_md_request(
    req_id: str,
    symbols: Sequence[str],
    depth: int,
    subscribe: bool,
    begin_string: str,
    *,
    snapshot_only: bool = False,
    full_refresh: bool = False,
    entry_types: Iterable[MDSide] = (MDSide.BID, MDSide.ASK, MDSide.TRADE),
) -> fix.Message:
    """Subscribe (snapshot + incremental updates of aggregated top-``depth`` books) or unsubscribe.

    An unsubscribe repeats the original request's MDReqID, symbols and entry types.
    """
    if not symbols:
        raise ValueError("a MarketDataRequest needs at least one symbol")
    if depth < 0:
        raise ValueError(f"market depth must be >= 0, got {depth}")
    msg = new_message("V")
    msg.setField(MDReqID, req_id)
    request_type = UNSUBSCRIBE if not subscribe else SNAPSHOT_ONLY if snapshot_only else SNAPSHOT_AND_UPDATES
    msg.setField(SubscriptionRequestType, request_type)
    msg.setField(MarketDepth, str(depth))
    if request_type == SNAPSHOT_AND_UPDATES:
        msg.setField(MDUpdateType, FULL_REFRESH if full_refresh else INCREMENTAL_REFRESH)
    msg.setField(AggregatedBook, "Y")
    for entry_type in entry_types:
        g = fix.Group(NoMDEntryTypes, MDEntryType, _ENTRY_TYPES_ORDER)
        g.setField(MDEntryType, MDSide(entry_type).value)
        msg.addGroup(g)
    for symbol in symbols:
        g = fix.Group(NoRelatedSym, t.Symbol, _RELATED_SYM_ORDER)
        g.setField(t.Symbol, symbol)
        msg.addGroup(g)
    return msg


def decode_md_request(msg: fix.Message) -> MDRequest:
    """The request as the venue (simulator) sees it; unknown entry types are left out."""
    req_id = req(msg, MDReqID)
    request_type = req(msg, SubscriptionRequestType)
    if request_type not in (SNAPSHOT_ONLY, SNAPSHOT_AND_UPDATES, UNSUBSCRIBE):
        raise CodecError(f"unsupported SubscriptionRequestType {request_type!r}", SubscriptionRequestType)
    try:
        depth = int(req(msg, MarketDepth))
    except ValueError:
        raise CodecError("MarketDepth is not an integer", MarketDepth) from None
    if depth < 0:
        raise CodecError(f"unsupported MarketDepth {depth}", MarketDepth)
    update_type = opt(msg, MDUpdateType)
    if update_type not in (None, FULL_REFRESH, INCREMENTAL_REFRESH):
        raise CodecError(f"unsupported MDUpdateType {update_type!r}", MDUpdateType)
    entry_types: set[MDSide] = set()
    g = fix.Group(NoMDEntryTypes, MDEntryType)
    for i in range(1, _count(msg, NoMDEntryTypes) + 1):
        msg.getGroup(i, g)
        value = opt(g, MDEntryType)
        if value in ALL_ENTRY_TYPES:
            entry_types.add(MDSide(value))
    symbols: list[str] = []
    g = fix.Group(NoRelatedSym, t.Symbol)
    for i in range(1, _count(msg, NoRelatedSym) + 1):
        msg.getGroup(i, g)
        symbols.append(req(g, t.Symbol))
    return MDRequest(
        req_id=req_id,
        subscribe=request_type != UNSUBSCRIBE,
        depth=depth,
        symbols=tuple(symbols),
        snapshot_only=request_type == SNAPSHOT_ONLY,
        full_refresh=update_type == FULL_REFRESH,
        entry_types=frozenset(entry_types),
    )


def _count(msg: fix.Message, count_tag: int) -> int:
    value = opt(msg, count_tag)
    try:
        return int(value) if value else 0
    except ValueError:
        raise CodecError(f"tag {count_tag}: not a count: {value!r}", count_tag) from None


# ---------------------------------------------------------------- W, X, Y out


def encode_snapshot(
    req_id: str | None,
    symbol: str,
    bids: Iterable[tuple[Decimal, Decimal]],
    asks: Iterable[tuple[Decimal, Decimal]],
    last: tuple[Decimal, Decimal] | None,
    begin_string: str,
) -> fix.Message:
    """MarketDataSnapshotFullRefresh: (price, qty) levels best first, then the last trade.

    An empty book is a W with NoMDEntries=0 (the group is required, its entries are not).
    """
    msg = new_message("W")
    set_opt(msg, MDReqID, req_id)
    msg.setField(t.Symbol, symbol)
    if begin_string == FIXT11:
        msg.setField(LastUpdateTime, utc_timestamp())
    n = 0
    for entry_type, levels in ((MDSide.BID.value, bids), (MDSide.ASK.value, asks)):
        for price, qty in levels:
            msg.addGroup(_full_entry(entry_type, price, qty))
            n += 1
    if last is not None:
        msg.addGroup(_full_entry(MDSide.TRADE.value, last[0], last[1]))
        n += 1
    if n == 0:
        msg.setField(NoMDEntries, "0")
    return msg


def encode_incremental(req_id: str | None, changes: Iterable[MDUpdate], begin_string: str) -> fix.Message:
    """MarketDataIncrementalRefresh: one entry per NEW/CHANGE/DELETE level or trade (see module doc).

    SNAPSHOT updates cannot be sent in an X; at least one change is required.
    """
    msg = new_message("X")
    set_opt(msg, MDReqID, req_id)
    n = 0
    for ch in changes:
        if ch.action is MDAction.SNAPSHOT or ch.side is None:
            raise ValueError(f"not an incremental change: {ch!r}")
        if ch.price is None:
            raise ValueError(f"a price-level change needs a price: {ch!r}")
        g = fix.Group(NoMDEntries, MDUpdateAction, _INC_ORDER)
        g.setField(MDUpdateAction, ch.action.value)
        g.setField(MDEntryType, ch.side.value)
        g.setField(t.Symbol, ch.symbol)
        g.setField(MDEntryPx, fmt(ch.price))
        if ch.action is not MDAction.DELETE and ch.qty is not None:
            g.setField(MDEntrySize, fmt(ch.qty))
        msg.addGroup(g)
        n += 1
    if n == 0:
        raise ValueError("an incremental refresh needs at least one change")
    return msg


def encode_md_reject(req_id: str, reason: MDRejectReason | None, text: str | None, begin_string: str):
    """MarketDataRequestReject (the reasons fixgw uses exist in FIX 4.2 too)."""
    msg = new_message("Y")
    msg.setField(MDReqID, req_id)
    if reason is not None:
        msg.setField(MDReqRejReason, reason.value)
    set_opt(msg, t.Text, text)
    return msg


def level_changes(
    symbol: str,
    old: tuple[Sequence[tuple[Decimal, Decimal]], Sequence[tuple[Decimal, Decimal]]],
    new: tuple[Sequence[tuple[Decimal, Decimal]], Sequence[tuple[Decimal, Decimal]]],
) -> list[MDUpdate]:
    """Price-keyed changes from two (bids, asks) top-N pictures: deletes first, then news and changes."""
    deletes: list[MDUpdate] = []
    upserts: list[MDUpdate] = []
    for side, before, after in ((MDSide.BID, old[0], new[0]), (MDSide.ASK, old[1], new[1])):
        was = dict(before)
        now = dict(after)
        for price in was:
            if price not in now:
                deletes.append(MDUpdate(symbol, side, price, None, MDAction.DELETE))
        for price, qty in after:
            prev = was.get(price)
            if prev is None:
                upserts.append(MDUpdate(symbol, side, price, qty, MDAction.NEW))
            elif prev != qty:
                upserts.append(MDUpdate(symbol, side, price, qty, MDAction.CHANGE))
    return deletes + upserts


# ---------------------------------------------------------------- W, X, Y in


def decode_market_data(
    msg_type: str, msg: fix.Message, begin_string: str, symbol: str | None = None
) -> list[MDUpdate]:
    """Normalise a W or an X into MDUpdates (see :class:`MDUpdate`).

    Entry types other than bid/offer/trade are skipped. An X entry without Symbol takes
    the previous entry's, the first one ``symbol`` (the subscription's, if the caller
    knows it). Raises CodecError for entries fixgw cannot apply (no price on a level,
    no size on a new level, unknown update action).

    Reading a group entry through the binding (``getGroup`` then ``getField`` per tag)
    costs about 1 µs a call, some 12 µs for a one-entry X; so the entries are read from
    the message's wire form (``toString``) instead, and through ``getGroup`` only when
    that form holds a raw-data field (whose value may contain the field separator) or
    does not add up (:func:`_wire_entries`).
    """
    if msg_type not in ("W", "X"):
        raise CodecError(f"not a market-data message: {msg_type}")
    full = msg_type == "W"
    parsed = _wire_entries(msg, begin_string, _FULL_DELIM if full else _INC_DELIM)
    if parsed is None:
        parsed = _group_entries(msg, full)
    body_symbol, entries = parsed
    if full:
        return _full_updates(body_symbol or opt(msg, t.Symbol) or symbol, entries)
    return _incremental_updates(symbol, entries)


_FULL_DELIM = str(MDEntryType)
_INC_DELIM = str(MDUpdateAction)
_COUNT = str(NoMDEntries)
_SYMBOL = str(t.Symbol)
_ENTRY_TAGS = frozenset(str(tag) for tag in (MDUpdateAction, MDEntryType, t.Symbol, MDEntryPx, MDEntrySize))

Entries = tuple[str | None, list[dict[str, str]]]


@cache
def _raw_data_length_tags(begin_string: str) -> frozenset[str]:
    """Tags announcing a raw-data field (type LENGTH, BodyLength aside) in the version's dictionary."""
    try:
        spec = base_dictionary(begin_string)
    except KeyError:
        spec = base_dictionary(FIX44)
    return frozenset(str(f.tag) for f in spec.fields_by_tag.values() if f.type == "LENGTH" and f.tag != 9)


def _wire_entries(msg: fix.Message, begin_string: str, delim: str) -> Entries | None:
    """(body Symbol, entries as {tag: value} for the tags fixgw reads), or None to use getGroup."""
    raw_tags = _raw_data_length_tags(begin_string)
    body_symbol: str | None = None
    entries: list[dict[str, str]] = []
    entry: dict[str, str] | None = None
    count = -1
    wanted = _ENTRY_TAGS
    for token in msg.toString().split("\x01"):
        tag, _, value = token.partition("=")
        if tag in raw_tags:
            return None
        if count < 0:
            if tag == _COUNT:
                count = int(value) if value.isdigit() else -2
                if count < 0:
                    return None
            elif tag == _SYMBOL:
                body_symbol = value
        elif tag == delim:
            entry = {tag: value}
            entries.append(entry)
        elif entry is not None and tag in wanted:
            if tag in entry:
                return None  # a tag twice in one entry: not the layout expected
            entry[tag] = value
    if count != len(entries):
        return None
    return body_symbol, entries


def _group_entries(msg: fix.Message, full: bool) -> Entries:
    g = fix.Group(NoMDEntries, MDEntryType if full else MDUpdateAction)
    entries = []
    for i in range(1, _count(msg, NoMDEntries) + 1):
        msg.getGroup(i, g)
        entries.append({tag: g.getField(int(tag)) for tag in _ENTRY_TAGS if g.isSetField(int(tag))})
    return opt(msg, t.Symbol), entries


def _full_updates(symbol: str | None, entries: list[dict[str, str]]) -> list[MDUpdate]:
    if symbol is None:
        raise CodecError("snapshot without Symbol", t.Symbol)
    out: list[MDUpdate] = []
    levels = 0
    for i, e in enumerate(entries, 1):
        entry_type = e.get(_FULL_DELIM)
        if entry_type not in ALL_ENTRY_TYPES:
            continue
        side = MDSide(entry_type)
        price = decimal(e.get(_PX), MDEntryPx)
        qty = decimal(e.get(_SIZE), MDEntrySize)
        if price is None:
            raise CodecError(f"snapshot entry {i} without MDEntryPx", MDEntryPx)
        if side is not MDSide.TRADE:
            if qty is None:
                raise CodecError(f"snapshot entry {i} without MDEntrySize", MDEntrySize)
            levels += 1
        out.append(MDUpdate(symbol, side, price, qty, MDAction.SNAPSHOT))
    if not levels:
        # No levels at all: say so, or the receiver would keep the levels it had.
        out.insert(0, MDUpdate(symbol, None, None, None, MDAction.SNAPSHOT))
    return out


_ACTIONS = {"0": MDAction.NEW, "1": MDAction.CHANGE, "2": MDAction.DELETE}
_SIDES = {s.value: s for s in MDSide}
_PX = str(MDEntryPx)
_SIZE = str(MDEntrySize)


def _incremental_updates(symbol: str | None, entries: list[dict[str, str]]) -> list[MDUpdate]:
    out: list[MDUpdate] = []
    for i, e in enumerate(entries, 1):
        symbol = e.get(_SYMBOL) or symbol
        side = _SIDES.get(e.get(_FULL_DELIM))  # type: ignore[arg-type]
        if side is None:
            continue
        if symbol is None:
            raise CodecError(f"incremental entry {i} without Symbol", t.Symbol)
        raw_action = e.get(_INC_DELIM)
        action = _ACTIONS.get(raw_action)  # type: ignore[arg-type]
        if action is None:
            raise CodecError(f"unsupported MDUpdateAction {raw_action!r}", MDUpdateAction)
        price = decimal(e.get(_PX), MDEntryPx)
        if price is None:
            raise CodecError(f"incremental entry {i} without MDEntryPx", MDEntryPx)
        if action is MDAction.DELETE:
            qty = None
        else:
            qty = decimal(e.get(_SIZE), MDEntrySize)
            if qty is None and side is not MDSide.TRADE:
                raise CodecError(f"incremental entry {i} without MDEntrySize", MDEntrySize)
        out.append(MDUpdate(symbol, side, price, qty, action))
    return out


def decode_md_reject(msg: fix.Message) -> MDReject:
    return MDReject(req_id=req(msg, MDReqID), reason=opt(msg, MDReqRejReason), text=opt(msg, t.Text))
