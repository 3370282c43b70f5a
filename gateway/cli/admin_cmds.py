"""Operator commands against a running gateway's admin API (tables for people, --json for scripts).

``fixgw sessions reset`` and ``set-seq`` also work on a stopped gateway: they then edit the
QuickFIX stores directly (:mod:`gateway.fix.stores`).
"""

from __future__ import annotations

import json
from typing import Any

import click

from gateway.cli.admin_client import ADMIN_HELP, GatewayDown, call, table
from gateway.cli.common import CONFIG_HELP, load
from gateway.fix.stores import set_watermark_offline, stored_session


def _common(fn):
    fn = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)
    fn = click.option("--admin", "admin_url", help=ADMIN_HELP)(fn)
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)(fn)


def _print(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


# -- sessions ---------------------------------------------------------------------------------


@click.group("sessions")
def sessions() -> None:
    """FIX sessions of the gateway: list, log out and on, sequence numbers."""


@sessions.command("list")
@_common
def sessions_list(config_path, admin_url, as_json) -> None:
    """Every client and venue session: CompIDs, version, state, sequence numbers, last message."""
    rows = call(config_path, admin_url, "GET", "/api/sessions")
    for r in rows:
        r["state"] = "logged on" if r["logged_on"] else ("down" if r["enabled"] else "disabled")
    columns = [("name", "SESSION"), ("side", "SIDE"), ("fix_version", "FIX"), ("sender_comp_id", "SENDER"),
               ("target_comp_id", "TARGET"), ("state", "STATE"), ("since", "SINCE"), ("next_in", "IN"),
               ("next_out", "OUT"), ("last_message", "LAST MESSAGE")]  # fmt: skip
    _print(rows, as_json, table(rows, columns))


def _action(config_path, admin_url, as_json, name: str, action: str, body: dict | None = None) -> None:
    reply = call(config_path, admin_url, "POST", f"/api/sessions/{name}/{action}", body or {})
    _print(reply, as_json, f"{name}: {reply['result']}")


@sessions.command("logout")
@click.argument("name")
@click.option("--reason", default="", help="Text of the Logout message.")
@_common
def sessions_logout(name, reason, config_path, admin_url, as_json) -> None:
    """Log a session out; it stays down (no reconnect, no logon accepted) until `sessions logon`."""
    _action(config_path, admin_url, as_json, name, "logout", {"reason": reason} if reason else None)


@sessions.command("logon")
@click.argument("name")
@_common
def sessions_logon(name, config_path, admin_url, as_json) -> None:
    """Enable a session again: a venue session reconnects, a client may log on."""
    _action(config_path, admin_url, as_json, name, "logon")


def _confirm(yes: bool, what: str) -> None:
    if not yes:
        click.confirm(what, abort=True)


@sessions.command("reset")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_common
def sessions_reset(name, yes, config_path, admin_url, as_json) -> None:
    """Reset a session's sequence numbers to 1 (and forget its stored messages)."""
    _confirm(yes, f"Reset the sequence numbers of {name} to 1? The counterparty must reset too.")
    try:
        _action(config_path, admin_url, as_json, name, "reset")
    except GatewayDown:
        store = _store(config_path, name)
        store.reset()
        set_watermark_offline(load(config_path), name, 1)
        _print({"session": name, "offline": True, "next_in": 1, "next_out": 1}, as_json,
               f"{name}: gateway not running; store reset offline (next in 1, out 1)")  # fmt: skip


@sessions.command("set-seq")
@click.argument("name")
@click.option("--in", "seq_in", type=click.IntRange(1), help="Next MsgSeqNum expected from the counterparty.")
@click.option("--out", "seq_out", type=click.IntRange(1), help="Next MsgSeqNum to send.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_common
def sessions_set_seq(name, seq_in, seq_out, yes, config_path, admin_url, as_json) -> None:
    """Set a session's next incoming and/or outgoing sequence number."""
    if seq_in is None and seq_out is None:
        raise click.UsageError("give --in N, --out N or both")
    _confirm(
        yes, f"Set {name}'s next sequence numbers (in {seq_in or 'unchanged'}, out {seq_out or 'unchanged'})?"
    )
    body = {k: v for k, v in (("in", seq_in), ("out", seq_out)) if v is not None}
    try:
        _action(config_path, admin_url, as_json, name, "set-seq", body)
    except GatewayDown:
        store = _store(config_path, name)
        out, incoming = store.read() or (1, 1)
        store.write(seq_out or out, seq_in or incoming)
        if seq_in is not None:
            set_watermark_offline(load(config_path), name, seq_in)
        _print({"session": name, "offline": True, "next_in": seq_in or incoming, "next_out": seq_out or out},
               as_json, f"{name}: gateway not running; store set offline (next in {seq_in or incoming}, "
               f"out {seq_out or out})")  # fmt: skip


def _store(config_path, name):
    cfg = load(config_path)
    try:
        return stored_session(cfg, name)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from None


# -- venues, orders, risk, reload -------------------------------------------------------------


@click.group("venues")
def venues() -> None:
    """Venues of the gateway."""


@venues.command("list")
@_common
def venues_list(config_path, admin_url, as_json) -> None:
    """Every venue: session, circuit breaker, rate-limit headroom, working orders, ack latency."""
    rows = call(config_path, admin_url, "GET", "/api/venues")
    for r in rows:
        r["session"] = "logged on" if r["logged_on"] else "down"
        lat = r.get("ack_latency_us")
        r["ack"] = None if lat is None else f"p50 {lat['p50']} / p99 {lat['p99']} µs ({lat['count']})"
    columns = [("name", "VENUE"), ("fix_version", "FIX"), ("session", "SESSION"),
               ("circuit_breaker", "BREAKER"), ("rate_limit_headroom", "HEADROOM"), ("queued", "QUEUED"),
               ("working_children", "WORKING"), ("ack", "ACK LATENCY")]  # fmt: skip
    _print(rows, as_json, table(rows, columns))


def order_cancel_command(orders_group: click.Group) -> None:
    """Add ``cancel`` to the (journal-reading) ``fixgw orders`` group."""

    @orders_group.command("cancel")
    @click.argument("order_id")
    @click.option("--reason", default="", help="Shown to the client in its Canceled report.")
    @_common
    def orders_cancel(order_id, reason, config_path, admin_url, as_json) -> None:
        """Cancel one working order (by OrderID or ClOrdID) at its venues; the client is told."""
        reply = call(config_path, admin_url, "POST", f"/api/orders/{order_id}/cancel", {"reason": reason})
        _print(reply, as_json, f"{reply['order_id']}: cancel sent")


@click.group("risk")
def risk() -> None:
    """Pre-trade risk limits of the running gateway."""


def _limits_text(data: dict) -> str:
    lines = []
    for client, checks in data.items():
        lines.append(f"{client}:")
        for c in checks:
            params = ", ".join(f"{k}={v}" for k, v in c["params"].items())
            lines.append(f"  {c['check']}" + (f": {params}" if params else ""))
    return "\n".join(lines)


@risk.command("show")
@click.option("--client", help="Only this client session.")
@_common
def risk_show(client, config_path, admin_url, as_json) -> None:
    """Each client's checks and limits as they apply now."""
    data = call(config_path, admin_url, "GET", "/api/risk" + (f"?client={client}" if client else ""))
    _print(data, as_json, _limits_text(data))


@risk.command("set")
@click.option("--client", required=True, help="Client session.")
@click.argument("check")
@click.argument("param")
@click.argument("value")
@_common
def risk_set(client, check, param, value, config_path, admin_url, as_json) -> None:
    """Change one limit live, e.g. `risk set --client C1 max_order_qty max_qty 5000`.

    VALUE is read as YAML (5000, "0.05", [AAPL, MSFT], true). Journaled with who and when;
    kept across restarts until the config changes it."""
    import yaml

    parsed = yaml.safe_load(value)
    body = {"client": client, "check": check, "param": param, "value": parsed}
    data = call(config_path, admin_url, "POST", "/api/risk", body)
    _print(data, as_json, _limits_text(data))


@click.command("reload")
@click.option(
    "--removed-venue-orders",
    type=click.Choice(["leave", "cancel"]),
    default="leave",
    show_default=True,
    help="What happens to working orders at a venue no longer in the configuration.",
)
@_common
def reload_cmd(removed_venue_orders, config_path, admin_url, as_json) -> None:
    """Apply configuration changes to the running gateway (SIGHUP does the same, with leave)."""
    reply = call(
        config_path, admin_url, "POST", "/api/reload", {"removed_venue_orders": removed_venue_orders}
    )
    _print(reply, as_json, "\n".join(reply["changes"]) or "no changes")


ADMIN_COMMANDS = (sessions, venues, risk, reload_cmd)
