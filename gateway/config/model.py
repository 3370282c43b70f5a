"""Typed, immutable configuration model.

These dataclasses are what the rest of the gateway sees: already validated, defaults filled in and
paths resolved, so no other module has to re-check a value or know that the configuration came from
YAML (only ``loader.py`` does). They are frozen so a component cannot change the configuration under
another one's feet; the dict fields are plain dicts for convenience and must be treated as read-only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

#: ``fix_version`` value -> BeginString(8). FIXT1.1 carries a FIX 5.0 SP2 application layer.
BEGIN_STRINGS: dict[str, str] = {"4.2": "FIX.4.2", "4.4": "FIX.4.4", "FIXT1.1": "FIXT.1.1"}


def display_path(path: str | Path) -> str:
    """Path as the operator would type it: relative to the current directory when below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class ConfigError(Exception):
    """A configuration mistake, reported as ``<file>: <key path>: <problem>``.

    One exception type for every mistake so the CLI can print it and exit without a traceback; the
    message names the file and key so the operator can fix it without reading code.
    """

    def __init__(
        self,
        file: str | Path,
        problem: str,
        key_path: str = "",
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.file = str(file)
        self.problem = problem
        self.key_path = key_path
        self.line = line
        self.column = column
        where = [self.file]
        if line is not None:
            where.append(f"line {line}" + (f", column {column}" if column is not None else ""))
        if key_path:
            where.append(key_path)
        super().__init__(": ".join([*where, problem]))


@dataclass(frozen=True, slots=True)
class Schedule:
    """Daily session window; ``start == end`` means the session is up around the clock."""

    start: str  # HH:MM:SS
    end: str  # HH:MM:SS
    timezone: str  # IANA name, e.g. "UTC", "America/New_York"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol; ``venue`` is the default route when the client does not name one.

    ``reference_price`` is the risk checks' fallback price (collars, market-order notional) when no
    market data has been seen for the symbol.
    """

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    currency: str
    venue: str | None = None
    reference_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """One configured pre-trade check, not yet built.

    The loader only checks the shape (a name plus parameters); the risk engine imports and builds it,
    and uses ``source`` and ``key`` (e.g. ``risk.checks[2]``) to name the file and key of a mistake.
    """

    name: str  # built-in name ("max_order_qty") or dotted path ("package.module.ClassName")
    params: dict[str, Any]
    source: Path
    key: str


@dataclass(frozen=True, slots=True)
class LossLimit:
    """Realised plus unrealised loss at which a client is cut back: ``reduce`` (only orders that
    shrink a position) or ``halt`` (no new orders)."""

    max_loss: Decimal
    action: str  # "reduce" | "halt"


@dataclass(frozen=True, slots=True)
class RejectBurst:
    """``count`` order rejects within ``window_s`` seconds trigger ``action`` (a runaway algo)."""

    count: int
    window_s: float
    action: str  # "reduce" | "halt"


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Pre-trade risk settings: the checks in evaluation order plus the kill-switch triggers.

    ``GatewayConfig.risk`` holds the defaults from gateway.yaml; ``ClientConfig.risk`` the effective,
    merged settings of one client. The empty default (no checks) is what a config without a
    ``risk:`` section gets.
    """

    checks: tuple[CheckSpec, ...] = ()
    restricted_symbols: tuple[str, ...] = ()  # enforced for every client, whatever its checks
    loss_limit: LossLimit | None = None
    reject_burst: RejectBurst | None = None

    @property
    def check_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.checks)


@dataclass(frozen=True, slots=True)
class AcceptorConfig:
    """Where clients connect; ``bind_address`` None means every interface (QuickFIX's default)."""

    port: int
    bind_address: str | None = None


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Event-loop tuning: busy-poll ``spin_ms`` after the last message, then sleep ``idle_sleep_us``."""

    spin_ms: int
    idle_sleep_us: int


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Order journal database; ``url`` is a SQLAlchemy URL with ``{sessions}`` already substituted."""

    url: str
    synchronous: str  # "normal" | "full" (SQLite PRAGMA synchronous)


