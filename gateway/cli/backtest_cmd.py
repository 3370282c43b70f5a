"""``fixgw backtest``: run a backtest from a YAML file and report what happened."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from gateway.backtest.config import load_backtest, parse_speed
from gateway.config import ConfigError

DEFAULT_OUT = Path("sessions") / "backtest"


def _write_reports(result: dict, out: Path) -> tuple[dict[str, Path], str]:
    """result.json (the raw record, re-reportable), report.json/html with plots, and the table."""
    from gateway.backtest.report import format_table, write_report

    (out / "result.json").write_text(json.dumps(result, indent=1))
    return {"result": out / "result.json", **write_report(result, out)}, format_table(result)


@click.command()
@click.option(
    "--config", "config_path", required=True, type=click.Path(dir_okay=False), help="The backtest YAML."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Output folder (default: sessions/backtest/<timestamp>/ or the YAML's out).",
)
@click.option("--speed", help="max (default), realtime, or a factor N (N x real time).")
@click.option("--seed", type=int, help="Override the YAML's seed.")
@click.option("--no-progress", is_flag=True, help="No progress bar on stderr.")
@click.option(
    "--keep", is_flag=True, help="Keep the run's gateway config, journal and FIX logs next to the reports."
)
def backtest(
    config_path: str, out_dir: str | None, speed: str | None, seed: int | None, no_progress: bool, keep: bool
) -> None:
    """Replay market data into simulated venues through the real gateway and report the results."""
    try:
        cfg = load_backtest(config_path)
        if speed is not None:
            label, factor = parse_speed(speed)
            cfg = dataclasses.replace(cfg, speed=label, speed_factor=factor)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if seed is not None:
        cfg = dataclasses.replace(cfg, seed=seed)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    out = Path(out_dir) if out_dir else (cfg.out_dir or DEFAULT_OUT) / stamp
    if out.exists() and any(out.iterdir()):
        raise click.ClickException(f"--out {out}: folder exists and is not empty")
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )

    from gateway.backtest.flows import BacktestError
    from gateway.backtest.runner import Backtest

    bar = None
    if not no_progress:
        bar = click.progressbar(length=1000, label=f"backtest {cfg.name}", file=sys.stderr, show_eta=False)
        bar.__enter__()
    done = [0]

    def progress(sim_done: int, sim_total: int) -> None:
        if bar is None or sim_total <= 0:
            return
        step = min(1000, int(1000 * sim_done / sim_total))
        if step > done[0]:
            bar.update(step - done[0])
            done[0] = step

    try:
        result = Backtest(cfg, out, progress).run()
    except (BacktestError, ConfigError) as exc:
        raise click.ClickException(
            str(exc).splitlines()[0] if not str(exc).startswith("the gateway") else str(exc)
        ) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    paths, table = _write_reports(result, out)
    if not keep:
        for sub in ("config", "sessions"):
            shutil.rmtree(out / sub, ignore_errors=True)
    click.echo(table)
    for kind, path in paths.items():
        click.echo(f"{kind}: {path}")
