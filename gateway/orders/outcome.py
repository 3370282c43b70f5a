"""What the order core returns, and the rule every public handler ends with."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from gateway.orders.messages import (
    CancelReject,
    ExecutionReport,
    VenueCommand,
)
from gateway.orders.model import ChildOrder, ClientOrder
from gateway.positions.book import Position
from gateway.risk.trading_state import StateChange

ClientReport = ExecutionReport | CancelReject


@dataclass
class Outcome:
    """What one inbound message caused: journal it, then send it, in that order."""

    to_clients: list[ClientReport] = field(default_factory=list)
    to_venues: list[VenueCommand] = field(default_factory=list)
    changed: list[ClientOrder | ChildOrder] = field(default_factory=list)
    notes: list[tuple[str | None, str]] = field(default_factory=list)  # (OrderID, text)
    positions: list[Position] = field(default_factory=list)
    state_changes: list[StateChange] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)  # OrderIDs a kill switch is canceling
    repeats: str | None = None  # OrderID whose already-applied venue report this one repeats

    def touch(self, *orders: ClientOrder | ChildOrder) -> None:
        for o in orders:
            if not any(o is c for c in self.changed):
                self.changed.append(o)

    def note(self, order_id: str | None, text: str) -> None:
        self.notes.append((order_id, text))

    def merge(self, other: Outcome) -> None:
        """Add what ``other`` caused, in order (several synthetic reports make one outcome)."""
        self.to_clients += other.to_clients
        self.to_venues += other.to_venues
        self.touch(*other.changed)
        self.notes += other.notes
        self.positions += other.positions
        self.state_changes += other.state_changes
        self.canceled += other.canceled


def settles(handler):
    """Every public handler ends by bringing the risk aggregates in line with what changed."""

    @functools.wraps(handler)
    def settled(self, *args):
        out = handler(self, *args)
        for order in out.changed:
            if isinstance(order, ClientOrder):
                self.pretrade.settle(order)
                if not order.is_open:
                    self.done_at(order)
        return out

    return settled
