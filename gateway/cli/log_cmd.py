"""``fixgw log``: read the FIX message logs QuickFIX writes under ``sessions/log``."""

from __future__ import annotations

import sys

import click

from gateway.tools.logdecode import format_message, matches, parse_lines


@click.group("log")
def log_group() -> None:
    """Read QuickFIX message logs."""


@log_group.command("decode")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option("--cl-ord-id", help="Only messages with this ClOrdID or OrigClOrdID.")
@click.option(
    "--msg-type",
    "msg_types",
    multiple=True,
    help="Only this MsgType, by value (8) or name (ExecutionReport); repeatable.",
)
def decode(file, cl_ord_id: str | None, msg_types: tuple[str, ...]) -> None:
    """Print the FIX messages in FILE (a QuickFIX log; - for stdin) with tag names and enum
    meanings from the FIX dictionaries, one block per message."""
    shown = 0
    try:
        for msg in parse_lines(file):
            if matches(msg, cl_ord_id, msg_types):
                if shown:
                    click.echo()
                click.echo(format_message(msg))
                shown += 1
    except BrokenPipeError:  # | head
        sys.stderr.close()
        return
    if shown == 0:
        click.echo("no matching FIX messages", err=True)
        raise SystemExit(1)
