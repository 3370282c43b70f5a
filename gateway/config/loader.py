"""Load and validate the gateway configuration: the only module that knows the configuration is YAML.

Layout: the gateway file (default ``config/gateway.yaml``) plus, in the same directory,
``clients/*.yaml`` (one client session per file) and ``venues/*.yaml`` (one venue per file), so
onboarding is adding a file. ``templates/`` is never read. Everything is checked at load time and the
first mistake raises :class:`ConfigError` naming the file, the key path and the problem, because a
gateway that starts with a half-valid configuration fails later and far less clearly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

import gateway
from gateway.fix.overlay import OverlayError, dictionary_fields, merged_tree
from gateway.simulator.seeding import READERS

from .model import (
    ALWAYS_UP,
    BEGIN_STRINGS,
    CODEC_OWNED_TAGS,
    DAY_NAMES,
    DAY_ORDER_ENDS,
    DEFAULT_STRATEGY,
    EXTRA_TAG_MESSAGES,
    EXTRA_TAG_PLACEHOLDERS,
    ON_CHILD_REJECT,
    ORDER_TYPE_NAMES,
    RATE_LIMIT_ACTIONS,
    TIF_NAMES,
    AcceptorConfig,
    AdminConfig,
    CancelOnDisconnect,
    CheckSpec,
    CircuitBreakerConfig,
    ClientConfig,
    ConfigError,
    EngineConfig,
    GatewayConfig,
    GatewaySchedule,
    Instrument,
    InstrumentOverride,
    LossLimit,
    MarketDataConfig,
    RateLimitConfig,
    RejectBurst,
    RiskConfig,
    RoutingChoice,
    RoutingConfig,
    Schedule,
    SeedSource,
    SimFaults,
    SimulatorConfig,
    StoreConfig,
    VenueConfig,
    VenueFees,
    VenueSymbol,
    display_path,
)

ENV_VAR = "FIXGW_CONFIG"
DEFAULT_PATH = Path("config") / "gateway.yaml"
#: Base data dictionaries shipped with the repository.
FIX_SPECS_DIR = Path(gateway.__file__).resolve().parent.parent / "fix_specs"
BASE_DICTIONARIES = {"4.2": "FIX42.xml", "4.4": "FIX44.xml", "FIXT1.1": "FIX50SP2.xml"}
TRANSPORT_DICTIONARY = "FIXT11.xml"

LOG_LEVELS = ("debug", "info", "warning", "error")
SYNCHRONOUS = ("normal", "full")
DEFAULT_STORE_URL = "sqlite:///{sessions}/fixgw.db"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"}
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_COMP_ID_RE = re.compile(r"[!-~]+")  # printable ASCII, no spaces (it goes on the wire)
_COMP_ID_WHAT = "a CompID (printable ASCII, no spaces)"
_TIME_RE = re.compile(r"(\d{2}):(\d{2}):(\d{2})")
_MISSING: Any = object()


# --------------------------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-style scalars and duplicate-key detection.

    YAML 1.1 turns ``ON``/``no`` into booleans (bad for symbols) and ``09:30:00`` into the integer
    34200 (bad for schedules), and silently keeps the last of two equal keys; all three would
    surface as confusing errors or, worse, wrong values.
    """


_YAML11_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _YAML11_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    value = loader.construct_scalar(node)
    if value.startswith("0o"):
        return int(value[2:], 8)
    return int(value, 0) if value.startswith("0x") else int(value)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            mark = key_node.start_mark
            line, column = mark.line + 1, mark.column + 1
            raise ConfigError(loader.name, f"duplicate key {key!r}", line=line, column=column)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


_display = display_path


def read_yaml(path: Path) -> Any:
    """Parse one file; missing files and syntax errors become ConfigErrors with file (and line)."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(shown, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, f"cannot read file: {exc}") from None
    loader = _Loader(text)
    loader.name = shown
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        if exc.context and exc.problem:
            start = exc.context_mark
            where = f" (started at line {start.line + 1}, column {start.column + 1})" if start else ""
            problem = f"{exc.context}{where}: {exc.problem}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ConfigError(shown, f"invalid YAML: {problem}", line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise ConfigError(shown, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()


# ------------------------------------------------------------------------------------ typed access


def _show(value: Any) -> str:
    """A value as it appeared in YAML, for 'got ...' in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


class _Section:
    """A mapping from one file at one key path, with typed getters that raise precise ConfigErrors.

    Allowed keys are declared up front so an unknown key (usually a typo) is reported with the list
    of valid ones instead of being silently ignored.
    """

    def __init__(self, raw: Any, file: str, path: str, keys: tuple[str, ...]) -> None:
        self.file = file
        self.path = path
        if not isinstance(raw, dict):
            self.fail(f"expected a mapping, got {_show(raw)}")
        for key in raw:
            if key not in keys:
                self.fail(f"unknown key {str(key)!r} (expected one of: {', '.join(keys)})")
        self.raw: dict[str, Any] = raw

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, problem: str, key: str | None = None) -> NoReturn:
        raise ConfigError(self.file, problem, self.key_path(key) if key is not None else self.path)

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.raw:
            return self.raw[key]
        if default is _MISSING:
            self.fail("required key is missing", key)
        return default

    def string(
        self,
        key: str,
        default: Any = _MISSING,
        pattern: re.Pattern[str] | None = None,
        what: str = "a non-empty string",
    ) -> Any:
        value = self.get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str) or not value.strip() or (pattern and not pattern.fullmatch(value)):
            self.fail(f"expected {what}, got {_show(value)}", key)
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.get(key, default)
        if value not in choices or isinstance(value, bool):
            self.fail(f"expected one of: {', '.join(choices)}, got {_show(value)}", key)
        return str(value)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            self.fail(f"expected true or false, got {_show(value)}", key)
        return value

    def integer(self, key: str, default: Any = _MISSING, lo: int | None = None, hi: int | None = None) -> int:
        value = self.get(key, default)
        if lo is not None and hi is not None:
            what = f"an integer {lo}-{hi}"
        elif lo is not None:
            what = "a positive integer" if lo == 1 else f"an integer >= {lo}"
        else:
            what = "an integer"
        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(f"expected {what}, got {_show(value)}", key)
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        lo: float = 0.0,
        hi: float | None = None,
        lo_inclusive: bool = True,
    ) -> float:
        value = self.get(key, default)
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            self.fail(f"expected a number, got {_show(value)}", key)
        if value < lo or (value == lo and not lo_inclusive):
            self.fail(f"must be {'>=' if lo_inclusive else '>'} {lo:g}, got {_show(value)}", key)
        if hi is not None and value > hi:
            self.fail(f"must be <= {hi:g}, got {_show(value)}", key)
        return float(value)

    def decimal(self, key: str, default: Any = _MISSING, positive: bool = True) -> Decimal:
        return _to_decimal(self.get(key, default), self, key, positive)

    def section(self, key: str, keys: tuple[str, ...], default: Any = _MISSING) -> _Section:
        return _Section(self.get(key, default), self.file, self.key_path(key), keys)


