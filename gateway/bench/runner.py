"""``fixgw bench``: one venue simulator, each target in turn, every scenario; the figures as a dict.

The order of work: the venue simulator starts once and serves every target (same process, same
config, same books). Then scenario by scenario, and within the sweep rate by rate, each target
gets a measurement of its own: a fresh target process, the load client logs on, a ping-pong
warm-up, fixgw's internal-latency samples are reset, the scenario runs, the costs are read from
``/proc``, the target is killed. Interleaving targets this way spreads a disturbance of the shared
machine over targets instead of spoiling one of them, and ``other_cpu_pct`` (CPU used by anything
outside the benchmark during the measurement) says which rows were disturbed. In the sweep a
target stops at its first saturated rate (acknowledgements arriving slower than 90 % of the
offered rate, or orders lost).
"""

from __future__ import annotations

import gc
import os
import platform
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gateway.bench import load
from gateway.bench.config import Defaults, Ports, shipped_defaults
from gateway.bench.procstat import Usage, Window, wait_quiet
from gateway.bench.report import distribution, ratios, target_checks
from gateway.bench.targets import DESCRIPTIONS, TARGETS, Target, Venue
from gateway.orders.ids import base36

SCENARIOS = ("pingpong", "sweep", "burst")
DEFAULT_RATES = (500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000)
SATURATED_BELOW = 0.9  # achieved / offered


@dataclass
class BenchOptions:
    orders: int = 10_000  # ping-pong orders measured
    warmup: int = 500  # ping-pong orders before every measurement, not measured
    rates: tuple[int, ...] = DEFAULT_RATES
    duration_s: float = 5.0  # per sweep rate
    burst_orders: int = 10_000
    targets: tuple[str, ...] = TARGETS
    scenarios: tuple[str, ...] = SCENARIOS
    quiet_wait_s: float = 5.0  # before each measurement, wait up to this for the machine to go quiet
    keep: bool = False  # keep the work folder (configs, logs, journals)
    work_dir: Path | None = None

    @classmethod
    def quick(cls, **overrides) -> BenchOptions:
        """Tiny counts: a smoke test of every target and scenario in well under a minute."""
        base = {
            "orders": 200,
            "warmup": 50,
            "rates": (500,),
            "duration_s": 1.0,
            "burst_orders": 300,
            "quiet_wait_s": 0.0,
        }
        return cls(**{**base, **overrides})


@dataclass
class _Run:
    options: BenchOptions
    root: Path
    ports: Ports
    defaults: Defaults
    venue: Venue
    tag: str
    progress: Callable[[str], None]
    n: int = 0
    rounds: int = 0
    results: dict = field(default_factory=dict)


def prepare(work_dir: Path | None, prefix: str) -> tuple[Path, Defaults, Ports, Venue]:
    """A work folder, the shipped defaults, fresh ports and the (not yet started) venue."""
    load.fine_timers()
    root = work_dir or Path(tempfile.mkdtemp(prefix=prefix))
    root.mkdir(parents=True, exist_ok=True)
    defaults = shipped_defaults()
    ports = Ports.fresh()
    return root, defaults, ports, Venue(root, ports, defaults)


