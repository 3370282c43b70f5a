"""A local testbed: a complete config folder on free loopback ports, and ``fixgw`` subprocesses.

The end-to-end tests (``tests/e2e/harness.py`` re-exports this) and ``fixgw kill-soak`` write a
configuration into a temporary folder, start the CLI (``fixgw run``, ``fixgw venue-sim``), wait
until it says it is ready, and talk to it with :class:`gateway.tools.fixclient.FixClient`.
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

from gateway.tools.fixclient import FixClient

HOST = "127.0.0.1"
PG_URL = os.environ.get("FIXGW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

A_SYMBOLS = [f"TA{i:02d}" for i in range(1, 40)]  # routed to SIM-A (FIX 4.4), empty books
B_SYMBOLS = [f"TB{i:02d}" for i in range(1, 20)]  # routed to SIM-B (FIX 4.2), empty books


_EPHEMERAL_LOW = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
_rng = random.Random()


def free_port() -> int:
    """A bindable port below the kernel's ephemeral range.

    Port 0 would give an ephemeral port, which outgoing connections (initiators, test
    clients) also draw from: one could take it before the simulator or acceptor binds it.
    """
    for _ in range(200):
        port = _rng.randrange(20000, min(_EPHEMERAL_LOW, 32768))
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found below the ephemeral range")


def write_config(
    root: Path,
    store_url: str | None = None,
    sim_a: bool = True,
    sim_b: bool = True,
    ack_timeout_s: float = 3,
    sim_a_ack_delay_ms: int = 0,
    extra_clients: dict[str, str] | None = None,
    client_options: str = "",
    risk: str = "",
    client_risk: dict[str, str] | None = None,
    gateway_options: str = "",
) -> Path:
    """A complete config folder; returns the gateway.yaml path. Ports are fresh each call.

    ``risk`` is a ``risk:`` section for gateway.yaml; ``client_risk`` one per client file;
    ``gateway_options`` more keys for its ``gateway:`` section (e.g. ``schedule: {...}``).
    """
    ports = {n: free_port() for n in ("acceptor", "admin", "SIM-A", "SIM-B", "SIM-C")}
    store = store_url or "sqlite:///{sessions}/fixgw.db"
    instruments = "\n".join(
        [
            f'  - {{symbol: {s}, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-A}}'
            for s in A_SYMBOLS
        ]
        + [
            f'  - {{symbol: {s}, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-B}}'
            for s in B_SYMBOLS
        ]
        + [
            '  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-A}',
            '  - {symbol: NOROUTE, tick_size: "0.01", lot_size: 1, currency: USD}',
            '  - {symbol: TC01, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-C}',
        ]
    )
    (root / "clients").mkdir(parents=True, exist_ok=True)
    (root / "venues").mkdir(exist_ok=True)
    (root / "gateway.yaml").write_text(
        f"""gateway:
  comp_id: FIXGW
  home: .
  sessions_dir: sessions
  acceptor: {{port: {ports["acceptor"]}, bind_address: {HOST}}}
  engine: {{spin_ms: 50, idle_sleep_us: 200}}
  ack_timeout_s: {ack_timeout_s}
  store: {{url: "{store}"}}
  log_level: info
  admin: {{port: {ports["admin"]}}}
{textwrap.indent(gateway_options, "  ")}
instruments:
{instruments}
{risk}
"""
    )
    clients = {"CLIENT1": "4.4", "CLIENT2": "4.2", "CLIENT3": "FIXT1.1"}
    for name, version in clients.items():
        (root / "clients" / f"{name}.yaml").write_text(
            f'name: {name}\nfix_version: "{version}"\nheartbeat_s: 30\n{(client_risk or {}).get(name, "")}'
        )
    for name, version in (extra_clients or {}).items():
        (root / "clients" / f"{name}.yaml").write_text(
            f'name: {name}\nfix_version: "{version}"\nheartbeat_s: 30\n{client_options}'
        )
    venues = {
        "SIM-A": ("4.4", sim_a, 'AAPL: "190.00"'),
        "SIM-B": ("4.2", sim_b, ""),
        "SIM-C": ("4.4", False, ""),
    }
    for name, (version, simulated, refs) in venues.items():
        sim = (
            f"simulator:\n  enabled: {str(simulated).lower()}\n  seed: 7\n"
            f"  ack_delay_ms: {sim_a_ack_delay_ms if name == 'SIM-A' else 0}\n"
            f"  liquidity: {{levels: 5, qty: 100}}\n"
            f"  reference_prices: {{{refs}}}\n"
        )
        (root / "venues" / f"{name}.yaml").write_text(
            f'name: {name}\nhost: {HOST}\nport: {ports[name]}\nfix_version: "{version}"\n'
            f"heartbeat_s: 30\nreconnect_s: 1\n{sim}"
        )
    return root / "gateway.yaml"


class Process:
    """A ``fixgw`` subprocess whose log lines are collected for waiting on."""

    def __init__(self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
        self.args = [sys.executable, "-m", "gateway", *args]
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            self.args,
            cwd=cwd,
            env={**os.environ, **env} if env else None,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for_log(self, text: str, timeout: float = 20, start: int = 0) -> int:
        """Index of the first line at or after ``start`` containing ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in range(start, len(self.lines)):
                if text in self.lines[i]:
                    return i
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout}s; log:\n" + "\n".join(self.lines[-40:]))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(5)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def start_gateway(config: Path, *extra: str, venues: tuple[str, ...] = ("SIM-A", "SIM-B")) -> Process:
    """Start ``fixgw run`` and wait until the named venue sessions are logged on."""
    gw = Process("run", "--config", str(config), *extra)
    gw.wait_for_log("listening for clients")
    for venue in venues:
        gw.wait_for_log(f"venue session {venue} logged on")
    return gw


def acceptor_port(config: Path) -> int:
    from gateway.config import load_config

    return load_config(config).acceptor.port


def connect(
    config: Path, session: str = "CLIENT1", reset: bool = True, timeout: float = 5.0, resend: bool = False
) -> FixClient:
    from gateway.config import load_config

    cfg = load_config(config)
    c = cfg.clients[session]
    client = FixClient(
        HOST, cfg.acceptor.port, c.comp_id, c.gateway_comp_id, c.begin_string, timeout=timeout, resend=resend
    )
    client.logon(reset_seq=reset)
    return client


def fresh_pg_schema(url: str, prefix: str = "fixgw_e2e") -> tuple[str, Callable[[], None]]:
    """A new, empty schema in the PostgreSQL database at ``url``: (a URL whose search_path is that
    schema, a function that drops it). Runs never see each other's rows. Raises when the server
    cannot be reached or refuses (callers skip or report)."""
    import uuid

    from sqlalchemy import create_engine, make_url, text

    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception:
        engine.dispose()
        raise

    def drop() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        finally:
            engine.dispose()

    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), drop
