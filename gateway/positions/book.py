"""Positions and P&L per (client, account, instrument), updated on every fill.

Pure and in-memory: the order core calls :meth:`PositionBook.on_fill` on its own thread and
hands the returned position to the journal in the same transaction as the fill's events;
on restart the book is rebuilt from the journaled snapshots (:meth:`PositionBook.restore`).

Average-cost method. Besides ``avg_cost`` each position keeps its exact open ``cost`` (signed
sum of price x quantity of the open quantity): a weighted average is generally a repeating
decimal, so it is rounded (to ``AVG_PRECISION`` significant digits), but realised P&L is
taken from the exact cost, so a position that goes flat has realised exactly its cash flow
(sells minus buys) with no rounding residue. Sums and products run in a wide private context
so they are exact and do not depend on the calling thread's decimal context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from gateway.orders.enums import Side

ZERO = Decimal(0)
AVG_PRECISION = 28
"""Significant digits of an average (cost or the cost of a partial close): Python's default."""

_EXACT = Context(prec=100)  # far beyond any quantity x price: +, -, x never round in practice
_ROUND = Context(prec=AVG_PRECISION)
_add, _sub, _mul, _neg = _EXACT.add, _EXACT.subtract, _EXACT.multiply, _EXACT.minus
_div = _ROUND.divide

PositionKey = tuple[str, str | None, str]
"""(client, account, symbol); account is FIX tag 1, None when the order carried none."""


@dataclass(slots=True)
class Position:
    """One client's holding of one instrument in one account; mutated in place by fills."""

    client: str
    account: str | None
    symbol: str
    qty: Decimal = ZERO  # signed: + long, - short
    avg_cost: Decimal = ZERO  # average price of the open quantity; 0 when flat
    realised_pnl: Decimal = ZERO
    bought: Decimal = ZERO  # cumulative bought quantity (reports)
    sold: Decimal = ZERO  # cumulative sold quantity, short sales included (reports)
    last_fill_px: Decimal | None = None
    updated_ns: int = 0
    cost: Decimal = ZERO  # exact signed cost of the open quantity (avg_cost x qty before rounding)

    def apply_fill(self, side: Side, qty: Decimal, px: Decimal, now_ns: int) -> Decimal:
        """Apply one fill and return the P&L it realised (0 when it opens or adds).

        Adding to (or opening) a position moves ``avg_cost`` to the weighted average; reducing
        realises ``(px - avg_cost) x closed x sign(position)`` and leaves ``avg_cost`` alone;
        a fill through zero closes the old position and opens the remainder at ``px``.
        """
        if not (qty.is_finite() and qty > 0 and px.is_finite()):
            # A bad fill must not corrupt the book silently (NaN would spread to every figure).
            raise ValueError(f"invalid fill {qty} @ {px}")
        buy = side is Side.BUY
        if buy:
            self.bought = _add(self.bought, qty)
            delta = qty
        else:
            self.sold = _add(self.sold, qty)
            delta = _neg(qty)
        self.last_fill_px = px
        self.updated_ns = now_ns
        pos = self.qty
        new_qty = _add(pos, delta)

        if not pos or (pos > 0) is buy:  # opening or adding: same direction
            self.qty = new_qty
            if not pos:
                self.cost = _mul(px, delta)
                self.avg_cost = px
            else:
                self.cost = _add(self.cost, _mul(px, delta))
                self.avg_cost = _div(self.cost, new_qty)
            return ZERO

        # Reducing, closing or flipping. Proceeds (long) or buy-back cost (short) of the
        # closed quantity, against the part of the exact cost it carries.
        held = _neg(pos) if pos < 0 else pos
        if qty >= held:
            closed, carried = held, self.cost
        else:
            closed, carried = qty, _div(_mul(self.cost, qty), held)
        proceeds = _mul(px, closed)
        realised = _sub(proceeds if pos > 0 else _neg(proceeds), carried)
        self.realised_pnl = _add(self.realised_pnl, realised)
        self.qty = new_qty
        if not new_qty:
            self.cost = ZERO
            self.avg_cost = ZERO
        elif (new_qty > 0) is (pos > 0):  # partial reduce: the average is unchanged
            self.cost = _sub(self.cost, carried)
        else:  # flipped: the remainder opens at the fill price
            self.cost = _mul(px, new_qty)
            self.avg_cost = px
        return realised

    def unrealised(self, mark: Decimal | None) -> Decimal:
        """P&L if the open quantity were closed at ``mark``: (mark - avg_cost) x qty, from the
        exact cost. 0 when flat or without a mark."""
        if mark is None or not self.qty:
            return ZERO
        return _sub(_mul(mark, self.qty), self.cost)

    def key(self) -> PositionKey:
        return (self.client, self.account, self.symbol)

    def to_doc(self) -> dict[str, Any]:
        """JSON-able snapshot (Decimals as exact strings) from which ``from_doc`` restores it."""
        return {
            "client": self.client,
            "account": self.account,
            "symbol": self.symbol,
            "qty": str(self.qty),
            "avg_cost": str(self.avg_cost),
            "cost": str(self.cost),
            "realised_pnl": str(self.realised_pnl),
            "bought": str(self.bought),
            "sold": str(self.sold),
            "last_fill_px": None if self.last_fill_px is None else str(self.last_fill_px),
            "updated_ns": self.updated_ns,
        }

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> Position:
        px = d.get("last_fill_px")
        return cls(
            client=d["client"],
            account=d.get("account"),
            symbol=d["symbol"],
            qty=Decimal(d["qty"]),
            avg_cost=Decimal(d["avg_cost"]),
            cost=Decimal(d["cost"]),
            realised_pnl=Decimal(d["realised_pnl"]),
            bought=Decimal(d["bought"]),
            sold=Decimal(d["sold"]),
            last_fill_px=None if px is None else Decimal(px),
            updated_ns=int(d["updated_ns"]),
        )


