"""Flow control toward venues: per-venue rate limits and circuit breakers, on the loop thread.

Every message to a venue is journaled first, then offered here: it goes now, waits
in the venue's queue (released by a loop timer, cancels first), or is refused, in
which case the order core hears of it as a rejection from that venue. Venue
reports and session events drive each venue's circuit breaker; routing reads both
(``Router.breaker_open`` and ``Router.headroom``).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping

import quickfix as fix

from gateway.config import VenueConfig
from gateway.orders.enums import ExecType
from gateway.orders.messages import CancelChildOrder, SendChildOrder, VenueCommand, VenueExecution
from gateway.routing.venue_health import BreakerChange, CircuitBreaker, VenueRateLimiter, Verdict

log = logging.getLogger("gateway.venues")

# A venue counts messages by its own receive times: keep 20 ms between the one-second windows
# so jitter on the way (or a busy venue reading late) cannot make N + 1 land in its second.
RATE_GUARD_NS = 20_000_000


class VenueFlow:
    def __init__(
        self,
        venues: Mapping[str, VenueConfig],
        send: Callable[[str, fix.Message], None],
        refuse: Callable[[VenueCommand, str], None],
        record: Callable[[str, str], None],
        call_later: Callable[[float, Callable[[], None]], None],
    ):
        self.limiters: dict[str, VenueRateLimiter] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._reroute: set[str] = set()
        self.ack_history: dict[str, deque[int]] = {}  # recent order -> ack times
        self._send, self._refuse, self._record, self._call_later = send, refuse, record, call_later
        self._held: dict[tuple[str, str], fix.Message] = {}
        self._release_scheduled: set[str] = set()
        for v in venues.values():
            self.add(v)

    def add(self, v: VenueConfig) -> None:
        """A venue's rate limiter, circuit breaker and ack history (at start, or added by a reload)."""
        if v.rate_limits:
            self.limiters[v.name] = VenueRateLimiter(v.rate_limits, guard_ns=RATE_GUARD_NS)
            if v.rate_limits.on_exhausted == "reroute":
                self._reroute.add(v.name)
        self.breakers[v.name] = CircuitBreaker(v.name, v.circuit_breaker)
        self.ack_history[v.name] = deque(maxlen=1000)

    def ack_latency_us(self, venue: str) -> dict[str, float] | None:
        """Order -> acknowledgement time over the venue's last 1,000 acks (p50, p99, count)."""
        acks = sorted(self.ack_history.get(venue, ()))
        if not acks:
            return None
        pick = lambda q: round(acks[min(len(acks) - 1, int(q * len(acks)))] / 1000, 1)  # noqa: E731
        return {"p50": pick(0.5), "p99": pick(0.99), "count": len(acks)}

    # ------------------------------------------------------------ what routing may use

    def breaker_open(self, venue: str) -> bool:
        return self.breakers[venue].is_open(time.time_ns())

    def headroom(self, venue: str) -> int | None:
        """Only a venue that re-routes on exhaustion is avoided by routing; a queueing or
        rejecting one is still chosen, and its limiter queues or refuses."""
        if venue not in self._reroute:
            return None
        return self.limiters[venue].headroom(time.time_ns())

    # ------------------------------------------------------------ outbound

    def offer(self, cmd: VenueCommand, msg: fix.Message) -> None:
        """Send ``msg`` (already journaled) now, hold it, or refuse it."""
        now = time.time_ns()
        limiter = self.limiters.get(cmd.venue)
        verdict = limiter.submit(cmd, now) if limiter else Verdict.SEND
        if verdict is Verdict.SEND:
            if isinstance(cmd, SendChildOrder):
                self.breakers[cmd.venue].allows(now)  # in half-open, this order is the probe
            self._send(cmd.venue, msg)
        elif verdict is Verdict.QUEUED:
            self._held[(cmd.venue, cmd.cl_ord_id)] = msg
            self._schedule(cmd.venue, now)
        else:
            self._refuse(cmd, f"{cmd.venue} rate limit exhausted")

    def _schedule(self, venue: str, now: int) -> None:
        if venue in self._release_scheduled:
            return
        due = self.limiters[venue].next_release_ns(now)
        if due is not None:
            self._release_scheduled.add(venue)
            self._call_later(max(due - now, 0) / 1e9, lambda: self._release(venue))

    def _release(self, venue: str) -> None:
        self._release_scheduled.discard(venue)
        now = time.time_ns()
        limiter = self.limiters[venue]
        ready, expired = limiter.release(now)
        for cmd in ready:
            self._send(venue, self._held.pop((venue, cmd.cl_ord_id)))
        for cmd in expired:
            self._held.pop((venue, cmd.cl_ord_id), None)
            self._refuse(cmd, f"{venue} rate limit: not sent within {limiter.cfg.max_wait_ms} ms")
        if limiter.queued:
            self._schedule(venue, now)

    # ------------------------------------------------------------ inbound and sessions

    def on_report(self, rpt: VenueExecution, first: bool, sent_ns: int | None) -> None:
        """A venue's execution report: the first one of an order is its acknowledgement."""
        now = time.time_ns()
        breaker = self.breakers[rpt.venue]
        if rpt.exec_type is ExecType.REJECTED:
            self._changed(breaker.on_reject(now))
        elif first and sent_ns is not None:
            self.ack_history[rpt.venue].append(now - sent_ns)
            self._changed(breaker.on_ack(now - sent_ns, now))
        elif rpt.exec_type is ExecType.TRADE:
            self._changed(breaker.on_fill(now))

    def on_session(self, venue: str, up: bool) -> None:
        now = time.time_ns()
        breaker = self.breakers[venue]
        self._changed(breaker.on_connect(now) if up else breaker.on_disconnect(now))
        limiter = self.limiters.get(venue)
        if not up and limiter is not None:
            for cmd in limiter.drain():  # never sent: the venue does not know them
                msg = self._held.pop((venue, cmd.cl_ord_id), None)
                if msg is not None and isinstance(cmd, CancelChildOrder):
                    self._send(venue, msg)  # QuickFIX keeps it for the venue's resend request
                else:
                    self._refuse(cmd, f"{venue} disconnected before it could be sent")

    def poll(self) -> None:
        """Time-driven breaker changes (open -> half-open), from the loop's tick."""
        now = time.time_ns()
        for breaker in self.breakers.values():
            for change in breaker.poll(now):
                self._changed(change)

    def _changed(self, change: BreakerChange | None) -> None:
        if change is None:
            return
        text = f"circuit breaker {change.venue}: {change.old.name} -> {change.new.name}: {change.reason}"
        log.warning(text)
        self._record(change.venue, text)