def _to_decimal(value: Any, where: _Section, key: str, positive: bool = True) -> Decimal:
    """Strings ("0.01") and YAML numbers both work; floats go through str() to avoid 0.0100000002."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        where.fail(f"expected a decimal number, got {_show(value)}", key)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        result = Decimal("NaN")
    if not result.is_finite():
        where.fail(f"expected a decimal number, got {_show(value)}", key)
    if positive and result <= 0:
        where.fail(f"must be > 0, got {_show(value)}", key)
    return result


# ------------------------------------------------------------------------------------------ pieces


_SCHEDULE_KEYS = ("start", "end", "timezone", "start_day", "end_day")
_GATEWAY_SCHEDULE_KEYS = (*_SCHEDULE_KEYS, "days", "day_orders", "cancel_before_s")
_DAY_WHAT = f"a day ({', '.join(DAY_NAMES)})"
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(sec: _Section, key: str, value: Any) -> int:
    """``mon`` or ``monday``, any case; ``datetime.weekday()`` numbering."""
    text = value.strip().lower() if isinstance(value, str) else None
    for number, (short, full) in enumerate(zip(DAY_NAMES, _FULL_DAY_NAMES, strict=True)):
        if text in (short, full):
            return number
    sec.fail(f"expected {_DAY_WHAT}, got {_show(value)}", key)


def _schedule_fields(sec: _Section) -> dict[str, Any]:
    """start/end/timezone plus the weekly start_day/end_day (both or neither)."""
    times = []
    for key in ("start", "end"):
        value = sec.get(key, "00:00:00")
        match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
        if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3]) > 59:
            sec.fail(f'expected a time "HH:MM:SS" (00:00:00-23:59:59), got {_show(value)}', key)
        times.append(value)
    tz = sec.string("timezone", "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        sec.fail(
            f"unknown time zone {tz!r} (expected an IANA name such as UTC or America/New_York)", "timezone"
        )
    weekly = {k: _day(sec, k, sec.raw[k]) for k in ("start_day", "end_day") if sec.raw.get(k) is not None}
    if len(weekly) == 1:
        missing = "end_day" if "start_day" in weekly else "start_day"
        sec.fail(f"a weekly session needs both start_day and end_day ({missing} is missing)", missing)
    return {
        "start": times[0],
        "end": times[1],
        "timezone": tz,
        "start_day": weekly.get("start_day"),
        "end_day": weekly.get("end_day"),
    }


def _schedule(parent: _Section) -> Schedule:
    """A session's own ``schedule``; absent: ALWAYS_UP (load_config puts gateway.schedule there)."""
    if "schedule" not in parent.raw:
        return ALWAYS_UP
    return Schedule(**_schedule_fields(parent.section("schedule", _SCHEDULE_KEYS)))


def _gateway_schedule(gw: _Section) -> GatewaySchedule | None:
    """``gateway.schedule``; absent or null: always open (Day orders never expire)."""
    if gw.raw.get("schedule") is None:
        return None
    sec = gw.section("schedule", _GATEWAY_SCHEDULE_KEYS)
    fields = _schedule_fields(sec)
    days = frozenset(range(7))
    if "days" in sec.raw:
        raw = sec.raw["days"]
        if not isinstance(raw, list) or not raw:
            sec.fail(f"expected a non-empty list of days ({', '.join(DAY_NAMES)}), got {_show(raw)}", "days")
        picked = [_day(sec, f"days[{i}]", v) for i, v in enumerate(raw)]
        if len(set(picked)) != len(picked):
            sec.fail("a day is listed twice", "days")
        days = frozenset(picked)
    return GatewaySchedule(
        **fields,
        days=days,
        day_orders=sec.choice("day_orders", DAY_ORDER_ENDS, "expire"),
        cancel_before_s=sec.number("cancel_before_s", 5.0, lo=0.0, hi=3600.0),
    )


def _resolve(home: Path, value: str) -> Path:
    return (home / Path(value).expanduser()).resolve()


_SESSION_KEYS = (
    "name",
    "comp_id",
    "gateway_comp_id",
    "fix_version",
    "heartbeat_s",
    "schedule",
    "dictionary",
    "reset_on_logon",
    "check_latency",
    "max_latency_s",
)
_CLIENT_KEYS = (*_SESSION_KEYS, "risk", "routing", "cancel_on_disconnect", "accept_port")
_VENUE_KEYS = (
    *_SESSION_KEYS[:1],
    "host",
    "port",
    *_SESSION_KEYS[1:],
    "reconnect_s",
    "simulator",
    "market_data",
    "symbology",
    "extra_tags",
    "order_types",
    "time_in_force",
    "fees",
    "instruments",
    "dictionary_overlay",
    "rate_limits",
    "circuit_breaker",
    "cancel_on_disconnect",
    "supports_replace",
    "reconcile",
    "orphans",
)
_SIMULATOR_KEYS = (
    "enabled",
    "ack_delay_ms",
    "reject_probability",
    "seed",
    "liquidity",
    "reference_prices",
    "seed_from",
    "md_refresh_s",
    "faults",
)
_SEED_SOURCE_KEYS = ("file", "format", "symbol", "as_symbol")


