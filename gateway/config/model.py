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

from gateway.orders.enums import OrdType, TimeInForce

#: ``fix_version`` value -> BeginString(8). FIXT1.1 carries a FIX 5.0 SP2 application layer.
BEGIN_STRINGS: dict[str, str] = {"4.2": "FIX.4.2", "4.4": "FIX.4.4", "FIXT1.1": "FIXT.1.1"}

#: Tags a venue's ``extra_tags`` may not set: the session layer's (8, 9, 10, 34, 35, 43, 49, 52, 56, 97,
#: 122) and the ones the codec writes from the order itself (11, 37, 38, 40, 41, 44, 54, 55, 59, 60).
CODEC_OWNED_TAGS = frozenset(
    {8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122, 11, 41, 37, 38, 40, 44, 54, 55, 59, 60}
)
#: Order messages to a venue that carry its extra tags (msgtype -> name). A tag goes in the header when
#: the venue's dictionary defines it there, else on those of these messages whose definition has it.
EXTRA_TAG_MESSAGES = {
    "D": "NewOrderSingle",
    "F": "OrderCancelRequest",
    "G": "OrderCancelReplaceRequest",
    "H": "OrderStatusRequest",
}
#: ``extra_tags`` values that are filled in per order (the whole value must be the placeholder).
EXTRA_TAG_PLACEHOLDERS = ("{account}", "{client}", "{symbol}", "{venue_symbol}")
#: ``order_types`` / ``time_in_force`` names in venue files.
ORDER_TYPE_NAMES: dict[str, OrdType] = {"limit": OrdType.LIMIT, "market": OrdType.MARKET}
TIF_NAMES: dict[str, TimeInForce] = {
    "day": TimeInForce.DAY,
    "gtc": TimeInForce.GTC,
    "ioc": TimeInForce.IOC,
    "fok": TimeInForce.FOK,
}


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


#: Day names in configuration files, Monday first (``datetime.weekday()`` numbering).
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How the close ends a working Day order: ExecType/OrdStatus Expired (C) or DoneForDay (3).
DAY_ORDER_ENDS = ("expire", "done_for_day")


@dataclass(frozen=True, slots=True)
class Schedule:
    """When sessions are up, in ``timezone``; ``gateway.schedule`` (all fields) or a session's own.

    Daily (``start_day`` None): a session from ``start`` to ``end`` every day (``start > end``
    crosses midnight; ``start == end`` is up around the clock). Weekly: one session from
    ``start_day start`` to ``end_day end``. ``days`` (``datetime.weekday()`` numbers) are the
    trading days, named by the day of the close: only the gateway's close at ``end`` on those
    days ends Day orders (QuickFIX itself cannot skip weekdays of a daily session).
    """

    start: str  # HH:MM:SS
    end: str  # HH:MM:SS
    timezone: str  # IANA name, e.g. "UTC", "America/New_York"
    days: frozenset[int] = frozenset(range(7))
    start_day: int | None = None  # weekly session: both set
    end_day: int | None = None

    @property
    def weekly(self) -> bool:
        return self.start_day is not None

    def describe(self) -> str:
        if self.weekly:
            window = f"{DAY_NAMES[self.start_day]} {self.start} - {DAY_NAMES[self.end_day]} {self.end}"
        else:
            window = f"{self.start} - {self.end} daily"
        if self.days == frozenset(range(7)):
            return f"{window} {self.timezone}"
        return f"{window} {self.timezone}, trading days {'/'.join(DAY_NAMES[d] for d in sorted(self.days))}"


#: What a session without a ``schedule`` gets when gateway.yaml has none: up around the clock.
ALWAYS_UP = Schedule("00:00:00", "00:00:00", "UTC")


