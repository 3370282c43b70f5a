"""``fixgw client``: send orders to the gateway as a configured client session would.

For people and scripts: prints every ExecutionReport and reject as one line (or one JSON object),
and the exit code says what happened: 0 accepted/answered, 1 rejected, 2 timeout, connection or usage
problem. By default it logs on with ResetSeqNumFlag=Y because a one-shot tool keeps no sequence store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import click
from simplefix import FixMessage

from gateway.config import ConfigError, load_config
from gateway.tools.fixclient import (
    ORD_TYPES,
    SIDES,
    TIFS,
    FixClient,
    FixClientError,
    FixClientTimeout,
    as_dict,
    describe,
    field,
)

EXIT_OK, EXIT_REJECTED, EXIT_FAILED = 0, 1, 2
_PRINTED_TYPES = frozenset({"8", "9", "3", "j"})
_TERMINAL_STATUSES = frozenset({"2", "3", "4", "8", "C"})  # Filled, DoneForDay, Canceled, Rejected, Expired


class Failed(click.ClickException):
    """Timeout, connection or configuration problem: ``Error: ...`` and exit code 2 (1 means rejected)."""

    exit_code = EXIT_FAILED


class _Number(click.ParamType):
    """A decimal number (positive unless ``signed``), kept as Decimal so nothing is lost to floats."""

    name = "number"

    def __init__(self, signed: bool = False) -> None:
        self.signed = signed

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not number.is_finite() or (not self.signed and number <= 0):
            self.fail(f"{value!r} is not a {'finite' if self.signed else 'positive'} number", param, ctx)
        return number


QTY = _Number()
PRICE = _Number(signed=True)  # spreads and some futures trade at negative prices
SIDE = click.Choice(["buy", "sell"], case_sensitive=False)


@dataclass
class _Options:
    config: str | None
    session: str
    host: str
    port: int | None
    timeout: float
    reset: bool


def _is_rejection(msg: FixMessage) -> bool:
    mtype = field(msg, 35)
    return mtype in ("9", "3", "j") or (mtype == "8" and field(msg, 39) == "8")


class _Run:
    """One logged-on session for one command: prints what arrives, maps outcomes to exit codes."""

    def __init__(self, opts: _Options, as_json: bool) -> None:
        try:
            cfg = load_config(opts.config)
        except ConfigError as exc:
            raise Failed(str(exc)) from None
        session = cfg.clients.get(opts.session)
        if session is None:
            known = ", ".join(cfg.clients) or "none"
            raise click.UsageError(f"unknown session {opts.session!r} (configured client sessions: {known})")
        self.as_json = as_json
        self.timeout = opts.timeout
        self.client = FixClient(
            opts.host,
            opts.port or cfg.acceptor.port,
            session.comp_id,
            session.gateway_comp_id,
            begin_string=session.begin_string,
            heartbeat_s=session.heartbeat_s,
            timeout=opts.timeout,
        )
        try:
            self.client.logon(reset_seq=opts.reset)
        except FixClientError as exc:
            self.client.close()
            raise Failed(str(exc)) from None

    def show(self, msg: FixMessage) -> None:
        click.echo(json.dumps(as_dict(msg)) if self.as_json else describe(msg))

    def await_answer(self, done: Callable[[FixMessage], bool], sent_seq: int, ids: set[str]) -> int:
        """Print order-flow messages until ``done`` (or a reject of our request); return the exit code."""

        def ours(msg: FixMessage) -> bool:
            mtype = field(msg, 35)
            if mtype in _PRINTED_TYPES:
                self.show(msg)
            if mtype == "3":
                return field(msg, 45) == str(sent_seq)
            if mtype == "j":
                return field(msg, 45) == str(sent_seq) or field(msg, 379) in ids
            if mtype == "9":
                return field(msg, 11) in ids
            return mtype == "8" and field(msg, 11) in ids and done(msg)

        try:
            answer = self.client.wait_for(ours, self.timeout)
        except FixClientTimeout as exc:
            raise Failed(f"no answer: {exc}") from None
        except FixClientError as exc:
            raise Failed(str(exc)) from None
        return EXIT_REJECTED if _is_rejection(answer) else EXIT_OK

    def finish(self) -> None:
        self.client.logout()


def _run(ctx: click.Context, as_json: bool, body: Callable[[_Run], int]) -> None:
    """Log on, run ``body``, always log out, exit with its code."""
    run = _Run(ctx.obj, as_json)
    try:
        code = body(run)
    finally:
        run.finish()
    ctx.exit(code)


def _order_type(type_: str | None, price: Decimal | None) -> str:
    """limit needs a PRICE, market takes none; default follows whether a PRICE was given."""
    type_ = type_ or ("limit" if price is not None else "market")
    if type_ == "limit" and price is None:
        raise click.UsageError("a limit order needs a PRICE")
    if type_ == "market" and price is not None:
        raise click.UsageError("a market order takes no PRICE")
    return ORD_TYPES[type_]


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object per message.")
type_option = click.option(
    "--type",
    "type_",
    type=click.Choice(list(ORD_TYPES), case_sensitive=False),
    help="Order type (default: limit if PRICE is given, else market).",
)
tif_option = click.option(
    "--tif",
    type=click.Choice(list(TIFS), case_sensitive=False),
    default="day",
    show_default=True,
    help="Time in force.",
)
cl_ord_id_option = click.option("--cl-ord-id", help="ClOrdID to use (default: a generated unique one).")


@click.group()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help="Gateway config file (default: $FIXGW_CONFIG or config/gateway.yaml).",
)
@click.option("--session", default="CLIENT1", show_default=True, help="Client session name from the config.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Gateway host.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Gateway port (default: the acceptor port from the config).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the logon and for each answer.",
)
@click.option(
    "--no-reset",
    is_flag=True,
    help="Log on without ResetSeqNumFlag=Y (this tool still starts at MsgSeqNum 1).",
)
@click.pass_context
def client(
    ctx: click.Context,
    config: str | None,
    session: str,
    host: str,
    port: int | None,
    timeout: float,
    no_reset: bool,
) -> None:
    """Act as a FIX client of the gateway: send orders, cancels, replaces, status requests, or listen.

    Exit code: 0 success, 1 rejected, 2 timeout, connection or usage problem.
    """
    ctx.obj = _Options(config, session, host, port, timeout, not no_reset)


@client.command()
@click.argument("symbol")
@click.argument("side", type=SIDE)
@click.argument("qty", type=QTY)
@click.argument("price", type=PRICE, required=False)
@type_option
@tif_option
@click.option("--venue", help="ExDestination(100): route to this venue.")
@cl_ord_id_option
@click.option(
    "--wait",
    type=click.Choice(["ack", "fill", "none"]),
    default="ack",
    show_default=True,
    help="ack: first report past PendingNew; fill: until filled or done; none: do not wait.",
)
@json_option
@click.pass_context
def new(
    ctx: click.Context,
    symbol: str,
    side: str,
    qty: Decimal,
    price: Decimal | None,
    type_: str | None,
    tif: str,
    venue: str | None,
    cl_ord_id: str | None,
    wait: str,
    as_json: bool,
) -> None:
    """Send a NewOrderSingle: SYMBOL buy|sell QTY [PRICE]."""
    ord_type = _order_type(type_, price)

    def body(run: _Run) -> int:
        cl = run.client.new_order(
            symbol,
            SIDES[side],
            qty,
            price,
            ord_type=ord_type,
            tif=TIFS[tif],
            cl_ord_id=cl_ord_id,
            ex_destination=venue,
        )
        if wait == "none":
            click.echo(json.dumps({"ClOrdID": cl}) if as_json else f"Sent NewOrderSingle ClOrdID={cl}")
            return EXIT_OK
        if wait == "ack":
            return run.await_answer(lambda m: field(m, 39) != "A", run.client.last_seq, {cl})
        return run.await_answer(lambda m: field(m, 39) in _TERMINAL_STATUSES, run.client.last_seq, {cl})

    _run(ctx, as_json, body)


@client.command()
@click.argument("orig_cl_ord_id")
@click.argument("symbol")
@click.argument("side", type=SIDE)
@click.argument("qty", type=QTY)
@cl_ord_id_option
@json_option
@click.pass_context
def cancel(
    ctx: click.Context,
    orig_cl_ord_id: str,
    symbol: str,
    side: str,
    qty: Decimal,
    cl_ord_id: str | None,
    as_json: bool,
) -> None:
    """Send an OrderCancelRequest and wait for the Canceled report or an OrderCancelReject."""

    def body(run: _Run) -> int:
        cl = run.client.cancel(orig_cl_ord_id, symbol, SIDES[side], qty, cl_ord_id=cl_ord_id)
        return run.await_answer(lambda m: field(m, 150) in ("4", "8"), run.client.last_seq, {cl})

    _run(ctx, as_json, body)


@client.command()
@click.argument("orig_cl_ord_id")
@click.argument("symbol")
@click.argument("side", type=SIDE)
@click.argument("qty", type=QTY)
@click.argument("price", type=PRICE, required=False)
@type_option
@tif_option
@cl_ord_id_option
@json_option
@click.pass_context
def replace(
    ctx: click.Context,
    orig_cl_ord_id: str,
    symbol: str,
    side: str,
    qty: Decimal,
    price: Decimal | None,
    type_: str | None,
    tif: str,
    cl_ord_id: str | None,
    as_json: bool,
) -> None:
    """Send an OrderCancelReplaceRequest and wait for the Replaced report or an OrderCancelReject."""
    ord_type = _order_type(type_, price)

    def body(run: _Run) -> int:
        cl = run.client.replace(
            orig_cl_ord_id,
            symbol,
            SIDES[side],
            qty,
            price,
            ord_type=ord_type,
            tif=TIFS[tif],
            cl_ord_id=cl_ord_id,
        )
        return run.await_answer(lambda m: field(m, 150) in ("5", "8"), run.client.last_seq, {cl})

    _run(ctx, as_json, body)


@client.command()
@click.argument("cl_ord_id")
@click.argument("symbol")
@click.argument("side", type=SIDE)
@click.option("--order-id", help="OrderID(37), if known.")
@json_option
@click.pass_context
def status(
    ctx: click.Context, cl_ord_id: str, symbol: str, side: str, order_id: str | None, as_json: bool
) -> None:
    """Send an OrderStatusRequest and print the status ExecutionReport."""

    def body(run: _Run) -> int:
        run.client.status(cl_ord_id, symbol, SIDES[side], order_id=order_id)
        # FIX 4.4 answers with ExecType=I, FIX 4.2 with ExecTransType=3 (Status)
        return run.await_answer(
            lambda m: field(m, 150) == "I" or field(m, 20) == "3", run.client.last_seq, {cl_ord_id}
        )

    _run(ctx, as_json, body)


@client.command()
@click.option(
    "--seconds",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@json_option
@click.pass_context
def listen(ctx: click.Context, seconds: float | None, as_json: bool) -> None:
    """Log on and print every message the gateway sends until Ctrl-C or --seconds."""

    def body(run: _Run) -> int:
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            while deadline is None or (remaining := deadline - time.monotonic()) > 0:
                msg = run.client.recv(1.0 if deadline is None else min(1.0, remaining))
                if msg is None:
                    continue
                run.show(msg)
                if field(msg, 35) == "5":
                    raise Failed("the gateway logged out")
        except KeyboardInterrupt:
            pass
        except FixClientError as exc:
            raise Failed(str(exc)) from None
        return EXIT_OK

    _run(ctx, as_json, body)


@client.command()
@click.option("--symbol", default="AAPL", show_default=True)
@click.option(
    "--price",
    type=PRICE,
    default=Decimal("185"),
    show_default=True,
    help="IOC buy limit below the market (and inside the default 10% price collar around AAPL's "
    "190 reference) so the venue acknowledges and cancels it.",
)
@click.option("--count", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--warmup", type=click.IntRange(0), default=100, show_default=True)
@json_option
@click.pass_context
def roundtrip(
    ctx: click.Context, symbol: str, price: Decimal, count: int, warmup: int, as_json: bool
) -> None:
    """Measure NewOrderSingle -> first ExecutionReport, one order at a time (percentiles in µs)."""
    from gateway.tools.roundtrip import measure

    def body(run: _Run) -> int:
        try:
            result = measure(run.client, symbol, str(price), count, warmup, run.timeout)
        except (FixClientError, RuntimeError) as exc:
            raise Failed(str(exc)) from None
        s = result.summary()
        if as_json:
            click.echo(json.dumps(s))
        else:
            click.echo(
                f"round trip NewOrderSingle -> first ExecutionReport over {s['count']} orders (µs): "
                f"p50 {s['p50']}  p90 {s['p90']}  p99 {s['p99']}  p99.9 {s['p99.9']}  max {s['max']}"
            )
        return EXIT_OK

    _run(ctx, False, body)
