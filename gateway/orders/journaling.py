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
    """Open parent orders with all their children; done parents (without children, enough to
    answer an OrderStatusRequest for them); every (session, ClOrdID) ever used; positions."""
    open_records = journal.open_orders()
    parents = [r for r in open_records if r.parent_id is None]
    orders = []
    for p in parents:
        children = [ChildOrder.from_doc(c.doc) for c in journal.children(p.order_id)]
        orders.append(ClientOrder.from_doc(p.doc, children))
    used: set[tuple[str, str]] = set()
    done = []
    for r in journal.orders(limit=10_000_000):
        if r.parent_id is None:
            used.update((r.session, c) for c in r.doc.get("cl_ord_ids", [r.cl_ord_id]))
            if not r.is_open:
                done.append(ClientOrder.from_doc(r.doc, []))
    positions = [Position.from_doc(r.doc) for r in journal.positions()]
    return orders, done, used, positions
