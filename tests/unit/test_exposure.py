"""Exposure aggregates (gateway.risk.exposure): exact through every step of an order's life.

Orders are ``ClientOrder`` objects moved through their states by hand, the way the order core
moves them, and handed to :meth:`Exposure.update_order` after each change (what
``PreTrade.settle`` does). A brute-force recomputation from the orders and positions is the
reference the running aggregates must match exactly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from decimal import Decimal

import pytest

from gateway.orders.enums import OrdStatus, OrdType, Side, TimeInForce
from gateway.orders.model import ClientOrder, PendingChange
from gateway.risk.exposure import Exposure, ReferencePrices

D = Decimal
ZERO = D(0)
REFS = {"ACME": D("10"), "BETA": D("20.5"), "GAMMA": D("0.25")}


def make_exposure(refs: dict[str, Decimal] | None = None) -> Exposure:
    return Exposure(ReferencePrices(dict(REFS if refs is None else refs)))


def order(
    oid: str,
    client: str = "A",
    symbol: str = "ACME",
    side: Side = Side.BUY,
    qty: str = "100",
    price: str | None = "10",
) -> ClientOrder:
    """A PendingNew order, as the core creates it before routing."""
    return ClientOrder(
        order_id=oid,
        session=client,
        cl_ord_id=f"C-{oid}",
        symbol=symbol,
        side=side,
        ord_type=OrdType.LIMIT if price is not None else OrdType.MARKET,
        qty=D(qty),
        price=None if price is None else D(price),
        tif=TimeInForce.DAY,
        cl_ord_ids=[f"C-{oid}"],
    )


def fill(o: ClientOrder, qty: str | Decimal, px: str | Decimal = "10") -> None:
    o.fills.add(D(qty), D(px))
    o.status = OrdStatus.FILLED if o.fills.cum_qty >= o.qty else OrdStatus.PARTIALLY_FILLED


def request_replace(o: ClientOrder, qty: str, price: str | None = None) -> None:
    o.pending = PendingChange(
        OrdStatus.PENDING_REPLACE,
        f"R-{o.order_id}",
        o.cl_ord_id,
        D(qty),
        o.price if price is None else D(price),
        o.ord_type,
        o.tif,
    )


def confirm_replace(o: ClientOrder) -> None:
    p = o.pending
    assert p is not None and p.qty is not None
    o.qty, o.price, o.cl_ord_id, o.pending = p.qty, p.price, p.cl_ord_id, None
    if o.fills.cum_qty >= o.qty:
        o.status = OrdStatus.FILLED


# ------------------------------------------------------------------------ brute-force reference


def recompute(
    orders: Iterable[ClientOrder], positions: dict[tuple[str, str], Decimal], prices: ReferencePrices
) -> dict:
    """Every read, computed from scratch from the orders and positions (the slow, obvious way)."""
    lines: dict[tuple[str, str], list[Decimal]] = {}  # [position, working buy, working sell]
    opened: dict[tuple[str, str], int] = {}
    for (client, symbol), qty in positions.items():
        lines.setdefault((client, symbol), [ZERO, ZERO, ZERO])[0] = qty
    for o in orders:
        if o.status.is_terminal:
            continue
        leaves = o.qty - o.fills.cum_qty
        if o.pending is not None and o.pending.qty is not None:
            leaves = max(leaves, o.pending.qty - o.fills.cum_qty)
        line = lines.setdefault((o.session, o.symbol), [ZERO, ZERO, ZERO])
        line[1 if o.side is Side.BUY else 2] += leaves
        opened[(o.session, o.symbol)] = opened.get((o.session, o.symbol), 0) + 1
    gross: dict[str, Decimal] = {}
    net: dict[str, Decimal] = {}
    for (client, symbol), (pos, buy, sell) in lines.items():
        px = prices.for_exposure(symbol)
        gross[client] = gross.get(client, ZERO) + (abs(pos) + buy + sell) * px
        net[client] = net.get(client, ZERO) + (pos + buy - sell) * px
    clients = {c for c, _ in lines}
    return {
        "lines": {k: (v[0], v[1], v[2], opened.get(k, 0)) for k, v in lines.items()},
        "clients": {
            c: (gross[c], net[c], sum(n for (cc, _), n in opened.items() if cc == c)) for c in clients
        },
    }


def reads(exposure: Exposure, keys: Iterable[tuple[str, str]]) -> dict:
    """The same figures through the public O(1) reads."""
    keys = list(keys)
    lines = {}
    for client, symbol in keys:
        buy, sell = exposure.working(client, symbol)
        lines[(client, symbol)] = (
            exposure.position(client, symbol),
            buy,
            sell,
            exposure.open_orders(client, symbol),
        )
    clients = {c: (*exposure.exposure(c), exposure.open_orders(c)) for c in {c for c, _ in keys}}
    return {"lines": lines, "clients": clients}


def assert_matches(
    exposure: Exposure, orders: Iterable[ClientOrder], positions: dict[tuple[str, str], Decimal]
) -> None:
    expected = recompute(orders, positions, exposure.prices)
    assert reads(exposure, expected["lines"]) == expected


# ------------------------------------------------------------------------ an order's life


def test_new_order_when_settled_then_counts_as_working_and_open() -> None:
    exp = make_exposure()
    buy, sell = order("O1", qty="100"), order("O2", side=Side.SELL, qty="30.5")

    exp.update_order(buy)
    exp.update_order(sell)

    assert exp.working("A", "ACME") == (D(100), D("30.5"))
    assert exp.open_orders("A") == 2
    assert exp.open_orders("A", "ACME") == 2
    assert exp.open_orders("A", "BETA") == 0
    # gross counts both sides, net nets them, at the reference price 10
    assert exp.exposure("A") == (D("1305.0"), D("695.0"))


def test_update_order_when_nothing_changed_then_idempotent() -> None:
    exp = make_exposure()
    o = order("O1")
    for _ in range(3):
        exp.update_order(o)
    assert exp.working("A", "ACME") == (D(100), ZERO)
    assert exp.open_orders("A") == 1
    assert exp.exposure("A") == (D(1000), D(1000))


def test_update_order_when_rejected_before_ever_counted_then_nothing_recorded() -> None:
    exp = make_exposure()
    o = order("O1")
    o.status = OrdStatus.REJECTED  # refused by risk: never counted

    exp.update_order(o)

    assert exp.open_orders("A") == 0
    assert exp.exposure("A") == (ZERO, ZERO)
    assert exp.working("A", "ACME") == (ZERO, ZERO)


def test_partial_fill_when_position_updated_then_leaves_shrink_and_position_moves() -> None:
    exp = make_exposure()
    o = order("O1", qty="100")
    exp.update_order(o)
    o.status = OrdStatus.NEW
    exp.update_order(o)

    fill(o, "30")
    exp.update_position("A", "ACME", D(30))
    exp.update_order(o)

    assert exp.working("A", "ACME") == (D(70), ZERO)
    assert exp.position("A", "ACME") == D(30)
    assert exp.open_orders("A") == 1
    # 30 held + 70 working, both long: gross == net
    assert exp.exposure("A") == (D(1000), D(1000))

    fill(o, "70")
    exp.update_position("A", "ACME", D(100))
    exp.update_order(o)

    assert o.status is OrdStatus.FILLED
    assert exp.working("A", "ACME") == (ZERO, ZERO)
    assert exp.open_orders("A") == 0
    assert exp.open_orders("A", "ACME") == 0
    assert exp.exposure("A") == (D(1000), D(1000))


def test_short_position_when_marked_then_gross_is_absolute_and_net_negative() -> None:
    exp = make_exposure()
    exp.update_position("A", "ACME", D(-40))
    exp.update_order(order("O1", side=Side.SELL_SHORT, qty="10"))

    assert exp.working("A", "ACME") == (ZERO, D(10))
    assert exp.exposure("A") == (D(500), D(-500))


@pytest.mark.parametrize("terminal", [OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED])
def test_order_when_canceled_or_rejected_then_removed_from_working(terminal: OrdStatus) -> None:
    exp = make_exposure()
    keep, gone = order("O1", qty="10"), order("O2", qty="25")
    exp.update_order(keep)
    exp.update_order(gone)
    fill(gone, "5")
    exp.update_position("A", "ACME", D(5))
    exp.update_order(gone)
    assert exp.working("A", "ACME") == (D(30), ZERO)

    gone.status = terminal
    exp.update_order(gone)

    assert exp.working("A", "ACME") == (D(10), ZERO)
    assert exp.open_orders("A") == 1
    assert exp.position("A", "ACME") == D(5)  # what filled stays held
    assert exp.exposure("A") == (D(150), D(150))

    exp.update_order(gone)  # a second settle of a closed order changes nothing
    assert exp.open_orders("A") == 1
    assert exp.working("A", "ACME") == (D(10), ZERO)


@pytest.mark.parametrize(
    ("new_qty", "pending_working", "confirmed_working"),
    [("150", D(120), D(120)), ("60", D(70), D(30))],  # up: new size counts at once; down: old until done
)
def test_replace_when_pending_then_larger_size_counts_and_when_confirmed_the_new_size(
    new_qty: str, pending_working: Decimal, confirmed_working: Decimal
) -> None:
    exp = make_exposure()
    o = order("O1", qty="100")
    o.status = OrdStatus.NEW
    exp.update_order(o)
    fill(o, "30")
    exp.update_position("A", "ACME", D(30))
    exp.update_order(o)
    assert exp.working("A", "ACME") == (D(70), ZERO)

    request_replace(o, new_qty)
    exp.update_order(o)

    assert exp.working("A", "ACME") == (pending_working, ZERO)
    assert exp.open_orders("A") == 1  # a replace opens nothing

    confirm_replace(o)
    exp.update_order(o)

    assert exp.working("A", "ACME") == (confirmed_working, ZERO)
    assert exp.open_orders("A") == 1
    assert exp.exposure("A") == ((D(30) + confirmed_working) * 10,) * 2


def test_replace_when_refused_by_venue_then_old_size_again() -> None:
    exp = make_exposure()
    o = order("O1", qty="100")
    exp.update_order(o)
    request_replace(o, "500")
    exp.update_order(o)
    assert exp.working("A", "ACME") == (D(500), ZERO)

    o.pending = None  # the venue's OrderCancelReject
    exp.update_order(o)

    assert exp.working("A", "ACME") == (D(100), ZERO)
    assert exp.exposure("A") == (D(1000), D(1000))


def test_replace_when_order_fills_before_the_answer_then_nothing_left_working() -> None:
    exp = make_exposure()
    o = order("O1", qty="100")
    exp.update_order(o)
    request_replace(o, "150")
    exp.update_order(o)

    fill(o, "100")  # filled while the replace is pending: the order is done
    exp.update_position("A", "ACME", D(100))
    exp.update_order(o)

    assert exp.working("A", "ACME") == (ZERO, ZERO)
    assert exp.open_orders("A") == 0


def test_cancel_pending_when_settled_then_still_working_until_confirmed() -> None:
    exp = make_exposure()
    o = order("O1", qty="100")
    exp.update_order(o)
    o.pending = PendingChange(OrdStatus.PENDING_CANCEL, "X", o.cl_ord_id)
    exp.update_order(o)
    assert exp.working("A", "ACME") == (D(100), ZERO)

    o.status = OrdStatus.CANCELED
    exp.update_order(o)
    assert exp.working("A", "ACME") == (ZERO, ZERO)
    assert exp.open_orders("A") == 0
    assert exp.exposure("A") == (ZERO, ZERO)


def test_several_orders_clients_and_symbols_then_each_line_and_client_exact() -> None:
    exp = make_exposure()
    orders = [
        order("O1", "A", "ACME", Side.BUY, "100", "10"),
        order("O2", "A", "ACME", Side.SELL, "40", "10.1"),
        order("O3", "A", "BETA", Side.SELL, "7", "21"),
        order("O4", "B", "ACME", Side.BUY, "1000", "9.9"),
        order("O5", "B", "GAMMA", Side.BUY, "0.5", "0.25"),
        order("O6", "C", "BETA", Side.SELL_SHORT, "3", "20"),
    ]
    positions = {("A", "BETA"): D(-2), ("B", "ACME"): D(12)}
    for (client, symbol), qty in positions.items():
        exp.update_position(client, symbol, qty)
    for o in orders:
        exp.update_order(o)

    assert exp.working("A", "ACME") == (D(100), D(40))
    assert exp.working("A", "BETA") == (ZERO, D(7))
    assert exp.working("B", "ACME") == (D(1000), ZERO)
    assert exp.open_orders("A") == 3
    assert exp.open_orders("B") == 2
    assert exp.open_orders("C") == 1
    assert exp.open_orders("C", "ACME") == 0
    assert exp.exposure("A") == (D(1400) + D(9) * D("20.5"), D(600) - D(9) * D("20.5"))
    assert exp.exposure("B") == (D(10120) + D("0.125"), D(10120) + D("0.125"))
    assert exp.exposure("C") == (D("61.5"), D("-61.5"))
    assert exp.exposure("nobody") == (ZERO, ZERO)
    assert_matches(exp, orders, positions)

    orders[1].status = OrdStatus.CANCELED
    exp.update_order(orders[1])
    assert exp.working("A", "ACME") == (D(100), ZERO)
    assert exp.working("B", "ACME") == (D(1000), ZERO)  # another client's line: untouched
    assert_matches(exp, orders, positions)


# ------------------------------------------------------------------------ prices


def test_exposure_when_marked_at_reference_prices_then_each_symbol_at_its_own() -> None:
    exp = make_exposure()
    exp.update_order(order("O1", symbol="ACME", qty="10", price="9"))
    exp.update_order(order("O2", symbol="BETA", qty="10", price="21"))
    # the reference (10 and 20.5), not the limit price, values working orders
    assert exp.exposure("A") == (D(305), D(305))


def test_on_price_when_symbol_moves_then_only_its_holders_are_re_marked() -> None:
    exp = make_exposure()
    exp.update_order(order("O1", "A", "ACME", qty="10"))
    exp.update_position("A", "BETA", D(-4))
    exp.update_order(order("O2", "B", "BETA", qty="10", price="20"))
    before_b = exp.exposure("B")
    assert exp.exposure("A") == (D(100) + D(82), D(100) - D(82))

    exp.on_price("ACME", D("12.5"))

    assert exp.exposure("A") == (D(125) + D(82), D(125) - D(82))
    assert exp.exposure("B") == before_b
    assert exp.prices.reference("ACME") == D("12.5")

    exp.on_price("BETA", D(21))

    assert exp.exposure("A") == (D(125) + D(84), D(125) - D(84))
    assert exp.exposure("B") == (D(210), D(210))


def test_on_price_when_mark_then_spy_re_marks_holder_lines_only(monkeypatch: pytest.MonkeyPatch) -> None:
    exp = make_exposure()
    for i in range(50):
        exp.update_order(order(f"A{i}", "A", "ACME"))
        exp.update_order(order(f"B{i}", "B", "BETA", price="20"))
    exp.update_order(order("C1", "C", "ACME", side=Side.SELL))
    remarked: list[tuple[str, str]] = []
    original = exp._remark
    monkeypatch.setattr(exp, "_remark", lambda c, s, line: (remarked.append((c, s)), original(c, s, line)))

    exp.on_price("ACME", D(11))

    assert sorted(remarked) == [("A", "ACME"), ("C", "ACME")]  # one per holder, not per order


def test_exposure_when_no_reference_then_last_limit_price_values_the_order() -> None:
    exp = make_exposure(refs={})
    exp.update_order(order("O1", symbol="NEWCO", qty="10", price="12.5"))

    assert exp.prices.reference("NEWCO") is None
    assert exp.exposure("A") == (D(125), D(125))

    exp.on_price("NEWCO", D(13))  # the first trade: now there is a reference

    assert exp.exposure("A") == (D(130), D(130))


def test_exposure_when_market_order_without_any_price_then_valued_at_zero_until_marked() -> None:
    exp = make_exposure(refs={})
    exp.update_order(order("O1", symbol="NEWCO", qty="10", price=None))

    assert exp.working("A", "NEWCO") == (D(10), ZERO)
    assert exp.exposure("A") == (ZERO, ZERO)

    exp.on_price("NEWCO", D(3))
    assert exp.exposure("A") == (D(30), D(30))


# ------------------------------------------------------------------------ cost (structure, not timing)


class _NoScan(dict):
    """A dict that fails the test if anything iterates it (the per-order table must only be keyed)."""

    def _scan(self, *args: object) -> None:
        raise AssertionError("the per-order table was scanned")

    __iter__ = keys = values = items = _scan  # type: ignore[assignment]


def test_update_order_when_many_other_orders_then_only_its_own_line_is_touched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exp = make_exposure()
    others = [order(f"O{i}", f"C{i % 7}", ("ACME", "BETA", "GAMMA")[i % 3], price="20") for i in range(2000)]
    for o in others:
        exp.update_order(o)
    exp.update_order(target := order("T1", "A", "ACME"))
    exp._orders = _NoScan(exp._orders)
    lines_before = {
        k: (v.position, v.working_buy, v.working_sell, v.open_orders, v.gross, v.net)
        for k, v in exp._lines.items()
    }
    applied: list[tuple[str, str, int]] = []
    remarked: list[tuple[str, str]] = []
    apply, remark = exp._apply, exp._remark
    monkeypatch.setattr(
        exp, "_apply", lambda s, sign: (applied.append((s.client, s.symbol, sign)), apply(s, sign))
    )
    monkeypatch.setattr(exp, "_remark", lambda c, s, line: (remarked.append((c, s)), remark(c, s, line)))

    fill(target, "40")
    exp.update_position("A", "ACME", D(40))
    exp.update_order(target)
    exp.working("A", "ACME"), exp.exposure("A"), exp.open_orders("A"), exp.open_orders("A", "ACME")

    assert applied == [("A", "ACME", -1), ("A", "ACME", +1)]  # the old share out, the new one in
    assert set(remarked) == {("A", "ACME")}
    lines_after = {
        k: (v.position, v.working_buy, v.working_sell, v.open_orders, v.gross, v.net)
        for k, v in exp._lines.items()
    }
    changed = {k for k in lines_after if lines_after[k] != lines_before.get(k)}
    assert changed == {("A", "ACME")}


# ------------------------------------------------------------------------ exact under random histories


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_history_when_recomputed_from_scratch_then_running_aggregates_equal(seed: int) -> None:
    rng = random.Random(seed)
    exp = make_exposure()
    symbols, clients = list(REFS), ["A", "B", "C"]
    orders: list[ClientOrder] = []
    positions: dict[tuple[str, str], Decimal] = {}

    def live() -> list[ClientOrder]:
        return [o for o in orders if o.is_open]

    for step in range(400):
        action = rng.choice(["new", "new", "fill", "cancel", "reject", "replace", "answer", "price"])
        candidates = live()
        if action == "new" or not candidates:
            side = rng.choice([Side.BUY, Side.SELL, Side.SELL_SHORT])
            qty = str(D(rng.randint(1, 400)) / 4)  # quarters: exact Decimal arithmetic matters
            o = order(
                f"O{step}", rng.choice(clients), rng.choice(symbols), side, qty, str(rng.randint(1, 50))
            )
            orders.append(o)
            target = o
        else:
            target = rng.choice(candidates)
            if action == "fill":
                remaining = target.qty - target.fills.cum_qty
                qty = min(remaining, D(rng.randint(1, 200)) / 4)
                px = D(rng.randint(1, 50))
                fill(target, qty, px)
                key = (target.session, target.symbol)
                positions[key] = positions.get(key, ZERO) + qty * target.side.sign
                exp.update_position(*key, positions[key])
                exp.on_price(target.symbol, px)  # what PreTrade.on_fill does after a fill
            elif action == "cancel":
                target.status = OrdStatus.CANCELED
                target.pending = None
            elif action == "reject":
                target.status = OrdStatus.REJECTED
            elif action == "replace" and target.pending is None:
                new_qty = target.fills.cum_qty + D(rng.randint(1, 400)) / 4
                request_replace(target, str(new_qty), str(rng.randint(1, 50)))
            elif action == "answer" and target.pending is not None:
                if rng.random() < 0.7:
                    confirm_replace(target)
                else:
                    target.pending = None
            elif action == "price":
                exp.on_price(target.symbol, D(rng.randint(1, 80)) / 2)
        exp.update_order(target)
        assert_matches(exp, orders, positions)
