"""Configuration loader: the shipped config loads, and every class of mistake is reported precisely."""

from __future__ import annotations

import dataclasses
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.config.loader import FIX_SPECS_DIR
from gateway.config.model import (
    CheckSpec,
    CircuitBreakerConfig,
    InstrumentOverride,
    LossLimit,
    MarketDataConfig,
    RateLimitConfig,
    RejectBurst,
    RiskConfig,
    RoutingChoice,
    RoutingConfig,
    SeedSource,
    SimFaults,
    VenueFees,
    VenueSymbol,
)
from gateway.orders.enums import OrdType, TimeInForce

REPO = Path(__file__).resolve().parents[2]

GATEWAY = """\
gateway:
  comp_id: FIXGW
  home: ..
  acceptor:
    port: 9878
instruments:
  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, venue: SIM-A}
  - {symbol: EURUSD, tick_size: 0.00001, lot_size: 1000, currency: USD}
"""
CLIENT = """\
name: CLIENT1
fix_version: "4.4"
"""
VENUE = """\
name: SIM-A
host: 127.0.0.1
port: 9881
fix_version: "4.2"
simulator:
  reference_prices: {AAPL: 190.10}
"""


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal valid config in tmp_path/config; cwd is tmp_path so messages show relative paths."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIXGW_CONFIG", raising=False)
    write(tmp_path, "config/gateway.yaml", GATEWAY)
    write(tmp_path, "config/clients/CLIENT1.yaml", CLIENT)
    write(tmp_path, "config/venues/SIM-A.yaml", VENUE)
    return tmp_path


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def error(root: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(root / "config/gateway.yaml")
    return str(info.value)


# ------------------------------------------------------------------------------------- happy path


def test_shipped_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("FIXGW_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.source == REPO / "config/gateway.yaml"
    assert cfg.home == REPO
    assert cfg.sessions_dir == REPO / "sessions"
    assert {n: c.fix_version for n, c in cfg.clients.items()} == {"CLIENT1": "4.4", "CLIENT2": "4.2"}
    assert {n: v.fix_version for n, v in cfg.venues.items()} == {"SIM-A": "4.4", "SIM-B": "4.2"}
    assert cfg.clients["CLIENT2"].begin_string == "FIX.4.2"
    assert cfg.venues["SIM-A"].begin_string == "FIX.4.4"
    assert cfg.venues["SIM-A"].port == 9881 and cfg.venues["SIM-B"].port == 9882
    assert all(v.simulated for v in cfg.venues.values())
    assert cfg.venues["SIM-B"].simulator is not None
    assert cfg.venues["SIM-B"].simulator.reference_prices == {
        "ESH4": Decimal("4799.25"),
        "EURUSD": Decimal("1.10000"),
    }
    assert list(cfg.instruments) == ["AAPL", "MSFT", "ESH4", "EURUSD", "BTCUSDT"]
    assert cfg.instruments["EURUSD"].tick_size == Decimal("0.00001")
    assert cfg.instruments["BTCUSDT"].lot_size == Decimal("0.001")
    assert cfg.default_venue("ESH4") == "SIM-B"
    assert cfg.store.url == f"sqlite:///{REPO}/sessions/fixgw.db"
    assert cfg.comp_id == "FIXGW" and cfg.acceptor.port == 9878


def test_env_var_selects_file(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIXGW_CONFIG", str(tree / "config/gateway.yaml"))
    monkeypatch.chdir(REPO)
    assert load_config().source == tree / "config/gateway.yaml"


def test_defaults_and_resolution(tree: Path) -> None:
    cfg = load_config("config/gateway.yaml")
    assert cfg.home == tree
    assert cfg.sessions_dir == tree / "sessions"
    assert cfg.store.url == f"sqlite:///{tree}/sessions/fixgw.db"
    assert cfg.store.synchronous == "normal" and cfg.log_level == "info"
    assert (cfg.engine.spin_ms, cfg.engine.idle_sleep_us, cfg.ack_timeout_s) == (200, 100, 10.0)
    assert cfg.acceptor.bind_address is None
    # plain YAML numbers become exact decimals, not float artefacts
    assert cfg.instruments["EURUSD"].tick_size == Decimal("0.00001")
    assert cfg.instruments["EURUSD"].venue is None

    client = cfg.clients["CLIENT1"]
    assert (client.comp_id, client.gateway_comp_id) == ("CLIENT1", "FIXGW")
    assert (client.heartbeat_s, client.reset_on_logon, client.check_latency, client.max_latency_s) == (
        30,
        False,
        True,
        120,
    )
    assert (client.schedule.start, client.schedule.end, client.schedule.timezone) == (
        "00:00:00",
        "00:00:00",
        "UTC",
    )
    assert client.dictionary == FIX_SPECS_DIR / "FIX44.xml"
    assert client.transport_dictionary is None
    assert client.source == tree / "config/clients/CLIENT1.yaml"

    venue = cfg.venues["SIM-A"]
    assert venue.dictionary == FIX_SPECS_DIR / "FIX42.xml"
    assert venue.reconnect_s == 5
    sim = venue.simulator
    assert sim is not None
    assert (sim.enabled, sim.ack_delay_ms, sim.reject_probability, sim.seed) == (True, 0, 0.0, 42)
    assert (sim.liquidity_levels, sim.liquidity_qty) == (5, Decimal(100))
    assert sim.reference_prices == {"AAPL": Decimal("190.10")}
    assert sim.faults == SimFaults()  # a simulator misbehaves only when asked to


def test_explicit_values(tree: Path) -> None:
    write(
        tree,
        "config/gateway.yaml",
        GATEWAY.replace(
            "  home: ..\n",
            """\
  home: ../root
  sessions_dir: /var/fixgw
  store: {url: "sqlite:///data/j.db", synchronous: full}
  log_level: debug
  ack_timeout_s: 2.5
""",
        ),
    )
    write(tree, "root/specs/custom.xml", "<fix/>")
    write(
        tree,
        "config/clients/CLIENT1.yaml",
        """\
        name: CLIENT1
        comp_id: C1
        gateway_comp_id: GW1
        fix_version: FIXT1.1
        schedule: {start: 09:30:00, end: "16:00:00", timezone: America/New_York}
        dictionary: specs/custom.xml
        reset_on_logon: true
    """,
    )
    cfg = load_config("config/gateway.yaml")
    assert cfg.home == tree / "root"
    assert cfg.sessions_dir == Path("/var/fixgw")
    assert cfg.store.url == f"sqlite:///{tree}/root/data/j.db"
    assert (cfg.store.synchronous, cfg.log_level, cfg.ack_timeout_s) == ("full", "debug", 2.5)
    client = cfg.clients["CLIENT1"]
    assert (client.comp_id, client.gateway_comp_id, client.begin_string) == ("C1", "GW1", "FIXT.1.1")
    assert client.schedule.start == "09:30:00"  # unquoted time stays a string
    assert client.dictionary == tree / "root/specs/custom.xml"
    assert client.transport_dictionary == FIX_SPECS_DIR / "FIXT11.xml"
    assert client.reset_on_logon is True
    assert cfg.client_by_comp_id("C1") is client
    assert cfg.client_by_comp_id("CLIENT1") is None


def test_lookups_and_frozen(tree: Path) -> None:
    cfg = load_config("config/gateway.yaml")
    assert cfg.venue_by_comp_id("SIM-A") is cfg.venues["SIM-A"]
    assert cfg.venue_by_comp_id("CLIENT1") is None
    assert cfg.default_venue("AAPL") == "SIM-A"
    assert cfg.default_venue("EURUSD") is None
    assert cfg.default_venue("NOPE") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.comp_id = "X"  # type: ignore[misc]


def test_summary_mentions_sessions_routes_store(tree: Path) -> None:
    write(tree, "config/clients/CLIENT2.yaml", 'name: CLIENT2\nfix_version: "4.2"\n')
    write(tree, "config/venues/REAL.yaml", "name: REAL\nhost: fix.example.com\nport: 5001\nfix_version: 4.4")
    cfg: GatewayConfig = load_config("config/gateway.yaml")
    text = cfg.summary()
    for expected in (
        "CLIENT1",
        "CLIENT2",
        "FIX.4.4",
        "FIX.4.2",
        "SIM-A",
        "127.0.0.1:9881",
        "simulated",
        "REAL",
        "fix.example.com:5001",
        "external",
        "FIXGW",
        "AAPL",
        "EURUSD",
        cfg.store.url,
    ):
        assert expected in text
    assert any("AAPL" in line and "SIM-A" in line for line in text.splitlines())


def test_summary_masks_database_password(tree: Path) -> None:
    write(
        tree,
        "config/gateway.yaml",
        GATEWAY.replace(
            "  acceptor:", "  store: {url: 'postgresql+psycopg://fix:secret@db/fixgw'}\n  acceptor:"
        ),
    )
    text = load_config("config/gateway.yaml").summary()
    assert "postgresql+psycopg://fix:***@db/fixgw" in text and "secret" not in text


# ----------------------------------------------------------------------------------------- mistakes


@pytest.mark.parametrize(
    ("rel", "old", "new", "expected"),
    [
        # unknown key
        (
            "config/venues/SIM-A.yaml",
            "port: 9881",
            "prot: 9881",
            "config/venues/SIM-A.yaml: unknown key 'prot' (expected one of: name, host, port,",
        ),
        (
            "config/gateway.yaml",
            "    port: 9878",
            "    port: 9878\n    bind: 1.2.3.4",
            "config/gateway.yaml: gateway.acceptor: unknown key 'bind' (expected one of: port, bind_address)",
        ),
        (
            "config/gateway.yaml",
            "currency: USD, venue: SIM-A",
            "currency: USD, venu: SIM-A",
            "config/gateway.yaml: instruments[0]: unknown key 'venu'",
        ),
        (
            "config/venues/SIM-A.yaml",
            "reference_prices",
            "seeed: 1\n  reference_prices",
            "config/venues/SIM-A.yaml: simulator: unknown key 'seeed'",
        ),
        # wrong type / bad value
        (
            "config/venues/SIM-A.yaml",
            "port: 9881",
            "port: abc",
            "config/venues/SIM-A.yaml: port: expected an integer 1-65535, got 'abc'",
        ),
        (
            "config/venues/SIM-A.yaml",
            "port: 9881",
            "port: 70000",
            "config/venues/SIM-A.yaml: port: expected an integer 1-65535, got 70000",
        ),
        (
            "config/gateway.yaml",
            "port: 9878",
            "port: 0",
            "config/gateway.yaml: gateway.acceptor.port: expected an integer 1-65535, got 0",
        ),
        (
            "config/gateway.yaml",
            "tick_size: 0.00001",
            "tick_size: 0",
            "config/gateway.yaml: instruments[1].tick_size: must be > 0",
        ),
        (
            "config/gateway.yaml",
            'tick_size: "0.01"',
            'tick_size: "abc"',
            "config/gateway.yaml: instruments[0].tick_size: expected a decimal number, got 'abc'",
        ),
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.4"\nheartbeat_s: yes',
            "config/clients/CLIENT1.yaml: heartbeat_s: expected a positive integer, got 'yes'",
        ),
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.4"\nreset_on_logon: 1',
            "config/clients/CLIENT1.yaml: reset_on_logon: expected true or false, got 1",
        ),
        (
            "config/venues/SIM-A.yaml",
            "reference_prices",
            "reject_probability: 1.5\n  reference_prices",
            "config/venues/SIM-A.yaml: simulator.reject_probability: must be <= 1",
        ),
        (
            "config/venues/SIM-A.yaml",
            "reference_prices",
            "faults: {drop_after_orders: 0}\n  reference_prices",
            "SIM-A.yaml: simulator.faults.drop_after_orders: expected a positive integer, got 0",
        ),
        (
            "config/venues/SIM-A.yaml",
            "reference_prices",
            "faults: {reorder_fills: 2}\n  reference_prices",
            "SIM-A.yaml: simulator.faults.reorder_fills: must be <= 1",
        ),
        (
            "config/venues/SIM-A.yaml",
            'fix_version: "4.2"',
            'fix_version: "4.2"\norphans: kill',
            "config/venues/SIM-A.yaml: orphans: expected one of: leave, cancel, got 'kill'",
        ),
        (
            "config/venues/SIM-A.yaml",
            "reference_prices",
            "faults: {reorder: true}\n  reference_prices",
            "config/venues/SIM-A.yaml: simulator.faults: unknown key 'reorder'",
        ),
        (
            "config/venues/SIM-A.yaml",
            "AAPL: 190.10",
            "AAPL: -1",
            "config/venues/SIM-A.yaml: simulator.reference_prices.AAPL: must be > 0",
        ),
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.4"\nschedule: {start: "25:00:00"}',
            'config/clients/CLIENT1.yaml: schedule.start: expected a time "HH:MM:SS"',
        ),
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.4"\nschedule: {timezone: Mars/Olympus}',
            "config/clients/CLIENT1.yaml: schedule.timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            "config/gateway.yaml",
            "instruments:\n",
            "instruments: []\nx:\n",
            "config/gateway.yaml: unknown key 'x' (expected one of: gateway, instruments, risk, routing)",
        ),
        # missing required key
        (
            "config/venues/SIM-A.yaml",
            "host: 127.0.0.1\n",
            "",
            "config/venues/SIM-A.yaml: host: required key is missing",
        ),
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"\n',
            "",
            "config/clients/CLIENT1.yaml: fix_version: required key is missing",
        ),
        (
            "config/gateway.yaml",
            "  comp_id: FIXGW\n",
            "",
            "config/gateway.yaml: gateway.comp_id: required key is missing",
        ),
        (
            "config/gateway.yaml",
            "  acceptor:\n    port: 9878\n",
            "  acceptor: {}\n",
            "config/gateway.yaml: gateway.acceptor.port: required key is missing",
        ),
        # bad enum
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.3"',
            'config/clients/CLIENT1.yaml: fix_version: expected one of: "4.2", "4.4", "FIXT1.1", got \'4.3\'',
        ),
        (
            "config/gateway.yaml",
            "  acceptor:",
            "  log_level: verbose\n  acceptor:",
            "config/gateway.yaml: gateway.log_level: expected one of: debug, info, warning, error, got 'verb",
        ),
        (
            "config/gateway.yaml",
            "  acceptor:",
            "  store: {synchronous: off}\n  acceptor:",
            "config/gateway.yaml: gateway.store.synchronous: expected one of: normal, full, got 'off'",
        ),
        # cross-file: instrument venue not configured
        (
            "config/gateway.yaml",
            "venue: SIM-A",
            "venue: SIM-Z",
            "config/gateway.yaml: instruments[0].venue: unknown venue 'SIM-Z' (configured venues: SIM-A)",
        ),
        (
            "config/venues/SIM-A.yaml",
            "AAPL: 190.10",
            "TSLA: 250",
            "config/venues/SIM-A.yaml: simulator.reference_prices.TSLA: "
            "'TSLA' is not a configured instrument",
        ),
        (
            "config/gateway.yaml",
            "symbol: EURUSD",
            "symbol: AAPL",
            "config/gateway.yaml: instruments[1].symbol: duplicate symbol 'AAPL'",
        ),
        # name / file stem
        (
            "config/clients/CLIENT1.yaml",
            "name: CLIENT1",
            "name: CLIENT9",
            "config/clients/CLIENT1.yaml: name: 'CLIENT9' must equal the file name stem 'CLIENT1'",
        ),
        (
            "config/venues/SIM-A.yaml",
            "name: SIM-A",
            "name: SIM-B",
            "config/venues/SIM-A.yaml: name: 'SIM-B' must equal the file name stem 'SIM-A'",
        ),
        # ports
        (
            "config/venues/SIM-A.yaml",
            "port: 9881",
            "port: 9878",
            "config/venues/SIM-A.yaml: port: 9878 is already used by the gateway acceptor",
        ),
        # session CompIDs equal to ours
        (
            "config/clients/CLIENT1.yaml",
            "name: CLIENT1",
            "name: CLIENT1\ncomp_id: FIXGW",
            "config/clients/CLIENT1.yaml: comp_id: 'FIXGW' is also our CompID",
        ),
        # dictionary that does not exist
        (
            "config/clients/CLIENT1.yaml",
            "name: CLIENT1",
            "name: CLIENT1\ndictionary: specs/none.xml",
            "config/clients/CLIENT1.yaml: dictionary: file not found:",
        ),
        # duplicate YAML key
        (
            "config/venues/SIM-A.yaml",
            "port: 9881",
            "port: 9881\nport: 9883",
            "config/venues/SIM-A.yaml: line 4, column 1: duplicate key 'port'",
        ),
        # bad YAML syntax
        (
            "config/clients/CLIENT1.yaml",
            'fix_version: "4.4"',
            'fix_version: "4.4\nheartbeat_s: [30',
            "config/clients/CLIENT1.yaml: line ",
        ),
        ("config/gateway.yaml", "  acceptor:\n", "  acceptor:\n   x: : :\n", "config/gateway.yaml: line 5"),
    ],
)
def test_mistake_is_reported(tree: Path, rel: str, old: str, new: str, expected: str) -> None:
    path = tree / rel
    text = path.read_text()
    assert old in text, "test setup: text to replace not found"
    path.write_text(text.replace(old, new, 1))
    message = error(tree)
    assert expected in message
    assert message.startswith(rel + ": ")


