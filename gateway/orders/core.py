"""The order core: the one writer of order state.

Plain, synchronous, deterministic code with no I/O: each handler takes one domain
message and returns an :class:`Outcome` (reports for clients, commands for venues,
the orders it changed and notes for the journal). The runtime journals the
outcome, then sends it. The core never sees a FIX tag, a socket or a thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    TimeInForce,
)
from gateway.orders.ids import IdGenerator
from gateway.orders.messages import (
    CancelChildOrder,
    CancelOrder,
    CancelReject,
    ExecutionReport,
    NewOrder,
    ReplaceChildOrder,
    ReplaceOrder,
    RequestStatus,
    SendChildOrder,
    VenueCancelReject,
    VenueCommand,
    VenueExecution,
)
from gateway.orders.model import ChildOrder, ClientOrder, PendingChange
from gateway.orders.reports import cancel_reject, execution_report, reject_unknown
from gateway.orders.state import CANCELABLE, REPLACEABLE, Event, IllegalTransition, next_status
from gateway.positions.book import Position
from gateway.risk.api import OrderIntent
from gateway.risk.pretrade import PreTrade
from gateway.risk.trading_state import StateChange, TradingState
from gateway.routing.api import ChildSpec, RouteReject
from gateway.routing.router import Router

log = logging.getLogger("gateway.orders")

ClientReport = ExecutionReport | CancelReject


@dataclass
class Outcome:
    """What one inbound message caused: journal it, then send it, in that order."""

    to_clients: list[ClientReport] = field(default_factory=list)
    to_venues: list[VenueCommand] = field(default_factory=list)
    changed: list[ClientOrder | ChildOrder] = field(default_factory=list)
    notes: list[tuple[str | None, str]] = field(default_factory=list)  # (OrderID, text)
    positions: list[Position] = field(default_factory=list)
    state_changes: list[StateChange] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)  # OrderIDs a kill switch is canceling

    def touch(self, *orders: ClientOrder | ChildOrder) -> None:
        for o in orders:
            if not any(o is c for c in self.changed):
                self.changed.append(o)

    def note(self, order_id: str | None, text: str) -> None:
        self.notes.append((order_id, text))


_TERMINAL_EVENTS = {
    ExecType.CANCELED: Event.CANCELED,
    ExecType.EXPIRED: Event.EXPIRED,
    ExecType.DONE_FOR_DAY: Event.DONE_FOR_DAY,
}


def _settles(handler):
    """Every public handler ends by bringing the risk aggregates in line with what changed."""

    @functools.wraps(handler)
    def settled(self: OrderCore, *args):
        out = handler(self, *args)
        for order in out.changed:
            if isinstance(order, ClientOrder):
                self.pretrade.settle(order)
        return out

    return settled


class OrderCore:
    def __init__(
        self,
        ids: IdGenerator,
        routes: dict[str, str | None],
        venues: Iterable[str],
        ack_timeout_ns: int,
        clock: Callable[[], int],
        pretrade: PreTrade | None = None,
        router: Router | None = None,
    ):
        self.ids = ids
        self.pretrade = pretrade or PreTrade(clock)
        self.router = router  # None: one child at ExDestination or the instrument's default venue
        self.routes = routes  # symbol -> default venue (None: ExDestination required)
        self.venues = set(venues)
        self.venues_up: set[str] = set()
        self.ack_timeout_ns = ack_timeout_ns
        self.clock = clock
        self.orders: dict[str, ClientOrder] = {}
        self._by_client: dict[tuple[str, str], ClientOrder] = {}
        self._used_cl_ord_ids: set[tuple[str, str]] = set()
        self._children: dict[tuple[str, str], ChildOrder] = {}
        self._awaiting_ack: dict[str, ClientOrder] = {}  # PendingNew orders, for check_timeouts
        self._awaiting_change: dict[str, ClientOrder] = {}  # pending cancel/replace, likewise

    # ------------------------------------------------------------ state queries

    def order_for(self, session: str, cl_ord_id: str) -> ClientOrder | None:
        return self._by_client.get((session, cl_ord_id))

    def owner_of(self, venue: str, child_cl_ord_id: str) -> tuple[str | None, str | None]:
        """The client session and Account of the parent of a child order (for venue dialects)."""
        child = self._children.get((venue, child_cl_ord_id))
        order = self.orders.get(child.parent_id) if child else None
        return (order.session, order.account) if order else (None, None)

    def open_children(self, venue: str) -> list[ChildOrder]:
        return [c for o in self.open_orders() for c in o.children if c.venue == venue and c.is_open]

    def open_orders(self) -> list[ClientOrder]:
        return [o for o in self.orders.values() if o.is_open]

    def set_venue_up(self, venue: str, up: bool) -> None:
        (self.venues_up.add if up else self.venues_up.discard)(venue)

    # ------------------------------------------------------------ restore

    def restore(
        self,
        orders: Iterable[ClientOrder],
        used_cl_ord_ids: Iterable[tuple[str, str]],
        positions: Iterable[Position] = (),
    ) -> None:
        """Rebuild from the journal: open orders, every ClOrdID already used, positions."""
        orders = list(orders)
        self._used_cl_ord_ids.update(used_cl_ord_ids)
        self.pretrade.restore(orders, positions)
        for order in orders:
            self._register(order)
            for child in order.children:
                self._register_child(child, child.cl_ord_id)
                if child.pending:
                    self._register_child(child, child.pending.cl_ord_id)

    def _register(self, order: ClientOrder) -> None:
        self.orders[order.order_id] = order
        if order.status is OrdStatus.PENDING_NEW and order.children:
            self._awaiting_ack[order.order_id] = order
        for cid in order.cl_ord_ids:
            self._by_client[(order.session, cid)] = order
            self._used_cl_ord_ids.add((order.session, cid))
        if order.pending:
            self._by_client[(order.session, order.pending.cl_ord_id)] = order
            if order.pending.deadline_ns is not None:
                self._awaiting_change[order.order_id] = order
            self._used_cl_ord_ids.add((order.session, order.pending.cl_ord_id))

    def _register_child(self, child: ChildOrder, cl_ord_id: str) -> None:
        self._children[(child.venue, cl_ord_id)] = child

    # ------------------------------------------------------------ client commands

    def resent_order(self, session: str, cmd: NewOrder) -> Outcome | None:
        """A NewOrderSingle the client resent (PossDup/PossResend): if its ClOrdID was already
        accepted, answer with the order's current status and send nothing to a venue; None when
        it is new to the gateway (then it is processed as any order)."""
        order = self._by_client.get((session, cmd.cl_ord_id))
        if order is None:
            return None
        out = Outcome()
        out.to_clients.append(
            execution_report(order, self.ids.exec_id(), ExecType.ORDER_STATUS, cl_ord_id=cmd.cl_ord_id)
        )
        out.note(order.order_id, f"{session} resent {cmd.cl_ord_id} (PossDup): answered with its status")
        return out

    @_settles
    def new_order(self, session: str, cmd: NewOrder) -> Outcome:
        out = Outcome()
        now = self.clock()
        throttled = self.pretrade.on_message(session)
        if (session, cmd.cl_ord_id) in self._used_cl_ord_ids:
            out.to_clients.append(
                reject_unknown(
                    session,
                    self.ids.exec_id(),
                    ExecType.REJECTED,
                    cmd.cl_ord_id,
                    cmd.symbol,
                    cmd.side,
                    OrdRejReason.DUPLICATE_ORDER,
                    f"duplicate ClOrdID {cmd.cl_ord_id} on session {session}",
                    cmd.qty,
                )
            )
            out.note(None, f"{session} reused ClOrdID {cmd.cl_ord_id}: rejected")
            return out

        order = ClientOrder(
            order_id=self.ids.order_id(),
            session=session,
            cl_ord_id=cmd.cl_ord_id,
            symbol=cmd.symbol,
            side=cmd.side,
            ord_type=cmd.ord_type,
            qty=cmd.qty,
            price=cmd.price,
            tif=cmd.tif,
            account=cmd.account,
            cl_ord_ids=[cmd.cl_ord_id],
            created_ns=now,
            updated_ns=now,
        )
        self._register(order)
        out.touch(order)

        problem = throttled or self._validate(cmd)
        venue = cmd.ex_destination or self.routes.get(cmd.symbol)
        if problem is None:
            if cmd.ex_destination is not None and cmd.ex_destination not in self.venues:
                problem = OrdRejReason.BROKER_OPTION, f"unknown venue {cmd.ex_destination}"
            elif self.router is None:  # one venue: ExDestination, else the instrument's default
                if venue is None:
                    problem = (
                        OrdRejReason.OTHER,
                        f"no route for {cmd.symbol}: no ExDestination and no default venue",
                    )
                elif venue not in self.venues:
                    problem = OrdRejReason.BROKER_OPTION, f"unknown venue {venue}"
                elif venue not in self.venues_up:
                    problem = OrdRejReason.EXCHANGE_CLOSED, f"venue {venue} is not logged on"
        if problem is None:
            # With a router, only a venue the client named is known before routing; a halted
            # venue is then avoided by routing rather than refusing the order.
            scope_venue = cmd.ex_destination if self.router is not None else venue
            intent = OrderIntent(
                session,
                cmd.account,
                cmd.symbol,
                cmd.side,
                cmd.ord_type,
                cmd.qty,
                cmd.price,
                cmd.tif,
                scope_venue,
            )
            decision, problem = self.pretrade.admit(intent)
            if decision is not None:
                out.note(order.order_id, decision.describe())
        specs: list[ChildSpec] = []
        if problem is None:
            if self.router is None:
                specs = [ChildSpec(venue, cmd.qty, cmd.price, cmd.ord_type, cmd.tif)]
            else:
                routed = self._route(order, cmd.qty, cmd.ex_destination, frozenset())
                if isinstance(routed, RouteReject):
                    problem = OrdRejReason.EXCHANGE_CLOSED, routed.text
                else:
                    specs = routed
        if problem is not None:
            reason, text = problem
            self._reject(order, reason, text, out)
            return out
        for spec in specs:
            self._send_child(order, spec, now, out)
        self._awaiting_ack[order.order_id] = order
        return out

    def _route(
        self, order: ClientOrder, qty, ex_destination: str | None, exclude: frozenset[str]
    ) -> list[ChildSpec] | RouteReject:
        halted = {v for v, (state, _) in self.pretrade.states.venues.items() if state is TradingState.HALTED}
        return self.router.route(
            order.session, order.symbol, order.side, order.ord_type, qty, order.price, order.tif,
            ex_destination, self.venues_up, halted, self.clock(), exclude,
        )  # fmt: skip

    def _reroute(self, order: ClientOrder, child: ChildOrder, out: Outcome) -> bool:
        """Send a rejected (or venue-canceled) child's remainder elsewhere, when configured;
        False when it was not."""
        if self.router is None or not self.router.reroute_on_child_reject:
            return False
        remainder = child.qty - child.fills.cum_qty
        if order.pending is not None or order.status.is_terminal or remainder <= 0:
            return False
        failed = frozenset(
            {child.venue} | {c.venue for c in order.children if c.status is OrdStatus.REJECTED}
        )
        routed = self._route(order, remainder, None, failed)
        if isinstance(routed, RouteReject):
            out.note(order.order_id, f"re-route of {remainder} failed: {routed.text}")
            return False
        now = self.clock()
        for spec in routed:
            self._send_child(order, spec, now, out)
        out.note(order.order_id, f"re-routed {remainder} away from {child.venue}")
        log.info("%s %s: re-routed %s away from %s", order.session, order.order_id, remainder, child.venue)
        return True

    def _replace_by_new(self, order: ClientOrder, old: ChildOrder, cp: PendingChange, out: Outcome) -> bool:
        """The venue canceled the old child of an amend by cancel and new: send the new terms."""
        if order.pending is None or order.pending.kind is not OrdStatus.PENDING_REPLACE:
            return False
        remaining = cp.qty - old.fills.cum_qty
        if remaining <= 0:  # fills while the cancel was on its way used it all up
            self._finish_replace(order, out)
            return True
        spec = ChildSpec(old.venue, remaining, cp.price, cp.ord_type or old.ord_type, cp.tif or old.tif)
        new = self._send_child(order, spec, self.clock(), out)
        order.pending.replacement = new.child_id
        return True

    def _finish_replace(self, order: ClientOrder, out: Outcome) -> None:
        """Apply the client's pending replace to the parent and tell the client."""
        pp = order.pending
        event = Event.REPLACED_TO_FILLED if pp.qty <= order.fills.cum_qty else Event.REPLACED
        order.status = next_status(order.status, event)
        orig = order.cl_ord_id
        order.qty, order.price, order.cl_ord_id = pp.qty, pp.price, pp.cl_ord_id
        order.ord_type, order.tif = pp.ord_type or order.ord_type, pp.tif or order.tif
        order.pending = None
        out.to_clients.append(
            execution_report(order, self.ids.exec_id(), ExecType.REPLACED, orig_cl_ord_id=orig)
        )

    def _send_child(self, order: ClientOrder, spec: ChildSpec, now: int, out: Outcome) -> ChildOrder:
        child = ChildOrder(
            child_id=self.ids.child_cl_ord_id(),
            parent_id=order.order_id,
            venue=spec.venue,
            cl_ord_id="",
            symbol=order.symbol,
            side=order.side,
            ord_type=spec.ord_type,
            qty=spec.qty,
            price=spec.price,
            tif=spec.tif,
            ack_deadline_ns=now + self.ack_timeout_ns,
            updated_ns=now,
        )
        child.cl_ord_id = child.child_id
        order.children.append(child)
        self._register_child(child, child.cl_ord_id)
        out.touch(order, child)
        out.to_venues.append(
            SendChildOrder(
                spec.venue, child.cl_ord_id, order.symbol, order.side, spec.ord_type, spec.qty, spec.price,
                spec.tif, order.account,
            )
        )  # fmt: skip
        if self.router is not None:
            self.router.on_sent(spec.venue, spec.qty)
        out.note(order.order_id, f"routed {spec.qty} to {spec.venue} as {child.cl_ord_id} ({spec.tif.name})")
        return child

    def _validate(self, cmd: NewOrder | ReplaceOrder) -> tuple[OrdRejReason, str] | None:
        if cmd.symbol not in self.routes:
            return OrdRejReason.UNKNOWN_SYMBOL, f"unknown symbol {cmd.symbol}"
        if cmd.qty <= 0:
            return OrdRejReason.OTHER, f"OrderQty must be positive, got {cmd.qty}"
        if cmd.ord_type is OrdType.LIMIT and (cmd.price is None or cmd.price <= 0):
            return OrdRejReason.OTHER, "a limit order needs a positive Price"
        return None

    def _reject(self, order: ClientOrder, reason: OrdRejReason, text: str, out: Outcome) -> None:
        order.apply(Event.REJECTED)
        order.text = text
        order.updated_ns = self.clock()
        out.touch(order)
        out.to_clients.append(
            execution_report(order, self.ids.exec_id(), ExecType.REJECTED, ord_rej_reason=reason, text=text)
        )
        out.note(order.order_id, f"rejected: {text}")

    def _change_refused(
        self, session: str, cmd: CancelOrder | ReplaceOrder, response_to: CxlRejResponseTo, out: Outcome
    ) -> ClientOrder | None:
        """The checks shared by cancel and replace; returns the order when the change may go ahead."""
        order = self._by_client.get((session, cmd.orig_cl_ord_id))

        def refuse(reason: CxlRejReason, text: str) -> None:
            out.to_clients.append(
                cancel_reject(session, order, cmd.cl_ord_id, cmd.orig_cl_ord_id, response_to, reason, text)
            )
            out.note(order.order_id if order else None, f"{response_to.name.lower()} refused: {text}")

        if (session, cmd.cl_ord_id) in self._used_cl_ord_ids:
            refuse(CxlRejReason.DUPLICATE_CL_ORD_ID, f"duplicate ClOrdID {cmd.cl_ord_id}")
        elif order is None:
            refuse(CxlRejReason.UNKNOWN_ORDER, f"unknown order {cmd.orig_cl_ord_id}")
        elif order.status.is_terminal:
            refuse(CxlRejReason.TOO_LATE, f"order is already {order.status.name.lower()}")
        elif order.pending is not None:
            refuse(CxlRejReason.ALREADY_PENDING, f"order is already {order.pending.kind.name.lower()}")
        elif cmd.symbol != order.symbol or cmd.side != order.side:
            refuse(CxlRejReason.BROKER_OPTION, "Symbol and Side must match the original order")
        else:
            return order
        return None

    @_settles
    def cancel_order(self, session: str, cmd: CancelOrder) -> Outcome:
        out = Outcome()
        self.pretrade.on_message(session)  # counted, never refused: a client can always cancel
        order = self._change_refused(session, cmd, CxlRejResponseTo.CANCEL, out)
        if order is None:
            return out
        if order.status not in CANCELABLE:  # unreachable while the table says so; kept as a guard
            out.to_clients.append(
                cancel_reject(
                    session,
                    order,
                    cmd.cl_ord_id,
                    cmd.orig_cl_ord_id,
                    CxlRejResponseTo.CANCEL,
                    CxlRejReason.BROKER_OPTION,
                    f"cannot cancel in {order.status.name}",
                )
            )
            return out
        order.pending = PendingChange(OrdStatus.PENDING_CANCEL, cmd.cl_ord_id, order.cl_ord_id)
        order.pending.deadline_ns = self.clock() + self.ack_timeout_ns
        order.cl_ord_ids.append(cmd.cl_ord_id)
        self._register(order)
        order.updated_ns = self.clock()
        out.touch(order)
        out.to_clients.append(
            execution_report(
                order,
                self.ids.exec_id(),
                ExecType.PENDING_CANCEL,
                cl_ord_id=cmd.cl_ord_id,
                orig_cl_ord_id=order.cl_ord_id,
            )
        )
        for child in order.children:
            if child.is_open and child.pending is None:
                self._cancel_child(child, out)
        out.note(order.order_id, f"cancel requested by {cmd.cl_ord_id}")
        return out

    def _cancel_child(self, child: ChildOrder, out: Outcome, unsolicited: bool = False) -> None:
        """Ask the child's venue to cancel it, under a new gateway ClOrdID.

        A replace still in flight is named as the original: the venue handles requests in
        order, so by the time it sees the cancel the replace's ClOrdID is the live one.
        """
        new_id = self.ids.child_cl_ord_id()
        in_flight = child.pending
        replacing = in_flight is not None and in_flight.kind is OrdStatus.PENDING_REPLACE
        orig = in_flight.cl_ord_id if replacing else child.cl_ord_id
        child.pending = PendingChange(OrdStatus.PENDING_CANCEL, new_id, orig, unsolicited=unsolicited)
        self._register_child(child, new_id)
        out.touch(child)
        out.to_venues.append(
            CancelChildOrder(
                child.venue, new_id, orig, child.venue_order_id, child.symbol, child.side, child.qty
            )
        )

    @_settles
    def replace_order(self, session: str, cmd: ReplaceOrder) -> Outcome:
        out = Outcome()
        throttled = self.pretrade.on_message(session)
        order = self._change_refused(session, cmd, CxlRejResponseTo.REPLACE, out)
        if order is None:
            return out

        def refuse(reason: CxlRejReason, text: str) -> Outcome:
            out.to_clients.append(
                cancel_reject(
                    session, order, cmd.cl_ord_id, cmd.orig_cl_ord_id, CxlRejResponseTo.REPLACE, reason, text
                )
            )
            out.note(order.order_id, f"replace refused: {text}")
            return out

        if throttled is not None:
            return refuse(CxlRejReason.BROKER_OPTION, throttled[1])
        if order.status not in REPLACEABLE:
            return refuse(CxlRejReason.BROKER_OPTION, "order not yet acknowledged by the venue")
        if cmd.qty <= order.fills.cum_qty:
            return refuse(
                CxlRejReason.BROKER_OPTION,
                f"new OrderQty {cmd.qty} must exceed CumQty {order.fills.cum_qty}",
            )
        if cmd.ord_type is OrdType.LIMIT and (cmd.price is None or cmd.price <= 0):
            return refuse(CxlRejReason.BROKER_OPTION, "a limit order needs a positive Price")
        # The resting child, when a strategy split the order (sweeping children are IOC).
        child = next((c for c in reversed(order.children) if c.is_open and c.pending is None), None)
        if child is None:
            return refuse(CxlRejReason.TOO_LATE, "no working child order to amend")
        child_qty = child.qty + (cmd.qty - order.qty)
        if child_qty <= child.fills.cum_qty:
            return refuse(CxlRejReason.BROKER_OPTION, "new OrderQty is below the venue's filled quantity")
        intent = OrderIntent(
            session,
            order.account,
            order.symbol,
            order.side,
            cmd.ord_type,
            cmd.qty,
            cmd.price,
            cmd.tif,
            child.venue,
            is_replace=True,
            old_qty=order.qty,
            old_price=order.price,
            cum_qty=order.fills.cum_qty,
        )
        decision, problem = self.pretrade.admit(intent)
        if decision is not None:
            out.note(order.order_id, decision.describe())
        if problem is not None:
            return refuse(CxlRejReason.BROKER_OPTION, problem[1])  # the original order stays live

        order.pending = PendingChange(
            OrdStatus.PENDING_REPLACE,
            cmd.cl_ord_id,
            order.cl_ord_id,
            cmd.qty,
            cmd.price,
            cmd.ord_type,
            cmd.tif,
            self.clock() + self.ack_timeout_ns,
        )
        order.cl_ord_ids.append(cmd.cl_ord_id)
        self._register(order)
        order.updated_ns = self.clock()
        out.to_clients.append(
            execution_report(
                order,
                self.ids.exec_id(),
                ExecType.PENDING_REPLACE,
                cl_ord_id=cmd.cl_ord_id,
                orig_cl_ord_id=order.cl_ord_id,
            )
        )
        new_id = self.ids.child_cl_ord_id()
        if self.router is not None and not self.router.supports_replace(child.venue):
            # The venue cannot amend: cancel the child, then send the new terms as a new one.
            child.pending = PendingChange(
                OrdStatus.PENDING_CANCEL, new_id, child.cl_ord_id, child_qty, cmd.price, cmd.ord_type,
                cmd.tif, replacing=True,
            )  # fmt: skip
            self._register_child(child, new_id)
            out.touch(order, child)
            out.to_venues.append(
                CancelChildOrder(child.venue, new_id, child.cl_ord_id, child.venue_order_id, child.symbol,
                                 child.side, child.qty)
            )  # fmt: skip
            out.note(
                order.order_id, f"replace by cancel and new at {child.venue} requested by {cmd.cl_ord_id}"
            )
            return out
        child.pending = PendingChange(
            OrdStatus.PENDING_REPLACE, new_id, child.cl_ord_id, child_qty, cmd.price, cmd.ord_type, cmd.tif
        )
        self._register_child(child, new_id)
        out.touch(order, child)
        out.to_venues.append(
            ReplaceChildOrder(
                child.venue,
                new_id,
                child.cl_ord_id,
                child.venue_order_id,
                child.symbol,
                child.side,
                cmd.ord_type,
                child_qty,
                cmd.price,
                cmd.tif,
            )
        )
        out.note(order.order_id, f"replace requested by {cmd.cl_ord_id}: qty {cmd.qty} price {cmd.price}")
        return out

    def order_status(self, session: str, cmd: RequestStatus) -> Outcome:
        out = Outcome()
        self.pretrade.on_message(session)  # counted toward the message rate; always answered
        order = self._by_client.get((session, cmd.cl_ord_id))
        if order is None and cmd.order_id:
            found = self.orders.get(cmd.order_id)
            order = found if found and found.session == session else None
        if order is None:
            out.to_clients.append(
                reject_unknown(
                    session,
                    self.ids.exec_id(),
                    ExecType.ORDER_STATUS,
                    cmd.cl_ord_id,
                    cmd.symbol,
                    cmd.side,
                    OrdRejReason.UNKNOWN_ORDER,
                    f"unknown order {cmd.cl_ord_id}",
                )
            )
            return out
        out.to_clients.append(execution_report(order, self.ids.exec_id(), ExecType.ORDER_STATUS))
        return out

    # ------------------------------------------------------------ venue reports

    def child_for(self, venue: str, cl_ord_id: str, orig: str | None = None) -> ChildOrder | None:
        """The child order a venue's message names, by ClOrdID or OrigClOrdID."""
        return self._child_for(venue, cl_ord_id, orig)

    def _child_for(self, venue: str, cl_ord_id: str, orig: str | None) -> ChildOrder | None:
        child = self._children.get((venue, cl_ord_id))
        if child is None and orig:
            child = self._children.get((venue, orig))
        return child

    @_settles
    def venue_execution(self, rpt: VenueExecution) -> Outcome:
        out = Outcome()
        child = self._child_for(rpt.venue, rpt.cl_ord_id, rpt.orig_cl_ord_id)
        if child is None:
            out.note(None, f"{rpt.venue} reported unknown order {rpt.cl_ord_id} ({rpt.exec_type.name})")
            log.warning("%s: execution report for unknown child %s", rpt.venue, rpt.cl_ord_id)
            return out
        order = self.orders[child.parent_id]
        if rpt.exec_id in child.exec_ids:
            out.note(order.order_id, f"{rpt.venue} ExecID {rpt.exec_id} already applied: ignored")
            return out
        try:
            self._apply_execution(order, child, rpt, out)
        except IllegalTransition as exc:
            log.error(
                "%s %s: refused %s from %s: %s",
                order.order_id,
                child.cl_ord_id,
                rpt.exec_type.name,
                rpt.venue,
                exc,
            )
            out.note(order.order_id, f"refused {rpt.exec_type.name} from {rpt.venue}: {exc}")
            out.to_clients.clear()
            return out
        child.exec_ids.add(rpt.exec_id)
        if rpt.venue_order_id and rpt.venue_order_id != "NONE":
            child.venue_order_id = rpt.venue_order_id
        child.updated_ns = order.updated_ns = self.clock()
        out.touch(order, child)
        return out

    def _apply_execution(
        self, order: ClientOrder, child: ChildOrder, rpt: VenueExecution, out: Outcome
    ) -> None:
        """Compute every new status first, so an illegal transition leaves nothing half-applied."""
        et = rpt.exec_type
        if et is ExecType.NEW:
            child_next = next_status(child.status, Event.ACKNOWLEDGED)
            pp = order.pending
            if pp is not None and pp.replacement == child.child_id:  # an amend by cancel and new is done
                child.status, child.ack_deadline_ns = child_next, None
                self._finish_replace(order, out)
                return
            first_ack = order.status is OrdStatus.PENDING_NEW
            parent_next = next_status(order.status, Event.ACKNOWLEDGED) if first_ack else order.status
            child.status, child.ack_deadline_ns = child_next, None
            order.status = parent_next
            if first_ack:
                out.to_clients.append(execution_report(order, self.ids.exec_id(), ExecType.NEW))
            return

        if et is ExecType.TRADE:
            if not rpt.last_qty or rpt.last_px is None:
                raise IllegalTransition(child.status, Event.PARTIALLY_FILLED)
            child_cum = child.fills.cum_qty + rpt.last_qty
            parent_cum = order.fills.cum_qty + rpt.last_qty
            child_next = next_status(
                child.status, Event.FILLED if child_cum >= child.qty else Event.PARTIALLY_FILLED
            )
            parent_next = next_status(
                order.status, Event.FILLED if parent_cum >= order.qty else Event.PARTIALLY_FILLED
            )
            child.fills.add(rpt.last_qty, rpt.last_px)
            order.fills.add(rpt.last_qty, rpt.last_px)
            child.status, child.ack_deadline_ns = child_next, None
            order.status = parent_next
            if child.status.is_terminal:
                child.pending = None
            # A pending cancel/replace stays: the venue answers it with a "too late" reject.
            out.to_clients.append(
                execution_report(
                    order,
                    self.ids.exec_id(),
                    ExecType.TRADE,
                    last_qty=rpt.last_qty,
                    last_px=rpt.last_px,
                    last_mkt=rpt.venue,
                )
            )
            position, change = self.pretrade.on_fill(order, rpt.last_qty, rpt.last_px)
            out.positions.append(position)
            self.state_changed(change, out)
            return

        if et in _TERMINAL_EVENTS:
            event = _TERMINAL_EVENTS[et]
            child_next = next_status(child.status, event)
            others_done = all(c.status.is_terminal for c in order.children if c is not child)
            parent_next = next_status(order.status, event) if others_done else order.status
            cp = child.pending
            killed = cp is not None and cp.unsolicited
            asked = cp is not None and cp.kind is OrdStatus.PENDING_CANCEL
            if asked:
                child.cl_ord_id = cp.cl_ord_id
            child.status = child_next
            child.pending, child.ack_deadline_ns = None, None
            if (
                asked
                and cp.replacing
                and et is ExecType.CANCELED
                and self._replace_by_new(order, child, cp, out)
            ):
                return
            # A resting child the venue canceled on its own (not IOC/FOK remainders, not our
            # cancels): its remainder goes elsewhere when routing says so.
            resting = child.tif in (TimeInForce.DAY, TimeInForce.GTC)
            if not asked and resting and order.pending is None and self._reroute(order, child, out):
                return
            if not others_done:
                return
            pending = order.pending
            order.status = parent_next
            if (
                pending is not None
                and pending.kind is OrdStatus.PENDING_CANCEL
                and not pending.unsolicited
                and et is ExecType.CANCELED
            ):  # the client's own cancel, confirmed
                order.pending = None
                orig = order.cl_ord_id
                order.cl_ord_id = pending.cl_ord_id
                out.to_clients.append(execution_report(order, self.ids.exec_id(), et, orig_cl_ord_id=orig))
                return
            if pending is not None and pending.unsolicited:
                order.pending = None
            if killed or (pending is not None and pending.unsolicited):
                text = (
                    pending.reason if pending is not None else None
                ) or "canceled by the gateway's kill switch"
            else:
                text = f"{rpt.venue}: {rpt.text}" if rpt.text else f"{et.name.lower()} by {rpt.venue}"
            order.text = text
            out.to_clients.append(execution_report(order, self.ids.exec_id(), et, text=text))
            if order.pending is not None:  # the client's replace can no longer happen: say so now
                self._refuse_pending(
                    order, CxlRejReason.TOO_LATE, f"order is already {order.status.name.lower()}", out
                )
            return

        if et is ExecType.REPLACED:
            cp = child.pending
            if cp is None or cp.kind is not OrdStatus.PENDING_REPLACE:
                raise IllegalTransition(child.status, Event.REPLACED)
            child_event = Event.REPLACED_TO_FILLED if cp.qty <= child.fills.cum_qty else Event.REPLACED
            child_next = next_status(child.status, child_event)
            pp = order.pending
            parent_next = order.status
            if pp is not None and pp.kind is OrdStatus.PENDING_REPLACE:
                parent_event = Event.REPLACED_TO_FILLED if pp.qty <= order.fills.cum_qty else Event.REPLACED
                parent_next = next_status(order.status, parent_event)
            child.qty, child.price, child.cl_ord_id = cp.qty, cp.price, cp.cl_ord_id
            child.ord_type, child.tif = cp.ord_type or child.ord_type, cp.tif or child.tif
            child.status, child.pending = child_next, None
            if pp is None or pp.kind is not OrdStatus.PENDING_REPLACE:
                return
            orig = order.cl_ord_id
            order.qty, order.price, order.cl_ord_id = pp.qty, pp.price, pp.cl_ord_id
            order.ord_type, order.tif = pp.ord_type or order.ord_type, pp.tif or order.tif
            order.status, order.pending = parent_next, None
            out.to_clients.append(
                execution_report(order, self.ids.exec_id(), ExecType.REPLACED, orig_cl_ord_id=orig)
            )
            return

        if et is ExecType.REJECTED:
            child.status = next_status(child.status, Event.REJECTED)
            child.ack_deadline_ns, child.pending = None, None
            self.state_changed(self.pretrade.on_venue_reject(order.session), out)
            text = f"{rpt.venue} rejected the order: {rpt.text or 'no reason given'}"
            out.note(order.order_id, f"child {child.cl_ord_id}: {text}")
            if self._reroute(order, child, out) or any(c.is_open for c in order.children):
                return
            if order.status is OrdStatus.PENDING_NEW:  # nothing anywhere was acknowledged
                order.status = next_status(order.status, Event.REJECTED)
                order.text = text
                reason = _rej_reason(rpt.ord_rej_reason)
                out.to_clients.append(
                    execution_report(
                        order, self.ids.exec_id(), ExecType.REJECTED, ord_rej_reason=reason, text=text
                    )
                )
            else:  # other venues took part of it: the rest is done
                order.status = next_status(order.status, Event.CANCELED)
                order.text = f"remainder canceled: {text}"
                out.to_clients.append(
                    execution_report(order, self.ids.exec_id(), ExecType.CANCELED, text=order.text)
                )
            if order.pending is not None:
                self._refuse_pending(
                    order, CxlRejReason.TOO_LATE, f"order is already {order.status.name.lower()}", out
                )
            return

        # PendingNew/PendingCancel/PendingReplace/OrderStatus from a venue carry no change
        # for the client; reconciliation (recovery) reads status reports separately.
        out.note(order.order_id, f"{rpt.venue} {et.name} for {child.cl_ord_id}: no change")

    @_settles
    def venue_cancel_reject(self, rej: VenueCancelReject) -> Outcome:
        out = Outcome()
        child = self._child_for(rej.venue, rej.cl_ord_id, rej.orig_cl_ord_id)
        if child is None:
            out.note(None, f"{rej.venue} cancel reject for unknown order {rej.cl_ord_id}")
            return out
        order = self.orders[child.parent_id]
        refused, child.pending = child.pending, None
        pending = order.pending
        order.updated_ns = child.updated_ns = self.clock()
        out.touch(order, child)
        venue_text = f"{rej.venue}: {rej.text}" if rej.text else f"refused by {rej.venue}"
        if pending is None:
            out.note(order.order_id, f"cancel reject from {rej.venue} with nothing pending: {venue_text}")
            return out
        if pending.unsolicited:  # the kill switch's own cancel: the client asked nothing
            order.pending = None
            out.note(order.order_id, f"kill-switch cancel refused: {venue_text}")
            log.error("%s: kill-switch cancel refused: %s", order.order_id, venue_text)
            return out
        if order.status.is_terminal or rej.reason == CxlRejReason.TOO_LATE:
            reason = CxlRejReason.TOO_LATE
        elif rej.reason == CxlRejReason.UNKNOWN_ORDER:
            reason = CxlRejReason.UNKNOWN_ORDER
        else:
            reason = CxlRejReason.BROKER_OPTION
        self._refuse_pending(order, reason, venue_text, out)
        halted = self.pretrade.states.effective(order.session, child.venue)[0] is TradingState.HALTED
        if halted and child.is_open and refused is not None and refused.kind is OrdStatus.PENDING_CANCEL:
            # The kill switch left this order to the client's own cancel, which the venue refused.
            self._kill(order, [child], out, "kill switch (the client's cancel was refused)")
        return out

    def _refuse_pending(self, order: ClientOrder, reason: CxlRejReason, text: str, out: Outcome) -> None:
        """Answer the client's pending cancel or replace with an OrderCancelReject, and drop it."""
        pending, order.pending = order.pending, None
        response_to = (
            CxlRejResponseTo.CANCEL if pending.kind is OrdStatus.PENDING_CANCEL else CxlRejResponseTo.REPLACE
        )
        out.to_clients.append(
            cancel_reject(
                order.session, order, pending.cl_ord_id, pending.orig_cl_ord_id, response_to, reason, text
            )
        )
        out.note(order.order_id, f"{response_to.name.lower()} refused: {text}")

    # ------------------------------------------------------------ trading state

    @staticmethod
    def state_changed(change: StateChange | None, out: Outcome) -> None:
        if change is not None:
            out.state_changes.append(change)
            out.note(
                None,
                f"trading state {change.scope} {change.target or ''} -> {change.state.name}: {change.reason}",
            )
            log.warning(
                "trading state %s %s -> %s: %s",
                change.scope,
                change.target or "",
                change.state.name,
                change.reason,
            )

    @_settles
    def kill_switch(self, engage: bool, scope: str, target: str | None = None, reason: str = "") -> Outcome:
        """Engage: HALTED in scope and every working order in it canceled at its venues.

        Release: back to ACTIVE; nothing is resent. ``scope`` is "global", "client" or "venue".
        """
        out = Outcome()
        if not engage:
            self.state_changed(
                self.pretrade.states.set(scope, target, TradingState.ACTIVE, reason or "released"), out
            )
            return out
        self.state_changed(
            self.pretrade.states.set(scope, target, TradingState.HALTED, reason or "kill switch"), out
        )
        for order in self.open_orders():
            if scope == "client" and order.session != target:
                continue
            # Every open child but those with a cancel already in flight (if the venue refuses
            # that one, venue_cancel_reject cancels again while the scope is halted).
            children = [
                c
                for c in order.children
                if c.is_open
                and not (c.pending and c.pending.kind is OrdStatus.PENDING_CANCEL)
                and (scope != "venue" or c.venue == target)
            ]
            if children:
                self._kill(order, children, out, f"kill switch ({scope} {target or ''})")
        return out

    def _kill(
        self,
        order: ClientOrder,
        children: list[ChildOrder],
        out: Outcome,
        why: str,
        reason: str | None = None,
    ) -> None:
        """Cancel ``children`` at their venues on the gateway's own account; ``reason`` is what the
        client's Canceled report will say (default: the kill switch)."""
        if order.pending is None and len(children) == sum(c.is_open for c in order.children):
            order.pending = PendingChange(
                OrdStatus.PENDING_CANCEL,
                order.cl_ord_id,
                order.cl_ord_id,
                deadline_ns=self.clock() + self.ack_timeout_ns,
                unsolicited=True,
                reason=reason,
            )
            self._register(order)
        for child in children:
            self._cancel_child(child, out, unsolicited=True)
        order.updated_ns = self.clock()
        out.touch(order)
        out.canceled.append(order.order_id)
        out.note(order.order_id, f"{why}: cancel sent to {', '.join(sorted({c.venue for c in children}))}")

    @_settles
    def cancel_client_orders(self, session: str, include_gtc: bool, reason: str) -> Outcome:
        """Cancel-on-disconnect: every working order of ``session`` (GTC ones only if asked)."""
        out = Outcome()
        for order in self.open_orders():
            if order.session != session or order.pending is not None:
                continue
            if order.tif is TimeInForce.GTC and not include_gtc:
                continue
            children = [c for c in order.children if c.is_open and c.pending is None]
            if children:
                self._kill(order, children, out, reason, reason)
        return out

    # ------------------------------------------------------------ timers

    @_settles
    def check_timeouts(self, now_ns: int) -> Outcome:
        """Reject orders whose venue never acknowledged them (and pull them from the venue);
        refuse cancels and replaces the venue never answered, so no order stays pending."""
        out = Outcome()
        for order in list(self._awaiting_ack.values()):
            if order.status is not OrdStatus.PENDING_NEW:
                del self._awaiting_ack[order.order_id]  # acknowledged (or rejected) since
                continue
            for child in order.children:
                if child.ack_deadline_ns is None or child.ack_deadline_ns > now_ns:
                    continue
                child.ack_deadline_ns = None
                child.status = OrdStatus.REJECTED
                child.updated_ns = now_ns
                out.touch(child)
                if child.venue in self.venues_up:
                    out.to_venues.append(
                        CancelChildOrder(
                            child.venue,
                            self.ids.child_cl_ord_id(),
                            child.cl_ord_id,
                            child.venue_order_id,
                            child.symbol,
                            child.side,
                            child.qty,
                        )
                    )
            if all(c.status.is_terminal for c in order.children):
                secs = self.ack_timeout_ns / 1e9
                self._reject(
                    order,
                    OrdRejReason.OTHER,
                    f"no acknowledgement from {order.children[0].venue} within {secs:g}s; cancel sent",
                    out,
                )
        for order in list(self._awaiting_change.values()):
            pending = order.pending
            if pending is None or pending.deadline_ns is None:
                del self._awaiting_change[order.order_id]  # answered since
                continue
            if pending.deadline_ns > now_ns:
                continue
            del self._awaiting_change[order.order_id]
            order.updated_ns = now_ns
            venues = sorted({c.venue for c in order.children if c.pending is not None})
            for child in order.children:
                child.pending = None  # its ClOrdIDs stay known: a late answer is still matched
                out.touch(child)
            out.touch(order)
            secs = self.ack_timeout_ns / 1e9
            text = f"no answer from {', '.join(venues) or 'the venue'} within {secs:g}s; order unchanged"
            if pending.unsolicited:  # the kill switch's own cancel: the client asked nothing
                order.pending = None
                out.note(order.order_id, f"kill-switch cancel timed out: {text}")
                log.error("%s: kill-switch cancel unanswered: %s", order.order_id, text)
                continue
            self._refuse_pending(order, CxlRejReason.BROKER_OPTION, text, out)
        return out


def _rej_reason(value: str | None) -> OrdRejReason:
    try:
        return OrdRejReason(value) if value is not None else OrdRejReason.OTHER
    except ValueError:
        return OrdRejReason.OTHER