def _session_fields(sec: _Section, path: Path, home: Path, gateway_comp_id: str) -> dict[str, Any]:
    """Fields shared by clients and venues, with defaults applied and the dictionary resolved."""
    name = sec.string("name", pattern=_NAME_RE, what="a name of letters, digits, '_', '.', '-'")
    if name != path.stem:
        sec.fail(f"{name!r} must equal the file name stem {path.stem!r}", "name")
    comp_id = sec.string("comp_id", name, pattern=_COMP_ID_RE, what=_COMP_ID_WHAT)
    ours = sec.string("gateway_comp_id", None, pattern=_COMP_ID_RE, what=_COMP_ID_WHAT) or gateway_comp_id
    if comp_id == ours:
        sec.fail(f"{comp_id!r} is also our CompID on this session (gateway_comp_id)", "comp_id")
    raw_version = sec.get("fix_version")
    version = str(raw_version) if isinstance(raw_version, float) else raw_version  # tolerate unquoted 4.4
    if version not in BEGIN_STRINGS:
        sec.fail(f'expected one of: "4.2", "4.4", "FIXT1.1", got {_show(raw_version)}', "fix_version")
    dictionary_value = sec.string("dictionary", None, what="a path to a data dictionary")
    if dictionary_value is None:
        dictionary = FIX_SPECS_DIR / BASE_DICTIONARIES[version]
    else:
        dictionary = _resolve(home, dictionary_value)
        if not dictionary.is_file():
            sec.fail(f"file not found: {dictionary}", "dictionary")
    return {
        "name": name,
        "comp_id": comp_id,
        "gateway_comp_id": ours,
        "fix_version": version,
        "heartbeat_s": sec.integer("heartbeat_s", 30, lo=1),
        "schedule": _schedule(sec),
        "dictionary": dictionary,
        "transport_dictionary": FIX_SPECS_DIR / TRANSPORT_DICTIONARY if version == "FIXT1.1" else None,
        "reset_on_logon": sec.boolean("reset_on_logon", False),
        "check_latency": sec.boolean("check_latency", True),
        "max_latency_s": sec.integer("max_latency_s", 120, lo=1),
        "source": path,
    }


def _client(
    path: Path,
    home: Path,
    gateway_comp_id: str,
    risk: RiskConfig,
    routing: RoutingConfig,
    instruments: dict[str, Instrument],
) -> ClientConfig:
    sec = _Section(read_yaml(path), _display(path), "", _CLIENT_KEYS)
    fields = _session_fields(sec, path, home, gateway_comp_id)
    return ClientConfig(
        **fields,
        risk=_client_risk(sec, path, risk),
        routing=_client_routing(sec, path, routing, instruments),
        cancel_on_disconnect=_cancel_on_disconnect(sec),
        accept_port=None
        if sec.get("accept_port", None) is None
        else sec.integer("accept_port", lo=1, hi=65535),
    )


# -------------------------------------------------------------------------------------------- risk

RISK_ACTIONS = ("reduce", "halt")
_GATEWAY_RISK_KEYS = ("checks", "restricted_symbols", "loss_limit", "reject_burst")
_CLIENT_RISK_KEYS = ("checks", "loss_limit", "reject_burst")
_CHECK_NAME_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_SYMBOL_RE = re.compile(r"\S+")


def _check_entries(risk: _Section, source: Path) -> list[tuple[CheckSpec, bool]]:
    """``risk.checks`` as (spec, enabled) pairs in file order.

    Only the shape is checked here: a check name or dotted path plus parameters. The names and
    parameters are validated by ``RiskEngine.from_config``, which imports the checks (importing them
    here would make the configuration depend on the risk package).
    """
    raw = risk.get("checks", [])
    if not isinstance(raw, list):
        risk.fail(f"expected a list of checks, got {_show(raw)}", "checks")
    entries: list[tuple[CheckSpec, bool]] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        key = f"{risk.key_path('checks')}[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(risk.file, f"expected a mapping with a 'check' key, got {_show(item)}", key)
        sec = _Section(item, risk.file, key, tuple(item))
        name = sec.string(
            "check", pattern=_CHECK_NAME_RE, what="a check name or a dotted path package.module.ClassName"
        )
        if name in seen:
            sec.fail(f"duplicate check {name!r} (also {seen[name]})", "check")
        seen[name] = key
        enabled = sec.boolean("enabled", True)
        for param in item:
            if not isinstance(param, str):
                sec.fail(f"expected a parameter name, got {_show(param)}")
        params = {k: v for k, v in item.items() if k not in ("check", "enabled")}
        entries.append((CheckSpec(name=name, params=params, source=source, key=key), enabled))
    return entries


def _loss_limit(risk: _Section, default: LossLimit | None) -> LossLimit | None:
    """Absent: ``default``; ``null``: no loss limit."""
    if "loss_limit" not in risk.raw:
        return default
    if risk.raw["loss_limit"] is None:
        return None
    sec = risk.section("loss_limit", ("max_loss", "action"))
    return LossLimit(max_loss=sec.decimal("max_loss"), action=sec.choice("action", RISK_ACTIONS))


def _reject_burst(risk: _Section, default: RejectBurst | None) -> RejectBurst | None:
    """Absent: ``default``; ``null``: no reject-burst trigger."""
    if "reject_burst" not in risk.raw:
        return default
    if risk.raw["reject_burst"] is None:
        return None
    sec = risk.section("reject_burst", ("count", "window_s", "action"))
    return RejectBurst(
        count=sec.integer("count", lo=1),
        window_s=sec.number("window_s", lo=0.0, lo_inclusive=False),
        action=sec.choice("action", RISK_ACTIONS),
    )


def _gateway_risk(top: _Section, source: Path) -> RiskConfig:
    """The ``risk:`` defaults; no section means no checks (configs written before risk existed)."""
    if "risk" not in top.raw:
        return RiskConfig()
    risk = top.section("risk", _GATEWAY_RISK_KEYS)
    raw_symbols = risk.get("restricted_symbols", [])
    if not isinstance(raw_symbols, list):
        risk.fail(f"expected a list of symbols, got {_show(raw_symbols)}", "restricted_symbols")
    symbols: dict[str, None] = {}
    for index, symbol in enumerate(raw_symbols):
        if not isinstance(symbol, str) or not _SYMBOL_RE.fullmatch(symbol):
            key = f"restricted_symbols[{index}]"
            risk.fail(f"expected a symbol without spaces, got {_show(symbol)}", key)
        symbols[symbol] = None
    return RiskConfig(
        checks=tuple(spec for spec, enabled in _check_entries(risk, source) if enabled),
        restricted_symbols=tuple(symbols),
        loss_limit=_loss_limit(risk, None),
        reject_burst=_reject_burst(risk, None),
    )