class PositionBook:
    """All positions, plus running aggregates so per-fill questions cost O(1).

    Not thread-safe: owned by the order core's thread like the orders themselves. Positions
    returned are the book's own (live) objects; snapshot them with ``to_doc`` to keep a copy.
    """

    def __init__(self) -> None:
        self._positions: dict[PositionKey, Position] = {}
        self._by_client: dict[str, list[Position]] = {}
        self._net: dict[tuple[str, str], Decimal] = {}  # (client, symbol) -> qty over accounts
        self._realised: dict[str, Decimal] = {}  # client -> realised P&L over all positions

    def on_fill(
        self,
        client: str,
        account: str | None,
        symbol: str,
        side: Side,
        qty: Decimal,
        px: Decimal,
        now_ns: int,
    ) -> Position:
        """Apply a fill and return the changed position (what the journal must upsert)."""
        key = (client, account, symbol)
        pos = self._positions.get(key)
        if pos is None:
            pos = self._positions[key] = Position(client, account, symbol)
            self._by_client.setdefault(client, []).append(pos)
        realised = pos.apply_fill(side, qty, px, now_ns)
        net_key = (client, symbol)
        net = self._net.get(net_key, ZERO)
        self._net[net_key] = _add(net, qty) if side is Side.BUY else _sub(net, qty)
        if realised:
            self._realised[client] = _add(self._realised.get(client, ZERO), realised)
        return pos

    def position(self, client: str, account: str | None, symbol: str) -> Position | None:
        return self._positions.get((client, account, symbol))

    def net_qty(self, client: str, symbol: str) -> Decimal:
        """Signed quantity of ``symbol`` held by ``client`` over all its accounts (e.g. for risk)."""
        return self._net.get((client, symbol), ZERO)

    def positions(self, client: str | None = None) -> list[Position]:
        """Positions (of one client, or all) sorted by client, account (None first), symbol."""
        found = list(self._positions.values()) if client is None else list(self._by_client.get(client, ()))
        found.sort(key=lambda p: (p.client, p.account is not None, p.account or "", p.symbol))
        return found

    def realised(self, client: str) -> Decimal:
        """Realised P&L of ``client`` over all its positions."""
        return self._realised.get(client, ZERO)

    def unrealised(self, client: str, mark: Callable[[str], Decimal | None]) -> Decimal:
        """Unrealised P&L of ``client`` with ``mark(symbol)`` as the price (None: not marked).

        Iterates the client's positions: for reports and risk checks, not the order path.
        """
        total = ZERO
        for p in self._by_client.get(client, ()):
            if p.qty:
                total = _add(total, p.unrealised(mark(p.symbol)))
        return total

    def restore(self, positions: Iterable[Position]) -> None:
        """Replace the book's contents with ``positions`` (journal snapshots after a restart)
        and rebuild the aggregates; the book takes ownership of the objects."""
        self._positions.clear()
        self._by_client.clear()
        self._net.clear()
        self._realised.clear()
        for p in positions:
            key = p.key()
            if key in self._positions:
                raise ValueError(f"duplicate position {key}")
            self._positions[key] = p
            self._by_client.setdefault(p.client, []).append(p)
            net_key = (p.client, p.symbol)
            self._net[net_key] = _add(self._net.get(net_key, ZERO), p.qty)
            self._realised[p.client] = _add(self._realised.get(p.client, ZERO), p.realised_pnl)

    def __len__(self) -> int:
        return len(self._positions)