@dataclass(frozen=True, slots=True)
class GatewaySchedule(Schedule):
    """``gateway.schedule``: the default for every session, and the close that ends Day orders.

    ``cancel_before_s`` before each close the gateway cancels working Day orders at their venues,
    so the venues confirm and the clients hear Expired (or DoneForDay, ``day_orders``) while the
    sessions are still up; GTC orders stay.
    """

    day_orders: str = "expire"  # "expire" | "done_for_day"
    cancel_before_s: float = 5.0

    def as_session(self) -> Schedule:
        """The session part: what a client or venue without a schedule of its own gets."""
        return Schedule(self.start, self.end, self.timezone, self.days, self.start_day, self.end_day)


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


DEFAULT_STRATEGY = "primary"
ON_CHILD_REJECT = ("reroute", "return")


@dataclass(frozen=True, slots=True)
class RoutingChoice:
    """A routing strategy, not yet built: a name plus parameters.

    Like :class:`CheckSpec`, the loader checks only the shape; ``gateway.routing.registry`` resolves
    the name (built-in, or dotted path ``package.module.ClassName``) and uses ``source`` and ``key``
    (e.g. ``routing.instruments.AAPL``) to name the file and key of a mistake.
    """

    strategy: str
    params: dict[str, Any]
    source: Path
    key: str


def _default_choice() -> RoutingChoice:
    return RoutingChoice(DEFAULT_STRATEGY, {}, Path(), "routing")


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """How orders are split across venues: a default strategy, per-symbol overrides, and what to do
    when a venue rejects a child order (``reroute`` the quantity to another venue, or ``return`` the
    reject to the client).

    ``GatewayConfig.routing`` holds gateway.yaml's defaults, ``ClientConfig.routing`` one client's
    effective, merged settings. The default (``primary``: the instrument's default venue) is what a
    config without a ``routing:`` section gets.
    """

    default: RoutingChoice = field(default_factory=_default_choice)
    instruments: dict[str, RoutingChoice] = field(default_factory=dict)
    on_child_reject: str = "return"  # "reroute" | "return"

    def for_symbol(self, symbol: str) -> RoutingChoice:
        """The strategy for ``symbol``: its per-instrument entry, else the default."""
        return self.instruments.get(symbol, self.default)


@dataclass(frozen=True, slots=True)
class AcceptorConfig:
    """Where clients connect; ``bind_address`` None means every interface (QuickFIX's default)."""

    port: int
    bind_address: str | None = None


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """The admin API, on 127.0.0.1 only; ``port`` None: not served. The token is read from the
    environment variable ``token_env`` when set, else from ``token_file`` (created with a random
    token, mode 0600, when missing: whoever can read the sessions folder may administer)."""

    port: int | None = None
    token_env: str = "FIXGW_ADMIN_TOKEN"
    token_file: Path | None = None


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
class SimFaults:
    """Misbehaviour a simulated venue injects so tests can show the gateway stays consistent."""

    duplicate_reports: float = 0.0  # probability an ExecutionReport is sent twice (same ExecID)
    withhold_status: bool = False  # OrderStatusRequest and OrderMassStatusRequest go unanswered
    drop_after_orders: int | None = None  # drop the session after this many new orders
    withhold_acks: float = 0.0  # probability a new order's acknowledgement is never sent
    reorder_fills: float = 0.0  # probability one sweep's fills are sent last first


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
    md_refresh_s: float = 1.0  # full market-data snapshot to subscribers this often (0: never)
    faults: SimFaults = field(default_factory=lambda: SimFaults())


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
class CancelOnDisconnect:
    """Cancel a client's working orders when its session drops and it does not come back within
    ``grace_s``; GTC orders only with ``include_gtc``; a clean Logout too only with ``on_logout``."""

    grace_s: float = 5.0
    include_gtc: bool = False
    on_logout: bool = False


