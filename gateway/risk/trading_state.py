"""Trading state per client, per venue and for the whole gateway: the kill switch's memory.

The effective state of an order is the most restrictive of the three scopes that
apply to it. Engaging the kill switch sets HALTED (and the core cancels the
working orders in scope); releasing it is an explicit act, never automatic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class TradingState(IntEnum):
    """Ordered by restriction, so the effective state is the max."""

    ACTIVE = 0
    REDUCING = 1  # only orders that reduce a position are accepted
    HALTED = 2


@dataclass(frozen=True, slots=True)
class StateChange:
    scope: str  # "global" | "client" | "venue"
    target: str | None
    state: TradingState
    reason: str


class TradingStates:
    def __init__(self) -> None:
        self.global_state = TradingState.ACTIVE
        self.global_reason = ""
        self.clients: dict[str, tuple[TradingState, str]] = {}
        self.venues: dict[str, tuple[TradingState, str]] = {}

    def effective(self, client: str, venue: str | None) -> tuple[TradingState, str]:
        """The most restrictive state for an order, and why (empty when ACTIVE)."""
        state, why = self.global_state, f"global: {self.global_reason}" if self.global_reason else ""
        c_state, c_why = self.clients.get(client, (TradingState.ACTIVE, ""))
        if c_state > state:
            state, why = c_state, f"client {client}: {c_why}"
        if venue is not None:
            v_state, v_why = self.venues.get(venue, (TradingState.ACTIVE, ""))
            if v_state > state:
                state, why = v_state, f"venue {venue}: {v_why}"
        return state, why

    def set(self, scope: str, target: str | None, state: TradingState, reason: str) -> StateChange:
        if scope == "global":
            self.global_state, self.global_reason = state, reason if state else ""
        elif scope == "client" and target:
            self.clients[target] = (state, reason)
        elif scope == "venue" and target:
            self.venues[target] = (state, reason)
        else:
            raise ValueError(f"bad trading-state scope {scope!r} / target {target!r}")
        return StateChange(scope, target, state, reason)

    def restore(self, snapshot: dict) -> None:
        """Back from the journal: a halt survives a restart until someone releases it."""
        g = snapshot.get("global", {})
        self.global_state = TradingState[g.get("state", "ACTIVE")]
        self.global_reason = g.get("reason", "")
        self.clients = {
            c: (TradingState[v["state"]], v["reason"]) for c, v in snapshot.get("clients", {}).items()
        }
        self.venues = {
            n: (TradingState[v["state"]], v["reason"]) for n, v in snapshot.get("venues", {}).items()
        }

    def snapshot(self) -> dict:
        return {
            "global": {"state": self.global_state.name, "reason": self.global_reason},
            "clients": {c: {"state": s.name, "reason": r} for c, (s, r) in self.clients.items()},
            "venues": {v: {"state": s.name, "reason": r} for v, (s, r) in self.venues.items()},
        }
