"""The backtest YAML: loaded, checked and resolved into frozen dataclasses.

Every mistake is a :class:`gateway.config.ConfigError` naming the file, the key and the problem;
unknown keys are errors; paths resolve relative to the YAML file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from gateway.backtest.timeparse import parse_duration_ns, parse_instant_ns
from gateway.config import ConfigError
from gateway.config.loader import read_yaml
from gateway.config.model import display_path
from gateway.simulator.replay.readers import ReplaySource

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$")
FIX_VERSIONS = ("4.2", "4.4", "FIXT1.1")
_MISSING = object()


@dataclass(frozen=True)
class PerturbSpec:
    seed: int = 0
    time_shift_ns: int = 0
    size_scale: float = 1.0
    drop_adds: float = 0.0


@dataclass(frozen=True)
class FeeSpec:
    per_unit: Decimal = Decimal(0)
    bps: Decimal = Decimal(0)

    def fee(self, qty: Decimal, price: Decimal, multiplier: Decimal = Decimal(1)) -> Decimal:
        """``per_unit`` per contract; ``bps`` of the notional, which the contract multiplier scales."""
        return qty * self.per_unit + qty * price * multiplier * self.bps / Decimal(10_000)


@dataclass(frozen=True)
class VenueSpec:
    name: str
    fix_version: str
    seed: int
    replay: tuple[ReplaySource, ...]
    perturb: PerturbSpec | None
    fees: FeeSpec
    models: dict[str, Any]
    md_interval_ns: int
    md_depth: int
    circuit_breaker: dict[str, Any] | None


@dataclass(frozen=True)
class FlowSpec:
    kind: str  # "csv" | "strategy"
    name: str
    client: str | None  # strategy: its client session; csv: rows name theirs
    fix_version: str
    file: Path | None = None
    strategy: str | None = None  # "package.module:Class"
    params: dict[str, Any] = field(default_factory=dict)
    md_latency_ns: int = 0


@dataclass(frozen=True)
class BacktestConfig:
    name: str
    seed: int
    speed: str  # "max" | "realtime" | a factor as text
    speed_factor: float | None  # None: as fast as possible
    start_ns: int | None
    end_ns: int | None
    duration_ns: int | None
    instruments: tuple[dict[str, Any], ...]
    venues: tuple[VenueSpec, ...]
    flows: tuple[FlowSpec, ...]
    risk: dict[str, Any] | None
    routing: dict[str, Any] | None
    store_url: str | None
    ack_timeout_s: float
    out_dir: Path | None
    source: Path


class _Map:
    """One mapping at one key path with typed getters; unknown keys are refused up front."""

    def __init__(self, raw: Any, file: str, path: str, keys: tuple[str, ...]):
        self.file, self.path = file, path
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(file, f"expected a mapping, got {type(raw).__name__}", path)
        unknown = [k for k in raw if k not in keys]
        if unknown:
            raise ConfigError(
                file, f"unknown key (expected one of: {', '.join(keys)})", self.key(str(unknown[0]))
            )
        self.raw = raw

    def key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, problem: str, key: str | None = None) -> NoReturn:
        raise ConfigError(self.file, problem, self.key(key) if key else self.path)

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.raw and self.raw[key] is not None:
            return self.raw[key]
        if default is _MISSING:
            self.fail("required", key)
        return default

    def string(self, key: str, default: Any = _MISSING, pattern: re.Pattern | None = None) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str | int) or isinstance(value, bool):
            self.fail(f"expected text, got {value!r}", key)
        value = str(value)
        if pattern is not None and not pattern.match(value):
            self.fail(f"invalid value {value!r}", key)
        return value

    def integer(self, key: str, default: Any = _MISSING, lo: int | None = None) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, int) or isinstance(value, bool) or (lo is not None and value < lo):
            self.fail(f"expected an integer{'' if lo is None else f' >= {lo}'}, got {value!r}", key)
        return value

    def number(self, key: str, default: Any = _MISSING, lo: float | None = None, hi: float | None = None):
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, int | float) or isinstance(value, bool):
            self.fail(f"expected a number, got {value!r}", key)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(f"expected a number in [{lo}, {hi}], got {value!r}", key)
        return float(value)

    def decimal(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return Decimal(str(value))
        except InvalidOperation:
            self.fail(f"expected a decimal number, got {value!r}", key)

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.string(key, default)
        if value not in choices:
            self.fail(f"expected one of {', '.join(choices)}, got {value!r}", key)
        return value

    def duration(self, key: str, default: Any = _MISSING) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        try:
            return parse_duration_ns(str(value))
        except ValueError as exc:
            self.fail(str(exc), key)

    def instant(self, key: str) -> int | None:
        value = self.get(key, None)
        if value is None:
            return None
        try:
            return parse_instant_ns(value.isoformat() if hasattr(value, "isoformat") else str(value))
        except ValueError as exc:
            self.fail(str(exc), key)

    def path_(self, key: str, base: Path, default: Any = _MISSING, must_exist: bool = True) -> Any:
        value = self.get(key, default)
        if value is default and default is not _MISSING:
            return value
        p = Path(str(value)).expanduser()
        p = p if p.is_absolute() else (base / p)
        if must_exist and not p.exists():
            self.fail(f"file not found: {display_path(p)}", key)
        return p.resolve() if must_exist else p

    def mapping(self, key: str) -> dict[str, Any] | None:
        value = self.get(key, None)
        if value is not None and not isinstance(value, dict):
            self.fail(f"expected a mapping, got {type(value).__name__}", key)
        return value

    def items(self, key: str, default: Any = _MISSING) -> list:
        value = self.get(key, default)
        if not isinstance(value, list):
            self.fail(f"expected a list, got {type(value).__name__}", key)
        return value


_TOP = (
    "name", "seed", "speed", "start", "end", "duration", "instruments", "venues", "order_flow",
    "gateway", "out",
)  # fmt: skip
_VENUE = (
    "name", "fix_version", "seed", "replay", "perturb", "fees", "models", "md_interval_ms", "md_depth",
    "circuit_breaker",
)  # fmt: skip
_REPLAY = ("format", "file", "symbol", "as_symbol", "updates_file", "default_qty")
_PERTURB = ("seed", "time_shift_ms", "size_scale", "drop_adds")
_FLOW = ("kind", "name", "client", "fix_version", "file", "strategy", "params", "md_latency_ms")
_GATEWAY = ("risk", "routing", "store_url", "ack_timeout_s")


def _speed(top: _Map) -> tuple[str, float | None]:
    value = top.get("speed", "max")
    if value in ("max", "realtime"):
        return value, None if value == "max" else 1.0
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return str(value), float(value)
    top.fail(f"expected max, realtime or a factor > 0, got {value!r}", "speed")


def parse_speed(value: str) -> tuple[str, float | None]:
    """The CLI's --speed: max | realtime | a positive number."""
    if value in ("max", "realtime"):
        return value, None if value == "max" else 1.0
    try:
        factor = float(value)
    except ValueError:
        raise ValueError(f"--speed: expected max, realtime or a factor > 0, got {value!r}") from None
    if factor <= 0:
        raise ValueError(f"--speed: expected a factor > 0, got {value!r}")
    return value, factor