def run(options: BenchOptions, progress: Callable[[str], None] = lambda s: None) -> dict:
    """Run the benchmark; the JSON document (see :mod:`gateway.bench.report`)."""
    for t in options.targets:
        if t not in TARGETS:
            raise ValueError(f"unknown target {t!r} (targets: {', '.join(TARGETS)})")
    for s in options.scenarios:
        if s not in SCENARIOS:
            raise ValueError(f"unknown scenario {s!r} (scenarios: {', '.join(SCENARIOS)})")
    started = time.time()
    t0 = time.monotonic()
    root, defaults, ports, venue = prepare(options.work_dir, "fixgw-bench-")
    r = _Run(options, root, ports, defaults, venue, base36(time.time_ns() // 1_000_000), progress)
    r.results = {t: {} for t in options.targets}
    try:
        for scenario in options.scenarios:
            if scenario == "sweep":
                _sweep(r)
            else:
                for target in _turn(r, options.targets):
                    r.results[target][scenario] = _measure(r, target, scenario)
    finally:
        venue.stop()
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
    doc = {
        "meta": _meta(options, defaults, started, time.monotonic() - t0, root),
        "targets": {t: {"description": DESCRIPTIONS[t], **r.results[t]} for t in options.targets},
    }
    doc["ratios"] = ratios(doc)
    doc["checks"] = target_checks(doc)
    return doc


def _sweep(r: _Run) -> None:
    active = list(r.options.targets)
    for t in active:
        r.results[t]["sweep"] = []
    for rate in r.options.rates:
        for target in _turn(r, active):
            step = _measure(r, target, "sweep", rate)
            r.results[target]["sweep"].append(step)
            if step["saturated"]:
                active.remove(target)
        if not active:
            break


def _turn(r: _Run, targets) -> list[str]:
    """The targets in order, reversed every other round: the venue simulator keeps every order it
    has seen (more memory, longer garbage collections as the run goes on), so no target may always
    come last."""
    r.rounds += 1
    return list(targets) if r.rounds % 2 else list(reversed(targets))


def _measure(r: _Run, kind: str, scenario: str, rate: int | None = None) -> dict:
    o = r.options
    r.n += 1
    what = f"{scenario}{f' {rate}/s' if rate else ''}"
    r.progress(f"{kind:<13} {what}")
    if o.quiet_wait_s > 0:
        wait_quiet({"venue": r.venue.pid, "bench": os.getpid()}, o.quiet_wait_s)
    target = Target(kind, r.root / f"{r.n:03d}-{kind}-{scenario}{rate or ''}", r.ports, r.defaults)
    try:
        target.start()
        wire = target.connect()
        flow = load.OrderFlow(f"{r.tag}{r.n}-")
        if o.warmup:
            load.pingpong(wire, flow, o.warmup)
        target.reset_internal()
        gc.collect()  # the client's own collections, before the measurement rather than during it
        pids = {"target": target.pid, "venue": r.venue.pid, "client": os.getpid()}
        window = Window(pids)
        first = o.warmup
        if scenario == "pingpong":
            res = load.pingpong(wire, flow, o.orders, start=first)
        elif scenario == "sweep":
            assert rate is not None
            res = load.paced(wire, flow, rate, o.duration_s, start=first)
        else:
            res = load.burst(wire, flow, o.burst_orders, start=first)
        wall, cpu, other = window.close()
        usage = target.usage()
        venue_usage = _usage(r.venue.pid)
        internal = target.internal()
        wire.close()
    finally:
        target.stop()
    out = {
        "sent": res.sent,
        "acked": res.acked,
        "rejected": res.rejected,
        "lost": res.lost,
        "latency_us": distribution(res.latencies_ns),
        "throughput": round(res.throughput, 1),
        "elapsed_s": round(res.elapsed_s, 3),
        "cpu_s_per_1k": {
            name: (round(cpu[name] * 1000 / res.sent, 4) if name in cpu and res.sent else None)
            for name in ("target", "venue", "client")
        },
        "memory_mb": {
            "target_peak": round(usage.peak_rss_mb, 1) if usage else None,
            "target_end": round(usage.rss_mb, 1) if usage else None,
            "venue_end": round(venue_usage.rss_mb, 1) if venue_usage else None,
        },
        "internal_us": internal,
        "other_cpu_pct": round(other, 1),
        "wall_s": round(wall, 3),
    }
    if res.reject_texts:
        out["reject_texts"] = res.reject_texts[:5]
    if scenario == "sweep":
        out["rate"] = rate
        out["send_lag_us"] = distribution(res.send_lag_ns, ("p50", "p99", "max"))
        out["saturated"] = bool(res.lost or res.rejected or res.throughput < SATURATED_BELOW * rate)
    r.progress(f"{'':<13} {_line(out)}")
    return out


def _usage(pid: int) -> Usage | None:
    try:
        return Usage.of(pid)
    except (OSError, KeyError):
        return None


def _line(m: dict) -> str:
    lat = m["latency_us"]
    return (
        f"acked {m['acked']}/{m['sent']}, p50 {lat.get('p50', '-')} p99 {lat.get('p99', '-')} µs, "
        f"{m['throughput']:.0f}/s{', saturated' if m.get('saturated') else ''}"
        f"{', lost ' + str(m['lost']) if m['lost'] else ''}"
        f"{', rejected ' + str(m['rejected']) if m['rejected'] else ''}"
    )


def _meta(o: BenchOptions, d: Defaults, started: float, run_s: float, root: Path) -> dict:
    opts = asdict(o)
    opts["work_dir"] = str(root) if o.keep else None
    opts["rates"] = list(o.rates)
    opts["targets"] = list(o.targets)
    opts["scenarios"] = list(o.scenarios)
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "run_s": round(run_s, 1),
        "command": None,  # set by the CLI
        "options": opts,
        "fixgw_defaults": asdict(d),
        "machine": _machine(),
        "order": "Day limit buy AAPL 175.00-176.99 (book around 190.00), qty 1-100: one ack, rests",
        "latency": "first ExecutionReport read minus the order's due time (sweep: its schedule slot)",
    }


def _machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        qf = version("quickfix")
    except Exception:  # not installed as a distribution: just leave it out
        qf = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "quickfix": qf,
        "kernel": platform.release(),
        "git": _git(),
    }


def _git() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
