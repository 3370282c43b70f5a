"""The gateway's configuration for one backtest run: a config folder in the run directory.

Venues point at the backtest's own simulated venues (the gateway runs none). Wall-clock timers
inside the gateway are set so long that they never fire during a run (acknowledgement timeout,
market-data staleness), so results do not depend on machine speed. The circuit breaker's
half-open delay is the exception: it is scaled by the replay speed, and as fast as possible it is
1 ms of wall time, i.e. the next order after the breaker opened is the probe.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

import gateway
from gateway.backtest.config import BacktestConfig
from gateway.tools.testbed import HOST, free_port

SHIPPED_CONFIG = Path(gateway.__file__).resolve().parent.parent / "config" / "gateway.yaml"
TOKEN_ENV = "FIXGW_BACKTEST_ADMIN_TOKEN"
GATEWAY_COMP_ID = "FIXGW"
DAY_MS = 86_400_000
MIN_WALL_S = 0.001


@dataclass(frozen=True)
class GatewayLayout:
    config: Path  # gateway.yaml
    sessions_dir: Path
    acceptor_port: int
    admin_port: int
    venue_ports: dict[str, int]
    clients: dict[str, str]  # client session -> fix_version
    token: str


def _shipped_sections() -> dict[str, Any]:
    try:
        raw = yaml.safe_load(SHIPPED_CONFIG.read_text(encoding="utf-8")) or {}
    except OSError:
        return {}
    return {k: raw[k] for k in ("risk", "routing") if k in raw}


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


def write_gateway_config(cfg: BacktestConfig, run_dir: Path, clients: dict[str, str]) -> GatewayLayout:
    """Write ``run_dir/config`` for ``fixgw run``; ``clients`` maps client session -> fix_version."""
    root = run_dir / "config"
    (root / "clients").mkdir(parents=True, exist_ok=True)
    (root / "venues").mkdir(exist_ok=True)
    sessions = run_dir / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    acceptor, admin = free_port(), free_port()
    ports = {v.name: free_port() for v in cfg.venues}
    shipped = _shipped_sections()
    top: dict[str, Any] = {
        "gateway": {
            "comp_id": GATEWAY_COMP_ID,
            "home": ".",
            "sessions_dir": str(sessions),
            "acceptor": {"port": acceptor, "bind_address": HOST},
            "engine": {"spin_ms": 0, "idle_sleep_us": 100},
            "ack_timeout_s": cfg.ack_timeout_s,
            "store": {"url": cfg.store_url or "sqlite:///{sessions}/fixgw.db"},
            "log_level": "info",
            "admin": {"port": admin, "token_env": TOKEN_ENV, "token_file": "{sessions}/admin.token"},
        },
        # the contract multiplier is the report's (P&L in money); the gateway has no such key
        "instruments": [{k: v for k, v in i.items() if k != "multiplier"} for i in cfg.instruments],
    }
    risk = cfg.risk if cfg.risk is not None else shipped.get("risk")
    routing = cfg.routing if cfg.routing is not None else shipped.get("routing")
    if risk is not None:
        top["risk"] = risk
    if routing is not None:
        top["routing"] = routing
    (root / "gateway.yaml").write_text(_dump(top))
    for name, version in clients.items():
        (root / "clients" / f"{name}.yaml").write_text(
            _dump({"name": name, "fix_version": version, "heartbeat_s": 60})
        )
    for v in cfg.venues:
        breaker = {"max_consecutive_rejects": 5, **(v.circuit_breaker or {})}
        # The breaker's half-open timer runs on the gateway's wall clock: scaled by the replay
        # speed when paced; as fast as possible, the next order after an opening probes at once.
        half_open = float(breaker.get("half_open_after_s", 10.0))
        breaker["half_open_after_s"] = (
            MIN_WALL_S if cfg.speed_factor is None else half_open / cfg.speed_factor
        )
        body: dict[str, Any] = {
            "name": v.name,
            "host": HOST,
            "port": ports[v.name],
            "fix_version": v.fix_version,
            "heartbeat_s": 60,
            "reconnect_s": 1,
            "check_latency": False,
            "market_data": {"enabled": True, "depth": v.md_depth, "stale_after_ms": DAY_MS},
            "fees": {"maker_bps": str(v.fees.bps), "taker_bps": str(v.fees.bps)},
            "circuit_breaker": breaker,
        }
        if v.fix_version == "4.2":
            body["reconcile"] = "per_order"
        (root / "venues" / f"{v.name}.yaml").write_text(_dump(body))
    return GatewayLayout(
        config=root / "gateway.yaml",
        sessions_dir=sessions,
        acceptor_port=acceptor,
        admin_port=admin,
        venue_ports=ports,
        clients=dict(clients),
        token=secrets.token_hex(16),
    )
