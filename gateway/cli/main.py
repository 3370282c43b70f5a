"""The ``fixgw`` command: thin commands that parse, call the gateway's API and print.

Domain errors become one ``Error: ...`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from gateway.cli.admin_client import ADMIN_HELP
from gateway.cli.admin_client import call as admin_call
from gateway.cli.admin_cmds import ADMIN_COMMANDS, order_cancel_command
from gateway.cli.backtest_cmd import backtest
from gateway.cli.bench_cmd import bench
from gateway.cli.client_cmd import client
from gateway.cli.common import CONFIG_HELP, load
from gateway.cli.killsoak_cmd import kill_soak
from gateway.cli.log_cmd import log_group
from gateway.cli.onboard_cmd import clients
from gateway.cli.positions_cmd import positions
from gateway.logs import flush_logs, setup_logging, stop_logging

LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per line, with client, cl_ord_id, order_id and venue on order events.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fixgw")
def cli() -> None:
    """fixgw: a FIX gateway and order management system on QuickFIX."""


cli.add_command(client)
cli.add_command(positions)
cli.add_command(log_group)
cli.add_command(clients)
for _command in ADMIN_COMMANDS:
    cli.add_command(_command)
cli.add_command(kill_soak)
cli.add_command(bench)
cli.add_command(backtest)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--no-simulators", is_flag=True, help="Do not start the simulated venues the config asks for.")
@LOG_FORMAT
def run(config_path: str | None, no_simulators: bool, log_format: str) -> None:
    """Run the gateway (and its simulated venues) until SIGINT or SIGTERM; SIGHUP reloads the config."""
    cfg = load(config_path)
    setup_logging(cfg.log_level, log_format, buffered=True)
    from gateway.journal import JournalError
    from gateway.runtime import Gateway

    try:
        gw = Gateway(cfg, start_simulators=not no_simulators)
    except JournalError as exc:
        raise click.ClickException(f"journal {cfg.store.url}: {exc}") from None
    finally:
        flush_logs()  # what start-up logged, whatever happens next
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: gw.stop())
    signal.signal(signal.SIGHUP, lambda *_: gw.loop.call_soon(gw.reload_logged))
    gw.run()
    stop_logging()
    # QuickFIX's engine destructors can crash at interpreter exit (upstream PR 740);
    # every session is logged out and the journal closed, so leave without them.
    os._exit(0)


@cli.command("check-config")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def check_config(config_path: str | None) -> None:
    """Validate the configuration and print its sessions and routes."""
    cfg = load(config_path)
    click.echo(cfg.summary())
    click.echo("\nconfiguration OK")


@cli.command("venue-sim")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option(
    "--orders-file",
    type=click.Path(dir_okay=False),
    help="On exit, write every order the venues hold to this file (JSON; fixgw kill-soak reads it).",
)
@click.argument("venues", nargs=-1)
def venue_sim(config_path: str | None, orders_file: str | None, venues: tuple[str, ...]) -> None:
    """Run simulated venues standalone (default: every venue in the config).

    Each listens on its venue's configured port and accepts the gateway's CompIDs.
    """
    cfg = load(config_path)
    setup_logging(cfg.log_level)
    names = list(venues) or list(cfg.venues)
    unknown = [n for n in names if n not in cfg.venues]
    if unknown:
        raise click.ClickException(f"unknown venue {unknown[0]} (configured: {', '.join(cfg.venues)})")
    from gateway.simulator.venue import SimulatorHost

    cfg.sessions_dir.mkdir(parents=True, exist_ok=True)
    host = SimulatorHost(cfg, [cfg.venues[n] for n in names])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: host.stop())
    for v in host.venues:
        logging.getLogger("gateway.simulator").info("simulated venue %s on port %d", v.name, v.venue.port)
    host.run(cfg)
    if orders_file:
        from gateway.tools.killsoak import venue_orders_doc

        Path(orders_file).write_text(json.dumps(venue_orders_doc(host)))
    stop_logging()
    os._exit(0)


@cli.command("kill-switch")
@click.argument("action", type=click.Choice(["engage", "release"]))
@click.option("--client", help="Only this client session.")
@click.option("--venue", help="Only this venue.")
@click.option("--all", "all_", is_flag=True, help="The whole gateway.")
@click.option("--reason", default="", help="Recorded in the journal and the trading state.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--admin", "admin_url", help=ADMIN_HELP)
@click.option("--json", "as_json", is_flag=True)
def kill_switch(
    action: str,
    client: str | None,
    venue: str | None,
    all_: bool,
    reason: str,
    config_path: str | None,
    admin_url: str | None,
    as_json: bool,
) -> None:
    """Halt trading in a scope and cancel its working orders at the venues (or release it)."""
    scope = _scope(client, venue, all_)
    body = {"action": action, "scope": scope, "target": client or venue, "reason": reason}
    reply = admin_call(config_path, admin_url, "POST", "/api/kill-switch", body)
    if as_json:
        click.echo(json.dumps(reply))
        return
    where = "the whole gateway" if scope == "global" else f"{scope} {client or venue}"
    if action == "engage":
        canceling = reply["canceling"]
        click.echo(
            f"kill switch engaged for {where}: HALTED; canceling {len(canceling)} working order(s)"
            + (f": {', '.join(canceling)}" if canceling else "")
        )
    else:
        click.echo(f"kill switch released for {where}: ACTIVE")


@cli.command("trading-state")
@click.option(
    "--set",
    "new_state",
    type=click.Choice(["active", "reducing", "halted"]),
    help="Set the state of the scope below (halted cancels nothing: see kill-switch).",
)
@click.option("--client", help="Scope: this client session.")
@click.option("--venue", help="Scope: this venue.")
@click.option("--all", "all_", is_flag=True, help="Scope: the whole gateway.")
@click.option("--reason", default="")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--admin", "admin_url", help=ADMIN_HELP)
@click.option("--json", "as_json", is_flag=True)
def trading_state(
    new_state: str | None,
    client: str | None,
    venue: str | None,
    all_: bool,
    reason: str,
    config_path: str | None,
    admin_url: str | None,
    as_json: bool,
) -> None:
    """Show (or set) the running gateway's trading state: global, per client and per venue."""
    if new_state:
        body = {"state": new_state, "scope": _scope(client, venue, all_), "target": client or venue,
                "reason": reason}  # fmt: skip
        state = admin_call(config_path, admin_url, "POST", "/api/trading-state", body)
    else:
        state = admin_call(config_path, admin_url, "GET", "/api/trading-state")
    if as_json:
        click.echo(json.dumps(state))
        return
    click.echo(f"global: {state['global']['state']} {state['global']['reason']}".rstrip())
    for kind in ("clients", "venues"):
        for name, s in state[kind].items():
            click.echo(f"{kind[:-1]} {name}: {s['state']} {s['reason']}".rstrip())


