"""``fixgw bench``: fixgw against a bare QuickFIX proxy and the venue itself; or a soak of fixgw.

Everything runs on 127.0.0.1 on free ports in a temporary folder (so it can run beside a gateway
that is already running); the figures go to ``--out`` (default ``sessions/bench/<timestamp>/``):
``bench.json`` and ``bench.png`` (``soak.json`` and ``soak.png`` with ``--soak``), and the table to
stdout; progress goes to stderr. ``docs/performance.md`` describes the method.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

from gateway.bench.runner import DEFAULT_RATES, SCENARIOS, BenchOptions
from gateway.bench.targets import TARGETS


def _csv(value: str, choices: tuple[str, ...], what: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if v not in choices]
    if bad or not items:
        raise click.BadParameter(f"{what}: choose from {', '.join(choices)} (got {value!r})")
    return items


def _rates(value: str) -> tuple[int, ...]:
    try:
        rates = tuple(sorted(int(v) for v in value.split(",") if v.strip()))
    except ValueError:
        raise click.BadParameter(f"--rates: comma-separated integers, got {value!r}") from None
    if not rates or rates[0] <= 0:
        raise click.BadParameter(f"--rates: positive integers, got {value!r}")
    return rates


def _progress(text: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {text}", err=True)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


@click.command("bench")
@click.option("--orders", type=click.IntRange(1), help="Ping-pong orders measured per target [10000].")
@click.option(
    "--warmup", type=click.IntRange(0), help="Ping-pong warm-up orders before every measurement [500]."
)
@click.option("--rates", help=f"Open-loop sweep rates, orders/s [{','.join(map(str, DEFAULT_RATES))}].")
@click.option("--duration-s", type=click.FloatRange(0.1), help="Seconds per sweep rate [5].")
@click.option("--burst-orders", type=click.IntRange(1), help="Orders in the burst [10000].")
@click.option("--targets", default=",".join(TARGETS), show_default=True, help="Which targets, in order.")
@click.option("--scenarios", default=",".join(SCENARIOS), show_default=True, help="Which scenarios.")
@click.option(
    "--quiet-wait",
    type=click.FloatRange(0),
    help="Before each measurement wait up to this many "
    "seconds for other processes to go quiet [5; 0 with --quick].",
)
@click.option(
    "--quick",
    is_flag=True,
    help="Tiny counts (200 ping-pong orders, one 1 s rate at 500/s, "
    "300 in the burst): a smoke test of every target and scenario.",
)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder [sessions/bench/<timestamp>].")
@click.option("--keep", is_flag=True, help="Keep the work folder (configs, logs, journals) and print it.")
@click.option("--soak", is_flag=True, help="Soak mode: fixgw alone at a steady --rate for --minutes.")
@click.option("--minutes", type=click.FloatRange(0.05), default=10.0, show_default=True, help="Soak length.")
@click.option("--rate", type=click.IntRange(1), default=500, show_default=True, help="Soak rate, orders/s.")
@click.option("--max-orders", type=click.IntRange(1), help="Soak: stop sending after this many orders.")
@click.option(
    "--sample-s",
    type=click.FloatRange(0.5),
    default=10.0,
    show_default=True,
    help="Soak: seconds between samples.",
)
def bench(
    orders: int | None,
    warmup: int | None,
    rates: str | None,
    duration_s: float | None,
    burst_orders: int | None,
    targets: str,
    scenarios: str,
    quiet_wait: float | None,
    quick: bool,
    out: str | None,
    keep: bool,
    soak: bool,
    minutes: float,
    rate: int,
    max_orders: int | None,
    sample_s: float,
) -> None:
    """Benchmark fixgw against a bare QuickFIX pass-through proxy and the venue itself.

    Starts a simulated venue, then for each target (direct, proxy, proxy-memory, fixgw) runs
    ping-pong, an open-loop rate sweep (latency from the scheduled send time) and a burst; prints a
    table with fixgw's ratios to the baselines and writes bench.json and bench.png.
    """
    # SIGTERM unwinds like Ctrl-C, so the venue and target processes are stopped on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    folder = Path(out) if out else Path("sessions") / "bench" / time.strftime("%Y%m%d-%H%M%S")
    work = (folder / "work") if keep else None
    if soak:
        from gateway.bench.report import write_json
        from gateway.bench.soak import SoakOptions, format_soak, plot_soak, run_soak

        opts = SoakOptions(
            minutes=minutes, rate=rate, max_orders=max_orders, sample_s=sample_s, keep=keep, work_dir=work
        )
        if warmup is not None:
            opts.warmup = warmup
        try:
            doc = run_soak(opts, _progress)
        except Exception as exc:  # a process that did not start, a session that failed
            raise click.ClickException(f"soak failed: {exc}") from exc
        folder.mkdir(parents=True, exist_ok=True)
        doc["meta"]["command"] = " ".join(["fixgw", *sys.argv[1:]])
        write_json(doc, folder / "soak.json")
        plot_soak(doc, folder / "soak.png")
        click.echo(format_soak(doc))
        click.echo(f"\nwrote {folder / 'soak.json'} and {folder / 'soak.png'}")
        return

    from gateway.bench.report import format_table, plot, write_json
    from gateway.bench.runner import run

    given = {
        "orders": orders,
        "warmup": warmup,
        "rates": _rates(rates) if rates else None,
        "duration_s": duration_s,
        "burst_orders": burst_orders,
        "quiet_wait_s": quiet_wait,
    }
    given = {k: v for k, v in given.items() if v is not None}
    given["targets"] = _csv(targets, TARGETS, "--targets")
    given["scenarios"] = _csv(scenarios, SCENARIOS, "--scenarios")
    given["keep"] = keep
    given["work_dir"] = work
    opts = BenchOptions.quick(**given) if quick else BenchOptions(**given)
    try:
        doc = run(opts, _progress)
    except Exception as exc:  # a process that did not start, a session that failed
        raise click.ClickException(f"benchmark failed: {exc}") from exc
    doc["meta"]["command"] = " ".join(["fixgw", *sys.argv[1:]])
    folder.mkdir(parents=True, exist_ok=True)
    write_json(doc, folder / "bench.json")
    plot(doc, folder / "bench.png")
    click.echo(format_table(doc))
    click.echo(f"\nwrote {folder / 'bench.json'} and {folder / 'bench.png'}")
    if keep:
        click.echo(f"work folder (configs, logs, journals): {work}")
