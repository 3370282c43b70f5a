"""Times in backtest files: ISO-8601 UTC instants, offsets (``+5s``) and durations (``250ms``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h)\s*$")


def parse_duration_ns(text: str) -> int:
    """``250ms``, ``5s``, ``1.5m``, ``2h`` -> nanoseconds; ValueError otherwise."""
    m = _DURATION_RE.match(str(text))
    if m is None:
        raise ValueError(f"expected a duration like 250ms, 5s, 2m or 1h, got {text!r}")
    try:
        return int(Decimal(m.group(1)) * _UNITS[m.group(2)])
    except InvalidOperation:
        raise ValueError(f"bad duration {text!r}") from None


def parse_instant_ns(text: str) -> int:
    """ISO-8601 instant (UTC unless it names an offset) -> epoch nanoseconds; ValueError otherwise."""
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"expected an ISO-8601 time like 2023-12-25T22:00:00Z, got {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def parse_time_ns(text: str, origin_ns: int | None) -> tuple[int | None, int | None]:
    """A CSV/YAML time: ``+5s`` is (None, offset) from ``origin_ns``; an ISO instant is (instant, None)."""
    s = str(text).strip()
    if s.startswith("+"):
        return None, parse_duration_ns(s[1:])
    return parse_instant_ns(s), None


def iso(ns: int) -> str:
    """Epoch nanoseconds as an ISO-8601 UTC string with microseconds."""
    secs, rem = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(secs, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{rem // 1000:06d}Z"
