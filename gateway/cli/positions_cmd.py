"""``fixgw positions``: positions and P&L per client, account and instrument, from the journal.

Reads the snapshots the gateway commits with every fill, so it works whether or not the
gateway is running. Unrealised P&L is marked at the instrument's configured reference price,
else at the instrument's latest fill price over all clients (one mark per instrument).
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from typing import Any

import click

from gateway.cli.common import CONFIG_HELP, load
from gateway.config import GatewayConfig
from gateway.positions.book import Position, PositionBook


@click.command("positions")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--client", "client_id", metavar="ID", help="Only this client (its session name).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with positions and totals.")
def positions(config_path: str | None, client_id: str | None, as_json: bool) -> None:
    """Positions and P&L per client, account and instrument, with totals per client."""
    cfg = load(config_path)
    book = PositionBook()
    book.restore(_read(cfg))
    # Marks come from every client's fills so that --client does not change a client's P&L.
    marks = _marks(cfg, book.positions())
    rows = book.positions(client_id)
    clients = sorted({p.client for p in rows})
    totals = {c: (book.realised(c), book.unrealised(c, marks.get)) for c in clients}
    if as_json:
        click.echo(json.dumps(_as_json(rows, marks, totals), indent=2))
    elif not rows:
        click.echo("no positions" + (f" for client {client_id}" if client_id else "") + " in the journal")
    else:
        _print_table(rows, marks, totals)


def _read(cfg: GatewayConfig) -> list[Position]:
    from gateway.journal import Journal, JournalError

    try:
        with Journal(cfg.store.url, cfg.store.synchronous) as journal:
            records = journal.positions()
    except JournalError as exc:
        raise click.ClickException(f"journal {cfg.store.url}: {exc}") from None
    try:
        return [Position.from_doc(r.doc) for r in records]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise click.ClickException(f"journal {cfg.store.url}: unreadable position: {exc!r}") from None


def _marks(cfg: GatewayConfig, rows: list[Position]) -> dict[str, Decimal]:
    """Price per symbol as the gateway marks it: the latest trade (fill) in the symbol, else the
    configured reference price."""
    marks: dict[str, Decimal] = {}
    for symbol in {p.symbol for p in rows}:
        ref = getattr(cfg.instruments.get(symbol), "reference_price", None)
        if ref is not None:
            marks[symbol] = ref
    for p in sorted(rows, key=lambda p: p.updated_ns):  # the latest fill wins
        if p.last_fill_px is not None:
            marks[p.symbol] = p.last_fill_px
    return marks


def _exposure(p: Position, mark: Decimal | None) -> tuple[Decimal, Decimal]:
    """Gross and net notional of the position at the mark (zero when there is no mark)."""
    if mark is None:
        return Decimal(0), Decimal(0)
    return abs(p.qty) * mark, p.qty * mark


def _num(d: Decimal | None) -> str:
    """Plain notation without trailing zeros; long averages shortened to 6 decimals for display."""
    if d is None:
        return "-"
    s = f"{d.normalize():f}" if d else "0"
    return s if len(s) <= 16 else f"{d:.6f}"


def _print_table(
    rows: list[Position], marks: dict[str, Decimal], totals: dict[str, tuple[Decimal, Decimal]]
) -> None:
    header = (
        "Client",
        "Account",
        "Symbol",
        "Qty",
        "AvgCost",
        "Mark",
        "Realised",
        "Unrealised",
        "Gross",
        "Net",
    )
    table = [
        (
            p.client,
            p.account or "-",
            p.symbol,
            _num(p.qty),
            _num(p.avg_cost),
            _num(marks.get(p.symbol)),
            _num(p.realised_pnl),
            _num(p.unrealised(marks.get(p.symbol))),
            *map(_num, _exposure(p, marks.get(p.symbol))),
        )
        for p in rows
    ]
    exposure = {c: [Decimal(0), Decimal(0)] for c in totals}
    for p in rows:
        gross, net = _exposure(p, marks.get(p.symbol))
        exposure[p.client][0] += gross
        exposure[p.client][1] += net
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(header)]

    def line(cells: tuple[str, ...]) -> str:
        left = [c.ljust(w) for c, w in zip(cells[:3], widths[:3], strict=True)]
        right = [c.rjust(w) for c, w in zip(cells[3:], widths[3:], strict=True)]
        return "  ".join(left + right).rstrip()

    click.echo(line(header))
    for client, group in groupby(table, key=itemgetter(0)):  # rows come sorted by client
        for r in group:
            click.echo(line(r))
        realised, unrealised = totals[client]
        gross, net = exposure[client]
        click.echo(
            line((client, "TOTAL", "", "", "", "", _num(realised), _num(unrealised), _num(gross), _num(net)))
        )


def _as_json(
    rows: list[Position], marks: dict[str, Decimal], totals: dict[str, tuple[Decimal, Decimal]]
) -> dict[str, Any]:
    """Exact values as strings (no float), so scripts can do their own arithmetic."""
    return {
        "positions": [
            {
                "client": p.client,
                "account": p.account,
                "symbol": p.symbol,
                "qty": str(p.qty),
                "avg_cost": str(p.avg_cost),
                "mark": None if p.symbol not in marks else str(marks[p.symbol]),
                "realised_pnl": str(p.realised_pnl),
                "unrealised_pnl": str(p.unrealised(marks.get(p.symbol))),
                "gross_exposure": str(_exposure(p, marks.get(p.symbol))[0]),
                "net_exposure": str(_exposure(p, marks.get(p.symbol))[1]),
                "bought": str(p.bought),
                "sold": str(p.sold),
                "last_fill_px": None if p.last_fill_px is None else str(p.last_fill_px),
                "updated_ns": p.updated_ns,
            }
            for p in rows
        ],
        "totals": [
            {"client": c, "realised_pnl": str(r), "unrealised_pnl": str(u)} for c, (r, u) in totals.items()
        ],
    }
