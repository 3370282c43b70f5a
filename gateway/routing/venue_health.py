"""Venue health: the venue's message rate limits and a circuit breaker, one of each per venue.

Both are pure state machines on a caller-supplied clock (``now_ns``): no I/O, no threads, no wall
clock, so they are exact in tests and replay the same way from a journal. A clock that steps back
is treated as standing still.

:class:`VenueRateLimiter` decides whether a venue command may go now (:attr:`Verdict.SEND`), waits
in the venue's queue (:attr:`Verdict.QUEUED`) or cannot go (:attr:`Verdict.EXHAUSTED`); the caller
sends what :meth:`VenueRateLimiter.release` hands back when :meth:`VenueRateLimiter.next_release_ns`
comes. :class:`CircuitBreaker` stops routing to a venue that disconnects, rejects order after order
or acknowledges too slowly, and lets a single probe order through after ``half_open_after_s``.
Every breaker state change comes back as a :class:`BreakerChange` for the caller to journal and log.

Wiring into :class:`~gateway.routing.router.Router` (the caller supplies the clock)::

    router.breaker_open = lambda venue: breakers[venue].is_open(clock.now_ns())
    router.headroom = lambda venue: limiters[venue].headroom(clock.now_ns())
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from gateway.config.model import CircuitBreakerConfig, RateLimitConfig
from gateway.orders.messages import (
    CancelChildOrder,
    ReplaceChildOrder,
    SendChildOrder,
    VenueCommand,
)
from gateway.risk.throttle import NS_PER_S, TokenBucket

NS_PER_MS = 1_000_000

__all__ = [
    "BreakerChange",
    "BreakerState",
    "CircuitBreaker",
    "VenueRateLimiter",
    "Verdict",
]


def _clamp(last: int | None, now_ns: int) -> int:
    """The limiter's and breaker's clock: never earlier than a time already seen."""
    return now_ns if last is None or now_ns > last else last


def _ms(ns: int) -> str:
    return f"{(Decimal(ns) / NS_PER_MS).normalize():f}"


# ================================================================================= rate limits


class Verdict(StrEnum):
    SEND = "send"  # send it now: its tokens are taken
    QUEUED = "queued"  # held: release() hands it back when its tokens are there (or it expires)
    EXHAUSTED = "exhausted"  # cannot go and is not held: re-route or reject it (cfg.on_exhausted)


class _Rate:
    """One limit of ``rate`` messages per second, exact in any one-second window.

    A message may go at ``t`` iff (1) fewer than ``ceil(rate)`` messages went in ``(t - 1 s, t]``,
    and (2) a :class:`TokenBucket` of ``rate`` per second and burst ``max(rate, 1)`` has a whole
    token. For a whole-number rate N, (1) is the venue's "at most N in any one second" (a bucket of
    burst N alone would let 2N - 1 through in a window just under a second: N at once, then N - 1
    more as it refills) and (1) implies (2). For a fractional rate, (2) keeps the long-run rate
    (2.5/s: 2 at once, 5 every 2 s) and (1) caps any one second at ``ceil(rate)``.
    """

    __slots__ = ("_bucket", "_sent", "limit", "rate", "window_ns")

    def __init__(self, rate_per_s: float | int | Decimal | str, window_ns: int = NS_PER_S) -> None:
        rate = Decimal(str(rate_per_s))  # a float from config as written (2.5, not 2.49999...)
        self._bucket = TokenBucket(rate)  # burst: max(rate, 1)
        self.rate = Fraction(rate)
        self.limit = math.ceil(self.rate)
        self._sent: deque[int] = deque()  # send times in (now - window, now], oldest first
        self.window_ns = window_ns  # one second, plus any safety margin the caller wants

    def _prune(self, now_ns: int) -> None:
        sent, cutoff = self._sent, now_ns - self.window_ns
        while sent and sent[0] <= cutoff:
            sent.popleft()

    def room(self, now_ns: int) -> int:
        """Whole messages that could go at ``now_ns``."""
        self._prune(now_ns)
        return min(self.limit - len(self._sent), math.floor(self._bucket.available(now_ns)))

    def ready_ns(self, now_ns: int) -> int:
        """The earliest time >= ``now_ns`` at which one message may go (nothing taken meanwhile)."""
        self._prune(now_ns)
        at = now_ns
        if len(self._sent) >= self.limit:  # wait for the oldest that counts to leave the window
            at = self._sent[len(self._sent) - self.limit] + self.window_ns
        short = 1 - self._bucket.available(now_ns)  # refill is exactly rate / 1e9 token per ns
        if short > 0:
            at = max(at, now_ns + math.ceil(short * NS_PER_S / self.rate))
        return at

    def take(self, now_ns: int) -> None:
        taken = self._bucket.take(now_ns)
        assert taken, "take() without room"
        self._sent.append(now_ns)


@dataclass(frozen=True, slots=True)
class _Held:
    cmd: VenueCommand
    at_ns: int  # when it was queued


def _is_order(cmd: VenueCommand) -> bool:
    """New orders and replaces count against orders/s (as in the client throttle)."""
    return isinstance(cmd, SendChildOrder | ReplaceChildOrder)


class VenueRateLimiter:
    """A venue's ``orders_per_s`` and ``messages_per_s`` (either may be None: not limited).

    *Counting.* A new order (:class:`SendChildOrder`) or replace (:class:`ReplaceChildOrder`) takes
    one order token and one message token; a cancel (:class:`CancelChildOrder`) or status request
    (:class:`RequestChildStatus`) takes one message token only. Each limit is exact (see
    :class:`_Rate`): with ``orders_per_s: N`` the first N orders go at once, the N+1th is not sent
    until a second after the first, and no one-second window ever holds more than N.

    *Verdicts* (:meth:`submit`). A command is SENT (its tokens taken) when its tokens are there and
    nothing it must not overtake is queued. Otherwise:

    - a cancel is always QUEUED, whatever ``on_exhausted`` and ``max_queue`` (a cancel is never
      rejected for rate reasons, and never expires). Cancels wait in their own lane ahead of every
      queued new order, replace and status request, needing only a message token; while one waits,
      nothing else may take a message token. Exception: a cancel whose ``orig_cl_ord_id`` is a new
      order or replace still in the queue waits right behind it (the venue must see the order
      first), and still goes if that order expires (the venue then answers "unknown order");
    - any other command is QUEUED when ``on_exhausted == "queue"`` and fewer than ``max_queue``
      non-cancel commands are held, else EXHAUSTED: the caller re-routes or rejects it per
      ``on_exhausted`` (a full queue: rejects; a status request: drops or retries it).

    Non-cancel commands keep their order (FIFO): one that arrives while others are queued is queued
    even if tokens are there, and a queued head that lacks a token holds back those behind it.

    *Release.* The caller calls :meth:`release` at :meth:`next_release_ns` (a timer) and sends what
    it returns, in order; it rejects the expired ones. ``max_wait_ms`` is a hard bound from
    :meth:`submit` to send: a non-cancel command queued at ``q`` may still go at ``q + max_wait``,
    and at any later release it expires, even if a token has meanwhile come.
    """

    __slots__ = (
        "_cancels",
        "_fifo",
        "_held",
        "_held_orders",
        "_max_wait_ns",
        "_messages",
        "_now",
        "_orders",
        "cfg",
    )

    def __init__(self, cfg: RateLimitConfig, guard_ns: int = 0) -> None:
        """``guard_ns`` widens the one-second window: the venue counts by its own receive
        times, so transit jitter must not let it see N + 1 in its second."""
        if cfg.on_exhausted not in ("queue", "reroute", "reject"):
            raise ValueError(f"on_exhausted must be queue, reroute or reject, got {cfg.on_exhausted!r}")
        self.cfg = cfg
        window = NS_PER_S + guard_ns
        self._orders = None if cfg.orders_per_s is None else _Rate(cfg.orders_per_s, window)
        self._messages = None if cfg.messages_per_s is None else _Rate(cfg.messages_per_s, window)
        self._max_wait_ns = cfg.max_wait_ms * NS_PER_MS
        self._cancels: deque[_Held] = deque()  # cancels waiting for a message token, ahead of all
        self._fifo: deque[_Held] = deque()  # everything else (and cancels of queued commands)
        self._held = 0  # non-cancel commands queued (bounded by max_queue)
        self._held_orders = 0  # of which new orders and replaces
        self._now: int | None = None

    # ------------------------------------------------------------------------------- queries

    @property
    def queued(self) -> int:
        """Commands held, cancels included."""
        return len(self._cancels) + len(self._fifo)

    def headroom(self, now_ns: int) -> int | None:
        """New orders that could be sent at ``now_ns`` once the queue has gone; None: unlimited.

        The minimum over the limits a new order takes of that limit's whole tokens (:class:`_Rate`
        room) minus the queued commands that take it (orders/s: queued orders and replaces;
        messages/s: every queued command, cancels included); never below 0.
        """
        now = self._clock(now_ns)
        counts = []
        if self._orders is not None:
            counts.append(self._orders.room(now) - self._held_orders)
        if self._messages is not None:
            counts.append(self._messages.room(now) - self.queued)
        return max(0, min(counts)) if counts else None

    def next_release_ns(self, now_ns: int) -> int | None:
        """When :meth:`release` will next hand something back; None when nothing is queued.

        The earliest of: the time the next command in line (the first cancel waiting, else the head
        of the FIFO) has its tokens, and the time the oldest queued non-cancel command expires
        (``queued + max_wait + 1 ns``). ``now_ns`` itself when that is already so.
        """
        now = self._clock(now_ns)
        if self._cancels:
            assert self._messages is not None
            at = self._messages.ready_ns(now)
        elif self._fifo:
            at = max((rate.ready_ns(now) for rate in self._rates(self._fifo[0].cmd)), default=now)
        else:
            return None
        for held in self._fifo:
            if not isinstance(held.cmd, CancelChildOrder):
                at = min(at, max(now, held.at_ns + self._max_wait_ns + 1))
                break
        return at

    # ------------------------------------------------------------------------------- commands

    def submit(self, cmd: VenueCommand, now_ns: int) -> Verdict:
        """SEND (tokens taken), QUEUED or EXHAUSTED; see the class docstring."""
        now = self._clock(now_ns)
        if isinstance(cmd, CancelChildOrder):
            return self._submit_cancel(cmd, now)
        rates = self._rates(cmd)
        if not (self._cancels or self._fifo) and all(rate.room(now) > 0 for rate in rates):
            for rate in rates:
                rate.take(now)
            return Verdict.SEND
        if self.cfg.on_exhausted == "queue" and self._held < self.cfg.max_queue:
            self._fifo.append(_Held(cmd, now))
            self._held += 1
            self._held_orders += _is_order(cmd)
            return Verdict.QUEUED
        return Verdict.EXHAUSTED

    def release(self, now_ns: int) -> tuple[list[VenueCommand], list[VenueCommand]]:
        """(to send now, in this order, tokens taken; expired: reject them to the client).

        Expired first: non-cancel commands queued more than ``max_wait_ms`` ago. Then the waiting
        cancels while message tokens last, then the FIFO from its head while the head's tokens are
        there (stopping at the first that must wait).
        """
        now = self._clock(now_ns)
        expired = self._expire(now)
        ready: list[VenueCommand] = []
        while self._cancels and self._messages is not None and self._messages.room(now) > 0:
            self._messages.take(now)
            ready.append(self._cancels.popleft().cmd)
        if not self._cancels:
            while self._fifo:
                rates = self._rates(self._fifo[0].cmd)
                if not all(rate.room(now) > 0 for rate in rates):
                    break
                for rate in rates:
                    rate.take(now)
                cmd = self._fifo.popleft().cmd
                ready.append(cmd)
                if not isinstance(cmd, CancelChildOrder):
                    self._held -= 1
                    self._held_orders -= _is_order(cmd)
        return ready, expired

    def drain(self) -> list[VenueCommand]:
        """Empty the queue without sending (e.g. the venue disconnected): cancels first, then FIFO."""
        out = [h.cmd for h in self._cancels] + [h.cmd for h in self._fifo]
        self._cancels.clear()
        self._fifo.clear()
        self._held = self._held_orders = 0
        return out

    # ------------------------------------------------------------------------------- internals

    def _clock(self, now_ns: int) -> int:
        self._now = _clamp(self._now, now_ns)
        return self._now

    def _rates(self, cmd: VenueCommand) -> list[_Rate]:
        rates = [self._messages] if self._messages is not None else []
        if self._orders is not None and _is_order(cmd):
            rates.append(self._orders)
        return rates

    def _submit_cancel(self, cmd: CancelChildOrder, now: int) -> Verdict:
        if self._messages is None:
            return Verdict.SEND  # nothing limits cancels
        # behind the queued command it cancels (and behind earlier cancels of that command)
        behind = None
        for i, held in enumerate(self._fifo):
            other = held.cmd
            if (_is_order(other) and other.cl_ord_id == cmd.orig_cl_ord_id) or (
                isinstance(other, CancelChildOrder) and other.orig_cl_ord_id == cmd.orig_cl_ord_id
            ):
                behind = i
        if behind is not None:
            self._fifo.insert(behind + 1, _Held(cmd, now))
            return Verdict.QUEUED
        if not self._cancels and self._messages.room(now) > 0:
            self._messages.take(now)
            return Verdict.SEND
        self._cancels.append(_Held(cmd, now))
        return Verdict.QUEUED

    def _expire(self, now: int) -> list[VenueCommand]:
        """Non-cancel commands queued more than max_wait ago. They were queued in time order, so
        they are the oldest; cancels queued behind them stay."""
        if not self._fifo:
            return []
        cutoff = now - self._max_wait_ns
        expired: list[VenueCommand] = []
        kept: deque[_Held] = deque()
        for held in self._fifo:
            if isinstance(held.cmd, CancelChildOrder) or held.at_ns >= cutoff:
                kept.append(held)
            else:
                expired.append(held.cmd)
        if expired:
            self._fifo = kept
            self._held -= len(expired)
            self._held_orders -= sum(_is_order(cmd) for cmd in expired)
        return expired


# ================================================================================= circuit breaker


class BreakerState(StrEnum):
    CLOSED = "closed"  # route normally
    OPEN = "open"  # do not route here
    HALF_OPEN = "half_open"  # one probe order may go; its outcome closes or re-opens the breaker


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """One breaker state change, to journal and log. ``at_ns``: when it happened (for a change the
    clock caused, the moment it became due, however late :meth:`CircuitBreaker.poll` reports it)."""

    venue: str
    old: BreakerState
    new: BreakerState
    reason: str
    at_ns: int


class CircuitBreaker:
    """One venue's circuit breaker.

    CLOSED -> OPEN on :meth:`on_disconnect`, on ``max_consecutive_rejects`` :meth:`on_reject` in a
    row (an :meth:`on_ack` or :meth:`on_fill` in between starts the count again), or on an
    :meth:`on_ack` whose latency is above ``max_ack_latency_ms`` (strictly; when configured).

    OPEN -> HALF_OPEN ``half_open_after_s`` after it opened, while connected. While disconnected it
    stays OPEN however long; :meth:`on_connect` half-opens it at once if the delay has passed
    (the time disconnected counts), else it half-opens when the delay is up. A disconnect while
    already OPEN does not restart the delay; any re-open does.

    HALF_OPEN: :meth:`allows` is true exactly once (that order is the probe), then false until the
    probe's outcome: an ack within the latency limit closes the breaker; a reject or a slow ack
    re-opens it. :meth:`return_probe` gives an unsent probe back. :meth:`is_open` (the router's
    ``breaker_open``) is true in OPEN and in HALF_OPEN once the probe is out.

    *Outcomes.* The caller reports the venue's answers to the new orders it sent: the first
    execution report of an order is its ack (:meth:`on_ack` with the send-to-ack latency, even when
    it is already a fill), a rejected order is :meth:`on_reject`, later fills :meth:`on_fill`.
    Outside CLOSED only the probe's outcome counts: answers that arrive while OPEN, or while
    HALF_OPEN before the probe went, are for orders sent before the breaker opened and are ignored;
    while the probe is out, the next ack or reject is taken as the probe's (answers carry no order
    id). A probe never answered keeps the venue closed to new orders until it is answered, the
    venue disconnects or :meth:`return_probe`.

    *Changes.* Each event method returns the :class:`BreakerChange` it caused, or None. The one
    change the clock causes (OPEN -> HALF_OPEN) is made by whichever method first sees it due
    (so :meth:`is_open` and :meth:`allows` are always right) and is returned by :meth:`poll`; call
    :meth:`poll` on a timer at :meth:`next_poll_ns` (and before routing if convenient) so no change
    goes unjournaled.
    """

    __slots__ = (
        "_connected",
        "_delay_ns",
        "_max_latency_ns",
        "_now",
        "_opened_ns",
        "_probe_out",
        "_rejects",
        "_unreported",
        "cfg",
        "state",
        "venue",
    )

    def __init__(self, venue: str, cfg: CircuitBreakerConfig) -> None:
        if cfg.max_consecutive_rejects < 1:
            raise ValueError(f"max_consecutive_rejects must be >= 1, got {cfg.max_consecutive_rejects}")
        delay = Decimal(str(cfg.half_open_after_s))
        if delay <= 0:
            raise ValueError(f"half_open_after_s must be > 0, got {cfg.half_open_after_s}")
        self.venue = venue
        self.cfg = cfg
        self.state = BreakerState.CLOSED
        self._delay_ns = math.ceil(delay * NS_PER_S)
        latency = cfg.max_ack_latency_ms
        self._max_latency_ns = None if latency is None else latency * NS_PER_MS
        self._rejects = 0
        self._opened_ns = 0
        self._probe_out = False
        self._connected = True  # until told otherwise (the router checks connectivity itself)
        self._unreported: list[BreakerChange] = []  # changes the clock made, for poll()
        self._now: int | None = None

    @property
    def consecutive_rejects(self) -> int:
        return self._rejects

    # ------------------------------------------------------------------------------- queries

    def is_open(self, now_ns: int) -> bool:
        """Do not route new orders here: OPEN, or HALF_OPEN with the probe out."""
        self._advance(now_ns)
        return self.state is BreakerState.OPEN or (self.state is BreakerState.HALF_OPEN and self._probe_out)

    def allows(self, now_ns: int) -> bool:
        """May a new order go now? CLOSED: yes. HALF_OPEN: yes once (the probe). OPEN: no."""
        self._advance(now_ns)
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN and not self._probe_out:
            self._probe_out = True
            return True
        return False

    def return_probe(self, now_ns: int) -> None:
        """The probe :meth:`allows` granted was not sent after all (rate limit, risk): let another go."""
        self._advance(now_ns)
        if self.state is BreakerState.HALF_OPEN:
            self._probe_out = False

    def poll(self, now_ns: int) -> list[BreakerChange]:
        """Apply the change the clock brings by ``now_ns``; return the clock's changes not yet
        returned (oldest first; usually none, at most one per re-open)."""
        self._advance(now_ns)
        out, self._unreported = self._unreported, []
        return out

    def next_poll_ns(self) -> int | None:
        """When the clock next changes the state (OPEN and connected: the half-open time), else None."""
        if self.state is BreakerState.OPEN and self._connected:
            return self._opened_ns + self._delay_ns
        return None

    # ------------------------------------------------------------------------------- events

    def on_disconnect(self, now_ns: int) -> BreakerChange | None:
        now = self._advance(now_ns)
        self._connected = False
        if self.state is BreakerState.OPEN:
            return None
        return self._open(now, "disconnected")

    def on_connect(self, now_ns: int) -> BreakerChange | None:
        now = self._advance(now_ns)
        self._connected = True
        if self.state is BreakerState.OPEN and now >= self._opened_ns + self._delay_ns:
            text = f"reconnected {self._open_for(now)} s after opening"
            return self._change(BreakerState.HALF_OPEN, text, now)
        return None

    def on_reject(self, now_ns: int) -> BreakerChange | None:
        now = self._advance(now_ns)
        if self.state is BreakerState.CLOSED:
            self._rejects += 1
            if self._rejects >= self.cfg.max_consecutive_rejects:
                return self._open(now, f"{self._rejects} consecutive rejects")
        elif self.state is BreakerState.HALF_OPEN and self._probe_out:
            return self._open(now, "probe rejected")
        return None

    def on_ack(self, latency_ns: int, now_ns: int) -> BreakerChange | None:
        now = self._advance(now_ns)
        limit = self._max_latency_ns
        slow = limit is not None and latency_ns > limit
        if self.state is BreakerState.CLOSED:
            self._rejects = 0
            if slow:
                return self._open(now, f"ack latency {_ms(latency_ns)} ms > {self.cfg.max_ack_latency_ms} ms")
        elif self.state is BreakerState.HALF_OPEN and self._probe_out:
            if slow:
                text = f"probe ack latency {_ms(latency_ns)} ms > {self.cfg.max_ack_latency_ms} ms"
                return self._open(now, text)
            return self._change(BreakerState.CLOSED, f"probe acknowledged in {_ms(latency_ns)} ms", now)
        return None

    def on_fill(self, now_ns: int) -> BreakerChange | None:
        """A fill: the venue works; starts the reject count again. Never changes the state."""
        self._advance(now_ns)
        if self.state is BreakerState.CLOSED:
            self._rejects = 0
        return None

    # ------------------------------------------------------------------------------- internals

    def _advance(self, now_ns: int) -> int:
        now = self._now = _clamp(self._now, now_ns)
        due = self.next_poll_ns()
        if due is not None and now >= due:
            text = f"half-open after {self._open_for(due)} s open"
            self._unreported.append(self._change(BreakerState.HALF_OPEN, text, due))
        return now

    def _open_for(self, now: int) -> str:
        return f"{(Decimal(now - self._opened_ns) / NS_PER_S).normalize():f}"

    def _open(self, now: int, reason: str) -> BreakerChange:
        self._opened_ns = now
        return self._change(BreakerState.OPEN, reason, now)

    def _change(self, new: BreakerState, reason: str, at_ns: int) -> BreakerChange:
        old, self.state = self.state, new
        self._rejects = 0
        self._probe_out = False
        return BreakerChange(self.venue, old, new, reason, at_ns)