def _client_risk(client: _Section, source: Path, defaults: RiskConfig) -> RiskConfig:
    """The client's effective risk settings: its ``risk:`` merged over the gateway defaults.

    Checks merge by name: a listed default takes the client's parameters (all of them, no per-key
    merge, so what the file says is what runs), ``enabled: false`` drops it, a new name is appended.
    """
    if "risk" not in client.raw:
        return defaults
    risk = client.section("risk", _CLIENT_RISK_KEYS)
    overrides = {spec.name: (spec, enabled) for spec, enabled in _check_entries(risk, source)}
    default_names = {spec.name for spec in defaults.checks}
    for spec, enabled in overrides.values():
        if not enabled and spec.name not in default_names:
            known = ", ".join(sorted(default_names)) or "none"
            problem = f"{spec.name!r} is not a default check, so it cannot be disabled (defaults: {known})"
            raise ConfigError(client.file, problem, f"{spec.key}.enabled")
    checks = [
        overrides[spec.name][0] if spec.name in overrides else spec
        for spec in defaults.checks
        if overrides.get(spec.name, (spec, True))[1]
    ]
    checks += [spec for spec, enabled in overrides.values() if enabled and spec.name not in default_names]
    return RiskConfig(
        checks=tuple(checks),
        restricted_symbols=defaults.restricted_symbols,
        loss_limit=_loss_limit(risk, defaults.loss_limit),
        reject_burst=_reject_burst(risk, defaults.reject_burst),
    )


# ----------------------------------------------------------------------------------------- routing

_ROUTING_KEYS = ("strategy", "params", "instruments", "on_child_reject")
_STRATEGY_WHAT = "a strategy name or a dotted path package.module.ClassName"


def _params(sec: _Section) -> dict[str, Any]:
    raw = sec.get("params", {})
    if not isinstance(raw, dict):
        sec.fail(f"expected a mapping of parameter name to value, got {_show(raw)}", "params")
    for name in raw:
        if not isinstance(name, str):
            sec.fail(f"expected a parameter name, got {_show(name)}", "params")
    return dict(raw)


def _routing_instruments(
    routing: _Section, source: Path, instruments: dict[str, Instrument], allow_null: bool
) -> dict[str, RoutingChoice | None]:
    """``routing.instruments``: symbol -> {strategy, params}; in a client file, null drops the
    gateway's entry for the symbol (the client's default applies)."""
    raw = _mapping(routing, "instruments", "symbol to {strategy, params}")
    result: dict[str, RoutingChoice | None] = {}
    for raw_symbol, value in raw.items():
        symbol = _instrument_key(routing, "instruments", raw_symbol, instruments)
        key = routing.key_path(f"instruments.{raw_symbol}")
        if value is None and allow_null:
            result[symbol] = None
            continue
        entry = _Section(value, routing.file, key, ("strategy", "params"))
        strategy = entry.string("strategy", pattern=_CHECK_NAME_RE, what=_STRATEGY_WHAT)
        result[symbol] = RoutingChoice(strategy, _params(entry), source, key)
    return result


def _gateway_routing(top: _Section, source: Path, instruments: dict[str, Instrument]) -> RoutingConfig:
    """The ``routing:`` defaults; no section means the ``primary`` strategy for everything."""
    if "routing" not in top.raw:
        return RoutingConfig(default=RoutingChoice(DEFAULT_STRATEGY, {}, source, "routing"))
    routing = top.section("routing", _ROUTING_KEYS)
    strategy = routing.string("strategy", DEFAULT_STRATEGY, pattern=_CHECK_NAME_RE, what=_STRATEGY_WHAT)
    entries = _routing_instruments(routing, source, instruments, allow_null=False)
    return RoutingConfig(
        default=RoutingChoice(strategy, _params(routing), source, "routing"),
        instruments={symbol: choice for symbol, choice in entries.items() if choice is not None},
        on_child_reject=routing.choice("on_child_reject", ON_CHILD_REJECT, "return"),
    )


def _client_routing(
    client: _Section, source: Path, defaults: RoutingConfig, instruments: dict[str, Instrument]
) -> RoutingConfig:
    """The client's effective routing: its ``routing:`` merged over the gateway defaults.

    ``strategy``/``params`` replace the default choice (``params`` alone keep the default strategy's
    name; nothing else is inherited, as with risk checks); ``instruments`` entries replace the
    gateway's per symbol (null drops one); ``on_child_reject`` replaces the default.
    """
    if "routing" not in client.raw:
        return defaults
    routing = client.section("routing", _ROUTING_KEYS)
    default = defaults.default
    if "strategy" in routing.raw or "params" in routing.raw:
        strategy = routing.string("strategy", default.strategy, pattern=_CHECK_NAME_RE, what=_STRATEGY_WHAT)
        default = RoutingChoice(strategy, _params(routing), source, "routing")
    merged = dict(defaults.instruments)
    for symbol, choice in _routing_instruments(routing, source, instruments, allow_null=True).items():
        if choice is None:
            merged.pop(symbol, None)
        else:
            merged[symbol] = choice
    return RoutingConfig(
        default=default,
        instruments=merged,
        on_child_reject=routing.choice("on_child_reject", ON_CHILD_REJECT, defaults.on_child_reject),
    )


def _seed_sources(sim: _Section, home: Path) -> tuple[SeedSource, ...]:
    raw = sim.get("seed_from", [])
    if not isinstance(raw, list):
        sim.fail(f"expected a list of seed sources, got {_show(raw)}", "seed_from")
    symbol_re, symbol_what = re.compile(r"\S+"), "a symbol without spaces"
    sources = []
    for index, item in enumerate(raw):
        sec = _Section(item, sim.file, f"{sim.key_path('seed_from')}[{index}]", _SEED_SOURCE_KEYS)
        file = _resolve(home, sec.string("file", what="a path to a market data file"))
        if not file.is_file():
            sec.fail(f"file not found: {file}", "file")
        fmt = sec.choice("format", tuple(READERS))
        symbol = sec.string("symbol", None, pattern=symbol_re, what=symbol_what)
        as_symbol = sec.string("as_symbol", symbol, pattern=symbol_re, what=symbol_what)
        if as_symbol is None:
            sec.fail("required when symbol is not given", "as_symbol")
        sources.append(SeedSource(file=file, format=fmt, symbol=symbol, as_symbol=as_symbol))
    return tuple(sources)


