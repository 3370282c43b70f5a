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

import click

from gateway.cli.client_cmd import client
from gateway.cli.positions_cmd import positions
from gateway.config import ConfigError, GatewayConfig, load_config

CONFIG_HELP = "Gateway config file (default: $FIXGW_CONFIG or config/gateway.yaml)."


def _load(path: str | None) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fixgw")
def cli() -> None:
    """fixgw: a FIX gateway and order management system on QuickFIX."""


cli.add_command(client)
cli.add_command(positions)


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--no-simulators", is_flag=True, help="Do not start the simulated venues the config asks for.")
def run(config_path: str | None, no_simulators: bool) -> None:
    """Run the gateway (and its simulated venues) until SIGINT or SIGTERM."""
    cfg = _load(config_path)
    _setup_logging(cfg.log_level)
    from gateway.journal import JournalError
    from gateway.runtime import Gateway

    try:
        gw = Gateway(cfg, start_simulators=not no_simulators)
    except JournalError as exc:
        raise click.ClickException(f"journal {cfg.store.url}: {exc}") from None
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: gw.stop())
    gw.run()
    logging.shutdown()
    # QuickFIX's engine destructors can crash at interpreter exit (upstream PR 740);
    # every session is logged out and the journal closed, so leave without them.
    os._exit(0)


@cli.command("check-config")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def check_config(config_path: str | None) -> None:
    """Validate the configuration and print its sessions and routes."""
    cfg = _load(config_path)
    click.echo(cfg.summary())
    click.echo("\nconfiguration OK")


@cli.command("venue-sim")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.argument("venues", nargs=-1)
def venue_sim(config_path: str | None, venues: tuple[str, ...]) -> None:
    """Run simulated venues standalone (default: every venue in the config).

    Each listens on its venue's configured port and accepts the gateway's CompIDs.
    """
    cfg = _load(config_path)
    _setup_logging(cfg.log_level)
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
    logging.shutdown()
    os._exit(0)


def _control(config_path: str | None, payload: dict) -> dict:
    from gateway.control import request

    cfg = _load(config_path)
    try:
        reply = request(cfg.sessions_dir / "control.sock", payload)
    except (ConnectionError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if not reply.get("ok"):
        raise click.ClickException(reply.get("error", "the gateway refused the request"))
    return reply


@cli.command("kill-switch")
@click.argument("action", type=click.Choice(["engage", "release"]))
@click.option("--client", help="Only this client session.")
@click.option("--venue", help="Only this venue.")
@click.option("--all", "all_", is_flag=True, help="The whole gateway.")
@click.option("--reason", default="", help="Recorded in the journal and the trading state.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--json", "as_json", is_flag=True)
def kill_switch(
    action: str,
    client: str | None,
    venue: str | None,
    all_: bool,
    reason: str,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Halt trading in a scope and cancel its working orders at the venues (or release it)."""
    scope = _scope(client, venue, all_)
    reply = _control(
        config_path,
        {"cmd": "kill_switch", "action": action, "scope": scope, "target": client or venue, "reason": reason},
    )
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
@click.option("--json", "as_json", is_flag=True)
def trading_state(
    new_state: str | None,
    client: str | None,
    venue: str | None,
    all_: bool,
    reason: str,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Show (or set) the running gateway's trading state: global, per client and per venue."""
    payload: dict = {"cmd": "trading_state"}
    if new_state:
        payload.update(
            set=new_state, scope=_scope(client, venue, all_), target=client or venue, reason=reason
        )
    state = _control(config_path, payload)["trading_state"]
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
    """Orders from the journal."""


def _journal(config_path: str | None):
    from gateway.journal import Journal, JournalError

    cfg = _load(config_path)
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
