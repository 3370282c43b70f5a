"""Applying what venues report to the child orders and their client orders.

One ExecutionReport or OrderCancelReject from a venue moves a child through the state
machine, and the parent with it: fills aggregate, the client hears each change once,
a child rejected or canceled by its venue is re-routed or returned (as configured),
and an amend by cancel and new completes here.
"""

from __future__ import annotations

import logging

from gateway.orders.enums import (
    CxlRejReason,
    CxlRejResponseTo,
    ExecType,
    OrdRejReason,
    OrdStatus,
    TimeInForce,
)
from gateway.orders.messages import (
    VenueCancelReject,
    VenueExecution,
)
from gateway.orders.model import ZERO, ChildOrder, ClientOrder, PendingChange
from gateway.orders.outcome import Outcome, settles
from gateway.orders.reports import cancel_reject, execution_report
from gateway.orders.state import Event, IllegalTransition, next_status
from gateway.risk.trading_state import TradingState
from gateway.routing.api import ChildSpec, RouteReject

log = logging.getLogger("gateway.orders")

_TERMINAL_EVENTS = {
    ExecType.CANCELED: Event.CANCELED,
    ExecType.EXPIRED: Event.EXPIRED,
    ExecType.DONE_FOR_DAY: Event.DONE_FOR_DAY,
}


class VenueReports:
    """Mixed into :class:`~gateway.orders.core.OrderCore`: its venue-report half."""

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

    def child_for(self, venue: str, cl_ord_id: str, orig: str | None = None) -> ChildOrder | None:
        """The child order a venue's message names, by ClOrdID or OrigClOrdID."""
        return self._child_for(venue, cl_ord_id, orig)

    def _child_for(self, venue: str, cl_ord_id: str, orig: str | None) -> ChildOrder | None:
        child = self._children.get((venue, cl_ord_id))
        if child is None and orig:
            child = self._children.get((venue, orig))
        return child

    @settles
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
            out.repeats = order.order_id
            return out
        if child.status.is_terminal and rpt.exec_type in _TERMINAL_EVENTS:
            # e.g. the venue confirms the cancel the gateway sent when the ack never came
            out.note(
                order.order_id, f"{rpt.venue} {rpt.exec_type.name} for finished {child.cl_ord_id}: no change"
            )
            return out
        if rpt.exec_type is ExecType.TRADE and 0 < rpt.cum_qty <= child.reconciled_cum:
            # Reconciliation's catch-up fill counted it. Below that mark CumQty is no test:
            # a venue may deliver the fills of one sweep out of order (higher CumQty first).
            out.note(order.order_id, f"{rpt.venue} fill to CumQty {rpt.cum_qty} already reconciled: ignored")
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

    @settles
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

    # ------------------------------------------------------------ reconciliation

    def reconcile_child(self, child: ChildOrder, status: VenueExecution | None) -> Outcome:
        """Bring a child in line with what its venue says now (after a restart or a reconnect
        whose resend did not cover everything). ``status`` None: the venue does not know it.

        Missing events go through the normal path as reports from the venue, so the client
        hears them exactly as it would have: the acknowledgement, the missed quantity as one
        fill at the price that makes the venue's average, then any end (canceled, expired).
        ExecIDs are derived from the venue's state, so reconciling twice applies nothing twice.
        """
        out = Outcome()
        if not child.is_open:
            return out
        venue, order_id = child.venue, child.parent_id
        unknown = status is None or (
            status.ord_status is OrdStatus.REJECTED and status.venue_order_id in ("", "NONE")
        )
        if unknown:
            et = ExecType.REJECTED if child.status is OrdStatus.PENDING_NEW else ExecType.CANCELED
            out.merge(self.venue_execution(VenueExecution(
                venue, child.cl_ord_id, None, "NONE", f"RECON-{child.cl_ord_id}-unknown", et,
                OrdStatus(et.value), child.fills.cum_qty, ZERO, child.fills.avg_px,
                text="the venue does not know the order",
            )))  # fmt: skip
            out.note(order_id, f"reconcile: {venue} does not know {child.cl_ord_id}")
            return out
        vid = status.venue_order_id
        if child.status is OrdStatus.PENDING_NEW:
            out.merge(self.venue_execution(VenueExecution(
                venue, child.cl_ord_id, None, vid, f"RECON-{vid}-ack", ExecType.NEW, OrdStatus.NEW, ZERO,
                child.qty, ZERO,
            )))  # fmt: skip
        missed = status.cum_qty - child.fills.cum_qty
        if missed > 0:
            px = (status.cum_qty * status.avg_px - child.fills.notional) / missed
            out.merge(self.venue_execution(VenueExecution(
                venue, child.cl_ord_id, None, vid, f"RECON-{vid}-{status.cum_qty}", ExecType.TRADE,
                status.ord_status, status.cum_qty, status.leaves_qty, status.avg_px,
                last_qty=missed, last_px=px,
            )))  # fmt: skip
        child.reconciled_cum = max(child.reconciled_cum, status.cum_qty)
        ended = _RECONCILED_ENDS.get(status.ord_status)
        if ended is not None and child.is_open:
            out.merge(self.venue_execution(VenueExecution(
                venue, child.cl_ord_id, None, vid, f"RECON-{vid}-{ended.value}", ended, status.ord_status,
                status.cum_qty, ZERO, status.avg_px, text=f"{status.ord_status.name.lower()} at the venue",
            )))  # fmt: skip
        out.note(
            order_id,
            f"reconciled {child.cl_ord_id} with {venue}: {status.ord_status.name}, cum {status.cum_qty}",
        )
        return out


_RECONCILED_ENDS = {
    OrdStatus.CANCELED: ExecType.CANCELED,
    OrdStatus.EXPIRED: ExecType.EXPIRED,
    OrdStatus.DONE_FOR_DAY: ExecType.DONE_FOR_DAY,
}


def _rej_reason(value: str | None) -> OrdRejReason:
    try:
        return OrdRejReason(value) if value is not None else OrdRejReason.OTHER
    except ValueError:
        return OrdRejReason.OTHER