def _simulator(parent: _Section, home: Path) -> SimulatorConfig | None:
    if parent.raw.get("simulator") is None:
        return None
    sec = parent.section("simulator", _SIMULATOR_KEYS)
    levels, qty = 5, Decimal(100)
    if "liquidity" in sec.raw:
        liq = sec.section("liquidity", ("levels", "qty"))
        levels = liq.integer("levels", 5, lo=0)
        qty = liq.decimal("qty", 100)
    prices_raw = sec.get("reference_prices", {})
    if not isinstance(prices_raw, dict):
        sec.fail(f"expected a mapping of symbol to price, got {_show(prices_raw)}", "reference_prices")
    prices_sec = _Section(prices_raw, sec.file, sec.key_path("reference_prices"), tuple(prices_raw))
    prices = {}
    for symbol, price in prices_raw.items():
        if not isinstance(symbol, str):
            prices_sec.fail(f"expected a symbol, got {_show(symbol)}")
        prices[symbol] = _to_decimal(price, prices_sec, symbol)
    return SimulatorConfig(
        enabled=sec.boolean("enabled", True),
        ack_delay_ms=sec.integer("ack_delay_ms", 0, lo=0),
        reject_probability=sec.number("reject_probability", 0.0, lo=0.0, hi=1.0),
        seed=sec.integer("seed", 42),
        liquidity_levels=levels,
        liquidity_qty=qty,
        reference_prices=prices,
        seed_from=_seed_sources(sec, home),
        md_refresh_s=sec.number("md_refresh_s", 1.0, lo=0.0),
        faults=_sim_faults(sec),
    )


# ------------------------------------------------------------------------------- venue dialect

_WIRE_WHAT = "a non-empty string without control characters"


