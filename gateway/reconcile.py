"""Reconciliation with a venue on every logon of its order session.

The venue's resend covers what the gateway missed only while both sides keep their
sequence numbers; a venue that resets them on logon, or a store lost with a machine,
leaves gaps. So on each logon the gateway asks the venue about every child order it
still has open there (OrderMassStatusRequest where the venue has it, else one
OrderStatusRequest per order) and the order core applies what it missed. A working
venue order the gateway does not know (an orphan, found by mass status) is logged,
journaled, and canceled or left alone as the venue's ``orphans`` setting says.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal

import quickfix as fix

from gateway.codec import tags as t
from gateway.codec.fields import opt
from gateway.codec.venue import decode_order_terms, encode_mass_status_request, encode_venue_command
from gateway.orders.enums import ExecType, Side
from gateway.orders.messages import CancelChildOrder, RequestChildStatus, VenueExecution
from gateway.orders.outcome import Outcome

log = logging.getLogger("gateway.reconcile")


class Reconciler:
    def __init__(self, gateway, dispatch: Callable[[Outcome, str, str], None], timeout_s: float = 10.0):
        self.gw = gateway
        self._dispatch = dispatch  # (outcome, venue, text) -> journal and send
        self.timeout_s = timeout_s
        # venue -> (req id, reports so far, {child_id: ClOrdID} of the children open when asked)
        self._mass: dict[str, tuple[str, dict[str, VenueExecution], dict[str, str]]] = {}
        self._terms: dict[tuple[str, str], tuple[str, Side, Decimal]] = {}  # of mass-status reports
        self._asked: set[tuple[str, str]] = set()  # (venue, child ClOrdID) awaiting a status answer

    def start(self, venue: str) -> None:
        """On the order session's logon: ask about every child still open there."""
        vcfg = self.gw.cfg.venues[venue]
        children = self.gw.core.open_children(venue)
        mode = vcfg.reconcile_mode
        # Mass status also runs with nothing open: it is how orphans are found.
        if mode == "off" or (not children and mode != "mass"):
            return
        sid = self.gw.venue_sessions[venue]
        if mode == "mass":
            req_id = f"RC-{venue}-{time.time_ns()}"
            self._mass[venue] = (req_id, {}, {c.child_id: c.cl_ord_id for c in children})
            fix.Session.sendToTarget(encode_mass_status_request(req_id), sid)
        else:
            for c in children:
                self._asked.add((venue, c.cl_ord_id))
                cmd = RequestChildStatus(venue, c.cl_ord_id, c.venue_order_id, c.symbol, c.side)
                fix.Session.sendToTarget(encode_venue_command(cmd, vcfg.begin_string), sid)
        log.info("reconciling %d open orders with %s (%s)", len(children), venue, mode)
        self.gw.loop.call_later(self.timeout_s, lambda: self._expire(venue))

    def on_report(self, venue: str, message: fix.Message, report: VenueExecution) -> bool:
        """True when ``report`` answered a reconciliation request (and was handled here)."""
        req_id = opt(message, t.MassStatusReqID)
        pending = self._mass.get(venue)
        if req_id is not None and pending is not None and req_id == pending[0]:
            if opt(message, t.TotNumReports) != "0":
                pending[1][report.cl_ord_id] = report
                terms = decode_order_terms(message)
                if terms is not None:
                    self._terms[(venue, report.cl_ord_id)] = terms
            if opt(message, t.LastRptRequested) == "Y":
                self._finish(venue)
            return True
        if report.exec_type is ExecType.ORDER_STATUS and (venue, report.cl_ord_id) in self._asked:
            self._asked.discard((venue, report.cl_ord_id))
            child = self.gw.core.child_for(venue, report.cl_ord_id)
            if child is not None:
                known = report.venue_order_id not in ("", "NONE")
                self._dispatch(self.gw.core.reconcile_child(child, report if known else None), venue,
                               f"status of {report.cl_ord_id} from {venue}")  # fmt: skip
            return True
        return False

    def _finish(self, venue: str) -> None:
        _, reports, asked = self._mass.pop(venue)
        core = self.gw.core
        # Only the children open when the request went: one sent since is not in the answer
        # because the venue had not seen it yet, not because the venue does not know it.
        for child in core.open_children(venue):
            if child.child_id not in asked:
                continue
            report = reports.pop(child.cl_ord_id, None) or reports.pop(asked[child.child_id], None)
            self._dispatch(core.reconcile_child(child, report), venue, f"mass status from {venue}")
        terms = {cl: self._terms.pop((venue, cl)) for v, cl in list(self._terms) if v == venue}
        for cl, report in reports.items():  # what is left: orders the venue has that we do not track open
            if core.child_for(venue, cl) is None and not report.ord_status.is_terminal:
                self._dispatch(self._orphan(venue, cl, report, terms.get(cl)), venue, "orphan")
        log.info("reconciled with %s", venue)

    def _orphan(
        self, venue: str, cl: str, report: VenueExecution, terms: tuple[str, Side, Decimal] | None
    ) -> Outcome:
        out = Outcome()
        cancel = self.gw.cfg.venues[venue].orphans == "cancel"
        if cancel and terms is not None:
            symbol, side, qty = terms
            dialect = self.gw.dialects[venue]
            if dialect.maps_symbols:
                symbol = dialect.inbound_symbol(symbol)
            cl_ord_id = self.gw.core.ids.child_cl_ord_id()
            out.to_venues.append(
                CancelChildOrder(venue, cl_ord_id, cl, report.venue_order_id, symbol, side, qty)
            )
            action = f"cancel sent ({cl_ord_id})"
        else:
            action = (
                "left alone" if not cancel else "left alone: its status report lacks Symbol, Side or OrderQty"
            )
        log.warning("orphan at %s: %s (venue OrderID %s, %s): %s", venue, cl, report.venue_order_id,
                    report.ord_status.name, action)  # fmt: skip
        out.note(None, f"orphan at {venue}: ClOrdID {cl}, OrderID {report.venue_order_id}, {action}")
        return out

    def _expire(self, venue: str) -> None:
        if venue in self._mass:
            self._mass.pop(venue)
            self._terms = {key: terms for key, terms in self._terms.items() if key[0] != venue}
            log.error("reconciliation with %s: no complete mass status within %ss", venue, self.timeout_s)
        stale = {key for key in self._asked if key[0] == venue}
        if stale:
            self._asked -= stale
            log.error("reconciliation with %s: %d status requests unanswered", venue, len(stale))
