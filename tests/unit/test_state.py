"""Unit tests for the order state machine (gateway.orders.state)."""

from __future__ import annotations

import itertools

import pytest

from gateway.orders.enums import TERMINAL_STATUSES, OrdStatus
from gateway.orders.state import (
    CANCELABLE,
    REPLACEABLE,
    TRANSITIONS,
    Event,
    IllegalTransition,
    next_status,
    reported_status,
)

S = OrdStatus
E = Event

# Written out by hand from the FIX order state matrices, independently of TRANSITIONS:
# a row added, removed or changed in the table makes test_transition_table_when_compared_*
# fail.
EXPECTED_TRANSITIONS: list[tuple[OrdStatus, Event, OrdStatus]] = [
    (S.PENDING_NEW, E.ACKNOWLEDGED, S.NEW),
    (S.PENDING_NEW, E.REJECTED, S.REJECTED),
    (S.PENDING_NEW, E.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PENDING_NEW, E.FILLED, S.FILLED),
    (S.PENDING_NEW, E.CANCELED, S.CANCELED),
    (S.PENDING_NEW, E.EXPIRED, S.EXPIRED),
    (S.NEW, E.ACKNOWLEDGED, S.NEW),
    (S.NEW, E.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.NEW, E.FILLED, S.FILLED),
    (S.NEW, E.CANCELED, S.CANCELED),
    (S.NEW, E.REPLACED, S.NEW),
    (S.NEW, E.EXPIRED, S.EXPIRED),
    (S.NEW, E.DONE_FOR_DAY, S.DONE_FOR_DAY),
    (S.PARTIALLY_FILLED, E.ACKNOWLEDGED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, E.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, E.FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, E.CANCELED, S.CANCELED),
    (S.PARTIALLY_FILLED, E.REPLACED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, E.REPLACED_TO_FILLED, S.FILLED),
    (S.PARTIALLY_FILLED, E.EXPIRED, S.EXPIRED),
    (S.PARTIALLY_FILLED, E.DONE_FOR_DAY, S.DONE_FOR_DAY),
]

EXPECTED_LEGAL = {(s, e) for s, e, _ in EXPECTED_TRANSITIONS}

ALL_ILLEGAL = [(s, e) for s, e in itertools.product(OrdStatus, Event) if (s, e) not in EXPECTED_LEGAL]

NAMED_ILLEGAL = [
    (S.FILLED, E.PARTIALLY_FILLED),
    (S.FILLED, E.FILLED),
    (S.CANCELED, E.ACKNOWLEDGED),
    (S.REJECTED, E.FILLED),
    (S.PENDING_NEW, E.REPLACED),
    (S.PENDING_NEW, E.REPLACED_TO_FILLED),
    (S.PENDING_NEW, E.DONE_FOR_DAY),
    (S.NEW, E.REJECTED),
    (S.NEW, E.REPLACED_TO_FILLED),
    (S.PARTIALLY_FILLED, E.REJECTED),
    (S.EXPIRED, E.CANCELED),
    (S.DONE_FOR_DAY, E.FILLED),
]


def _id(v: object) -> str:
    return getattr(v, "name", str(v))


# ---------------------------------------------------------------- legal transitions


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [(s, e, t) for (s, e), t in TRANSITIONS.items()],
    ids=[f"{s.name}+{e.name}" for s, e in TRANSITIONS],
)
def test_next_status_when_row_in_table_then_returns_its_target(
    status: OrdStatus, event: Event, expected: OrdStatus
) -> None:
    assert next_status(status, event) is expected


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    EXPECTED_TRANSITIONS,
    ids=[f"{s.name}+{e.name}" for s, e, _ in EXPECTED_TRANSITIONS],
)
def test_next_status_when_transition_expected_then_returns_expected_target(
    status: OrdStatus, event: Event, expected: OrdStatus
) -> None:
    assert next_status(status, event) is expected