def _venue(raw: Any, file: str, where: str, base: Path) -> VenueSpec:
    v = _Map(raw, file, where, _VENUE)
    name = v.string("name", pattern=_NAME_RE)
    replay_raw = v.get("replay")
    if isinstance(replay_raw, dict):
        replay_raw = [replay_raw]
    if not isinstance(replay_raw, list) or not replay_raw:
        v.fail("expected a replay source or a non-empty list of them", "replay")
    sources = []
    for i, r in enumerate(replay_raw):
        rm = _Map(r, file, f"{v.key('replay')}[{i}]", _REPLAY)
        fmt = rm.string("format")
        _check_format(rm, fmt)
        sources.append(
            ReplaySource(
                format=fmt,
                file=rm.path_("file", base),
                symbol=rm.string("symbol", None),
                as_symbol=rm.string("as_symbol", None),
                updates_file=rm.path_("updates_file", base, None),
                default_qty=rm.decimal("default_qty", None),
            )
        )
    perturb = None
    if v.get("perturb", None) is not None:
        p = _Map(v.get("perturb"), file, v.key("perturb"), _PERTURB)
        perturb = PerturbSpec(
            seed=p.integer("seed", 0),
            time_shift_ns=p.integer("time_shift_ms", 0) * 1_000_000,
            size_scale=p.number("size_scale", 1.0, lo=0.0),
            drop_adds=p.number("drop_adds", 0.0, lo=0.0, hi=1.0),
        )
    f = _Map(v.get("fees", None), file, v.key("fees"), ("per_unit", "bps"))
    fees = FeeSpec(per_unit=f.decimal("per_unit", Decimal(0)), bps=f.decimal("bps", Decimal(0)))
    models = v.mapping("models") or {}
    _check_models(models, file, v.key("models"))
    return VenueSpec(
        name=name,
        fix_version=v.choice("fix_version", FIX_VERSIONS, "4.4"),
        seed=v.integer("seed", 0),
        replay=tuple(sources),
        perturb=perturb,
        fees=fees,
        models=models,
        md_interval_ns=int(v.number("md_interval_ms", 100, lo=0) * 1_000_000),
        md_depth=v.integer("md_depth", 5, lo=1),
        circuit_breaker=v.mapping("circuit_breaker"),
    )