@dataclass(frozen=True, slots=True)
class SeedSource:
    """Recorded market data whose snapshot seeds a simulated book (``format`` names a seeding reader).

    ``symbol`` filters the file's symbol column (None: every row); the orders rest as ``as_symbol``.
    """

    file: Path
    format: str
    symbol: str | None
    as_symbol: str


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """An in-process simulated venue; its book is seeded around ``reference_prices`` and ``seed_from``."""

    enabled: bool
    ack_delay_ms: int
    reject_probability: float
    seed: int
    liquidity_levels: int
    liquidity_qty: Decimal
    reference_prices: dict[str, Decimal]
    seed_from: tuple[SeedSource, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What client and venue FIX sessions have in common.

    ``comp_id`` is the counterparty's CompID (our TargetCompID), ``gateway_comp_id`` ours (our
    SenderCompID), always resolved. ``dictionary`` is the application data dictionary and
    ``transport_dictionary`` the FIXT one (only for FIXT1.1). ``source`` is the file it came from.
    """

    name: str
    comp_id: str
    gateway_comp_id: str
    fix_version: str  # "4.2" | "4.4" | "FIXT1.1"
    heartbeat_s: int
    schedule: Schedule
    dictionary: Path
    transport_dictionary: Path | None
    reset_on_logon: bool
    check_latency: bool
    max_latency_s: int
    source: Path

    @property
    def begin_string(self) -> str:
        """BeginString(8) for this session: FIX.4.2, FIX.4.4 or FIXT.1.1."""
        return BEGIN_STRINGS[self.fix_version]

    @property
    def default_appl_ver_id(self) -> str | None:
        """QuickFIX DefaultApplVerID for FIXT sessions (FIX 5.0 SP2), None for FIX 4.x."""
        return "FIX.5.0SP2" if self.fix_version == "FIXT1.1" else None


@dataclass(frozen=True, slots=True)
class ClientConfig(SessionConfig):
    """A client session the gateway accepts on its acceptor port; ``risk`` is its effective risk setup."""

    risk: RiskConfig = field(default_factory=RiskConfig)


@dataclass(frozen=True, slots=True)
class VenueConfig(SessionConfig):
    """A venue session the gateway initiates to ``host:port``."""

    host: str
    port: int
    reconnect_s: int
    simulator: SimulatorConfig | None

    @property
    def simulated(self) -> bool:
        """True when ``fixgw run`` should start a simulator for this venue in-process."""
        return self.simulator is not None and self.simulator.enabled


def _mask_password(url: str) -> str:
    """Hide a database password so ``summary()`` output is safe to paste into a ticket."""
    return re.sub(r"(://[^/:@]*:)[^/@]*@", r"\1***@", url)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole validated configuration: gateway settings, instruments, client and venue sessions."""

    comp_id: str
    home: Path
    sessions_dir: Path
    acceptor: AcceptorConfig
    engine: EngineConfig
    ack_timeout_s: float
    store: StoreConfig
    log_level: str  # "debug" | "info" | "warning" | "error"
    instruments: dict[str, Instrument]
    clients: dict[str, ClientConfig]
    venues: dict[str, VenueConfig]
    source: Path
    risk: RiskConfig = field(default_factory=RiskConfig)  # defaults for every client

    def client_by_comp_id(self, comp_id: str) -> ClientConfig | None:
        """The client whose SenderCompID is ``comp_id`` (unique; the loader enforces it)."""
        return next((c for c in self.clients.values() if c.comp_id == comp_id), None)

    def venue_by_comp_id(self, comp_id: str) -> VenueConfig | None:
        """The venue whose CompID is ``comp_id`` (unique; the loader enforces it)."""
        return next((v for v in self.venues.values() if v.comp_id == comp_id), None)

    def default_venue(self, symbol: str) -> str | None:
        """Default route for ``symbol``; None if the symbol is unknown or has no default venue."""
        instrument = self.instruments.get(symbol)
        return instrument.venue if instrument is not None else None

    def summary(self) -> str:
        """Human-readable overview of sessions, routes and store (what ``fixgw check-config`` prints)."""
        bind = self.acceptor.bind_address or "*"
        lines = [
            f"Configuration: {self.source}",
            f"Gateway CompID {self.comp_id}, acceptor {bind}:{self.acceptor.port}, home {self.home}",
            "",
            f"Client sessions ({len(self.clients)}):",
        ]
        width = max((len(name) for name in [*self.clients, *self.venues]), default=0)
        for c in self.clients.values():
            lines.append(
                f"  {c.name + ':':<{width + 1}} {c.begin_string}, {c.comp_id} -> {c.gateway_comp_id} "
                f"(theirs -> ours), heartbeat {c.heartbeat_s}s"
            )
        if not self.clients:
            lines.append("  (none)")
        lines += ["", f"Venue sessions ({len(self.venues)}):"]
        for v in self.venues.values():
            kind = "simulated" if v.simulated else "external"
            lines.append(
                f"  {v.name + ':':<{width + 1}} {v.host}:{v.port}, {v.begin_string}, "
                f"{v.gateway_comp_id} -> {v.comp_id} (ours -> theirs), heartbeat {v.heartbeat_s}s, {kind}"
            )
        if not self.venues:
            lines.append("  (none)")
        lines += ["", f"Routes ({len(self.instruments)} instruments):"]
        width = max((len(symbol) for symbol in self.instruments), default=0)
        for i in self.instruments.values():
            route = i.venue or "(no default venue)"
            details = f"tick {i.tick_size}, lot {i.lot_size}, {i.currency}"
            if i.reference_price is not None:
                details += f", reference {i.reference_price}"
            lines.append(f"  {i.symbol:<{width}} -> {route}  ({details})")
        lines += ["", "Risk checks (in evaluation order):"]
        width = max((len(name) for name in self.clients), default=0)
        for c in self.clients.values():
            lines.append(f"  {c.name + ':':<{width + 1}} {', '.join(c.risk.check_names) or '(none)'}")
        if not self.clients:
            lines.append("  (no clients)")
        if self.risk.restricted_symbols:
            lines.append(f"  restricted for everyone: {', '.join(self.risk.restricted_symbols)}")
        lines += ["", f"Store: {_mask_password(self.store.url)} (synchronous={self.store.synchronous})"]
        return "\n".join(lines)
