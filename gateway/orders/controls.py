"""Operator and clock driven changes to orders: kill switch, cancel-on-disconnect, timeouts,
and the close of the trading day (Day orders end as Expired or DoneForDay)."""

from __future__ import annotations

import dataclasses
import logging

from gateway.orders.enums import (
    CxlRejReason,
    ExecType,
    OrdRejReason,
    OrdStatus,
    TimeInForce,
)
from gateway.orders.messages import (
    CancelChildOrder,
    ExecutionReport,
)
from gateway.orders.model import ChildOrder, ClientOrder, PendingChange
from gateway.orders.outcome import Outcome, settles
from gateway.orders.reports import execution_report
from gateway.orders.state import Event, IllegalTransition, next_status
from gateway.risk.trading_state import StateChange, TradingState

log = logging.getLogger("gateway.orders")


class Controls:
    """Mixed into :class:`~gateway.orders.core.OrderCore`: what is not a client's or a venue's message."""

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

    @settles
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

    @settles
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

    @settles
    def cancel_venue_orders(self, venue: str, reason: str) -> Outcome:
        """Every working child at ``venue`` canceled on the gateway's account (a venue removed
        from the configuration); the clients' Canceled reports carry ``reason``."""
        out = Outcome()
        for order in self.open_orders():
            children = [c for c in order.children if c.venue == venue and c.is_open and c.pending is None]
            if children and order.pending is None:
                self._kill(order, children, out, reason, reason)
        return out

    @settles
    def cancel_by_operator(self, order_id: str, reason: str) -> Outcome:
        """An operator's cancel of one working order (admin API); the client's Canceled report
        carries ``reason``. Raises KeyError for an unknown order, ValueError when it cannot be
        canceled now."""
        order = self.orders.get(order_id)
        if order is None:
            raise KeyError(f"unknown order {order_id!r}")
        if not order.is_open:
            raise ValueError(f"order {order_id} is already {order.status.name.lower()}")
        if order.pending is not None:
            raise ValueError(f"order {order_id} has a {order.pending.kind.name.lower()} in flight")
        children = [c for c in order.children if c.is_open and c.pending is None]
        if not children:
            raise ValueError(f"order {order_id} has no working child to cancel")
        out = Outcome()
        self._kill(order, children, out, reason, reason)
        return out

    # ------------------------------------------------------------ timers

    @settles
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

    # ------------------------------------------------------------ the close

    def working_day_orders(self, created_before_ns: int | None = None) -> list[ClientOrder]:
        """Open Day orders (TimeInForce Day or absent), only those created before
        ``created_before_ns`` when given (after a restart: the ones from before the last close)."""
        return [
            o
            for o in self.open_orders()
            if o.tif is TimeInForce.DAY and (created_before_ns is None or o.created_ns < created_before_ns)
        ]

    def ending_orders(self) -> list[ClientOrder]:
        """Day orders the close is ending that are still open (their venues have not confirmed)."""
        return [o for oid in self._day_ends if (o := self.orders[oid]).is_open]

    @settles
    def end_day_orders(self, orders: list[ClientOrder], end_as: OrdStatus, reason: str) -> Outcome:
        """The close: end ``orders`` as ``end_as`` (EXPIRED or DONE_FOR_DAY), ``reason`` the Text.

        Their open children are canceled at their venues first, on the gateway's own account, as
        the kill switch does; the client hears Expired (or DoneForDay) only when every venue has
        confirmed (:meth:`_day_orders_ended`), so a fill that races the cancel is never lost.
        Children at a venue that is down are canceled when it logs on (:meth:`resume_day_ends`).
        """
        out = Outcome()
        for order in orders:
            if order.is_open:
                self._day_ends[order.order_id] = (end_as, reason)
                self._end_day_order(order, out, None)
        return out

    @settles
    def resume_day_ends(self, venue: str) -> Outcome:
        """``venue`` logged on: cancel there the children of Day orders the close is ending."""
        out = Outcome()
        for order in self.ending_orders():
            self._end_day_order(order, out, venue)
        return out

    def _end_day_order(self, order: ClientOrder, out: Outcome, venue: str | None) -> None:
        end_as, reason = self._day_ends[order.order_id]
        children = [
            c
            for c in order.children
            if c.is_open
            and not (c.pending and c.pending.kind is OrdStatus.PENDING_CANCEL)
            and c.venue in self.venues_up
            and (venue is None or c.venue == venue)
        ]
        if children:
            self._kill(order, children, out, f"close ({end_as.name})", reason)
        elif not any(c.is_open for c in order.children):  # nothing left at any venue: end it here
            event = Event.EXPIRED if end_as is OrdStatus.EXPIRED else Event.DONE_FOR_DAY
            try:
                order.status = next_status(order.status, event)
            except IllegalTransition:  # e.g. never acknowledged: DoneForDay needs a live order
                order.status = OrdStatus.EXPIRED
            order.text, order.updated_ns = reason, self.clock()
            del self._day_ends[order.order_id]
            out.touch(order)
            out.to_clients.append(
                execution_report(order, self.ids.exec_id(), ExecType(order.status.value), text=reason)
            )
            out.note(order.order_id, f"ended at the close: {order.status.name}")
        elif venue is None:
            down = sorted({c.venue for c in order.children if c.is_open and c.venue not in self.venues_up})
            if down:
                out.note(order.order_id, f"close: cancel waits for {', '.join(down)} to log on")

    def _day_orders_ended(self, out: Outcome) -> Outcome:
        """A Day order the close is ending has ended: its venues confirmed the gateway's cancel,
        which venue_reports reports as Canceled; to the client it ended at the close, so relabel
        that report Expired (or DoneForDay). A fill, the client's own cancel (it names
        OrigClOrdID) or the venue's own Expired stay as they are."""
        if not self._day_ends:
            return out
        for i, report in enumerate(out.to_clients):
            ending = self._day_ends.get(report.order_id)
            order = self.orders.get(report.order_id)
            if ending is None or order is None or order.is_open or not isinstance(report, ExecutionReport):
                continue
            del self._day_ends[order.order_id]
            if (
                report.exec_type is not ExecType.CANCELED
                or report.orig_cl_ord_id is not None
                or order.status is not OrdStatus.CANCELED
            ):
                continue
            end_as, reason = ending
            order.status, order.text = end_as, reason  # a relabel of the end, not a transition
            out.to_clients[i] = dataclasses.replace(
                report, exec_type=ExecType(end_as.value), ord_status=end_as, text=reason
            )
            out.touch(order)
            out.note(order.order_id, f"ended at the close: {end_as.name}")
        return out
