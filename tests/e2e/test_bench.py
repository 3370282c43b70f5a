"""``fixgw bench --quick`` through the real CLI: every target and scenario, sane figures, a PNG.

A smoke test of the harness, not a performance test: it asserts counts and structure, never a
latency or a rate (the machine is shared; the figures are whatever they are).
"""

from __future__ import annotations

import json
import subprocess
import sys

TARGETS = ("direct", "proxy", "proxy-memory", "fixgw")
PERCENTILES = ("p50", "p90", "p99", "p99.9", "max")


def test_bench_quick_measures_every_target_and_scenario_and_writes_json_and_png(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "gateway", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "PING-PONG" in run.stdout and "fixgw/proxy" in run.stdout, run.stdout

    doc = json.loads((out / "bench.json").read_text())
    png = out / "bench.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    o = doc["meta"]["options"]
    assert list(doc["targets"]) == list(TARGETS)
    for name, t in doc["targets"].items():
        pp, burst, sweep = t["pingpong"], t["burst"], t["sweep"]
        assert (pp["sent"], pp["acked"], pp["lost"], pp["rejected"]) == (o["orders"], o["orders"], 0, 0), name
        assert (burst["sent"], burst["acked"], burst["lost"]) == (o["burst_orders"], o["burst_orders"], 0), (
            name
        )
        assert [s["rate"] for s in sweep] == o["rates"], name
        for m in (pp, burst, *sweep):
            lat = m["latency_us"]
            assert lat["count"] == m["acked"] and m["lost"] == 0 and m["rejected"] == 0, (name, m)
            values = [lat[k] for k in PERCENTILES]
            assert values[0] > 0 and values == sorted(values), (name, lat)
            assert m["throughput"] > 0 and m["cpu_s_per_1k"]["venue"] is not None
            if name == "direct":
                assert m["cpu_s_per_1k"]["target"] is None and m["internal_us"] is None
            else:
                assert m["cpu_s_per_1k"]["target"] >= 0 and m["memory_mb"]["target_peak"] > 10
        for s in sweep:
            expected = int(s["rate"] * o["duration_s"])
            assert s["sent"] == s["acked"] == expected, (name, s)
    # fixgw's own instrumentation: every measured order passed through both directions
    internal = doc["targets"]["fixgw"]["pingpong"]["internal_us"]
    assert internal["client"]["count"] == o["orders"] and internal["venue"]["count"] == o["orders"]
    assert 0 < internal["client"]["p50"] <= internal["client"]["p99"]
    for base in ("proxy", "proxy-memory", "direct"):
        r = doc["ratios"][f"fixgw/{base}"]
        assert all(r["pingpong"][k] > 0 for k in PERCENTILES), r
        assert r["burst_throughput"] > 0 and "sustained_rate" in r  # None when a 500/s step saturated
    assert {c["target"] for c in doc["checks"]} >= {
        "ping-pong p50 fixgw/proxy",
        "burst throughput fixgw/proxy",
    }
