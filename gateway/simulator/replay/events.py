"""Replay events: recorded market data normalised to what a simulated book needs.

Every reader yields these, whatever the file format, so :class:`~gateway.simulator.replay.book.ReplayBook`
and the backtest orchestration know one vocabulary. Events are immutable and carry the data's own
event time (``ts_ns``, UTC nanoseconds) so a simulated clock can be driven from them; prices and sizes
are ``Decimal`` so nothing is lost between the file and a fill.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gateway.orders.enums import Side


@dataclass(frozen=True, slots=True)
class DataAdd:
    """Level 3: a new order rests in the book."""

    ts_ns: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    order_id: str


@dataclass(frozen=True, slots=True)
class DataCancel:
    """Level 3: ``qty`` leaves the order (all of it when ``qty`` is at least what remains)."""

    ts_ns: int
    symbol: str
    order_id: str
    qty: Decimal


@dataclass(frozen=True, slots=True)
class DataModify:
    """Level 3: the order now has this price and size.

    A new price or a larger size sends the order to the back of its level; a smaller size at the same
    price keeps its place (CME rules, as in :meth:`MatchingEngine.replace`).
    """

    ts_ns: int
    symbol: str
    order_id: str
    side: Side
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class DataTrade:
    """A printed trade; ``aggressor`` is None when the data does not say (auctions, implied)."""

    ts_ns: int
    symbol: str
    aggressor: Side | None
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class DataClear:
    """The data's book for ``symbol`` is empty from here on."""

    ts_ns: int
    symbol: str


@dataclass(frozen=True, slots=True)
class DataLevel:
    """Level 2: the total size resting at ``price`` on ``side`` is now ``qty`` (0 removes the level)."""

    ts_ns: int
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class DataQuote:
    """Top of book that replaces the whole data book; a None side means that side is empty."""

    ts_ns: int
    symbol: str
    bid: Decimal | None
    bid_qty: Decimal
    ask: Decimal | None
    ask_qty: Decimal


ReplayEvent = DataAdd | DataCancel | DataModify | DataTrade | DataClear | DataLevel | DataQuote
