"""Token buckets for rate limits, in exact integer arithmetic on a caller-supplied clock.

The clock comes from the caller (``RiskView.now_ns``), never from the wall clock, so a throttle is
deterministic in tests and in journal replay. Levels are integers in units of ``1 / unit`` token,
with ``unit`` chosen so that a nanosecond's refill is a whole number of units: no float drift, no
rounding that would let a sustained stream creep above the configured rate.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

NS_PER_S = 1_000_000_000


class TokenBucket:
    """``rate_per_s`` tokens per second, at most ``burst`` banked; starts full.

    ``burst`` defaults to one second of tokens (but at least one, so a slow rate can still pass a
    single order). A clock that steps backwards refills nothing rather than raising.
    """

    __slots__ = ("_capacity", "_cost", "_last_ns", "_level", "_refill", "burst", "rate_per_s")

    def __init__(self, rate_per_s: Decimal | int | str, burst: Decimal | int | str | None = None) -> None:
        rate = Fraction(Decimal(rate_per_s))
        if rate <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        size = max(rate, Fraction(1)) if burst is None else Fraction(Decimal(burst))
        if size < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate_per_s = Decimal(rate_per_s)
        self.burst = max(self.rate_per_s, Decimal(1)) if burst is None else Decimal(burst)
        # one token = NS_PER_S * rate.den * size.den units; one nanosecond refills rate.num * size.den
        self._cost = NS_PER_S * rate.denominator * size.denominator
        self._refill = rate.numerator * size.denominator
        self._capacity = size.numerator * NS_PER_S * rate.denominator
        self._level = self._capacity
        self._last_ns: int | None = None

    def take(self, now_ns: int) -> bool:
        """Take one token at ``now_ns`` if one is available; False (and nothing taken) if not."""
        last = self._last_ns
        if last is None:
            self._last_ns = now_ns
        elif now_ns > last:
            level = self._level + (now_ns - last) * self._refill
            self._level = level if level < self._capacity else self._capacity
            self._last_ns = now_ns
        if self._level >= self._cost:
            self._level -= self._cost
            return True
        return False

    def available(self, now_ns: int) -> Fraction:
        """Tokens that could be taken at ``now_ns`` (for diagnostics and tests; changes nothing)."""
        level = self._level
        if self._last_ns is not None and now_ns > self._last_ns:
            level = min(self._capacity, level + (now_ns - self._last_ns) * self._refill)
        return Fraction(level, self._cost)
