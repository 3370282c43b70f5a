"""The order core: the one writer of order state.

Plain, synchronous, deterministic code with no I/O: each handler takes one domain
message and returns an :class:`Outcome` (reports for clients, commands for venues,
the orders it changed and notes for the journal). The runtime journals the
outcome, then sends it. The core never sees a FIX tag, a socket or a thread.

This module holds client commands and routing; what venues report is applied in
``venue_reports.py`` and operator/clock driven changes live in ``controls.py``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Iterable

from gateway.orders.controls import Controls
from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    OrdType,
    Side,
    TimeInForce,
)
from gateway.orders.ids import IdGenerator
from gateway.orders.messages import (
    CancelChildOrder,
    CancelOrder,
    NewOrder,
    ReplaceChildOrder,
    ReplaceOrder,
    RequestMassStatus,
    RequestStatus,
    SendChildOrder,
    VenueExecution,
)
from gateway.orders.model import ChildOrder, ClientOrder, PendingChange
from gateway.orders.outcome import Outcome, settles
from gateway.orders.reports import cancel_reject, execution_report, reject_unknown
from gateway.orders.state import CANCELABLE, REPLACEABLE, Event
from gateway.orders.venue_reports import VenueReports
from gateway.positions.book import Position
from gateway.risk.api import OrderIntent
from gateway.risk.pretrade import PreTrade
from gateway.risk.trading_state import TradingState
from gateway.routing.api import ChildSpec, RouteReject
from gateway.routing.router import Router

log = logging.getLogger("gateway.orders")


class OrderCore(VenueReports, Controls):
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
        self._child_keys: dict[str, list[tuple[str, str]]] = {}  # OrderID -> its _children keys
        self._done: deque[tuple[int, str]] = deque()  # (when, OrderID) of orders that finished
        # A finished order the core no longer holds (see forget_done): (session, ClOrdID) -> the
        # order as journaled, or None. The runtime sets it to a journal lookup.
        self.archive: Callable[[str, str], ClientOrder | None] | None = None
        # (session, earlier ClOrdID) -> OrderID of a forgotten order that was canceled or replaced
        # since: the archive is keyed by the current ClOrdID, a client may ask by any of its chain.
        self._forgotten_chain: dict[tuple[str, str], str] = {}
        self._awaiting_ack: dict[str, ClientOrder] = {}  # PendingNew orders, for check_timeouts
        self._awaiting_change: dict[str, ClientOrder] = {}  # pending cancel/replace, likewise
        self._day_ends: dict[str, tuple[OrdStatus, str]] = {}  # Day orders the close is ending
        self.day_orders_closed: str | None = None  # set from the close until the session ends: why

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
        done: Iterable[ClientOrder] = (),
    ) -> None:
        """Rebuild from the journal: open orders, every ClOrdID already used, positions, and the
        done orders, registered as in the run before so status requests and late venue answers
        about them are matched; only open orders count toward risk."""
        orders = list(orders)
        self._used_cl_ord_ids.update(used_cl_ord_ids)
        self.pretrade.restore(orders, positions)
        for order in done:  # oldest first (restore sorts): leave memory in the usual order
            self._done.append((order.updated_ns, order.order_id))
        for order in [*orders, *done]:
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
        self._child_keys.setdefault(child.parent_id, []).append((child.venue, cl_ord_id))

    # ------------------------------------------------------------ memory

    def done_at(self, order: ClientOrder) -> None:
        """``order`` has just finished: it may leave memory after a while (forget_done)."""
        self._done.append((self.clock(), order.order_id))

    def forget_done(self, before_ns: int) -> int:
        """Drop orders that finished before ``before_ns`` from memory; returns how many.

        Every order ever seen would otherwise stay (about 2.7 KB each, and every garbage
        collection walking them). A forgotten order is in the journal: a status request for it
        is answered from there (``archive``); its ClOrdIDs stay known, so none can be reused."""
        forgotten = 0
        while self._done and self._done[0][0] < before_ns:
            _, order_id = self._done.popleft()
            order = self.orders.get(order_id)
            if order is None or order.is_open or order.pending is not None or order.updated_ns >= before_ns:
                continue  # already gone, reopened by nothing, or touched since: a later entry decides
            del self.orders[order_id]
            for cid in order.cl_ord_ids:
                if self._by_client.get((order.session, cid)) is order:
                    del self._by_client[(order.session, cid)]
                if cid != order.cl_ord_id:
                    self._forgotten_chain[(order.session, cid)] = order_id
            for key in self._child_keys.pop(order_id, ()):
                self._children.pop(key, None)
            forgotten += 1
        return forgotten

    # ------------------------------------------------------------ client commands

    def resent_order(self, session: str, cmd: NewOrder | CancelOrder | ReplaceOrder) -> Outcome | None:
        """An order, cancel or replace the client resent (PossDup/PossResend): if its ClOrdID was
        already accepted, answer with the order's current status and send nothing to a venue;
        None when it is new to the gateway (then it is processed as any request)."""
        order = self._by_client.get((session, cmd.cl_ord_id))
        if order is None:
            return None
        out = Outcome()
        out.to_clients.append(
            execution_report(order, self.ids.exec_id(), ExecType.ORDER_STATUS, cl_ord_id=cmd.cl_ord_id)
        )
        out.note(order.order_id, f"{session} resent {cmd.cl_ord_id} (PossDup): answered with its status")
        return out

    @settles
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
        if self.day_orders_closed is not None and cmd.tif is TimeInForce.DAY:
            return OrdRejReason.EXCHANGE_CLOSED, self.day_orders_closed
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

    @settles
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

    @settles
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
        if order is None and self.archive is not None:
            order = self.archive(session, self._forgotten_chain.get((session, cmd.cl_ord_id), cmd.cl_ord_id))
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

    def mass_status(self, session: str, cmd: RequestMassStatus) -> Outcome:
        """Every working order of the session, from the gateway's own state (one report each)."""
        out = Outcome()
        self.pretrade.on_message(session)
        working = [o for o in self.open_orders() if o.session == session]
        for i, order in enumerate(working, 1):
            er = execution_report(order, self.ids.exec_id(), ExecType.ORDER_STATUS)
            out.to_clients.append(
                dataclasses.replace(er, mass_status=(cmd.req_id, len(working), i == len(working)))
            )
        if not working:
            none = reject_unknown(
                session, self.ids.exec_id(), ExecType.ORDER_STATUS, "NONE", "NONE", Side.BUY,
                OrdRejReason.OTHER, "no working orders",
            )  # fmt: skip
            out.to_clients.append(dataclasses.replace(none, mass_status=(cmd.req_id, 0, True)))
        return out

    # ------------------------------------------------------------ venue reports

    def venue_execution(self, rpt: VenueExecution) -> Outcome:
        """:meth:`VenueReports.venue_execution`, then the close's relabel (controls.py)."""
        return self._day_orders_ended(super().venue_execution(rpt))