def _check_format(m: _Map, fmt: str) -> None:
    try:
        from gateway.simulator.replay.readers import READERS
    except ImportError:  # the replay layer is not installed: checked when the run starts
        return
    if fmt not in READERS:
        m.fail(f"unknown replay format {fmt!r} (known: {', '.join(sorted(READERS))})", "format")


def _check_models(models: dict, file: str, where: str) -> None:
    try:
        from gateway.simulator.models import VenueModels
    except ImportError:
        return
    try:
        VenueModels.from_config(models, where)
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(file, str(exc)) from None


def _flow(raw: Any, file: str, where: str, base: Path, n: int) -> FlowSpec:
    m = _Map(raw, file, where, _FLOW)
    kind = m.choice("kind", ("csv", "strategy"))
    name = m.string("name", f"flow{n}", pattern=_NAME_RE)
    fix_version = m.choice("fix_version", ("4.2", "4.4"), "4.4")
    if kind == "csv":
        for k in ("strategy", "params", "client", "md_latency_ms"):
            if m.get(k, None) is not None:
                m.fail("only for kind: strategy", k)
        return FlowSpec("csv", name, None, fix_version, file=m.path_("file", base))
    strategy = m.string("strategy")
    if not re.match(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$", strategy):
        m.fail(f"expected package.module:ClassName, got {strategy!r}", "strategy")
    if m.get("file", None) is not None:
        m.fail("only for kind: csv", "file")
    return FlowSpec(
        "strategy",
        name,
        m.string("client", name.upper(), pattern=_NAME_RE),
        fix_version,
        strategy=strategy,
        params=m.mapping("params") or {},
        md_latency_ns=int(m.number("md_latency_ms", 0, lo=0) * 1_000_000),
    )


def load_backtest(path: str | Path) -> BacktestConfig:
    source = Path(path).expanduser().resolve()
    file = display_path(source)
    top = _Map(read_yaml(source), file, "", _TOP)
    base = source.parent
    speed, factor = _speed(top)
    instruments = top.items("instruments")
    for i, inst in enumerate(instruments):
        if not isinstance(inst, dict) or "symbol" not in inst:
            top.fail("each instrument is a mapping with at least symbol", f"instruments[{i}]")
        if "multiplier" in inst:
            try:
                ok = Decimal(str(inst["multiplier"])) > 0
            except ArithmeticError:
                ok = False
            if not ok:
                top.fail(f"not a positive number: {inst['multiplier']!r}", f"instruments[{i}].multiplier")
    venues = tuple(_venue(v, file, f"venues[{i}]", base) for i, v in enumerate(top.items("venues")))
    if not venues:
        top.fail("at least one venue is required", "venues")
    names = [v.name for v in venues]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        top.fail(f"venue {dup!r} appears twice", "venues")
    flows = tuple(
        _flow(f, file, f"order_flow[{i}]", base, i + 1) for i, f in enumerate(top.items("order_flow", []))
    )
    gw = _Map(top.get("gateway", None), file, "gateway", _GATEWAY)
    start, end = top.instant("start"), top.instant("end")
    duration = top.duration("duration", None)
    if end is not None and duration is not None:
        top.fail("give end or duration, not both", "duration")
    if start is not None and end is not None and end <= start:
        top.fail("end must be after start", "end")
    out = top.get("out", None)
    return BacktestConfig(
        name=top.string("name", source.stem),
        seed=top.integer("seed", 0),
        speed=speed,
        speed_factor=factor,
        start_ns=start,
        end_ns=end,
        duration_ns=duration,
        instruments=tuple(instruments),
        venues=venues,
        flows=flows,
        risk=gw.mapping("risk"),
        routing=gw.mapping("routing"),
        store_url=gw.string("store_url", None),
        ack_timeout_s=gw.number("ack_timeout_s", 3600.0, lo=1),
        out_dir=None if out is None else top.path_("out", base, must_exist=False),
        source=source,
    )