def test_invalid_yaml_names_line_and_problem(tree: Path) -> None:
    write(tree, "config/venues/SIM-A.yaml", "name: SIM-A\nhost: [127.0.0.1\nport: 9881\n")
    message = error(tree)
    assert message.startswith("config/venues/SIM-A.yaml: line ")
    assert "invalid YAML" in message


def test_missing_gateway_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FIXGW_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=r"^config/gateway\.yaml: file not found$"):
        load_config()
    monkeypatch.setenv("FIXGW_CONFIG", "elsewhere/gw.yaml")
    with pytest.raises(ConfigError, match=r"^elsewhere/gw\.yaml: file not found$"):
        load_config()


def test_empty_file_is_not_a_mapping(tree: Path) -> None:
    write(tree, "config/clients/CLIENT1.yaml", "# nothing yet\n")
    assert error(tree) == "config/clients/CLIENT1.yaml: expected a mapping, got null"


def test_yml_extension_is_rejected_not_ignored(tree: Path) -> None:
    write(tree, "config/clients/CLIENT2.yml", 'name: CLIENT2\nfix_version: "4.2"\n')
    assert "config/clients/CLIENT2.yml: rename to .yaml" in error(tree)


def test_templates_are_ignored(tree: Path) -> None:
    write(tree, "config/templates/client.yaml", "this: is not: valid\n")
    assert "CLIENT1" in load_config("config/gateway.yaml").clients