def _scope(client: str | None, venue: str | None, all_: bool) -> str:
    chosen = [x for x in (client and "client", venue and "venue", all_ and "global") if x]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --client ID, --venue NAME or --all")
    return chosen[0]


@cli.group()
def orders() -> None:
    """Orders: list and show read the journal (written before anything is sent, so it is as
    current as the gateway, running or not); cancel goes through the admin API."""


order_cancel_command(orders)


def _journal(config_path: str | None):
    from gateway.journal import Journal, JournalError

    cfg = load(config_path)
    try:
        return Journal(cfg.store.url, cfg.store.synchronous)
    except JournalError as exc:
        raise click.ClickException(f"journal {cfg.store.url}: {exc}") from None


def _ts(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


_STATUS = {
    "0": "New",
    "1": "PartiallyFilled",
    "2": "Filled",
    "3": "DoneForDay",
    "4": "Canceled",
    "5": "Replaced",
    "6": "PendingCancel",
    "8": "Rejected",
    "A": "PendingNew",
    "C": "Expired",
    "E": "PendingReplace",
}
_SIDE = {"1": "Buy", "2": "Sell", "5": "SellShort"}


@orders.command("list")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--status", type=click.Choice(["open", "all"]), default="all", show_default=True)
@click.option("--session", help="Only this client session.")
@click.option("--limit", type=click.IntRange(1), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per order.")
def orders_list(config_path: str | None, status: str, session: str | None, limit: int, as_json: bool) -> None:
    """List client orders, newest first."""
    with _journal(config_path) as journal:
        records = [
            r
            for r in journal.orders(open_only=status == "open", session=session, limit=limit * 4)
            if r.parent_id is None
        ][:limit]
    if as_json:
        for r in records:
            click.echo(json.dumps(_order_json(r)))
        return
    header = (
        f"{'OrderID':<18} {'Session':<9} {'ClOrdID':<22} {'Symbol':<8} {'Side':<5} {'Qty':>10} "
        f"{'Price':>12} {'CumQty':>10} {'AvgPx':>12} Status"
    )
    click.echo(header)
    for r in records:
        click.echo(
            f"{r.order_id:<18} {r.session:<9} {r.cl_ord_id:<22} {r.symbol:<8} {_SIDE.get(r.side, r.side):<5} "
            f"{r.qty:>10} {r.price or 'MKT':>12} {r.cum_qty:>10} {_round(r.avg_px):>12} "
            f"{_STATUS.get(r.status, r.status)}"
        )


def _by_earlier_cl_ord_id(journal, cl_ord_id: str):
    """A ClOrdID replaced or canceled since is not the row's current one: search the chains."""
    return next(
        (
            r
            for r in journal.orders(limit=100_000)
            if r.parent_id is None and cl_ord_id in r.doc.get("cl_ord_ids", ())
        ),
        None,
    )


def _round(px: str) -> str:
    return px if len(px) <= 12 else f"{float(px):.6f}"


def _order_json(r) -> dict:
    return {
        "order_id": r.order_id,
        "parent_id": r.parent_id,
        "session": r.session,
        "cl_ord_id": r.cl_ord_id,
        "symbol": r.symbol,
        "side": _SIDE.get(r.side, r.side),
        "status": _STATUS.get(r.status, r.status),
        "open": r.is_open,
        "qty": r.qty,
        "price": r.price,
        "cum_qty": r.cum_qty,
        "avg_px": r.avg_px,
        "updated": _ts(r.updated_ns),
    }


@orders.command("show")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True)
@click.argument("order_id")
def orders_show(config_path: str | None, as_json: bool, order_id: str) -> None:
    """Show one order (by OrderID or ClOrdID): its children and its journal events."""
    with _journal(config_path) as journal:
        record = journal.order(order_id) or _by_earlier_cl_ord_id(journal, order_id)
        if record is None:
            raise click.ClickException(f"no order {order_id} in the journal")
        parent = journal.order(record.parent_id) if record.parent_id else record
        children = journal.children(parent.order_id)
        events = journal.events(parent.order_id)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "order": _order_json(parent),
                    "children": [_order_json(c) for c in children],
                    "events": [
                        {
                            "ts": _ts(e.ts_ns),
                            "kind": e.kind,
                            "session": e.session,
                            "msg_type": e.msg_type,
                            "text": e.text,
                        }
                        for e in events
                    ],
                },
                indent=2,
            )
        )
        return
    p = _order_json(parent)
    click.echo(
        f"Order {p['order_id']}  {p['session']} ClOrdID={p['cl_ord_id']}  {p['side']} {p['qty']} "
        f"{p['symbol']} @ {p['price'] or 'MKT'}  {p['status']}  CumQty={p['cum_qty']} AvgPx={p['avg_px']}"
    )
    for c in map(_order_json, children):
        click.echo(
            f"  child {c['order_id']} at {c['session']} ClOrdID={c['cl_ord_id']} {c['status']} "
            f"qty={c['qty']} cum={c['cum_qty']} avg={c['avg_px']}"
        )
    click.echo("Events:")
    for e in events:
        click.echo(f"  {_ts(e.ts_ns)} {e.kind:<10} {e.session or '':<8} {e.text}")


