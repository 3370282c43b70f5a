"""A venue's dialect: how it names instruments, which extra tags it wants, what it accepts.

The venue codec (``gateway.codec.venue``) writes standard FIX from the order; :meth:`Dialect.outbound`
then adapts the message to one venue: the venue's Symbol(55), SecurityID(48)/SecurityIDSource(22)
when configured, and the venue's ``extra_tags`` with placeholders filled in. Reports coming back are
mapped to the client's symbol with :meth:`Dialect.inbound_symbol`.

Everything is worked out once in :meth:`Dialect.from_config` (per symbol and per message type), so
the per-message cost is a few dict lookups and the ``setField`` calls themselves. An extra tag goes
where the venue's data dictionary (base plus overlay) defines it: in the header, or on those order
messages whose definition lists it, so a tag the venue takes only on new orders never makes it
reject a cancel.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import quickfix as fix

from gateway.codec import tags as t
from gateway.config.model import EXTRA_TAG_MESSAGES, VenueConfig, VenueFees, VenueSymbol
from gateway.fix.overlay import DictionaryFields, dictionary_fields
from gateway.orders.enums import OrdType, TimeInForce

SecurityID = 48
SecurityIDSource = 22  # IDSource in FIX 4.2

#: One extra tag on one message type: (tag, in the header?, fixed value, placeholder name or None).
_Step = tuple[int, bool, str, str | None]


class Dialect:
    """One venue's symbology, extra tags, accepted order types and TIFs, fees and tick/lot sizes."""

    __slots__ = (
        "_lots",
        "_plans",
        "_reverse",
        "_symbols",
        "_ticks",
        "fees",
        "order_types",
        "time_in_force",
        "venue",
    )

    def __init__(
        self,
        venue: str,
        symbols: Mapping[str, VenueSymbol],
        plans: Mapping[str, tuple[bool, tuple[_Step, ...]]],
        order_types: frozenset[OrdType] = frozenset(OrdType),
        time_in_force: frozenset[TimeInForce] = frozenset(TimeInForce),
        fees: VenueFees | None = None,
        ticks: Mapping[str, Decimal] | None = None,
        lots: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.venue = venue
        self._symbols = dict(symbols)
        self._reverse = {v.symbol: symbol for symbol, v in self._symbols.items()}
        self._plans = dict(plans)  # msgtype -> (set SecurityID?, extra tag steps); empty: nothing to add
        self.order_types = order_types
        self.time_in_force = time_in_force
        self.fees = fees if fees is not None else VenueFees()
        self._ticks = dict(ticks or {})
        self._lots = dict(lots or {})

    @classmethod
    def from_config(cls, venue: VenueConfig) -> Dialect:
        plans: dict[str, tuple[bool, tuple[_Step, ...]]] = {}
        has_ids = any(v.security_id is not None for v in venue.symbology.values())
        if has_ids or venue.extra_tags:
            known = dictionary_fields(venue.dictionary, venue.dictionary_overlay, venue.transport_dictionary)
            for msg_type in EXTRA_TAG_MESSAGES:
                steps = tuple(_steps(venue.extra_tags, known, msg_type))
                set_ids = has_ids and known.allows(msg_type, SecurityID)
                if set_ids or steps:
                    plans[msg_type] = (set_ids, steps)
        return cls(
            venue=venue.name,
            symbols=venue.symbology,
            plans=plans,
            order_types=venue.order_types,
            time_in_force=venue.time_in_force,
            fees=venue.fees,
            ticks={s: o.tick_size for s, o in venue.instruments.items() if o.tick_size is not None},
            lots={s: o.lot_size for s, o in venue.instruments.items() if o.lot_size is not None},
        )

    # ------------------------------------------------------------------------------------ messages

    def outbound(self, msg: fix.Message, *, symbol: str, account: str | None, client: str) -> None:
        """Adapt an order message (D, F, G or H) for the venue; ``symbol`` is the client's symbol.

        An extra tag whose placeholder has no value (``{account}`` on an order without one) is left out.
        """
        mapped = self._symbols.get(symbol)
        if mapped is not None:
            msg.setField(t.Symbol, mapped.symbol)
        if not self._plans:
            return
        plan = self._plans.get(msg.getHeader().getField(t.MsgType))
        if plan is None:
            return
        set_ids, steps = plan
        if set_ids and mapped is not None and mapped.security_id is not None:
            msg.setField(SecurityID, mapped.security_id)
            if mapped.id_source is not None:  # always, from the loader
                msg.setField(SecurityIDSource, mapped.id_source)
        for tag, in_header, value, placeholder in steps:
            if placeholder is not None:
                if placeholder == "account":
                    value = account or ""
                elif placeholder == "client":
                    value = client
                elif placeholder == "symbol":
                    value = symbol
                else:
                    value = mapped.symbol if mapped is not None else symbol
                if not value:
                    continue
            (msg.getHeader() if in_header else msg).setField(tag, value)

    def venue_symbol(self, symbol: str) -> str:
        """The venue's Symbol(55) for a client symbol (the same symbol when unmapped)."""
        mapped = self._symbols.get(symbol)
        return mapped.symbol if mapped is not None else symbol

    def security(self, symbol: str) -> VenueSymbol | None:
        """The configured venue names for a client symbol, None when unmapped."""
        return self._symbols.get(symbol)

    @property
    def maps_symbols(self) -> bool:
        """False for a venue that uses the client symbols: inbound mapping can be skipped."""
        return bool(self._reverse)

    def inbound_symbol(self, venue_symbol: str) -> str:
        """The client symbol for a Symbol(55) the venue sent (the same symbol when unmapped)."""
        return self._reverse.get(venue_symbol, venue_symbol)

    # -------------------------------------------------------------------------------- capabilities

    def supports(self, ord_type: OrdType, tif: TimeInForce) -> bool:
        """True when the venue takes this order type with this time in force."""
        return ord_type in self.order_types and tif in self.time_in_force

    def tick_size(self, symbol: str, default: Decimal) -> Decimal:
        """The venue's tick size for ``symbol``, else ``default`` (the instrument's)."""
        return self._ticks.get(symbol, default)

    def lot_size(self, symbol: str, default: Decimal) -> Decimal:
        """The venue's lot size for ``symbol``, else ``default`` (the instrument's)."""
        return self._lots.get(symbol, default)

    def __repr__(self) -> str:
        return (
            f"Dialect({self.venue!r}, {len(self._symbols)} mapped symbols, plans for {sorted(self._plans)})"
        )


def _steps(extra_tags: Mapping[int, str], known: DictionaryFields, msg_type: str) -> list[_Step]:
    """The extra tags for one message type, in configuration order.

    A header tag goes on every order message; a body tag on the message types whose definition lists
    it. A tag the dictionary does not define at all (the loader rejects that; a hand-built config may
    not) is sent on every order message, trusting the configuration.
    """
    steps: list[_Step] = []
    for tag, value in extra_tags.items():
        in_header = tag in known.header
        if not in_header and tag in known.names and not known.allows(msg_type, tag):
            continue
        placeholder = value[1:-1] if value.startswith("{") and value.endswith("}") else None
        steps.append((tag, in_header, value, placeholder))
    return steps