def test_duplicate_client_comp_ids(tree: Path) -> None:
    write(tree, "config/clients/CLIENT2.yaml", 'name: CLIENT2\ncomp_id: CLIENT1\nfix_version: "4.2"\n')
    assert error(tree) == (
        "config/clients/CLIENT2.yaml: comp_id: 'CLIENT1' is already used by config/clients/CLIENT1.yaml"
    )


def test_duplicate_comp_id_pair_across_client_and_venue(tree: Path) -> None:
    write(tree, "config/venues/SIM-A.yaml", VENUE.replace("name: SIM-A", "name: SIM-A\ncomp_id: CLIENT1"))
    assert error(tree) == (
        "config/venues/SIM-A.yaml: comp_id: CompID pair FIXGW/CLIENT1 is already used by "
        "config/clients/CLIENT1.yaml"
    )


def test_same_counterparty_comp_id_with_distinct_gateway_comp_id_is_allowed(tree: Path) -> None:
    write(
        tree,
        "config/venues/SIM-A.yaml",
        VENUE.replace("name: SIM-A", "name: SIM-A\ncomp_id: CLIENT1\ngateway_comp_id: FIXGW2"),
    )
    assert load_config("config/gateway.yaml").venues["SIM-A"].comp_id == "CLIENT1"


def test_two_simulators_on_one_port(tree: Path) -> None:
    write(tree, "config/venues/SIM-B.yaml", VENUE.replace("SIM-A", "SIM-B"))
    assert error(tree) == (
        "config/venues/SIM-B.yaml: port: 9881 is already used by the simulated venue in "
        "config/venues/SIM-A.yaml"
    )