@cli.command("bench-risk")
@click.option("--orders", type=click.IntRange(1), default=20_000, show_default=True, help="Calls timed.")
@click.option("--instruments", type=click.IntRange(1), default=500, show_default=True)
@click.option("--working", type=click.IntRange(0), default=5_000, show_default=True, help="Working orders.")
@click.option("--json", "as_json", is_flag=True)
def bench_risk(orders: int, instruments: int, working: int, as_json: bool) -> None:
    """Time pre-trade checks and position updates (µs), with N and 10 x N working orders."""
    from gateway.risk.bench import format_report, run

    result = run(orders=orders, instruments=instruments, working=working)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_report(result))


@cli.command("bench-routing")
@click.option("--iterations", type=click.IntRange(1), default=20_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_routing(iterations: int, as_json: bool) -> None:
    """Time a routing decision: a sweep across three venues with ten levels each (µs)."""
    from gateway.routing.bench import format_report, run

    result = run(iterations=iterations)
    click.echo(json.dumps(result.to_json(), indent=2) if as_json else format_report(result))


@cli.command("bench-marketdata")
@click.option("--updates", type=click.IntRange(1), default=50_000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_marketdata(updates: int, as_json: bool) -> None:
    """Time applying market-data updates to the normalised books (and decoding them from FIX) (µs)."""
    import dataclasses

    from gateway.marketdata.bench import format_report, measure

    result = measure(updates)
    click.echo(json.dumps(dataclasses.asdict(result), indent=2) if as_json else format_report(result))


def main() -> None:
    """Every mistake is one ``Error: ...`` line and a non-zero exit (usage mistakes too)."""
    try:
        rv = cli.main(prog_name="fixgw", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        hint = "" if not isinstance(exc, click.UsageError) else " (see fixgw --help)"
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
