"""The benchmark's configuration: the shipped ``config/`` with every built-in risk check switched on.

One folder per process (:func:`write_config`): the venue simulator gets one, and every start of a
target (the bare proxy or fixgw) gets a fresh one, with its own empty ``sessions/`` (QuickFIX
stores and logs, the SQLite journal). They share the ports, so each target is the same gateway
to the venue: SenderCompID FIXGW on the venue's sessions, CLIENT1 (FIX 4.4) on its acceptor.

Taken from the shipped ``config/gateway.yaml`` when it loads: the engine loop settings, the
journal's ``synchronous``, ``log_level`` and ``ack_timeout_s``; the instruments, both venues
(SIM-A FIX 4.4, SIM-B FIX 4.2, market data subscribed from both) and ``primary`` routing are as
shipped. Changed for the benchmark, and why:

* risk: all twelve built-in checks (the shipped file lists eleven and has duplicate_order off)
  plus loss_limit and reject_burst, with limits no benchmark order reaches;
* venues: ``reset_on_logon`` (every target starts with fresh stores, the venue keeps its own),
  ``reconcile: off`` (a fresh journal has nothing to reconcile, and the venue's answer to a mass
  status request would list every order of every earlier run on the same session),
  ``cancel_on_disconnect`` (the venue empties its book of a target's orders when it goes away),
  ``reconnect_s: 1``;
* everything listens on 127.0.0.1 on free ports.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from gateway.tools.testbed import HOST, free_port

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "gateway.yaml"
CLIENT = "CLIENT1"
GATEWAY_COMP_ID = "FIXGW"
VENUE = "SIM-A"  # where every benchmark order goes (AAPL's venue)


@dataclass(frozen=True)
class Ports:
    acceptor: int
    admin: int
    venues: dict[str, int]

    @classmethod
    def fresh(cls) -> Ports:
        return cls(free_port(), free_port(), {"SIM-A": free_port(), "SIM-B": free_port()})


@dataclass(frozen=True)
class Defaults:
    """The settings of fixgw's default configuration the benchmark keeps."""

    spin_ms: int = 0
    idle_sleep_us: int = 100
    synchronous: str = "normal"
    log_level: str = "info"
    ack_timeout_s: float = 10.0


def shipped_defaults() -> Defaults:
    """Read from the repository's ``config/gateway.yaml`` (the constants above when it is absent)."""
    if not SHIPPED.is_file():
        return Defaults()
    from gateway.config import ConfigError, load_config

    try:
        cfg = load_config(SHIPPED)
    except ConfigError:
        return Defaults()
    return Defaults(
        cfg.engine.spin_ms, cfg.engine.idle_sleep_us, cfg.store.synchronous, cfg.log_level, cfg.ack_timeout_s
    )


INSTRUMENTS = """\
instruments:
  - {symbol: AAPL, tick_size: "0.01", lot_size: "1", currency: USD, venue: SIM-A, reference_price: "190.00"}
  - {symbol: MSFT, tick_size: "0.01", lot_size: "1", currency: USD, venue: SIM-A, reference_price: "370.00"}
  - {symbol: ESH4, tick_size: "0.25", lot_size: "1", currency: USD, venue: SIM-B, reference_price: "4799.25"}
  - {symbol: EURUSD, tick_size: "0.00001", lot_size: "1000", currency: USD, venue: SIM-B,
     reference_price: "1.10000"}
  - {symbol: BTCUSDT, tick_size: "0.01", lot_size: "0.001", currency: USDT, venue: SIM-A,
     reference_price: "42000.00"}
"""

# Every built-in check, in the shipped order, with limits the benchmark's orders never reach: the
# price collar is the shipped 10 % (orders are 7-8 % below the market), duplicate_order is on.
RISK = """\
risk:
  checks:
    - {check: throttle, orders_per_s: 1000000, messages_per_s: 2000000}
    - {check: restricted_list, symbols: [XYZ]}
    - {check: allowed_instruments, symbols: [AAPL, MSFT, ESH4, EURUSD, BTCUSDT]}
    - {check: market_orders, allowed: true}
    - {check: tick_lot}
    - {check: max_order_qty, max_qty: 100000}
    - {check: max_notional, max_notional: "10000000"}
    - {check: price_collar, max_pct: 10, market_without_reference: reject}
    - {check: max_position, max_long: 1000000000, max_short: 1000000000}
    - {check: credit_limit, max_gross: "1000000000000", max_net: "1000000000000"}
    - {check: max_open_orders, per_client: 10000000, per_instrument: 10000000}
    - {check: duplicate_order, window_s: 1}
  restricted_symbols: [XYZ]
  loss_limit: {max_loss: "1000000000", action: reduce}
  reject_burst: {count: 1000000, window_s: 1, action: halt}
routing:
  strategy: primary
  on_child_reject: return
"""

_VENUES = {
    "SIM-A": ("4.4", '{AAPL: "190.00", MSFT: "370.00", BTCUSDT: "42000.00"}'),
    "SIM-B": ("4.2", '{ESH4: "4799.25", EURUSD: "1.10000"}'),
}


def write_config(root: Path, ports: Ports, defaults: Defaults) -> Path:
    """A complete config folder under ``root`` (sessions in ``root/sessions``); the gateway.yaml path."""
    (root / "clients").mkdir(parents=True, exist_ok=True)
    (root / "venues").mkdir(exist_ok=True)
    (root / "gateway.yaml").write_text(
        textwrap.dedent(
            f"""\
            gateway:
              comp_id: {GATEWAY_COMP_ID}
              home: .
              sessions_dir: sessions
              acceptor: {{port: {ports.acceptor}, bind_address: {HOST}}}
              engine: {{spin_ms: {defaults.spin_ms}, idle_sleep_us: {defaults.idle_sleep_us}}}
              ack_timeout_s: {defaults.ack_timeout_s}
              store: {{url: "sqlite:///{{sessions}}/fixgw.db", synchronous: {defaults.synchronous}}}
              log_level: {defaults.log_level}
              admin: {{port: {ports.admin}}}
            """
        )
        + INSTRUMENTS
        + RISK
    )
    (root / "clients" / f"{CLIENT}.yaml").write_text(
        f'name: {CLIENT}\ncomp_id: {CLIENT}\nfix_version: "4.4"\nheartbeat_s: 30\n'
    )
    for name, (version, refs) in _VENUES.items():
        (root / "venues" / f"{name}.yaml").write_text(
            textwrap.dedent(
                f"""\
                name: {name}
                host: {HOST}
                port: {ports.venues[name]}
                comp_id: {name}
                fix_version: "{version}"
                heartbeat_s: 30
                reconnect_s: 1
                reset_on_logon: true
                reconcile: "off"
                cancel_on_disconnect: true
                simulator:
                  enabled: true
                  ack_delay_ms: 0
                  reject_probability: 0.0
                  seed: 42
                  liquidity: {{levels: 5, qty: 100}}
                  reference_prices: {refs}
                market_data: {{enabled: true, depth: 5, stale_after_ms: 3000}}
                """
            )
        )
    return root / "gateway.yaml"
