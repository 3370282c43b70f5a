"""The normalised market-data model that routing and risk read.

Per venue and instrument: the top N price levels with sizes and the last trade,
and whether the book is stale (no update within the venue's configured time). A
stale book is never used for routing decisions or price collars.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Level:
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class VenueBook:
    """A snapshot of one venue's book for one instrument (best level first on each side)."""

    venue: str
    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    last_price: Decimal | None
    last_qty: Decimal | None
    updated_ns: int
    stale: bool

    @property
    def best_bid(self) -> Level | None:
        return self.bids[0] if self.bids else None

    @property
    def best_ask(self) -> Level | None:
        return self.asks[0] if self.asks else None

    @property
    def mid(self) -> Decimal | None:
        if self.bids and self.asks:
            return (self.bids[0].price + self.asks[0].price) / 2
        return None


class MarketView(Protocol):
    """Read-only market state; stale books are excluded from every method but ``book``."""

    def book(self, venue: str, symbol: str) -> VenueBook | None:
        """The venue's book for the symbol, stale or not (``stale`` says which); None if never seen."""

    def books(self, symbol: str) -> list[VenueBook]:
        """Fresh books for the symbol, one per venue."""

    def best_bid(self, symbol: str) -> tuple[Level, str] | None:
        """Best bid across fresh books, and its venue."""

    def best_ask(self, symbol: str) -> tuple[Level, str] | None: ...

    def reference_price(self, symbol: str) -> Decimal | None:
        """Last trade on a fresh book, else the consolidated mid; None without fresh data."""
