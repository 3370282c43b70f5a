from pathlib import Path

import pytest

from gateway.backtest.config import load_backtest, parse_speed
from gateway.config import ConfigError

DATA = "/work/shared/data/cme_esh4_mbo_2023-12-25.csv.gz"
REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "orders.csv").write_text(
        "time,client,action,cl_ord_id,symbol,side,qty,price,ord_type,tif,orig_cl_ord_id\n"
    )
    p = tmp_path / "bt.yaml"
    p.write_text(text)
    return p


BASE = f"""
name: t
seed: 3
speed: 2.5
start: "2023-12-25T23:01:00Z"
duration: 90s
instruments: [{{symbol: ESH4, tick_size: "0.25", lot_size: "1", currency: USD, venue: V1}}]
venues:
  - name: V1
    replay: {{format: cme_mbo, file: {DATA}, symbol: ESH4}}
    perturb: {{seed: 4, time_shift_ms: 2, drop_adds: 0.1}}
    fees: {{per_unit: "0.5"}}
    models: {{latency: {{ack: {{kind: fixed, ms: 1}}}}, rejects: {{rate: 0.1}}}}
order_flow:
  - {{kind: csv, file: orders.csv}}
  - {{kind: strategy, name: mm, strategy: "examples.strategies.market_maker:MarketMaker",
     params: {{symbol: ESH4, venue: V1}}}}
gateway: {{routing: {{strategy: best_price}}}}
"""


def test_loads_and_resolves(tmp_path):
    cfg = load_backtest(write(tmp_path, BASE))
    assert (cfg.name, cfg.seed, cfg.speed, cfg.speed_factor) == ("t", 3, "2.5", 2.5)
    assert cfg.start_ns == 1703545260_000_000_000 and cfg.duration_ns == 90_000_000_000 and cfg.end_ns is None
    v = cfg.venues[0]
    assert v.replay[0].file == Path(DATA) and v.perturb.time_shift_ns == 2_000_000 and v.fix_version == "4.4"
    assert str(v.fees.fee(__import__("decimal").Decimal(4), __import__("decimal").Decimal(100))) == "2.0"
    csv_flow, strat = cfg.flows
    assert csv_flow.file == tmp_path / "orders.csv" and strat.client == "MM" and strat.params["venue"] == "V1"
    assert cfg.routing == {"strategy": "best_price"} and cfg.risk is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("seed: 3", "seed: 3\nsped: max", "bt.yaml: sped: unknown key"),
        ("speed: 2.5", "speed: fast", "bt.yaml: speed: expected max, realtime or a factor"),
        ("duration: 90s", "duration: soon", "bt.yaml: duration: expected a duration"),
        ("format: cme_mbo", "format: nope", "venues[0].replay[0].format: unknown replay format 'nope'"),
        (f"file: {DATA}", "file: missing.csv", "venues[0].replay[0].file: file not found"),
        ("rate: 0.1", "rate: 2", "venues[0].models.rejects.rate: must be within 0..1"),
        (
            "{kind: csv, file: orders.csv}",
            "{kind: csv, file: orders.csv, client: X}",
            "order_flow[0].client: only for kind: strategy",
        ),
        (
            '"examples.strategies.market_maker:MarketMaker"',
            "bad",
            "order_flow[1].strategy: expected package.module:ClassName",
        ),
        ("perturb: {seed: 4,", "perturb: {sed: 4,", "venues[0].perturb.sed: unknown key"),
    ],
)
def test_errors_name_file_key_and_problem(tmp_path, old, new, message):
    assert old in BASE
    with pytest.raises(ConfigError) as exc:
        load_backtest(write(tmp_path, BASE.replace(old, new)))
    assert message in str(exc.value)


def test_missing_file_and_yaml_syntax(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_backtest(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="line 2"):
        load_backtest(write(tmp_path, "name: x\n  bad: [\n"))


def test_speed_option():
    assert parse_speed("max") == ("max", None) and parse_speed("realtime") == ("realtime", 1.0)
    assert parse_speed("10") == ("10", 10.0)
    with pytest.raises(ValueError):
        parse_speed("0")


def test_shipped_example_loads():
    cfg = load_backtest(REPO / "examples" / "backtest.yaml")
    assert [v.name for v in cfg.venues] == ["CME-A", "CME-B"] and len(cfg.flows) == 3