def test_disabled_simulator_may_share_port_with_remote_host(tree: Path) -> None:
    write(
        tree,
        "config/venues/SIM-B.yaml",
        VENUE.replace("SIM-A", "SIM-B")
        .replace("127.0.0.1", "10.1.2.3")
        .replace("simulator:", "simulator:\n  enabled: false"),
    )
    cfg = load_config("config/gateway.yaml")
    assert not cfg.venues["SIM-B"].simulated and cfg.venues["SIM-A"].simulated


def test_local_external_venue_on_acceptor_port(tree: Path) -> None:
    write(tree, "config/venues/SIM-A.yaml", "name: SIM-A\nhost: localhost\nport: 9878\nfix_version: '4.4'\n")
    assert error(tree).startswith("config/venues/SIM-A.yaml: port: 9878 is the gateway's own acceptor")


# ---------------------------------------------------------------------------------- seed_from


def seed_from(tree: Path, entry: str) -> None:
    """Give SIM-A a ``seed_from`` list with one flow-mapping entry, and an ESH4 instrument."""
    write(tree, "data/esh4.csv.gz", "")
    gateway = (tree / "config/gateway.yaml").read_text()
    instrument = '  - {symbol: ESH4, tick_size: "0.25", lot_size: 1, currency: USD, venue: SIM-A}\n'
    (tree / "config/gateway.yaml").write_text(gateway + instrument)
    write(tree, "config/venues/SIM-A.yaml", VENUE + f"  seed_from:\n    - {entry}\n")


def test_seed_from_valid_entry(tree: Path) -> None:
    seed_from(tree, "{file: data/esh4.csv.gz, format: cme_mbo, symbol: ESH4}")
    write(tree, "config/venues/SIM-B.yaml", VENUE.replace("SIM-A", "SIM-B").replace("9881", "9882"))
    cfg = load_config("config/gateway.yaml")
    sim = cfg.venues["SIM-A"].simulator
    assert sim is not None
    assert sim.seed_from == (SeedSource(tree / "data/esh4.csv.gz", "cme_mbo", "ESH4", "ESH4"),)
    other = cfg.venues["SIM-B"].simulator
    assert other is not None and other.seed_from == ()


def test_seed_from_as_symbol_renames(tree: Path) -> None:
    seed_from(tree, "{file: data/esh4.csv.gz, format: binance_depth, as_symbol: ESH4}")
    sim = load_config("config/gateway.yaml").venues["SIM-A"].simulator
    assert sim is not None
    assert sim.seed_from[0].symbol is None and sim.seed_from[0].as_symbol == "ESH4"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{file: data/esh4.csv.gz, format: itch, symbol: ESH4}",
            "config/venues/SIM-A.yaml: simulator.seed_from[0].format: "
            "expected one of: cme_mbo, binance_depth, got 'itch'",
        ),
        (
            "{file: data/nope.csv.gz, format: cme_mbo, symbol: ESH4}",
            "config/venues/SIM-A.yaml: simulator.seed_from[0].file: file not found: ",
        ),
        (
            "{file: data/esh4.csv.gz, format: cme_mbo, symbol: ESH4, as_symbol: ESM4}",
            "config/venues/SIM-A.yaml: simulator.seed_from[0].as_symbol: "
            "'ESM4' is not a configured instrument",
        ),
        (
            "{file: data/esh4.csv.gz, format: cme_mbo}",
            "config/venues/SIM-A.yaml: simulator.seed_from[0].as_symbol: required when symbol is not given",
        ),
        (
            "{file: data/esh4.csv.gz, format: cme_mbo, symbol: ESH4, sym: x}",
            "config/venues/SIM-A.yaml: simulator.seed_from[0]: unknown key 'sym' "
            "(expected one of: file, format, symbol, as_symbol)",
        ),
    ],
)
def test_seed_from_mistake_is_reported(tree: Path, entry: str, expected: str) -> None:
    seed_from(tree, entry)
    assert error(tree).startswith(expected)


def test_seed_from_must_be_a_list(tree: Path) -> None:
    write(tree, "config/venues/SIM-A.yaml", VENUE + "  seed_from: {file: x}\n")
    assert error(tree) == (
        "config/venues/SIM-A.yaml: simulator.seed_from: expected a list of seed sources, got a mapping"
    )


# ---------------------------------------------------------------------------------------- risk

RISK = """\
risk:
  checks:
    - {check: throttle, orders_per_s: 500, messages_per_s: 1000}
    - {check: max_order_qty, max_qty: 1000}
    - {check: price_collar, max_pct: 10}
    - {check: market_orders, enabled: false, allowed: false}
  restricted_symbols: [TSLA, GME, TSLA]
  loss_limit: {max_loss: "50000", action: reduce}
  reject_burst: {count: 10, window_s: 5, action: halt}
"""


def with_risk(tree: Path, risk: str = RISK, client: str | None = None) -> None:
    write(tree, "config/gateway.yaml", GATEWAY + risk)
    if client is not None:
        write(tree, "config/clients/CLIENT1.yaml", CLIENT + textwrap.dedent(client))


def test_no_risk_section_means_no_checks(tree: Path) -> None:
    cfg = load_config("config/gateway.yaml")
    assert cfg.risk == RiskConfig()
    assert cfg.risk.checks == () and cfg.risk.loss_limit is None and cfg.risk.reject_burst is None
    assert cfg.clients["CLIENT1"].risk == RiskConfig()
    assert cfg.instruments["AAPL"].reference_price is None


def test_risk_defaults(tree: Path) -> None:
    with_risk(tree)
    cfg = load_config("config/gateway.yaml")
    gw = tree / "config/gateway.yaml"
    assert cfg.risk.checks == (
        CheckSpec("throttle", {"orders_per_s": 500, "messages_per_s": 1000}, gw, "risk.checks[0]"),
        CheckSpec("max_order_qty", {"max_qty": 1000}, gw, "risk.checks[1]"),
        CheckSpec("price_collar", {"max_pct": 10}, gw, "risk.checks[2]"),
    )  # enabled: false drops market_orders from the defaults
    assert cfg.risk.restricted_symbols == ("TSLA", "GME")
    assert cfg.risk.loss_limit == LossLimit(Decimal(50000), "reduce")
    assert cfg.risk.reject_burst == RejectBurst(10, 5.0, "halt")
    assert cfg.clients["CLIENT1"].risk == cfg.risk  # no override: the defaults


