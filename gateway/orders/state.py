"""The FIX order state machine as one transition table.

An order's *base* status moves through this table; a pending cancel or replace is
an overlay (``Order.pending``) that changes the reported OrdStatus by FIX's
precedence rules without losing the base status, because a venue may still fill,
reject the cancel, or confirm it.

Real-world oddities are rows, not special cases in handlers:
  - a fill that arrives after a cancel was sent applies to the base status
    (the pending cancel stays; the venue will answer it);
  - a fill that completes the order while a cancel is pending makes it Filled,
    and the venue's cancel reject that follows is "too late to cancel".
"""

from __future__ import annotations

from enum import StrEnum

from gateway.orders.enums import OrdStatus


class Event(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REPLACED = "replaced"  # a confirmed replace that leaves quantity open
    REPLACED_TO_FILLED = "replaced_to_filled"  # a replace down to exactly the filled quantity
    EXPIRED = "expired"
    DONE_FOR_DAY = "done_for_day"


S = OrdStatus
E = Event

TRANSITIONS: dict[tuple[OrdStatus, Event], OrdStatus] = {
    (S.PENDING_NEW, E.ACKNOWLEDGED): S.NEW,
    (S.PENDING_NEW, E.REJECTED): S.REJECTED,
    # Some venues skip the acknowledgement and report the first fill straight away.
    (S.PENDING_NEW, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PENDING_NEW, E.FILLED): S.FILLED,
    # An IOC/FOK order may be canceled by the venue before any acknowledgement.
    (S.PENDING_NEW, E.CANCELED): S.CANCELED,
    (S.PENDING_NEW, E.EXPIRED): S.EXPIRED,
    (S.NEW, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.NEW, E.FILLED): S.FILLED,
    (S.NEW, E.CANCELED): S.CANCELED,
    (S.NEW, E.REPLACED): S.NEW,
    (S.NEW, E.EXPIRED): S.EXPIRED,
    (S.NEW, E.DONE_FOR_DAY): S.DONE_FOR_DAY,
    # A duplicate acknowledgement (a resend) changes nothing.
    (S.NEW, E.ACKNOWLEDGED): S.NEW,
    (S.PARTIALLY_FILLED, E.PARTIALLY_FILLED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, E.CANCELED): S.CANCELED,
    (S.PARTIALLY_FILLED, E.REPLACED): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, E.REPLACED_TO_FILLED): S.FILLED,
    (S.PARTIALLY_FILLED, E.EXPIRED): S.EXPIRED,
    (S.PARTIALLY_FILLED, E.DONE_FOR_DAY): S.DONE_FOR_DAY,
    (S.PARTIALLY_FILLED, E.ACKNOWLEDGED): S.PARTIALLY_FILLED,
}

# The base statuses in which a client may ask to cancel or replace. Cancel is allowed
# before the venue's acknowledgement (venues cancel by ClOrdID); replace is not, because
# the gateway cannot amend an order whose terms the venue has not confirmed.
CANCELABLE = frozenset({S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED})
REPLACEABLE = frozenset({S.NEW, S.PARTIALLY_FILLED})


class IllegalTransition(Exception):
    """Raised by :func:`next_status`; callers log and refuse, never apply."""

    def __init__(self, status: OrdStatus, event: Event):
        super().__init__(f"illegal transition: {status.name} on {event.value}")
        self.status = status
        self.event = event


def next_status(status: OrdStatus, event: Event) -> OrdStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(status, event) from None


def reported_status(base: OrdStatus, pending: OrdStatus | None) -> OrdStatus:
    """FIX OrdStatus precedence: PendingCancel and PendingReplace outrank live statuses."""
    if pending is not None and not base.is_terminal:
        return pending
    return base
