"""Seeded, deterministic behaviour models for simulated venues: latency, rejects, disconnects,
outages, halts, price bands and market impact.

Each model is a frozen dataclass built from the plain mapping the YAML holds via
``from_config(d, where)``; bad input raises ``ValueError("<where>.<key>: problem")`` so the config
layer can point at the line, and unknown keys are errors rather than silently ignored typos. Models
hold no RNG and no clock: the caller passes its own ``random.Random`` (seeded per venue) and the
simulated time, so one seed always replays the same run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from gateway.orders.enums import Side

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------ config helpers


def _mapping(d: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(d).__name__}")
    return d


def _check_keys(
    d: Mapping[str, Any], where: str, allowed: Sequence[str], required: Sequence[str] = ()
) -> None:
    for key in d:
        if key not in allowed:
            raise ValueError(f"{where}.{key}: unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in d:
            raise ValueError(f"{where}.{key}: required")


def _number(d: Mapping[str, Any], key: str, where: str, *, minimum: float | None = 0.0) -> float:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}.{key}: must be finite, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}.{key}: must be at least {minimum:g}, got {value:g}")
    return value


def _decimal(d: Mapping[str, Any], key: str, where: str) -> Decimal:
    value = d[key]
    if isinstance(value, bool):
        raise ValueError(f"{where}.{key}: expected a number, got {value!r}")
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{where}.{key}: expected a number, got {value!r}") from None
    if not out.is_finite() or out <= 0:
        raise ValueError(f"{where}.{key}: must be a positive number, got {value!r}")
    return out


def parse_time_ns(value: Any, where: str) -> int:
    """ISO-8601 (naive means UTC), a YAML datetime, or integer UTC nanoseconds."""
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected an ISO-8601 time or nanoseconds, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{where}: not an ISO-8601 time: {value!r}") from None
    else:
        raise ValueError(f"{where}: expected an ISO-8601 time or nanoseconds, got {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS_PER_S + delta.microseconds * 1_000


# ------------------------------------------------------------------ latency

_LATENCY_PARAMS = {
    "fixed": ("ms",),
    "uniform": ("min_ms", "max_ms"),
    "normal": ("mean_ms", "std_ms"),
    "lognormal": ("median_ms", "sigma"),
}


@dataclass(frozen=True)
class LatencyModel:
    """A delay distribution in milliseconds; samples are whole nanoseconds, never negative."""

    kind: str = "fixed"
    params: tuple[tuple[str, float], ...] = (("ms", 0.0),)

    @classmethod
    def fixed(cls, ms: float) -> LatencyModel:
        return cls("fixed", (("ms", float(ms)),))

    @classmethod
    def from_config(cls, d: Any, where: str) -> LatencyModel:
        d = _mapping(d, where)
        kind = d.get("kind")
        if kind not in _LATENCY_PARAMS:
            raise ValueError(f"{where}.kind: must be one of {', '.join(_LATENCY_PARAMS)}, got {kind!r}")
        names = _LATENCY_PARAMS[kind]
        _check_keys(d, where, ("kind", *names), names)
        values = {n: _number(d, n, where) for n in names}
        if kind == "uniform" and values["max_ms"] < values["min_ms"]:
            raise ValueError(f"{where}.max_ms: below min_ms ({values['max_ms']:g} < {values['min_ms']:g})")
        return cls(kind, tuple(values.items()))

    def sample_ns(self, rng: random.Random) -> int:
        p = dict(self.params)
        if self.kind == "fixed":
            ms = p["ms"]
        elif self.kind == "uniform":
            ms = rng.uniform(p["min_ms"], p["max_ms"])
        elif self.kind == "normal":
            ms = rng.gauss(p["mean_ms"], p["std_ms"])
        elif self.kind == "lognormal":
            ms = p["median_ms"] * math.exp(rng.gauss(0.0, p["sigma"])) if p["median_ms"] > 0 else 0.0
        else:
            raise ValueError(f"unknown latency kind {self.kind!r}")
        return max(0, round(ms * _NS_PER_MS))


ZERO_LATENCY = LatencyModel()


@dataclass(frozen=True)
class VenueLatency:
    """One latency model per path; the orchestration decides where each delay applies."""

    ack: LatencyModel = ZERO_LATENCY
    fill: LatencyModel = ZERO_LATENCY
    cancel: LatencyModel = ZERO_LATENCY
    market_data: LatencyModel = ZERO_LATENCY

    @classmethod
    def from_config(cls, d: Any, where: str) -> VenueLatency:
        d = _mapping(d, where)
        names = ("ack", "fill", "cancel", "market_data")
        _check_keys(d, where, names)
        return cls(**{n: LatencyModel.from_config(d[n], f"{where}.{n}") for n in names if n in d})


# ------------------------------------------------------------------ rejects


@dataclass(frozen=True)
class RejectModel:
    """Random venue rejections: with probability ``rate`` a reason drawn by weight."""

    rate: float = 0.0
    reasons: tuple[tuple[str, float], ...] = (("rejected by venue", 1.0),)

    @classmethod
    def from_config(cls, d: Any, where: str) -> RejectModel:
        d = _mapping(d, where)
        _check_keys(d, where, ("rate", "reasons"), ("rate",))
        rate = _number(d, "rate", where)
        if rate > 1:
            raise ValueError(f"{where}.rate: must be within 0..1, got {rate:g}")
        reasons = d.get("reasons")
        if reasons is None:
            return cls(rate)
        if not isinstance(reasons, list) or not reasons:
            raise ValueError(f"{where}.reasons: expected a non-empty list of {{text, weight}}")
        parsed = []
        for i, r in enumerate(reasons):
            w = f"{where}.reasons[{i}]"
            r = _mapping(r, w)
            _check_keys(r, w, ("text", "weight"), ("text",))
            if not isinstance(r["text"], str) or not r["text"]:
                raise ValueError(f"{w}.text: expected a non-empty string")
            weight = _number(r, "weight", w) if "weight" in r else 1.0
            parsed.append((r["text"], weight))
        if sum(w for _, w in parsed) <= 0:
            raise ValueError(f"{where}.reasons: weights must not all be zero")
        return cls(rate, tuple(parsed))

    def draw(self, rng: random.Random) -> str | None:
        """A reject reason, or None to let the order through; always consumes one draw for the rate."""
        if rng.random() >= self.rate:
            return None
        texts = [t for t, _ in self.reasons]
        return rng.choices(texts, weights=[w for _, w in self.reasons])[0]


# ------------------------------------------------------------------ disconnects


@dataclass(frozen=True)
class DisconnectModel:
    """Session drops as a Poisson process in simulated time, each lasting ``reconnect_after_s``."""

    mean_interval_s: float
    reconnect_after_s: float = 0.0

    @classmethod
    def from_config(cls, d: Any, where: str) -> DisconnectModel:
        d = _mapping(d, where)
        _check_keys(d, where, ("mean_interval_s", "reconnect_after_s"), ("mean_interval_s",))
        mean = _number(d, "mean_interval_s", where)
        if mean <= 0:
            raise ValueError(f"{where}.mean_interval_s: must be positive, got {mean:g}")
        after = _number(d, "reconnect_after_s", where) if "reconnect_after_s" in d else 0.0
        return cls(mean, after)

    def next_disconnect_ns(self, rng: random.Random, now_ns: int) -> int:
        """When the next drop happens, exponential inter-arrival from ``now_ns``."""
        return now_ns + max(1, round(rng.expovariate(1.0 / self.mean_interval_s) * _NS_PER_S))

    @property
    def reconnect_after_ns(self) -> int:
        return round(self.reconnect_after_s * _NS_PER_S)


# ------------------------------------------------------------------ outages and halts


@dataclass(frozen=True)
class Window:
    """``[start_ns, end_ns)`` in UTC nanoseconds, optionally for one symbol only."""

    start_ns: int
    end_ns: int
    symbol: str | None = None

    @classmethod
    def from_config(cls, d: Any, where: str, *, with_symbol: bool) -> Window:
        d = _mapping(d, where)
        allowed = ("start", "end", "symbol") if with_symbol else ("start", "end")
        _check_keys(d, where, allowed, ("start", "end"))
        start = parse_time_ns(d["start"], f"{where}.start")
        end = parse_time_ns(d["end"], f"{where}.end")
        if end <= start:
            raise ValueError(f"{where}.end: must be after start")
        symbol = d.get("symbol")
        if symbol is not None and not isinstance(symbol, str):
            raise ValueError(f"{where}.symbol: expected a string, got {symbol!r}")
        return cls(start, end, symbol)

    def contains(self, ts_ns: int) -> bool:
        return self.start_ns <= ts_ns < self.end_ns


def _windows(d: Any, where: str, with_symbol: bool) -> tuple[Window, ...]:
    if d is None:
        return ()
    if not isinstance(d, list):
        raise ValueError(f"{where}: expected a list of {{start, end}} windows")
    return tuple(Window.from_config(w, f"{where}[{i}]", with_symbol=with_symbol) for i, w in enumerate(d))


@dataclass(frozen=True)
class Outage:
    """Times the whole venue is unreachable."""

    windows: tuple[Window, ...] = ()

    @classmethod
    def from_config(cls, d: Any, where: str) -> Outage:
        return cls(_windows(d, where, with_symbol=False))

    def active(self, ts_ns: int) -> bool:
        return any(w.contains(ts_ns) for w in self.windows)


@dataclass(frozen=True)
class Halt:
    """Trading halts; a window without a symbol halts every symbol."""

    windows: tuple[Window, ...] = ()

    @classmethod
    def from_config(cls, d: Any, where: str) -> Halt:
        return cls(_windows(d, where, with_symbol=True))

    def halted(self, symbol: str, ts_ns: int) -> bool:
        return any(w.contains(ts_ns) and w.symbol in (None, symbol) for w in self.windows)


# ------------------------------------------------------------------ price band


@dataclass(frozen=True)
class PriceBand:
    """Orders priced further than ``pct`` percent or ``points`` from the reference are refused."""

    pct: Decimal | None = None
    points: Decimal | None = None
    reference: str = "last_trade"  # or "mid"

    @classmethod
    def from_config(cls, d: Any, where: str) -> PriceBand:
        d = _mapping(d, where)
        _check_keys(d, where, ("pct", "points", "reference"))
        if ("pct" in d) == ("points" in d):
            raise ValueError(f"{where}: give exactly one of pct or points")
        reference = d.get("reference", "last_trade")
        if reference not in ("last_trade", "mid"):
            raise ValueError(f"{where}.reference: must be last_trade or mid, got {reference!r}")
        if "pct" in d:
            return cls(pct=_decimal(d, "pct", where), reference=reference)
        return cls(points=_decimal(d, "points", where), reference=reference)

    def violates(self, price: Decimal | None, reference: Decimal | None) -> bool:
        """No price (market order) or no reference yet: nothing to compare, so no violation."""
        if price is None or reference is None:
            return False
        limit = self.points if self.points is not None else reference * (self.pct or 0) / 100
        return abs(price - reference) > limit


# ------------------------------------------------------------------ impact


@dataclass(frozen=True)
class ImpactModel:
    """Temporary impact on our aggressive fills: ``price * k_bps/1e4 * (qty/adv)**alpha`` worse.

    The square-root law (alpha 0.5) is the usual empirical shape; the result is rounded to ``tick``
    against us so fills stay on the price grid. It does not move the book.
    """

    k_bps: float
    adv: float
    alpha: float = 0.5
    tick: Decimal | None = None

    @classmethod
    def from_config(cls, d: Any, where: str) -> ImpactModel:
        d = _mapping(d, where)
        _check_keys(d, where, ("k_bps", "adv", "alpha", "tick"), ("k_bps", "adv"))
        adv = _number(d, "adv", where)
        if adv <= 0:
            raise ValueError(f"{where}.adv: must be positive, got {adv:g}")
        alpha = _number(d, "alpha", where) if "alpha" in d else 0.5
        tick = _decimal(d, "tick", where) if "tick" in d else None
        return cls(_number(d, "k_bps", where), adv, alpha, tick)

    def adjust(self, side: Side, price: Decimal, qty: Decimal) -> Decimal:
        """The fill price after impact: higher for a buy, lower for a sell."""
        frac = self.k_bps / 10_000 * (float(qty) / self.adv) ** self.alpha
        delta = price * Decimal(repr(frac))
        if self.tick is not None:
            delta = (delta / self.tick).to_integral_value(rounding=ROUND_CEILING) * self.tick
        buy = side is Side.BUY
        out = price + delta if buy else price - delta
        if self.tick is None:
            exp = price.as_tuple().exponent
            if isinstance(exp, int) and exp < 0:  # keep the price's precision, rounded against us
                out = out.quantize(Decimal(1).scaleb(exp), rounding=ROUND_CEILING if buy else ROUND_FLOOR)
        return out


# ------------------------------------------------------------------ bundle


@dataclass(frozen=True)
class VenueModels:
    """Everything that makes one simulated venue imperfect; the defaults are a perfect venue."""

    latency: VenueLatency = field(default_factory=VenueLatency)
    rejects: RejectModel = field(default_factory=RejectModel)
    disconnects: DisconnectModel | None = None
    outages: Outage = field(default_factory=Outage)
    halts: Halt = field(default_factory=Halt)
    price_band: PriceBand | None = None
    impact: ImpactModel | None = None

    @classmethod
    def from_config(cls, d: Any, where: str) -> VenueModels:
        d = _mapping({} if d is None else d, where)
        builders = {
            "latency": VenueLatency.from_config,
            "rejects": RejectModel.from_config,
            "disconnects": DisconnectModel.from_config,
            "outages": Outage.from_config,
            "halts": Halt.from_config,
            "price_band": PriceBand.from_config,
            "impact": ImpactModel.from_config,
        }
        _check_keys(d, where, tuple(builders))
        return cls(**{k: builders[k](v, f"{where}.{k}") for k, v in d.items() if v is not None})
