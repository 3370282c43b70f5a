"""Operator and clock driven changes to orders: kill switch, cancel-on-disconnect, timeouts."""

from __future__ import annotations

import logging

from gateway.orders.enums import (
    CxlRejReason,
    OrdRejReason,
    OrdStatus,
    TimeInForce,
)
from gateway.orders.messages import (
    CancelChildOrder,
)
from gateway.orders.model import ChildOrder, ClientOrder, PendingChange
from gateway.orders.outcome import Outcome, settles
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
