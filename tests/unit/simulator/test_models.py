"""Venue behaviour models: seeded determinism, rough distribution shapes, config errors naming keys."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gateway.orders.enums import Side
from gateway.simulator.models import (
    DisconnectModel,
    Halt,
    ImpactModel,
    LatencyModel,
    Outage,
    PriceBand,
    RejectModel,
    VenueLatency,
    VenueModels,
    parse_time_ns,
)

D = Decimal
T0 = 1_703_462_400_000_000_000  # 2023-12-25T00:00:00Z


def samples(model: LatencyModel, n: int = 20_000, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [model.sample_ns(rng) for _ in range(n)]


# ------------------------------------------------------------------ latency


def test_latency_same_seed_same_samples() -> None:
    m = LatencyModel.from_config({"kind": "lognormal", "median_ms": 2, "sigma": 0.5}, "x")
    assert samples(m, 100, seed=3) == samples(m, 100, seed=3)
    assert samples(m, 100, seed=3) != samples(m, 100, seed=4)


def test_latency_distributions_are_roughly_right() -> None:
    assert set(samples(LatencyModel.from_config({"kind": "fixed", "ms": 1.5}, "x"), 10)) == {1_500_000}
    u = samples(LatencyModel.from_config({"kind": "uniform", "min_ms": 1, "max_ms": 3}, "x"))
    assert min(u) >= 1_000_000 and max(u) <= 3_000_000 and abs(statistics.mean(u) - 2e6) < 3e4
    n = samples(LatencyModel.from_config({"kind": "normal", "mean_ms": 5, "std_ms": 1}, "x"))
    assert abs(statistics.mean(n) - 5e6) < 3e4 and abs(statistics.stdev(n) - 1e6) < 3e4
    clamped = samples(LatencyModel.from_config({"kind": "normal", "mean_ms": 0, "std_ms": 1}, "x"))
    assert min(clamped) == 0 and 0.45 < clamped.count(0) / len(clamped) < 0.55
    ln = samples(LatencyModel.from_config({"kind": "lognormal", "median_ms": 2, "sigma": 0.5}, "x"))
    assert abs(statistics.median(ln) - 2e6) < 5e4 and statistics.mean(ln) > statistics.median(ln)


@pytest.mark.parametrize(
    ("cfg", "problem"),
    [
        ({"kind": "gamma"}, r"lat\.kind: must be one of"),
        ({"kind": "fixed"}, r"lat\.ms: required"),
        ({"kind": "fixed", "ms": -1}, r"lat\.ms: must be at least 0"),
        ({"kind": "fixed", "ms": "1"}, r"lat\.ms: expected a number"),
        ({"kind": "fixed", "ms": 1, "sigma": 1}, r"lat\.sigma: unknown key"),
        ({"kind": "uniform", "min_ms": 3, "max_ms": 1}, r"lat\.max_ms: below min_ms"),
        ([], r"lat: expected a mapping"),
    ],
)
def test_latency_config_errors_name_the_key(cfg: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        LatencyModel.from_config(cfg, "lat")


def test_venue_latency_defaults_to_zero() -> None:
    assert VenueLatency().ack.sample_ns(random.Random(1)) == 0
    v = VenueLatency.from_config({"fill": {"kind": "fixed", "ms": 1}}, "lat")
    assert v.fill.sample_ns(random.Random(1)) == 1_000_000 and v.cancel == VenueLatency().cancel
    with pytest.raises(ValueError, match=r"lat\.acks: unknown key"):
        VenueLatency.from_config({"acks": {}}, "lat")


# ------------------------------------------------------------------ rejects, disconnects


def test_reject_model_rate_and_weights() -> None:
    m = RejectModel.from_config(
        {"rate": 0.2, "reasons": [{"text": "busy", "weight": 3}, {"text": "limits", "weight": 1}]}, "r"
    )
    rng = random.Random(5)
    draws = [m.draw(rng) for _ in range(20_000)]
    rejected = [d for d in draws if d is not None]
    assert 0.18 < len(rejected) / len(draws) < 0.22
    assert 2.6 < rejected.count("busy") / rejected.count("limits") < 3.4
    assert draws == [m.draw(r) for r in [random.Random(5)] for _ in range(20_000)]
    assert RejectModel().draw(random.Random(1)) is None
    assert RejectModel.from_config({"rate": 1}, "r").draw(random.Random(1)) == "rejected by venue"


@pytest.mark.parametrize(
    ("cfg", "problem"),
    [
        ({"rate": 1.5}, r"r\.rate: must be within 0\.\.1"),
        ({}, r"r\.rate: required"),
        ({"rate": 0.1, "reasons": [{"text": "x", "wieght": 1}]}, r"r\.reasons\[0\]\.wieght: unknown key"),
        ({"rate": 0.1, "reasons": [{"weight": 1}]}, r"r\.reasons\[0\]\.text: required"),
        ({"rate": 0.1, "reasons": []}, r"r\.reasons: expected a non-empty list"),
    ],
)
def test_reject_config_errors(cfg: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RejectModel.from_config(cfg, "r")


def test_disconnects_are_exponential_in_simulated_time() -> None:
    m = DisconnectModel.from_config({"mean_interval_s": 600, "reconnect_after_s": 5}, "d")
    rng = random.Random(2)
    gaps = [m.next_disconnect_ns(rng, T0) - T0 for _ in range(20_000)]
    assert min(gaps) > 0 and abs(statistics.mean(gaps) / 1e9 - 600) < 15
    assert abs(statistics.median(gaps) / 1e9 - 600 * 0.6931) < 15  # exponential median is mean*ln2
    assert m.reconnect_after_ns == 5_000_000_000
    with pytest.raises(ValueError, match=r"d\.mean_interval_s: must be positive"):
        DisconnectModel.from_config({"mean_interval_s": 0}, "d")


# ------------------------------------------------------------------ outages, halts, bands


def test_time_parsing() -> None:
    assert parse_time_ns("2023-12-25T00:00:00Z", "t") == T0
    assert parse_time_ns("2023-12-25T01:00:00+01:00", "t") == T0
    assert parse_time_ns("2023-12-25 00:00:00.000001", "t") == T0 + 1_000
    assert parse_time_ns(datetime(2023, 12, 25, tzinfo=UTC), "t") == T0  # what YAML gives unquoted
    assert parse_time_ns(T0 + 7, "t") == T0 + 7
    with pytest.raises(ValueError, match=r"t: not an ISO-8601 time"):
        parse_time_ns("yesterday", "t")


def test_outage_windows_are_half_open() -> None:
    o = Outage.from_config([{"start": "2023-12-25T00:10:00Z", "end": "2023-12-25T00:12:00Z"}], "o")
    start = T0 + 600 * 10**9
    assert not o.active(start - 1) and o.active(start) and o.active(start + 119 * 10**9)
    assert not o.active(start + 120 * 10**9)
    with pytest.raises(ValueError, match=r"o\[0\]\.end: must be after start"):
        Outage.from_config([{"start": T0, "end": T0}], "o")
    with pytest.raises(ValueError, match=r"o\[0\]\.symbol: unknown key"):
        Outage.from_config([{"start": T0, "end": T0 + 1, "symbol": "X"}], "o")


def test_halts_per_symbol_or_all() -> None:
    h = Halt.from_config(
        [{"symbol": "ESH4", "start": T0, "end": T0 + 10}, {"start": T0 + 100, "end": T0 + 200}], "h"
    )
    assert h.halted("ESH4", T0 + 5) and not h.halted("NQH4", T0 + 5)
    assert h.halted("NQH4", T0 + 150) and not h.halted("ESH4", T0 + 50)


def test_price_band() -> None:
    pct = PriceBand.from_config({"pct": 5}, "b")
    assert (
        not pct.violates(D(105), D(100)) and pct.violates(D("105.01"), D(100)) and pct.violates(D(94), D(100))
    )
    assert not pct.violates(D(1000), None) and not pct.violates(None, D(100))
    pts = PriceBand.from_config({"points": 10, "reference": "mid"}, "b")
    assert (
        pts.reference == "mid" and pts.violates(D("4810.25"), D(4800)) and not pts.violates(D(4790), D(4800))
    )
    with pytest.raises(ValueError, match="b: give exactly one of pct or points"):
        PriceBand.from_config({"pct": 1, "points": 1}, "b")
    with pytest.raises(ValueError, match=r"b\.pct: must be a positive number"):
        PriceBand.from_config({"pct": -1}, "b")


def test_impact_model() -> None:
    m = ImpactModel.from_config({"k_bps": 10, "adv": 100, "tick": 0.25}, "i")
    assert m.adjust(Side.BUY, D(4801), D(2)) == D("4801.75")
    assert m.adjust(Side.SELL, D(4801), D(2)) == D("4800.25")
    raw = ImpactModel(k_bps=1, adv=1_000_000, alpha=1.0)
    assert raw.adjust(Side.BUY, D("1.10000"), D(1_000_000)) == D("1.10011")  # 1bp of 1.1
    # half a bp = 0.000055: kept at the price's 5 decimals, rounded against us
    assert raw.adjust(Side.BUY, D("1.10000"), D(500_000)) == D("1.10006")
    assert raw.adjust(Side.SELL, D("1.10000"), D(500_000)) == D("1.09994")
    with pytest.raises(ValueError, match=r"i\.adv: required"):
        ImpactModel.from_config({"k_bps": 1}, "i")


# ------------------------------------------------------------------ the bundle


FULL = {
    "latency": {
        "ack": {"kind": "lognormal", "median_ms": 2, "sigma": 0.5},
        "fill": {"kind": "fixed", "ms": 1},
        "cancel": {"kind": "uniform", "min_ms": 1, "max_ms": 3},
        "market_data": {"kind": "fixed", "ms": 5},
    },
    "rejects": {
        "rate": 0.02,
        "reasons": [{"text": "exchange busy", "weight": 3}, {"text": "price outside limits", "weight": 1}],
    },
    "disconnects": {"mean_interval_s": 600, "reconnect_after_s": 5},
    "outages": [{"start": "2023-12-25T00:10:00Z", "end": "2023-12-25T00:12:00Z"}],
    "halts": [{"symbol": "ESH4", "start": "2023-12-25T23:30:00Z", "end": "2023-12-25T23:35:00Z"}],
    "price_band": {"pct": 5},
    "impact": {"k_bps": 5, "adv": 1_000_000},
}


def test_venue_models_from_the_documented_mapping() -> None:
    m = VenueModels.from_config(FULL, "venues.cme.models")
    assert m.latency.market_data.sample_ns(random.Random(1)) == 5_000_000
    assert m.rejects.rate == 0.02 and m.disconnects is not None and m.disconnects.mean_interval_s == 600
    assert m.outages.active(T0 + 11 * 60 * 10**9)
    assert m.halts.halted("ESH4", parse_time_ns("2023-12-25T23:31:00Z", "t"))
    assert m.price_band == PriceBand(pct=D(5)) and m.impact == ImpactModel(5.0, 1_000_000.0)
    assert VenueModels.from_config(None, "x") == VenueModels()
    assert VenueModels().disconnects is None and not VenueModels().halts.halted("X", T0)


@pytest.mark.parametrize(
    ("cfg", "problem"),
    [
        ({"latencies": {}}, r"v\.latencies: unknown key"),
        ({"latency": {"ack": {"kind": "fixed", "ms": 1, "x": 1}}}, r"v\.latency\.ack\.x: unknown key"),
        ({"outages": {"start": 1}}, r"v\.outages: expected a list"),
        ({"halts": [{"start": "bad", "end": 1}]}, r"v\.halts\[0\]\.start: not an ISO-8601 time"),
        ({"price_band": {}}, r"v\.price_band: give exactly one of pct or points"),
    ],
)
def test_venue_models_errors_name_the_key(cfg: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        VenueModels.from_config(cfg, "v")