def test_transition_table_when_compared_with_expected_list_then_identical() -> None:
    assert len(EXPECTED_TRANSITIONS) == len(EXPECTED_LEGAL)  # no duplicate in the expected list
    assert {(s, e): t for s, e, t in EXPECTED_TRANSITIONS} == TRANSITIONS


def test_transition_table_when_inspected_then_no_row_leaves_a_terminal_status() -> None:
    assert not [k for k in TRANSITIONS if k[0] in TERMINAL_STATUSES]


def test_transition_table_when_inspected_then_no_row_leads_to_a_pending_overlay_status() -> None:
    overlays = {S.PENDING_CANCEL, S.PENDING_REPLACE, S.REPLACED}
    assert not [k for k, v in TRANSITIONS.items() if v in overlays or k[0] in overlays]


# ---------------------------------------------------------------- illegal transitions


@pytest.mark.parametrize(("status", "event"), NAMED_ILLEGAL, ids=lambda v: _id(v))
def test_next_status_when_named_illegal_transition_then_raises(status: OrdStatus, event: Event) -> None:
    with pytest.raises(IllegalTransition) as exc:
        next_status(status, event)
    assert exc.value.status is status
    assert exc.value.event is event


@pytest.mark.parametrize(
    ("status", "event"),
    list(itertools.product(sorted(TERMINAL_STATUSES), Event)),
    ids=lambda v: _id(v),
)
def test_next_status_when_terminal_status_then_every_event_raises(status: OrdStatus, event: Event) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, event)


@pytest.mark.parametrize(("status", "event"), ALL_ILLEGAL, ids=lambda v: _id(v))
def test_next_status_when_pair_not_in_expected_list_then_raises(status: OrdStatus, event: Event) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, event)


def test_illegal_transition_when_raised_then_message_names_status_and_event() -> None:
    with pytest.raises(IllegalTransition, match=r"^illegal transition: FILLED on partially_filled$"):
        next_status(S.FILLED, E.PARTIALLY_FILLED)


def test_illegal_transition_when_raised_then_it_is_not_a_key_error() -> None:
    with pytest.raises(IllegalTransition) as exc:
        next_status(S.CANCELED, E.ACKNOWLEDGED)
    assert not isinstance(exc.value, KeyError)
    assert exc.value.__suppress_context__ is True


def test_terminal_statuses_when_listed_then_exactly_the_five_final_ones() -> None:
    assert frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED, S.DONE_FOR_DAY}) == TERMINAL_STATUSES
    assert S.FILLED.is_terminal
    assert not S.PARTIALLY_FILLED.is_terminal
    assert not S.PENDING_CANCEL.is_terminal


def test_cancelable_and_replaceable_when_listed_then_replace_needs_an_acknowledged_order() -> None:
    assert frozenset({S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED}) == CANCELABLE
    assert frozenset({S.NEW, S.PARTIALLY_FILLED}) == REPLACEABLE


# ---------------------------------------------------------------- reported status


@pytest.mark.parametrize("base", [S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED], ids=_id)
@pytest.mark.parametrize("pending", [S.PENDING_CANCEL, S.PENDING_REPLACE], ids=_id)
def test_reported_status_when_pending_change_on_live_order_then_pending_outranks(
    base: OrdStatus, pending: OrdStatus
) -> None:
    assert reported_status(base, pending) is pending


@pytest.mark.parametrize("base", sorted(TERMINAL_STATUSES), ids=_id)
@pytest.mark.parametrize("pending", [S.PENDING_CANCEL, S.PENDING_REPLACE], ids=_id)
def test_reported_status_when_terminal_then_terminal_wins_over_pending(
    base: OrdStatus, pending: OrdStatus
) -> None:
    assert reported_status(base, pending) is base


@pytest.mark.parametrize("base", list(OrdStatus), ids=_id)
def test_reported_status_when_nothing_pending_then_base(base: OrdStatus) -> None:
    assert reported_status(base, None) is base