def test_client_risk_overrides_merge_by_name(tree: Path) -> None:
    with_risk(
        tree,
        client="""\
        risk:
          checks:
            - {check: allowed_instruments, symbols: [AAPL]}
            - {check: max_order_qty, max_qty: "5"}
            - {check: throttle, enabled: false}
            - {check: market_orders, allowed: true}
          loss_limit: {max_loss: 1000, action: halt}
          reject_burst: null
        """,
    )
    cfg = load_config("config/gateway.yaml")
    risk = cfg.clients["CLIENT1"].risk
    client_file = tree / "config/clients/CLIENT1.yaml"
    assert risk.check_names == ("max_order_qty", "price_collar", "allowed_instruments", "market_orders")
    assert risk.checks[0] == CheckSpec("max_order_qty", {"max_qty": "5"}, client_file, "risk.checks[1]")
    assert risk.checks[1] == cfg.risk.checks[2]  # untouched default, still pointing at gateway.yaml
    assert risk.checks[3].source == client_file and risk.checks[3].key == "risk.checks[3]"
    assert risk.restricted_symbols == ("TSLA", "GME")
    assert risk.loss_limit == LossLimit(Decimal(1000), "halt")
    assert risk.reject_burst is None  # null switches the default off for this client
    assert cfg.risk.check_names == ("throttle", "max_order_qty", "price_collar")  # defaults unchanged


def test_client_override_without_risk_keys_keeps_default_triggers(tree: Path) -> None:
    with_risk(tree, client="risk:\n  checks: []\n")
    risk = load_config("config/gateway.yaml").clients["CLIENT1"].risk
    assert risk.check_names == ("throttle", "max_order_qty", "price_collar")
    assert risk.loss_limit == LossLimit(Decimal(50000), "reduce")
    assert risk.reject_burst == RejectBurst(10, 5.0, "halt")


def test_instrument_reference_price(tree: Path) -> None:
    write(
        tree,
        "config/gateway.yaml",
        GATEWAY.replace("venue: SIM-A}", 'venue: SIM-A, reference_price: "190.00"}'),
    )
    cfg = load_config("config/gateway.yaml")
    assert cfg.instruments["AAPL"].reference_price == Decimal("190.00")
    assert "reference 190.00" in cfg.summary()


def test_shipped_config_has_risk_defaults_and_reference_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cfg = load_config(REPO / "config/gateway.yaml")
    assert {i.symbol: i.reference_price for i in cfg.instruments.values()} == {
        "AAPL": Decimal("190.00"),
        "MSFT": Decimal("370.00"),
        "ESH4": Decimal("4799.25"),
        "EURUSD": Decimal("1.10000"),
        "BTCUSDT": Decimal("42000.00"),
    }
    assert "max_order_qty" in cfg.risk.check_names and "throttle" in cfg.risk.check_names
    assert cfg.clients["CLIENT1"].risk.check_names == cfg.risk.check_names


@pytest.mark.parametrize(
    ("rel", "risk", "expected"),
    [
        (
            "config/gateway.yaml",
            "risk:\n  chekcs: []\n",
            "config/gateway.yaml: risk: unknown key 'chekcs' "
            "(expected one of: checks, restricted_symbols, loss_limit, reject_burst)",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks: {check: tick_lot}\n",
            "config/gateway.yaml: risk.checks: expected a list of checks, got a mapping",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks: [tick_lot]\n",
            "config/gateway.yaml: risk.checks[0]: expected a mapping with a 'check' key, got 'tick_lot'",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks:\n    - {max_qty: 5}\n",
            "config/gateway.yaml: risk.checks[0].check: required key is missing",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks:\n    - {check: max qty}\n",
            "config/gateway.yaml: risk.checks[0].check: expected a check name or a dotted path",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks:\n    - {check: tick_lot}\n    - {check: tick_lot}\n",
            "config/gateway.yaml: risk.checks[1].check: duplicate check 'tick_lot' (also risk.checks[0])",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  checks:\n    - {check: tick_lot, enabled: no}\n",
            "config/gateway.yaml: risk.checks[0].enabled: expected true or false, got 'no'",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  restricted_symbols: TSLA\n",
            "config/gateway.yaml: risk.restricted_symbols: expected a list of symbols, got 'TSLA'",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  restricted_symbols: [TSLA, 'BRK A']\n",
            "config/gateway.yaml: risk.restricted_symbols[1]: expected a symbol without spaces, got 'BRK A'",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  loss_limit: {max_loss: 0, action: halt}\n",
            "config/gateway.yaml: risk.loss_limit.max_loss: must be > 0, got 0",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  loss_limit: {max_loss: 10, action: stop}\n",
            "config/gateway.yaml: risk.loss_limit.action: expected one of: reduce, halt, got 'stop'",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  loss_limit: {max_loss: 10}\n",
            "config/gateway.yaml: risk.loss_limit.action: required key is missing",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  reject_burst: {count: 0, window_s: 5, action: halt}\n",
            "config/gateway.yaml: risk.reject_burst.count: expected a positive integer, got 0",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  reject_burst: {count: 3, window_s: 0, action: halt}\n",
            "config/gateway.yaml: risk.reject_burst.window_s: must be > 0, got 0",
        ),
        (
            "config/gateway.yaml",
            "risk:\n  reject_burst: {count: 3, window_s: 1, action: halt, per: client}\n",
            "config/gateway.yaml: risk.reject_burst: unknown key 'per' "
            "(expected one of: count, window_s, action)",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "risk:\n  restricted_symbols: [TSLA]\n",
            "config/clients/CLIENT1.yaml: risk: unknown key 'restricted_symbols' "
            "(expected one of: checks, loss_limit, reject_burst)",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "risk:\n  checks:\n    - {check: max_qtty, enabled: false}\n",
            "config/clients/CLIENT1.yaml: risk.checks[0].enabled: 'max_qtty' is not a default check, "
            "so it cannot be disabled (defaults: max_order_qty, price_collar, throttle)",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "risk:\n  checks:\n    - {check: tick_lot}\n    - {check: tick_lot, enabled: false}\n",
            "config/clients/CLIENT1.yaml: risk.checks[1].check: duplicate check 'tick_lot'",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "risk: []\n",
            "config/clients/CLIENT1.yaml: risk: expected a mapping, got a list",
        ),
    ],
)
def test_risk_mistake_is_reported(tree: Path, rel: str, risk: str, expected: str) -> None:
    if rel == "config/gateway.yaml":
        with_risk(tree, risk)
    else:
        with_risk(tree, client=risk)
    assert error(tree).startswith(expected)


def test_bad_reference_price(tree: Path) -> None:
    write(tree, "config/gateway.yaml", GATEWAY.replace("venue: SIM-A}", "venue: SIM-A, reference_price: -1}"))
    assert error(tree) == "config/gateway.yaml: instruments[0].reference_price: must be > 0, got -1"


# --------------------------------------------------------------------------- venue dialect and limits

OVERLAY_XML = """\
<fix>
  <messages>
    <message name="NewOrderSingle" msgtype="D"><field name="VenueOrderTag" required="N"/></message>
  </messages>
  <fields><field number="9001" name="VenueOrderTag" type="STRING"/></fields>
</fix>
"""

