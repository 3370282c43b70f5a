"""Between domain orders and journal records: snapshots out, restored orders back."""

from __future__ import annotations

from gateway.journal import Journal, OrderRecord, PositionRecord
from gateway.orders.model import ChildOrder, ClientOrder
from gateway.positions.book import Position


def to_record(order: ClientOrder | ChildOrder) -> OrderRecord:
    if isinstance(order, ClientOrder):
        key, parent, session, status = order.order_id, None, order.session, order.ord_status
    else:
        key, parent, session, status = order.child_id, order.parent_id, order.venue, order.status
    return OrderRecord(
        order_id=key,
        parent_id=parent,
        session=session,
        cl_ord_id=order.cl_ord_id,
        symbol=order.symbol,
        side=order.side.value,
        status=status.value,
        is_open=order.is_open,
        qty=str(order.qty),
        cum_qty=str(order.fills.cum_qty),
        avg_px=str(order.fills.avg_px),
        price=None if order.price is None else str(order.price),
        doc=order.to_doc(),
        updated_ns=order.updated_ns,
    )


def position_record(p: Position) -> PositionRecord:
    return PositionRecord(
        client=p.client,
        account=p.account,
        symbol=p.symbol,
        qty=str(p.qty),
        avg_cost=str(p.avg_cost),
        realised_pnl=str(p.realised_pnl),
        doc=p.to_doc(),
        updated_ns=p.updated_ns,
    )


def restore(
    journal: Journal,
) -> tuple[list[ClientOrder], list[ClientOrder], set[tuple[str, str]], list[Position]]:
    """Open parent orders, done parent orders (so a status request for one traded before the
    restart is answered), each with all its children; every (session, ClOrdID) ever used;
    positions. One pass over the journal's orders, oldest change first."""
    records = sorted(journal.orders(limit=10_000_000), key=lambda r: (r.updated_ns, r.order_id))
    children: dict[str, list[ChildOrder]] = {}
    for r in records:
        if r.parent_id is not None:
            child = ChildOrder.from_doc(r.doc)
            child.updated_ns = r.updated_ns  # the row's, not in the document
            children.setdefault(r.parent_id, []).append(child)
    orders, done = [], []
    used: set[tuple[str, str]] = set()
    for r in records:
        if r.parent_id is None:
            used.update((r.session, c) for c in r.doc.get("cl_ord_ids", [r.cl_ord_id]))
            order = ClientOrder.from_doc(r.doc, children.get(r.order_id, []))
            order.updated_ns = r.updated_ns
            (orders if r.is_open else done).append(order)
    positions = [Position.from_doc(r.doc) for r in journal.positions()]
    return orders, done, used, positions
