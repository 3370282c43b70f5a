"""Quiescence: every FIX message either side sent has been processed by the other.

For each session the gateway's admin API reports ``next_in``/``next_out``; our side of the same
session knows what it sent and received (its own sequence numbers). The system is quiet when,
for every session both sides consider logged on, the gateway has processed all we sent and we
have processed all it sent; a session down on both sides is quiet too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SideCounts:
    """One side of one session: logged on, next expected inbound and next outbound sequence numbers."""

    logged_on: bool
    next_in: int | None
    next_out: int | None


def session_quiet(ours: SideCounts, gateway: SideCounts | None) -> bool:
    if gateway is None:
        return not ours.logged_on
    if ours.logged_on != gateway.logged_on:
        return False  # a logon or logout is half way
    if not ours.logged_on:
        return True
    if None in (ours.next_in, ours.next_out, gateway.next_in, gateway.next_out):
        return False
    return gateway.next_in == ours.next_out and gateway.next_out == ours.next_in


def unquiet(ours: Mapping[str, SideCounts], gateway: Mapping[str, SideCounts]) -> list[str]:
    """Names of the sessions still busy (empty: quiescent)."""
    return sorted(name for name, counts in ours.items() if not session_quiet(counts, gateway.get(name)))


def gateway_counts(rows: list[dict]) -> dict[str, SideCounts]:
    """From ``GET /api/sessions`` rows."""
    return {
        r["name"]: SideCounts(bool(r.get("logged_on")), r.get("next_in"), r.get("next_out")) for r in rows
    }


def must_settle_before(pending: Mapping[str, set[str]], key: str, kind: str) -> bool:
    """Before sending a ``kind`` ("app" or "md") message on session ``key``: must what is still in
    flight on other sessions be processed first? Messages on one session keep their order, so only
    other sessions count; market data may overlap other market data (the gateway's books per
    venue do not depend on the order it reads them in), anything else may not overlap anything."""
    others = [kinds for name, kinds in pending.items() if name != key and kinds]
    return any("app" in kinds for kinds in others) or (kind == "app" and bool(others))