VENUE_DIALECT = """\
market_data: {enabled: true, depth: 10, stale_after_ms: 500}
symbology:
  AAPL: AAPL.OQ
  EURUSD: {symbol: EUR/USD, security_id: "4001", id_source: 8}
extra_tags:
  50: DESK1
  "9001": "{client}"
  1: "{account}"
order_types: [limit]
time_in_force: [day, ioc]
fees: {maker_bps: "-0.25", taker_bps: 0.3}
instruments:
  AAPL: {lot_size: 100}
  EURUSD: {tick_size: "0.0001", lot_size: 10000}
dictionary_overlay: specs/venue.xml
rate_limits: {orders_per_s: 50, on_exhausted: reroute, max_queue: 10}
circuit_breaker: {max_consecutive_rejects: 3, max_ack_latency_ms: 250, half_open_after_s: 2.5}
"""


def with_venue(tree: Path, extra: str) -> None:
    """Append top-level keys to SIM-A's file; specs/venue.xml is a valid overlay defining tag 9001."""
    write(tree, "specs/venue.xml", OVERLAY_XML)
    write(tree, "config/venues/SIM-A.yaml", VENUE + textwrap.dedent(extra))


def test_venue_defaults_without_new_keys(tree: Path) -> None:
    venue = load_config("config/gateway.yaml").venues["SIM-A"]
    assert venue.market_data == MarketDataConfig(enabled=False, depth=5, stale_after_ms=2000)
    assert venue.symbology == {} and venue.extra_tags == {} and venue.instruments == {}
    assert venue.order_types == frozenset({OrdType.LIMIT, OrdType.MARKET})
    assert venue.time_in_force == frozenset(TimeInForce)
    assert venue.fees == VenueFees(Decimal(0), Decimal(0))
    assert venue.dictionary_overlay is None and venue.rate_limits is None
    assert venue.circuit_breaker == CircuitBreakerConfig(5, None, 10.0)


def test_venue_dialect_and_limits(tree: Path) -> None:
    with_venue(tree, VENUE_DIALECT)
    cfg = load_config("config/gateway.yaml")
    venue = cfg.venues["SIM-A"]
    assert venue.market_data == MarketDataConfig(True, 10, 500)
    assert venue.symbology == {
        "AAPL": VenueSymbol("AAPL.OQ"),
        "EURUSD": VenueSymbol("EUR/USD", "4001", "8"),
    }
    assert venue.extra_tags == {50: "DESK1", 9001: "{client}", 1: "{account}"}
    assert venue.order_types == frozenset({OrdType.LIMIT})
    assert venue.time_in_force == frozenset({TimeInForce.DAY, TimeInForce.IOC})
    assert venue.fees == VenueFees(Decimal("-0.25"), Decimal("0.3"))
    assert venue.instruments == {
        "AAPL": InstrumentOverride(None, Decimal(100)),
        "EURUSD": InstrumentOverride(Decimal("0.0001"), Decimal(10000)),
    }
    assert venue.dictionary_overlay == tree / "specs/venue.xml"
    assert venue.rate_limits == RateLimitConfig(50.0, None, "reroute", 10, 1000)
    assert venue.circuit_breaker == CircuitBreakerConfig(3, 250, 2.5)
    text = cfg.summary()
    assert "market data depth 10" in text and "2 mapped symbols" in text and "extra tags 50, 9001, 1" in text
    assert "rate limit 50 orders/s (reroute)" in text and "takes limit/day/ioc" in text


