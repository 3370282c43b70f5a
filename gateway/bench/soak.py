"""``fixgw bench --soak``: fixgw at a steady rate for a long time; memory and latency over time.

One venue simulator, one fixgw (the benchmark config), one load client sending on a fixed schedule
(open loop, latency from each order's slot, as the sweep). Orders are IOC limits below the market:
the venue acknowledges and cancels each, so nothing stays open at the venue or in fixgw and any
growth of memory is state the gateway keeps for finished orders, or a leak. Every ``sample_s``
seconds it records the gateway's RSS and CPU, the client-side latency of the orders acknowledged
in that interval and fixgw's internal times for the interval (read from the admin API, then reset).

Memory verdict: the samples after warm-up (the first tenth of the run) are split in thirds; the
mean RSS of the last third is compared with the first third. It grew when the difference is more
than ``growth_pct`` % and more than 4 MB.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.bench import load
from gateway.bench.procstat import Usage, cpu_seconds
from gateway.bench.report import distribution
from gateway.bench.runner import _machine, prepare
from gateway.bench.targets import Target
from gateway.bench.wire import FixWire, recv_ready
from gateway.bench.wire import field as get
from gateway.orders.ids import base36

MIN_GROWTH_MB = 4.0


@dataclass
class SoakOptions:
    minutes: float = 10.0
    rate: int = 500
    max_orders: int | None = None  # stop sending after this many (default: rate x duration)
    sample_s: float = 10.0
    warmup: int = 500
    growth_pct: float = 5.0
    keep: bool = False
    work_dir: Path | None = None


def run_soak(o: SoakOptions, progress: Callable[[str], None] = lambda s: None) -> dict:
    started = time.time()
    t_start = time.monotonic()
    root, defaults, ports, venue = prepare(o.work_dir, "fixgw-soak-")
    target = Target("fixgw", root / "fixgw", ports, defaults)
    try:
        target.start()
        wire = target.connect()
        flow = load.OrderFlow(f"{base36(time.time_ns() // 1_000_000)}S-", ioc=True)
        load.pingpong(wire, flow, o.warmup)
        target.reset_internal()
        samples, totals = _paced_soak(wire, flow, o, target, venue.pid, progress)
        wire.close()
    finally:
        target.stop()
        venue.stop()
        if not o.keep:
            shutil.rmtree(root, ignore_errors=True)
    opts = asdict(o)
    opts["work_dir"] = str(root) if o.keep else None
    return {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "run_s": round(time.monotonic() - t_start, 1),
            "options": opts,
            "fixgw_defaults": asdict(defaults),
            "machine": _machine(),
            "order": "IOC limit buy AAPL 175.00-176.99 (book around 190.00): acknowledged, then canceled",
        },
        "totals": totals,
        "samples": samples,
        "memory": memory_verdict(samples, o.growth_pct),
    }


def memory_verdict(samples: list[dict], growth_pct: float) -> dict:
    """First third vs last third of the samples after warm-up (the first tenth of the run)."""
    if len(samples) < 4:
        return {"verdict": "too few samples", "grew": None}
    end = samples[-1]["t_s"]
    steady = [s for s in samples if s["t_s"] > end / 10] or samples
    third = max(1, len(steady) // 3)
    first = sum(s["rss_mb"] for s in steady[:third]) / third
    last = sum(s["rss_mb"] for s in steady[-third:]) / third
    growth = last - first
    # orders sent between the two thirds' centres
    orders = (sum(s["sent"] for s in steady[-third:]) - sum(s["sent"] for s in steady[:third])) / third
    grew = growth > MIN_GROWTH_MB and growth > first * growth_pct / 100
    return {
        "first_third_mb": round(first, 1),
        "last_third_mb": round(last, 1),
        "growth_mb": round(growth, 1),
        "growth_pct": round(100 * growth / first, 1) if first else None,
        "mb_per_100k_orders": round(growth / orders * 100_000, 1) if orders > 0 else None,
        "grew": grew,
        "verdict": "memory grew" if grew else "memory flat",
    }


def _paced_soak(
    wire: FixWire,
    flow: load.OrderFlow,
    o: SoakOptions,
    target: Target,
    venue_pid: int,
    progress: Callable[[str], None],
) -> tuple[list[dict], dict]:
    count = o.max_orders or int(o.rate * o.minutes * 60)
    first = o.warmup
    clock = time.perf_counter_ns
    interval = 1e9 / o.rate
    state = bytearray(count)  # 0 sent/not yet, 1 acknowledged, 2 done (canceled or rejected)
    sock = wire.sock
    sock.setblocking(False)
    out = bytearray()
    acked = done = rejected = 0
    lat: list[int] = []
    samples: list[dict] = []
    pid = target.pid
    assert pid is not None
    t0 = clock() + 2_000_000
    next_sample = t0 + int(o.sample_s * 1e9)
    cpu0, cpu_t = cpu_seconds(pid), time.monotonic()
    k = 0
    give_up: float | None = None
    while done < count:
        now = clock()
        if k < count and t0 + int(k * interval) <= now:
            ts = load.utc_timestamp()
            chunk = []
            while k < count and t0 + int(k * interval) <= now:
                chunk.append(wire.encode(b"D", flow.body(first + k, ts)))
                k += 1
            out += b"".join(chunk)
        if out:
            with contextlib.suppress(BlockingIOError):
                del out[: sock.send(out)]
        if now >= next_sample or (k >= count and give_up is None):
            cpu1, t1 = cpu_seconds(pid), time.monotonic()
            u = Usage.of(pid)
            internal = target.internal()
            target.reset_internal()
            sample = {
                "t_s": round((now - t0) / 1e9, 1),
                "sent": k,
                "acked": acked,
                "done": done,
                "rss_mb": round(u.rss_mb, 1),
                "peak_rss_mb": round(u.peak_rss_mb, 1),
                "cpu_pct": round(100 * (cpu1 - cpu0) / max(t1 - cpu_t, 1e-9), 1),
                "venue_rss_mb": round(Usage.of(venue_pid).rss_mb, 1),
                "latency_us": distribution(lat, ("p50", "p99", "p99.9", "max")),
                "internal_us": internal,
            }
            samples.append(sample)
            cpu0, cpu_t, lat = cpu1, t1, []
            progress(
                f"{sample['t_s']:>7.0f} s  sent {k}  rss {sample['rss_mb']} MB  cpu {sample['cpu_pct']}%  "
                f"p50 {sample['latency_us'].get('p50', '-')} p99 {sample['latency_us'].get('p99', '-')} µs"
            )
            next_sample += int(o.sample_s * 1e9)
            if k >= count:
                give_up = time.monotonic() + max(60.0, count / 2000)
        if give_up is not None and time.monotonic() > give_up:
            break
        wait = (t0 + k * interval - clock()) / 1e9 if k < count else 0.05
        r, _, _ = select.select([sock], [sock] if out else [], [], max(0.0, min(wait, 0.05)))
        if not r:
            continue
        data = recv_ready(sock)
        if data is None:
            continue
        t_recv = clock()
        for m in wire.feed(data):
            i = flow.index(m)
            if i is None:
                continue
            i -= first
            if not 0 <= i < count:
                continue
            status = get(m, b"39")
            if state[i] == 0:
                lat.append(t_recv - (t0 + int(i * interval)))
                if status == b"8":
                    rejected += 1
                else:
                    acked += 1
            if status in (b"4", b"8", b"2", b"C") and state[i] != 2:
                state[i] = 2
                done += 1
            elif state[i] == 0:
                state[i] = 1
    totals = {
        "sent": k,
        "acked": acked,
        "rejected": rejected,
        "done": done,
        "lost": k - acked - rejected,
        "unfinished": k - done,
        "duration_s": round((clock() - t0) / 1e9, 1),
    }
    return samples, totals


def format_soak(doc: dict) -> str:
    o, t, mem = doc["meta"]["options"], doc["totals"], doc["memory"]
    lines = [
        f"fixgw bench --soak: {o['rate']} orders/s for {o['minutes']:g} min (IOC, acknowledged then "
        f"canceled), samples every {o['sample_s']:g} s; {doc['meta']['run_s']:.0f} s",
        f"{'t s':>7}{'sent':>10}{'rss MB':>9}{'peak MB':>9}{'cpu %':>7}{'p50':>8}{'p99':>8}{'p99.9':>8}"
        f"{'max':>9}{'int c p50':>10}{'int c p99':>10}{'int v p50':>10}{'int v p99':>10}",
    ]
    for s in doc["samples"]:
        lat, internal = s["latency_us"], s["internal_us"] or {}
        c, v = internal.get("client", {}), internal.get("venue", {})
        lines.append(
            f"{s['t_s']:>7.0f}{s['sent']:>10}{s['rss_mb']:>9.1f}{s['peak_rss_mb']:>9.1f}{s['cpu_pct']:>7.0f}"
            + "".join(f"{lat.get(k, float('nan')):>8.0f}" for k in ("p50", "p99", "p99.9"))
            + f"{lat.get('max', float('nan')):>9.0f}"
            + "".join(f"{d.get(k, float('nan')):>10.0f}" for d in (c, v) for k in ("p50", "p99"))
        )
    lines.append(
        f"orders: sent {t['sent']}, acknowledged {t['acked']}, rejected {t['rejected']}, lost {t['lost']}, "
        f"unfinished {t['unfinished']}"
    )
    lines.append(
        f"memory: first third {mem.get('first_third_mb')} MB, last third {mem.get('last_third_mb')} MB, "
        f"growth {mem.get('growth_mb')} MB ({mem.get('growth_pct')} %, {mem.get('mb_per_100k_orders')} MB "
        f"per 100k orders): {mem['verdict'].upper()}"
    )
    return "\n".join(lines)


def plot_soak(doc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = doc["samples"]
    ts = [x["t_s"] for x in s]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    ax = axes[0]
    ax.plot(ts, [x["rss_mb"] for x in s], "-o", color="tab:red", markersize=3, label="fixgw RSS")
    ax.plot(ts, [x["venue_rss_mb"] for x in s], "-", color="tab:gray", label="venue simulator RSS")
    ax.set_xlabel("seconds")
    ax.set_ylabel("MB")
    ax.set_title(f"memory ({doc['memory']['verdict']})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, style in (("p50", "-"), ("p99", "--"), ("p99.9", ":")):
        ax.plot(ts, [x["latency_us"].get(key) for x in s], style, color="tab:red", label=f"round trip {key}")
    for kind, color in (("client", "tab:blue"), ("venue", "tab:green")):
        for key, style in (("p50", "-"), ("p99", "--")):
            ys = [((x["internal_us"] or {}).get(kind) or {}).get(key) for x in s]
            ax.plot(ts, ys, style, color=color, label=f"internal {kind} {key}")
    ax.set_yscale("log")
    ax.set_xlabel("seconds")
    ax.set_ylabel("µs")
    ax.set_title("latency per interval")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    o = doc["meta"]["options"]
    fig.suptitle(f"fixgw soak {doc['meta']['started']}: {o['rate']}/s for {o['minutes']:g} min")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