def _wire_value(value: Any, where: _Section, key: str, what: str = _WIRE_WHAT) -> str:
    """A value that goes on the wire as is: a string (or an integer, written in decimal)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        where.fail(f"expected {what}, got {_show(value)}", key)
    return value


def _mapping(sec: _Section, key: str, what: str) -> dict[Any, Any]:
    raw = sec.get(key, {})
    if not isinstance(raw, dict):
        sec.fail(f"expected a mapping of {what}, got {_show(raw)}", key)
    return raw


def _instrument_key(parent: _Section, key: str, raw_symbol: Any, instruments: dict[str, Instrument]) -> str:
    """A mapping key naming a configured instrument (an unquoted numeric symbol is read as text)."""
    symbol = (
        str(raw_symbol) if isinstance(raw_symbol, int) and not isinstance(raw_symbol, bool) else raw_symbol
    )
    if not isinstance(symbol, str) or symbol not in instruments:
        parent.fail(f"{symbol!r} is not a configured instrument", f"{key}.{raw_symbol}")
    return symbol


def _market_data(sec: _Section) -> MarketDataConfig:
    if "market_data" not in sec.raw:
        return MarketDataConfig()
    md = sec.section("market_data", ("enabled", "depth", "stale_after_ms", "comp_id"))
    comp_id = md.get("comp_id", None)
    if comp_id is not None and (not isinstance(comp_id, str) or not comp_id.strip()):
        md.fail(f"expected a CompID, got {_show(comp_id)}", "comp_id")
    if comp_id is not None and comp_id == sec.raw.get("comp_id", sec.raw.get("name")):
        md.fail("must differ from the venue's order-session CompID", "comp_id")
    return MarketDataConfig(
        enabled=md.boolean("enabled", False),
        depth=md.integer("depth", 5, lo=1),
        stale_after_ms=md.integer("stale_after_ms", 2000, lo=1),
        comp_id=comp_id,
    )


def _symbology(sec: _Section, instruments: dict[str, Instrument]) -> dict[str, VenueSymbol]:
    """Client symbol -> the venue's names; two client symbols may not share a venue symbol (reports
    could not be mapped back), counting unmapped instruments, which keep their own symbol."""
    raw = _mapping(sec, "symbology", "client symbol to venue symbol")
    result: dict[str, VenueSymbol] = {}
    for raw_symbol, value in raw.items():
        symbol = _instrument_key(sec, "symbology", raw_symbol, instruments)
        key = f"symbology.{raw_symbol}"
        if isinstance(value, dict):
            entry = _Section(value, sec.file, key, ("symbol", "security_id", "id_source"))
            venue_symbol = _wire_value(entry.get("symbol"), entry, "symbol")
            security_id = id_source = None
            if "security_id" in entry.raw:
                security_id = _wire_value(entry.raw["security_id"], entry, "security_id")
                if "id_source" not in entry.raw:
                    entry.fail(
                        'required when security_id is given (SecurityIDSource(22), e.g. "8")', "id_source"
                    )
                id_source = _wire_value(entry.raw["id_source"], entry, "id_source", "a SecurityIDSource code")
            elif "id_source" in entry.raw:
                entry.fail("only allowed together with security_id", "id_source")
            result[symbol] = VenueSymbol(venue_symbol, security_id, id_source)
        else:
            what = "a venue symbol or a mapping {symbol, security_id, id_source}"
            result[symbol] = VenueSymbol(_wire_value(value, sec, key, what))
    owners: dict[str, str] = {}  # venue symbol -> client symbol
    for symbol in instruments:
        venue_symbol = result[symbol].symbol if symbol in result else symbol
        other = owners.setdefault(venue_symbol, symbol)
        if other != symbol:  # at least one of the two is mapped; report the mapped one
            mapped, unmapped = (symbol, other) if symbol in result else (other, symbol)
            sec.fail(
                f"venue symbol {venue_symbol!r} is also what {unmapped} is sent as", f"symbology.{mapped}"
            )
    return result


def _extra_tags(
    sec: _Section, dictionary: Path, overlay: Path | None, transport: Path | None
) -> dict[int, str]:
    """Tag -> fixed value or placeholder; each tag must be defined in the venue's dictionary (base plus
    overlay) for the header or at least one order message, because that is where it is sent."""
    raw = _mapping(sec, "extra_tags", "tag number to value")
    result: dict[int, str] = {}
    keys: dict[int, str] = {}  # tag -> key path, for the dictionary checks below
    for raw_tag, value in raw.items():
        key = f"extra_tags.{raw_tag}"
        tag = int(raw_tag) if isinstance(raw_tag, str) and raw_tag.isdigit() else raw_tag
        if not isinstance(tag, int) or isinstance(tag, bool) or not 1 <= tag <= 99999:
            raise ConfigError(sec.file, f"expected a tag number 1-99999, got {_show(raw_tag)}", key)
        if tag in result:
            raise ConfigError(sec.file, f"duplicate tag {tag} (also {keys[tag]})", key)
        if tag in CODEC_OWNED_TAGS:
            problem = f"tag {tag} is set by the gateway itself and cannot be an extra tag"
            raise ConfigError(sec.file, problem, key)
        text = _wire_value(value, sec, key, "a value or one of " + ", ".join(EXTRA_TAG_PLACEHOLDERS))
        if ("{" in text or "}" in text) and text not in EXTRA_TAG_PLACEHOLDERS:
            problem = (
                f"unknown placeholder in {text!r} (a value is either fixed text without braces or exactly "
                f"one of: {', '.join(EXTRA_TAG_PLACEHOLDERS)})"
            )
            raise ConfigError(sec.file, problem, key)
        result[tag], keys[tag] = text, key
    if not result:
        return result
    try:
        known = dictionary_fields(dictionary, overlay, transport)
    except OverlayError as exc:
        sec.fail(f"cannot read the data dictionary: {exc}", "dictionary_overlay" if overlay else "dictionary")
    for tag, key in keys.items():
        if tag not in known.names:
            problem = (
                f"tag {tag} is not defined in the venue's data dictionary (define it in a dictionary_overlay)"
            )
            raise ConfigError(sec.file, problem, key)
        if tag not in known.header and not any(known.allows(mt, tag) for mt in EXTRA_TAG_MESSAGES):
            names = ", ".join(EXTRA_TAG_MESSAGES.values())
            problem = (
                f"tag {tag} ({known.names[tag]}) is in neither the header nor any of {names} in the "
                "venue's data dictionary (add it to those messages in a dictionary_overlay)"
            )
            raise ConfigError(sec.file, problem, key)
    return result


def _names(sec: _Section, key: str, names: dict[str, Any]) -> frozenset[Any]:
    """``order_types`` / ``time_in_force``: a non-empty list of names; absent means all of them."""
    if key not in sec.raw:
        return frozenset(names.values())
    raw = sec.raw[key]
    if not isinstance(raw, list) or not raw:
        sec.fail(f"expected a non-empty list of: {', '.join(names)}, got {_show(raw)}", key)
    result = set()
    for index, item in enumerate(raw):
        if item not in names or isinstance(item, bool):
            sec.fail(f"expected one of: {', '.join(names)}, got {_show(item)}", f"{key}[{index}]")
        result.add(names[item])
    return frozenset(result)


def _fees(sec: _Section) -> VenueFees:
    if "fees" not in sec.raw:
        return VenueFees()
    fees = sec.section("fees", ("maker_bps", "taker_bps"))
    return VenueFees(
        maker_bps=fees.decimal("maker_bps", 0, positive=False),
        taker_bps=fees.decimal("taker_bps", 0, positive=False),
    )


def _instrument_overrides(sec: _Section, instruments: dict[str, Instrument]) -> dict[str, InstrumentOverride]:
    raw = _mapping(sec, "instruments", "symbol to {tick_size, lot_size}")
    result = {}
    for raw_symbol, value in raw.items():
        symbol = _instrument_key(sec, "instruments", raw_symbol, instruments)
        entry = _Section(value, sec.file, f"instruments.{raw_symbol}", ("tick_size", "lot_size"))
        if not entry.raw:
            entry.fail("expected tick_size, lot_size or both")
        result[symbol] = InstrumentOverride(
            tick_size=entry.decimal("tick_size") if "tick_size" in entry.raw else None,
            lot_size=entry.decimal("lot_size") if "lot_size" in entry.raw else None,
        )
    return result


def _dictionary_overlay(sec: _Section, home: Path, dictionary: Path) -> Path | None:
    """Resolve the overlay and merge it once now, so a bad overlay fails ``check-config``."""
    value = sec.string("dictionary_overlay", None, what="a path to a dictionary overlay")
    if value is None:
        return None
    overlay = _resolve(home, value)
    if not overlay.is_file():
        sec.fail(f"file not found: {overlay}", "dictionary_overlay")
    try:
        merged_tree(dictionary, overlay)
    except OverlayError as exc:
        sec.fail(f"cannot merge into {_display(dictionary)}: {exc}", "dictionary_overlay")
    return overlay


def _rate_limits(sec: _Section) -> RateLimitConfig | None:
    """Absent or ``null``: no limits."""
    if sec.raw.get("rate_limits") is None:
        return None
    rl = sec.section(
        "rate_limits", ("orders_per_s", "messages_per_s", "on_exhausted", "max_queue", "max_wait_ms")
    )
    rates = {}
    for key in ("orders_per_s", "messages_per_s"):
        if rl.raw.get(key) is not None:
            rates[key] = rl.number(key, lo=0.0, lo_inclusive=False)
    if not rates:
        rl.fail("expected orders_per_s, messages_per_s or both")
    return RateLimitConfig(
        orders_per_s=rates.get("orders_per_s"),
        messages_per_s=rates.get("messages_per_s"),
        on_exhausted=rl.choice("on_exhausted", RATE_LIMIT_ACTIONS, "queue"),
        max_queue=rl.integer("max_queue", 1000, lo=1),
        max_wait_ms=rl.integer("max_wait_ms", 1000, lo=1),
    )


def _circuit_breaker(sec: _Section) -> CircuitBreakerConfig:
    if "circuit_breaker" not in sec.raw:
        return CircuitBreakerConfig()
    cb = sec.section(
        "circuit_breaker", ("max_consecutive_rejects", "max_ack_latency_ms", "half_open_after_s")
    )
    latency = cb.raw.get("max_ack_latency_ms")  # null (or absent): latency not watched
    return CircuitBreakerConfig(
        max_consecutive_rejects=cb.integer("max_consecutive_rejects", 5, lo=1),
        max_ack_latency_ms=None if latency is None else cb.integer("max_ack_latency_ms", lo=1),
        half_open_after_s=cb.number("half_open_after_s", 10, lo=0.0, lo_inclusive=False),
    )


def _venue(path: Path, home: Path, gateway_comp_id: str, instruments: dict[str, Instrument]) -> VenueConfig:
    sec = _Section(read_yaml(path), _display(path), "", _VENUE_KEYS)
    fields = _session_fields(sec, path, home, gateway_comp_id)
    overlay = _dictionary_overlay(sec, home, fields["dictionary"])
    return VenueConfig(
        **fields,
        host=sec.string("host", what="a host name or IP address", pattern=re.compile(r"\S+")),
        port=sec.integer("port", lo=1, hi=65535),
        reconnect_s=sec.integer("reconnect_s", 5, lo=1),
        simulator=_simulator(sec, home),
        market_data=_market_data(sec),
        symbology=_symbology(sec, instruments),
        extra_tags=_extra_tags(sec, fields["dictionary"], overlay, fields["transport_dictionary"]),
        order_types=_names(sec, "order_types", ORDER_TYPE_NAMES),
        time_in_force=_names(sec, "time_in_force", TIF_NAMES),
        fees=_fees(sec),
        instruments=_instrument_overrides(sec, instruments),
        dictionary_overlay=overlay,
        rate_limits=_rate_limits(sec),
        circuit_breaker=_circuit_breaker(sec),
        cancel_on_disconnect=sec.boolean("cancel_on_disconnect", False),
        supports_replace=sec.boolean("supports_replace", True),
        reconcile=_reconcile_mode(sec),
        orphans=sec.choice("orphans", ("leave", "cancel"), "leave"),
    )


def _instruments(top: _Section) -> dict[str, Instrument]:
    raw = top.get("instruments")
    if not isinstance(raw, list) or not raw:
        top.fail(f"expected a list of at least one instrument, got {_show(raw)}", "instruments")
    instruments: dict[str, Instrument] = {}
    for index, item in enumerate(raw):
        sec = _Section(
            item,
            top.file,
            f"instruments[{index}]",
            ("symbol", "tick_size", "lot_size", "currency", "venue", "reference_price"),
        )
        symbol = sec.string("symbol", pattern=re.compile(r"\S+"), what="a symbol without spaces")
        if symbol in instruments:
            sec.fail(f"duplicate symbol {symbol!r}", "symbol")
        instruments[symbol] = Instrument(
            symbol=symbol,
            tick_size=sec.decimal("tick_size"),
            lot_size=sec.decimal("lot_size"),
            currency=sec.string("currency", pattern=re.compile(r"\S+"), what="a currency code"),
            venue=sec.string("venue", None),
            reference_price=sec.decimal("reference_price") if "reference_price" in sec.raw else None,
        )
    return instruments


def _session_files(directory: Path) -> Iterator[Path]:
    """``*.yaml`` files in ``directory`` in name order; a ``.yml`` file is an error, not skipped."""
    if not directory.is_dir():
        return
    for path in sorted(directory.iterdir()):
        if path.suffix == ".yml":
            raise ConfigError(_display(path), "rename to .yaml (files ending .yml are not loaded)")
        if path.suffix == ".yaml" and not path.name.startswith("."):
            yield path.resolve()


# ------------------------------------------------------------------------------------ cross checks


def _cross_check(cfg: GatewayConfig) -> None:
    """Checks that need more than one file; kept together so the rules are easy to find."""
    gw_file = _display(cfg.source)

    for index, inst in enumerate(cfg.instruments.values()):
        if inst.venue is not None and inst.venue not in cfg.venues:
            known = ", ".join(cfg.venues) or "none"
            raise ConfigError(
                gw_file,
                f"unknown venue {inst.venue!r} (configured venues: {known})",
                f"instruments[{index}].venue",
            )

    for venue in cfg.venues.values():
        if venue.simulator is None:
            continue
        for symbol in venue.simulator.reference_prices:
            if symbol not in cfg.instruments:
                raise ConfigError(
                    _display(venue.source),
                    f"{symbol!r} is not a configured instrument",
                    f"simulator.reference_prices.{symbol}",
                )
        for index, src in enumerate(venue.simulator.seed_from):
            if src.as_symbol not in cfg.instruments:
                raise ConfigError(
                    _display(venue.source),
                    f"{src.as_symbol!r} is not a configured instrument",
                    f"simulator.seed_from[{index}].as_symbol",
                )

    # Session identity: QuickFIX keys sessions by CompID pair, and the router finds a client or venue
    # by the counterparty CompID alone, so both must be unique.
    pairs: dict[tuple[str, str], Path] = {}
    for group in (cfg.clients, cfg.venues):
        theirs: dict[str, Path] = {}
        for s in group.values():
            if s.comp_id in theirs:
                other = _display(theirs[s.comp_id])
                raise ConfigError(_display(s.source), f"{s.comp_id!r} is already used by {other}", "comp_id")
            theirs[s.comp_id] = s.source
            pair = (s.gateway_comp_id, s.comp_id)
            if pair in pairs:
                raise ConfigError(
                    _display(s.source),
                    f"CompID pair {pair[0]}/{pair[1]} is already used by {_display(pairs[pair])}",
                    "comp_id",
                )
            pairs[pair] = s.source

    # Ports: a simulator listens in this process, so it must not collide with the acceptor or another
    # simulator; a venue on this machine at the acceptor port would be the gateway talking to itself.
    acceptor = f"{gw_file}: gateway.acceptor.port"
    listeners: dict[int, str] = {cfg.acceptor.port: f"the gateway acceptor ({acceptor})"}
    if cfg.admin.port is not None:
        if cfg.admin.port in listeners:
            raise ConfigError(gw_file, f"{cfg.admin.port} is already used by {listeners[cfg.admin.port]}",
                              "gateway.admin.port")  # fmt: skip
        listeners[cfg.admin.port] = f"the admin API ({gw_file}: gateway.admin.port)"
    for c in cfg.clients.values():
        if c.accept_port is not None and c.accept_port != cfg.acceptor.port:
            if c.accept_port in listeners:
                other = listeners[c.accept_port]
                raise ConfigError(
                    _display(c.source), f"{c.accept_port} is already used by {other}", "accept_port"
                )
            listeners[c.accept_port] = f"the client acceptor of {_display(c.source)}"
    for v in cfg.venues.values():
        if v.simulated:
            if v.port in listeners:
                other = listeners[v.port]
                raise ConfigError(_display(v.source), f"{v.port} is already used by {other}", "port")
            listeners[v.port] = f"the simulated venue in {_display(v.source)}"
    for v in cfg.venues.values():
        if not v.simulated and v.host in _LOCAL_HOSTS and v.port == cfg.acceptor.port:
            problem = f"{v.port} is the gateway's own acceptor ({acceptor})"
            raise ConfigError(_display(v.source), problem, "port")


# ---------------------------------------------------------------------------------------- entry


def _resolve_store_url(url: str, sessions_dir: Path, home: Path) -> str:
    """Substitute ``{sessions}`` and anchor a relative SQLite path at ``home`` (not the cwd)."""
    url = url.replace("{sessions}", str(sessions_dir))
    prefix = "sqlite:///"
    if url.startswith(prefix):
        rest = url[len(prefix) :]
        file_part, sep, query = rest.partition("?")
        if file_part and file_part != ":memory:" and not file_part.startswith("/"):
            url = f"{prefix}{(home / file_part).resolve()}{sep}{query}"
    return url


def load_config(path: str | Path | None = None) -> GatewayConfig:
    """Load, validate and resolve the whole configuration.

    ``path`` defaults to ``$FIXGW_CONFIG``, else ``config/gateway.yaml`` under the current directory.
    Client and venue files are read from ``clients/`` and ``venues/`` next to the gateway file.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or DEFAULT_PATH
    source = Path(path).expanduser().resolve()
    shown = _display(source)
    top = _Section(read_yaml(source), shown, "", ("gateway", "instruments", "risk", "routing"))
    gw = top.section(
        "gateway",
        (
            "comp_id",
            "home",
            "sessions_dir",
            "acceptor",
            "engine",
            "ack_timeout_s",
            "store",
            "log_level",
            "schedule",
            "admin",
            "done_orders_in_memory_s",
        ),
    )

    comp_id = gw.string("comp_id", pattern=_COMP_ID_RE, what="a CompID (printable ASCII, no spaces)")
    home = _resolve(source.parent, gw.string("home", ".."))
    if not home.is_dir():
        gw.fail(f"directory not found: {home}", "home")
    sessions_dir = _resolve(home, gw.string("sessions_dir", "sessions"))

    acc = gw.section("acceptor", ("port", "bind_address"))
    acceptor = AcceptorConfig(
        port=acc.integer("port", lo=1, hi=65535),
        bind_address=acc.string("bind_address", None, pattern=re.compile(r"\S+"), what="an IP address"),
    )
    eng = gw.section("engine", ("spin_ms", "idle_sleep_us"), {})
    engine = EngineConfig(
        spin_ms=eng.integer("spin_ms", 200, lo=0), idle_sleep_us=eng.integer("idle_sleep_us", 100, lo=0)
    )
    st = gw.section("store", ("url", "synchronous"), {})
    url = st.string(
        "url",
        DEFAULT_STORE_URL,
        pattern=re.compile(r"[A-Za-z][\w+.-]*://.*"),
        what="a SQLAlchemy URL such as sqlite:///{sessions}/fixgw.db",
    )
    store = StoreConfig(
        url=_resolve_store_url(url, sessions_dir, home),
        synchronous=st.choice("synchronous", SYNCHRONOUS, "normal"),
    )

    ack_timeout_s = gw.number("ack_timeout_s", 10, lo=0.0, lo_inclusive=False)
    log_level = gw.choice("log_level", LOG_LEVELS, "info")
    admin = _admin(gw, sessions_dir, home)
    schedule = _gateway_schedule(gw)
    instruments = _instruments(top)
    risk = _gateway_risk(top, source)
    routing = _gateway_routing(top, source, instruments)

    client_files = _session_files(source.parent / "clients")
    venue_files = _session_files(source.parent / "venues")
    clients = {
        c.name: c for c in (_client(p, home, comp_id, risk, routing, instruments) for p in client_files)
    }
    venues = {v.name: v for v in (_venue(p, home, comp_id, instruments) for p in venue_files)}
    if schedule is not None:  # sessions without a schedule of their own follow the gateway's
        own = schedule.as_session()
        clients = {n: c if c.schedule is not ALWAYS_UP else dataclasses.replace(c, schedule=own)
                   for n, c in clients.items()}  # fmt: skip
        venues = {n: v if v.schedule is not ALWAYS_UP else dataclasses.replace(v, schedule=own)
                  for n, v in venues.items()}  # fmt: skip

    cfg = GatewayConfig(
        comp_id=comp_id,
        home=home,
        sessions_dir=sessions_dir,
        acceptor=acceptor,
        engine=engine,
        ack_timeout_s=ack_timeout_s,
        store=store,
        log_level=log_level,
        instruments=instruments,
        clients=clients,
        venues=venues,
        source=source,
        risk=risk,
        routing=routing,
        schedule=schedule,
        admin=admin,
        done_orders_in_memory_s=gw.number("done_orders_in_memory_s", 60.0, lo=0.0),
    )
    _cross_check(cfg)
    return cfg