def test_rate_limits_null_and_messages_only(tree: Path) -> None:
    with_venue(tree, "rate_limits: null\n")
    assert load_config("config/gateway.yaml").venues["SIM-A"].rate_limits is None
    with_venue(tree, "rate_limits: {messages_per_s: 2.5}\n")
    limits = load_config("config/gateway.yaml").venues["SIM-A"].rate_limits
    assert limits == RateLimitConfig(None, 2.5, "queue", 1000, 1000)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # market_data
        ("market_data: {depth: 0}\n", "market_data.depth: expected a positive integer, got 0"),
        (
            "market_data: {stale_after_ms: 0}\n",
            "market_data.stale_after_ms: expected a positive integer, got 0",
        ),
        (
            "market_data: {enable: true}\n",
            "market_data: unknown key 'enable' (expected one of: enabled, depth,",
        ),
        ("market_data: {enabled: yes}\n", "market_data.enabled: expected true or false, got 'yes'"),
        ("market_data: {comp_id: 7}\n", "market_data.comp_id: expected a CompID, got 7"),
        (
            "market_data: {enabled: true, comp_id: SIM-A}\n",
            "market_data.comp_id: must differ from the venue's order-session CompID",
        ),
        ("cancel_on_disconnect: maybe\n", "cancel_on_disconnect: expected true or false, got 'maybe'"),
        ("supports_replace: 1\n", "supports_replace: expected true or false, got 1"),
        # symbology
        ("symbology: {TSLA: TSLA.OQ}\n", "symbology.TSLA: 'TSLA' is not a configured instrument"),
        ("symbology: [AAPL]\n", "symbology: expected a mapping of client symbol to venue symbol, got a list"),
        ("symbology: {AAPL: ''}\n", "symbology.AAPL: expected a venue symbol or a mapping"),
        ("symbology: {AAPL: {sym: X}}\n", "symbology.AAPL: unknown key 'sym' (expected one of: symbol,"),
        ("symbology: {AAPL: {security_id: '1'}}\n", "symbology.AAPL.symbol: required key is missing"),
        (
            "symbology: {AAPL: {symbol: X, security_id: '1'}}\n",
            "symbology.AAPL.id_source: required when security_id is given",
        ),
        (
            "symbology: {AAPL: {symbol: X, id_source: '8'}}\n",
            "symbology.AAPL.id_source: only allowed together with security_id",
        ),
        (
            "symbology: {AAPL: X, EURUSD: X}\n",
            "symbology.EURUSD: venue symbol 'X' is also what AAPL is sent as",
        ),
        (
            "symbology: {AAPL: EURUSD}\n",
            "symbology.AAPL: venue symbol 'EURUSD' is also what EURUSD is sent as",
        ),
        # extra_tags
        (
            "extra_tags: {55: X}\n",
            "extra_tags.55: tag 55 is set by the gateway itself and cannot be an extra tag",
        ),
        ("extra_tags: {34: X}\n", "extra_tags.34: tag 34 is set by the gateway itself"),
        ("extra_tags: {0: X}\n", "extra_tags.0: expected a tag number 1-99999, got 0"),
        ("extra_tags: {100000: X}\n", "extra_tags.100000: expected a tag number 1-99999, got 100000"),
        ("extra_tags: {Account: X}\n", "extra_tags.Account: expected a tag number 1-99999, got 'Account'"),
        ("extra_tags: {9001: X, '9001': Y}\n", "extra_tags.9001: duplicate tag 9001 (also extra_tags.9001)"),
        ("extra_tags: {50: ''}\n", "extra_tags.50: expected a value or one of {account}, {client},"),
        ("extra_tags: {50: [a]}\n", "extra_tags.50: expected a value or one of"),
        ("extra_tags: {50: '{acct}'}\n", "extra_tags.50: unknown placeholder in '{acct}'"),
        ("extra_tags: {50: 'D-{client}'}\n", "extra_tags.50: unknown placeholder in 'D-{client}'"),
        ("extra_tags: []\n", "extra_tags: expected a mapping of tag number to value, got a list"),
        (
            "extra_tags: {9002: X}\n",
            "extra_tags.9002: tag 9002 is not defined in the venue's data dictionary (define it in a "
            "dictionary_overlay)",
        ),
        (
            "extra_tags: {150: X}\n",
            "extra_tags.150: tag 150 (ExecType) is in neither the header nor any of NewOrderSingle,",
        ),
        # order types, time in force, fees, instrument overrides
        ("order_types: [limit, stop]\n", "order_types[1]: expected one of: limit, market, got 'stop'"),
        ("order_types: []\n", "order_types: expected a non-empty list of: limit, market, got a list"),
        ("order_types: limit\n", "order_types: expected a non-empty list of: limit, market, got 'limit'"),
        ("time_in_force: [gtd]\n", "time_in_force[0]: expected one of: day, gtc, ioc, fok, got 'gtd'"),
        ("fees: {maker_bps: abc}\n", "fees.maker_bps: expected a decimal number, got 'abc'"),
        ("fees: {maker: 1}\n", "fees: unknown key 'maker' (expected one of: maker_bps, taker_bps)"),
        ("instruments: {TSLA: {tick_size: 1}}\n", "instruments.TSLA: 'TSLA' is not a configured instrument"),
        ("instruments: {AAPL: {}}\n", "instruments.AAPL: expected tick_size, lot_size or both"),
        ("instruments: {AAPL: {tick_size: 0}}\n", "instruments.AAPL.tick_size: must be > 0, got 0"),
        ("instruments: {AAPL: {tick: 1}}\n", "instruments.AAPL: unknown key 'tick'"),
        # dictionary overlay
        ("dictionary_overlay: specs/none.xml\n", "dictionary_overlay: file not found: "),
        ("dictionary_overlay: ''\n", "dictionary_overlay: expected a path to a dictionary overlay, got ''"),
        # rate limits
        ("rate_limits: {}\n", "rate_limits: expected orders_per_s, messages_per_s or both"),
        ("rate_limits: {orders_per_s: 0}\n", "rate_limits.orders_per_s: must be > 0, got 0"),
        (
            "rate_limits: {orders_per_s: 5, on_exhausted: drop}\n",
            "rate_limits.on_exhausted: expected one of: queue,",
        ),
        (
            "rate_limits: {orders_per_s: 5, max_queue: 0}\n",
            "rate_limits.max_queue: expected a positive integer",
        ),
        ("rate_limits: {orders_per_s: 5, max_wait_ms: -1}\n", "rate_limits.max_wait_ms: expected a positive"),
        ("rate_limits: {orders: 5}\n", "rate_limits: unknown key 'orders'"),
        # circuit breaker
        (
            "circuit_breaker: {max_consecutive_rejects: 0}\n",
            "circuit_breaker.max_consecutive_rejects: expected a positive integer, got 0",
        ),
        (
            "circuit_breaker: {max_ack_latency_ms: 0}\n",
            "circuit_breaker.max_ack_latency_ms: expected a positive integer, got 0",
        ),
        (
            "circuit_breaker: {half_open_after_s: 0}\n",
            "circuit_breaker.half_open_after_s: must be > 0, got 0",
        ),
        ("circuit_breaker: null\n", "circuit_breaker: expected a mapping, got null"),
    ],
)
def test_venue_dialect_mistake_is_reported(tree: Path, extra: str, expected: str) -> None:
    with_venue(tree, extra)
    assert error(tree).startswith(f"config/venues/SIM-A.yaml: {expected}")


def test_circuit_breaker_latency_null_is_off(tree: Path) -> None:
    with_venue(tree, "circuit_breaker: {max_ack_latency_ms: null}\n")
    breaker = load_config("config/gateway.yaml").venues["SIM-A"].circuit_breaker
    assert breaker == CircuitBreakerConfig(5, None, 10.0)


def test_overlay_that_does_not_merge_is_reported(tree: Path) -> None:
    with_venue(tree, "dictionary_overlay: specs/venue.xml\n")
    write(
        tree,
        "specs/venue.xml",
        '<fix><fields>\n<field number="44" name="VenuePx" type="PRICE"/></fields></fix>',
    )
    message = error(tree)
    assert message.startswith(
        f"config/venues/SIM-A.yaml: dictionary_overlay: cannot merge into {FIX_SPECS_DIR / 'FIX42.xml'}: "
    )
    assert message.endswith(
        "specs/venue.xml, line 2: field 44 is 'Price' in the base dictionary, not 'VenuePx'"
    )


def test_extra_tag_in_overlay_needs_the_overlay(tree: Path) -> None:
    with_venue(tree, "extra_tags: {9001: '{symbol}'}\n")
    assert error(tree).startswith("config/venues/SIM-A.yaml: extra_tags.9001: tag 9001 is not defined")
    with_venue(tree, "extra_tags: {9001: '{symbol}'}\ndictionary_overlay: specs/venue.xml\n")
    assert load_config("config/gateway.yaml").venues["SIM-A"].extra_tags == {9001: "{symbol}"}


def test_unquoted_numeric_symbols_are_text(tree: Path) -> None:
    gateway = GATEWAY + '  - {symbol: "700", tick_size: "0.1", lot_size: 100, currency: HKD}\n'
    write(tree, "config/gateway.yaml", gateway)
    with_venue(tree, "symbology: {700: '0700'}\ninstruments: {700: {lot_size: 500}}\n")
    venue = load_config("config/gateway.yaml").venues["SIM-A"]
    assert venue.symbology == {"700": VenueSymbol("0700")}
    assert venue.instruments == {"700": InstrumentOverride(None, Decimal(500))}


# ------------------------------------------------------------------------------------------ routing

ROUTING = """\
routing:
  strategy: best_price
  params: {max_venues: 2}
  instruments:
    AAPL: {strategy: mypkg.routing.Sweep, params: {levels: 3}}
    EURUSD: {strategy: primary}
  on_child_reject: reroute
"""


def with_routing(tree: Path, routing: str = ROUTING, client: str | None = None) -> None:
    write(tree, "config/gateway.yaml", GATEWAY + routing)
    if client is not None:
        write(tree, "config/clients/CLIENT1.yaml", CLIENT + textwrap.dedent(client))