@dataclass(frozen=True, slots=True)
class ClientConfig(SessionConfig):
    """A client session the gateway accepts on its acceptor port; ``risk`` and ``routing`` are its
    effective (merged) settings."""

    risk: RiskConfig = field(default_factory=RiskConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    cancel_on_disconnect: CancelOnDisconnect | None = None
    # Its own listening port (None: the gateway's acceptor port). A client added to a running
    # gateway needs one: QuickFIX cannot add a session to an acceptor that is already running.
    accept_port: int | None = None

    def routing_for(self, symbol: str) -> RoutingChoice:
        """The routing strategy for this client's orders in ``symbol``."""
        return self.routing.for_symbol(symbol)


@dataclass(frozen=True, slots=True)
class MarketDataConfig:
    """Whether to subscribe to the venue's market data, how many levels, and when a book is stale."""

    enabled: bool = False
    depth: int = 5
    stale_after_ms: int = 2000
    # A separate market-data session (same host and port, its own CompIDs); None: the order session.
    comp_id: str | None = None  # the venue's CompID on the market-data session

    def session_comp_id(self) -> str | None:
        return self.comp_id if self.enabled else None


@dataclass(frozen=True, slots=True)
class VenueSymbol:
    """How the venue names one instrument: its Symbol(55), and optionally SecurityID(48) and
    SecurityIDSource(22) (``id_source`` is set exactly when ``security_id`` is)."""

    symbol: str
    security_id: str | None = None
    id_source: str | None = None


@dataclass(frozen=True, slots=True)
class VenueFees:
    """Fees in basis points of notional; negative is a rebate."""

    maker_bps: Decimal = Decimal(0)  # resting (passive) fills
    taker_bps: Decimal = Decimal(0)  # aggressive fills


@dataclass(frozen=True, slots=True)
class InstrumentOverride:
    """A venue's own tick or lot size for an instrument (None: the instrument's)."""

    tick_size: Decimal | None = None
    lot_size: Decimal | None = None


RATE_LIMIT_ACTIONS = ("queue", "reroute", "reject")


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The venue's message rate limits (None: no limit on that count; at least one is set).

    When exhausted, an order is held in a queue (at most ``max_queue`` messages, each at most
    ``max_wait_ms``), re-routed to another venue, or rejected to the client.
    """

    orders_per_s: float | None = None  # orders per second
    messages_per_s: float | None = None  # application messages per second
    on_exhausted: str = "queue"  # "queue" | "reroute" | "reject"
    max_queue: int = 1000
    max_wait_ms: int = 1000


@dataclass(frozen=True, slots=True)
class CircuitBreakerConfig:
    """Stop routing to a venue after ``max_consecutive_rejects`` rejects in a row or an acknowledgement
    slower than ``max_ack_latency_ms`` (None: latency not watched); try it again (half-open) after
    ``half_open_after_s`` seconds."""

    max_consecutive_rejects: int = 5
    max_ack_latency_ms: int | None = None
    half_open_after_s: float = 10.0


@dataclass(frozen=True, slots=True)
class VenueConfig(SessionConfig):
    """A venue session the gateway initiates to ``host:port``, with its dialect and limits.

    ``symbology`` maps client symbols to the venue's names (unlisted symbols go out unchanged);
    ``extra_tags`` are tag -> fixed value or placeholder (:data:`EXTRA_TAG_PLACEHOLDERS`) added to
    the order messages (:data:`EXTRA_TAG_MESSAGES`) whose definition in the venue's dictionary has
    them (or to the header); ``dictionary_overlay`` is merged into ``dictionary`` for the session.
    ``gateway.codec.dialect.Dialect`` applies symbology and extra tags.
    """

    host: str
    port: int
    reconnect_s: int
    simulator: SimulatorConfig | None
    market_data: MarketDataConfig = field(default_factory=MarketDataConfig)
    symbology: dict[str, VenueSymbol] = field(default_factory=dict)
    extra_tags: dict[int, str] = field(default_factory=dict)
    order_types: frozenset[OrdType] = frozenset(OrdType)
    time_in_force: frozenset[TimeInForce] = frozenset(TimeInForce)
    fees: VenueFees = field(default_factory=VenueFees)
    instruments: dict[str, InstrumentOverride] = field(default_factory=dict)
    dictionary_overlay: Path | None = None
    rate_limits: RateLimitConfig | None = None
    circuit_breaker: CircuitBreakerConfig = field(default_factory=CircuitBreakerConfig)
    cancel_on_disconnect: bool = False  # the venue cancels this session's orders when it drops
    supports_replace: bool = True  # takes OrderCancelReplaceRequest; if not, amend = cancel + new
    reconcile: str = "auto"  # on logon: mass | per_order | off; auto: mass, or per_order for FIX 4.2
    orphans: str = "leave"  # a working venue order the gateway does not track: leave | cancel

    @property
    def reconcile_mode(self) -> str:
        if self.reconcile == "auto":
            return "per_order" if self.begin_string == "FIX.4.2" else "mass"
        return self.reconcile

    @property
    def simulated(self) -> bool:
        """True when ``fixgw run`` should start a simulator for this venue in-process."""
        return self.simulator is not None and self.simulator.enabled


def _describe(choice: RoutingChoice) -> str:
    params = ", ".join(f"{k}={v}" for k, v in choice.params.items())
    return f"{choice.strategy} ({params})" if params else choice.strategy


def _venue_details(v: VenueConfig) -> list[str]:
    """The venue's non-default dialect and limit settings, for ``summary()``."""
    details = []
    if v.market_data.enabled:
        details.append(f"market data depth {v.market_data.depth}")
    if v.symbology:
        details.append(f"{len(v.symbology)} mapped symbols")
    if v.extra_tags:
        details.append(f"extra tags {', '.join(str(t) for t in v.extra_tags)}")
    if v.dictionary_overlay is not None:
        details.append(f"overlay {display_path(v.dictionary_overlay)}")
    if v.order_types != frozenset(OrdType) or v.time_in_force != frozenset(TimeInForce):
        names = [n for n, t in ORDER_TYPE_NAMES.items() if t in v.order_types]
        names += [n for n, t in TIF_NAMES.items() if t in v.time_in_force]
        details.append(f"takes {'/'.join(names)}")
    if v.fees != VenueFees():
        details.append(f"fees maker {v.fees.maker_bps} bps, taker {v.fees.taker_bps} bps")
    if v.rate_limits is not None:
        rl = v.rate_limits
        pairs = ((rl.orders_per_s, "orders"), (rl.messages_per_s, "messages"))
        limits = [f"{x:g} {what}/s" for x, what in pairs if x is not None]
        details.append(f"rate limit {' + '.join(limits)} ({rl.on_exhausted})")
    return details


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
    routing: RoutingConfig = field(default_factory=RoutingConfig)  # defaults for every client
    schedule: GatewaySchedule | None = None  # None: always open, Day orders never expire
    admin: AdminConfig = field(default_factory=AdminConfig)
    done_orders_in_memory_s: float = 60.0  # then a finished order is answered from the journal

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
            details = _venue_details(v)
            if details:
                lines.append(f"  {'':<{width + 1}} {', '.join(details)}")
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
        lines += ["", "Routing:"]
        lines.append(
            f"  default: {_describe(self.routing.default)}, on child reject: {self.routing.on_child_reject}"
        )
        for symbol, choice in self.routing.instruments.items():
            lines.append(f"  {symbol}: {_describe(choice)}")
        for c in self.clients.values():
            if c.routing != self.routing:
                overrides = [f"{s}: {_describe(x)}" for s, x in c.routing.instruments.items()]
                lines.append(
                    f"  {c.name}: default {_describe(c.routing.default)}, "
                    f"on child reject: {c.routing.on_child_reject}" + "".join(f"; {o}" for o in overrides)
                )
        if self.schedule is not None:
            s = self.schedule
            ends = "Expired" if s.day_orders == "expire" else "DoneForDay"
            lines += [
                "",
                f"Schedule: {s.describe()}; Day orders end as {ends} "
                f"(canceled at the venues {s.cancel_before_s:g}s before the close)",
            ]
            own = [
                x.name
                for x in [*self.clients.values(), *self.venues.values()]
                if x.schedule != s.as_session()
            ]
            if own:
                lines.append(f"  own schedule: {', '.join(own)}")
        lines += ["", f"Store: {_mask_password(self.store.url)} (synchronous={self.store.synchronous})"]
        return "\n".join(lines)
