"""``fixgw kill-soak``: the kill -9 soak of ``tests/e2e/test_kill_soak.py``, for as long as you like.

Runs entirely on 127.0.0.1 in a temporary folder of its own (a fresh config on free ports, the
SQLite journal or a fresh schema in the PostgreSQL database given, dropped afterwards), so it
can run beside a gateway that is already running. Prints the figures and exits 1 on any
mismatch (the folder is then kept for investigation), 2 when the testbed itself failed.
"""

from __future__ import annotations

import json
import random
import sys

import click


@click.command("kill-soak")
@click.option(
    "--kills", type=click.IntRange(1), default=50, show_default=True, help="SIGKILLs of the gateway."
)
@click.option("--clients", type=click.IntRange(1, 9), default=3, show_default=True, help="Client sessions.")
@click.option(
    "--orders-per-round",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    help="Messages (orders, cancels, replaces) per round at most; each kill lands after half to all of them.",
)
@click.option(
    "--seed", type=int, help="Seed of the order flow and the kill moments (default: random, printed)."
)
@click.option(
    "--store-url",
    help="Journal URL; PostgreSQL gets a fresh schema, dropped afterwards (default: SQLite in the folder).",
)
@click.option("--ack-timeout", "ack_timeout_s", type=float, default=5.0, show_default=True, help="Seconds.")
@click.option(
    "--fixt",
    is_flag=True,
    help="Make CLIENT3 a FIXT 1.1 session (its dictionary adds ~1.3 s to every restart).",
)
@click.option(
    "--keep", is_flag=True, help="Keep the run's folder (config, logs, journal) even when it passes."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures and mismatches as JSON.")
def kill_soak(
    kills: int,
    clients: int,
    orders_per_round: int,
    seed: int | None,
    store_url: str | None,
    ack_timeout_s: float,
    fixt: bool,
    keep: bool,
    as_json: bool,
) -> None:
    """SIGKILL the gateway under load from several clients to two simulated venues, restart it
    each time, then compare every client order with the journal and the venues' own records."""
    from gateway.tools.killsoak import hide_password, run_soak, temp_root

    if seed is None:
        seed = random.SystemRandom().randrange(1, 1_000_000)
    root, cleanup = temp_root(keep)
    progress = None if as_json else (lambda line: click.echo(line, err=True))
    try:
        result = run_soak(
            root,
            kills=kills,
            clients=clients,
            orders_per_round=orders_per_round,
            seed=seed,
            store_url=store_url,
            ack_timeout_s=ack_timeout_s,
            fixt=fixt,
            progress=progress,
        )
    except Exception as exc:  # the testbed failed (a gateway that did not come back, a lost session)
        click.echo(f"Error: kill-soak (seed {seed}) failed: {exc}\nfolder kept: {root}", err=True)
        sys.exit(2)
    cleanup(result.ok)
    if as_json:
        figures = {k: v for k, v in vars(result).items() if k not in ("mismatches", "restart_s")}
        figures["filled_qty"] = str(result.filled_qty)
        figures["journal_url"] = hide_password(result.journal_url)
        figures["restart_s_avg"] = round(sum(result.restart_s) / max(len(result.restart_s), 1), 3)
        figures["mismatches"] = [{"kind": m.kind, "text": m.text} for m in result.mismatches]
        click.echo(json.dumps(figures, indent=2))
    else:
        click.echo(result.figures())
        if not result.ok or keep:
            click.echo(f"folder: {root}")
    sys.exit(0 if result.ok else 1)