def _admin(gw: _Section, sessions_dir: Path, home: Path) -> AdminConfig:
    if gw.raw.get("admin") is None:
        return AdminConfig()
    sec = gw.section("admin", ("port", "token_env", "token_file"))
    port = sec.get("port", None)
    token_file = sec.string(
        "token_file", "{sessions}/admin.token", pattern=re.compile(r"\S.*"), what="a path"
    )
    return AdminConfig(
        port=None if port is None else sec.integer("port", lo=1, hi=65535),
        token_env=sec.string(
            "token_env",
            "FIXGW_ADMIN_TOKEN",
            pattern=re.compile(r"[A-Za-z_][A-Za-z0-9_]*"),
            what="an environment variable name",
        ),
        token_file=_resolve(home, token_file.replace("{sessions}", str(sessions_dir))),
    )


def _cancel_on_disconnect(sec: _Section) -> CancelOnDisconnect | None:
    if sec.raw.get("cancel_on_disconnect") is None:
        return None
    cod = sec.section("cancel_on_disconnect", ("grace_s", "include_gtc", "on_logout"))
    return CancelOnDisconnect(
        grace_s=cod.number("grace_s", 5.0, lo=0.0),
        include_gtc=cod.boolean("include_gtc", False),
        on_logout=cod.boolean("on_logout", False),
    )


def _reconcile_mode(sec: _Section) -> str:
    mode = sec.get("reconcile", "auto")
    if mode not in ("auto", "mass", "per_order", "off"):
        sec.fail(f"expected one of: auto, mass, per_order, off, got {_show(mode)}", "reconcile")
    if mode == "mass" and sec.raw.get("fix_version") in ("4.2", 4.2):
        sec.fail("FIX 4.2 has no OrderMassStatusRequest: use per_order", "reconcile")
    return mode


def _sim_faults(sec: _Section) -> SimFaults:
    if sec.raw.get("faults") is None:
        return SimFaults()
    f = sec.section(
        "faults",
        ("duplicate_reports", "withhold_status", "drop_after_orders", "withhold_acks", "reorder_fills"),
    )
    drop = f.get("drop_after_orders", None)
    return SimFaults(
        duplicate_reports=f.number("duplicate_reports", 0.0, lo=0.0, hi=1.0),
        withhold_status=f.boolean("withhold_status", False),
        drop_after_orders=None if drop is None else f.integer("drop_after_orders", lo=1),
        withhold_acks=f.number("withhold_acks", 0.0, lo=0.0, hi=1.0),
        reorder_fills=f.number("reorder_fills", 0.0, lo=0.0, hi=1.0),
    )