def test_no_routing_section_means_primary(tree: Path) -> None:
    cfg = load_config("config/gateway.yaml")
    gw = tree / "config/gateway.yaml"
    assert cfg.routing == RoutingConfig(RoutingChoice("primary", {}, gw, "routing"), {}, "return")
    client = cfg.clients["CLIENT1"]
    assert client.routing == cfg.routing
    assert client.routing_for("AAPL") == RoutingChoice("primary", {}, gw, "routing")


def test_routing_defaults(tree: Path) -> None:
    with_routing(tree)
    cfg = load_config("config/gateway.yaml")
    gw = tree / "config/gateway.yaml"
    assert cfg.routing.default == RoutingChoice("best_price", {"max_venues": 2}, gw, "routing")
    assert cfg.routing.instruments == {
        "AAPL": RoutingChoice("mypkg.routing.Sweep", {"levels": 3}, gw, "routing.instruments.AAPL"),
        "EURUSD": RoutingChoice("primary", {}, gw, "routing.instruments.EURUSD"),
    }
    assert cfg.routing.on_child_reject == "reroute"
    client = cfg.clients["CLIENT1"]
    assert client.routing == cfg.routing
    assert client.routing_for("AAPL").strategy == "mypkg.routing.Sweep"
    assert client.routing_for("UNLISTED").strategy == "best_price"
    text = cfg.summary()
    assert "default: best_price (max_venues=2), on child reject: reroute" in text
    assert "AAPL: mypkg.routing.Sweep (levels=3)" in text


def test_client_routing_overrides(tree: Path) -> None:
    with_routing(
        tree,
        client="""\
        routing:
          strategy: primary
          instruments:
            AAPL: null
            EURUSD: {strategy: cheapest, params: {fee_weight: 1.5}}
          on_child_reject: return
        """,
    )
    cfg = load_config("config/gateway.yaml")
    client_file = tree / "config/clients/CLIENT1.yaml"
    routing = cfg.clients["CLIENT1"].routing
    assert routing.default == RoutingChoice("primary", {}, client_file, "routing")  # params not inherited
    assert routing.instruments == {
        "EURUSD": RoutingChoice("cheapest", {"fee_weight": 1.5}, client_file, "routing.instruments.EURUSD")
    }
    assert routing.on_child_reject == "return"
    assert cfg.clients["CLIENT1"].routing_for("AAPL") == routing.default  # gateway entry dropped
    assert cfg.routing.instruments["AAPL"].strategy == "mypkg.routing.Sweep"  # defaults unchanged
    assert "CLIENT1: default primary, on child reject: return; EURUSD: cheapest (fee_weight=1.5)" in (
        cfg.summary()
    )


def test_client_routing_params_only_keep_default_strategy(tree: Path) -> None:
    with_routing(tree, client="routing:\n  params: {max_venues: 1}\n")
    cfg = load_config("config/gateway.yaml")
    routing = cfg.clients["CLIENT1"].routing
    assert routing.default == RoutingChoice(
        "best_price", {"max_venues": 1}, tree / "config/clients/CLIENT1.yaml", "routing"
    )
    assert routing.instruments == cfg.routing.instruments
    assert routing.on_child_reject == "reroute"


def test_shipped_config_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cfg = load_config(REPO / "config/gateway.yaml")
    assert cfg.routing.default.strategy == "primary" and cfg.routing.on_child_reject == "return"
    assert all(c.routing == cfg.routing for c in cfg.clients.values())


@pytest.mark.parametrize(
    ("rel", "routing", "expected"),
    [
        (
            "config/gateway.yaml",
            "routing:\n  strategy: best price\n",
            "config/gateway.yaml: routing.strategy: expected a strategy name or a dotted path",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  params: [1]\n",
            "config/gateway.yaml: routing.params: expected a mapping of parameter name to value, got a list",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  instruments: {TSLA: {strategy: primary}}\n",
            "config/gateway.yaml: routing.instruments.TSLA: 'TSLA' is not a configured instrument",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  instruments: {AAPL: {params: {}}}\n",
            "config/gateway.yaml: routing.instruments.AAPL.strategy: required key is missing",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  instruments: {AAPL: null}\n",
            "config/gateway.yaml: routing.instruments.AAPL: expected a mapping, got null",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  instruments: {AAPL: {strategy: primary, param: {}}}\n",
            "config/gateway.yaml: routing.instruments.AAPL: unknown key 'param' "
            "(expected one of: strategy, params)",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  on_child_reject: drop\n",
            "config/gateway.yaml: routing.on_child_reject: expected one of: reroute, return, got 'drop'",
        ),
        (
            "config/gateway.yaml",
            "routing:\n  stratgy: primary\n",
            "config/gateway.yaml: routing: unknown key 'stratgy' "
            "(expected one of: strategy, params, instruments, on_child_reject)",
        ),
        (
            "config/gateway.yaml",
            "routing: primary\n",
            "config/gateway.yaml: routing: expected a mapping, got 'primary'",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "routing:\n  instruments: {TSLA: null}\n",
            "config/clients/CLIENT1.yaml: routing.instruments.TSLA: 'TSLA' is not a configured instrument",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "routing:\n  on_child_reject: retry\n",
            "config/clients/CLIENT1.yaml: routing.on_child_reject: expected one of: reroute, return",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "routing:\n  strategy: ''\n",
            "config/clients/CLIENT1.yaml: routing.strategy: expected a strategy name or a dotted path",
        ),
        (
            "config/clients/CLIENT1.yaml",
            "routing:\n  instrument: {}\n",
            "config/clients/CLIENT1.yaml: routing: unknown key 'instrument'",
        ),
    ],
)
def test_routing_mistake_is_reported(tree: Path, rel: str, routing: str, expected: str) -> None:
    if rel == "config/gateway.yaml":
        with_routing(tree, routing)
    else:
        with_routing(tree, client=routing)
    assert error(tree).startswith(expected)


def test_client_cancel_on_disconnect_defaults_and_errors(tree: Path) -> None:
    assert load_config("config/gateway.yaml").clients["CLIENT1"].cancel_on_disconnect is None
    write(
        tree,
        "config/clients/CLIENT1.yaml",
        CLIENT + "cancel_on_disconnect: {grace_s: 2, include_gtc: true}\n",
    )
    cod = load_config("config/gateway.yaml").clients["CLIENT1"].cancel_on_disconnect
    assert (cod.grace_s, cod.include_gtc, cod.on_logout) == (2, True, False)
    write(tree, "config/clients/CLIENT1.yaml", CLIENT + "cancel_on_disconnect: {grace: 2}\n")
    with pytest.raises(ConfigError, match=r"CLIENT1.yaml: cancel_on_disconnect: unknown key 'grace'"):
        load_config("config/gateway.yaml")
