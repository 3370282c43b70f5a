"""Built-in pre-trade checks: each limit exactly at and one unit past its boundary, replaces as
changes, throttles on a controlled clock and duplicate-window expiry."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from gateway.orders.enums import OrdRejReason, OrdType, Side, TimeInForce
from gateway.risk.api import OrderIntent, Reject, RiskCheck
from gateway.risk.checks import (
    BUILTIN_CHECKS,
    AllowedInstruments,
    CreditLimit,
    DuplicateOrder,
    MarketOrders,
    MaxNotional,
    MaxOpenOrders,
    MaxOrderQty,
    MaxPosition,
    ParameterError,
    PriceCollar,
    RestrictedList,
    Throttle,
    TickLot,
)
from gateway.risk.throttle import NS_PER_S, TokenBucket

D = Decimal
LIMIT = OrdRejReason.ORDER_EXCEEDS_LIMIT
OTHER = OrdRejReason.OTHER


@dataclass
class FakeView:
    """A hand-written RiskView: every aggregate is whatever the test sets."""

    now_ns: int = 0
    ticks: dict[str, Decimal] = field(default_factory=lambda: {"AAPL": D("0.01"), "EURUSD": D("0.00001")})
    lots: dict[str, Decimal] = field(default_factory=lambda: {"AAPL": D(1), "EURUSD": D(1000)})
    refs: dict[str, Decimal] = field(default_factory=lambda: {"AAPL": D("190.00")})
    positions: dict[str, Decimal] = field(default_factory=dict)  # symbol -> position
    workings: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # symbol -> (buy, sell)
    gross_net: tuple[Decimal, Decimal] = (D(0), D(0))
    opens: dict[str | None, int] = field(default_factory=dict)  # symbol (None: all) -> count

    def tick_size(self, symbol: str) -> Decimal | None:
        return self.ticks.get(symbol)

    def lot_size(self, symbol: str) -> Decimal | None:
        return self.lots.get(symbol)

    def reference_price(self, symbol: str) -> Decimal | None:
        return self.refs.get(symbol)

    def position(self, client: str, symbol: str) -> Decimal:
        return self.positions.get(symbol, D(0))

    def working(self, client: str, symbol: str) -> tuple[Decimal, Decimal]:
        return self.workings.get(symbol, (D(0), D(0)))

    def exposure(self, client: str) -> tuple[Decimal, Decimal]:
        return self.gross_net

    def open_orders(self, client: str, symbol: str | None = None) -> int:
        return self.opens.get(symbol, 0)


def order(
    qty: Any = 100,
    price: Any = "190.00",
    side: Side = Side.BUY,
    symbol: str = "AAPL",
    client: str = "CLIENT1",
) -> OrderIntent:
    """A new order; ``price=None`` makes it a market order."""
    return OrderIntent(
        client=client,
        account=None,
        symbol=symbol,
        side=side,
        ord_type=OrdType.MARKET if price is None else OrdType.LIMIT,
        qty=D(qty),
        price=None if price is None else D(price),
        tif=TimeInForce.DAY,
        venue=None,
    )


def replace(old_qty: Any, qty: Any, price: Any = "190.00", side: Side = Side.BUY) -> OrderIntent:
    """A replace of an order of ``old_qty`` at 190.00 to ``qty`` at ``price``."""
    return dataclasses.replace(
        order(qty, price, side), is_replace=True, old_qty=D(old_qty), old_price=D("190.00")
    )


def rejected(result: Reject | None, check: str, reason: OrdRejReason, text: str | None = None) -> Reject:
    assert result is not None, "expected a reject"
    assert (result.check, result.reason) == (check, reason)
    assert result.text.startswith(f"{check}: ")
    if text is not None:
        assert result.text == text
    return result


# ------------------------------------------------------------------------------------ registry


MINIMAL_PARAMS: dict[str, dict[str, Any]] = {
    "market_orders": {"allowed": False},
    "max_order_qty": {"max_qty": 1},
    "tick_lot": {},
    "max_notional": {"max_notional": 1},
    "price_collar": {"max_pct": 1},
    "max_position": {"max_long": 1},
    "credit_limit": {"max_gross": 1},
    "restricted_list": {"symbols": []},
    "allowed_instruments": {"symbols": ["AAPL"]},
    "max_open_orders": {"per_client": 1},
    "throttle": {"orders_per_s": 1},
    "duplicate_order": {"window_s": 1},
}


def test_registry_names_every_builtin_and_each_is_a_risk_check() -> None:
    assert set(BUILTIN_CHECKS) == set(MINIMAL_PARAMS)
    for name, cls in BUILTIN_CHECKS.items():
        check = cls(**MINIMAL_PARAMS[name])
        assert isinstance(check, RiskCheck)
        assert check.name == name


# --------------------------------------------------------------------------------- market_orders


def test_market_orders_disallowed_rejects_market_only() -> None:
    check, view = MarketOrders(allowed=False), FakeView()
    rejected(check.check(order(price=None), view), "market_orders", OTHER)
    assert check.check(order(), view) is None


def test_market_orders_allowed_passes_market() -> None:
    assert MarketOrders(allowed=True).check(order(price=None), FakeView()) is None


def test_market_orders_allowed_must_be_a_boolean() -> None:
    with pytest.raises(TypeError, match="allowed: expected true or false, got 'yes'"):
        MarketOrders(allowed="yes")


# --------------------------------------------------------------------------------- max_order_qty


def test_max_order_qty_boundary() -> None:
    check, view = MaxOrderQty(max_qty="1000"), FakeView()
    assert check.check(order(1000), view) is None
    rejected(
        check.check(order(1001), view),
        "max_order_qty",
        LIMIT,
        "max_order_qty: OrderQty 1001 exceeds limit 1000",
    )


def test_max_order_qty_fractional_boundary() -> None:
    check, view = MaxOrderQty(max_qty=0.5), FakeView()
    assert check.max_qty == D("0.5")  # a YAML float becomes the decimal it reads as
    assert check.check(order("0.5"), view) is None
    rejected(check.check(order("0.501"), view), "max_order_qty", LIMIT)


def test_max_order_qty_replace_checks_the_new_total() -> None:
    check, view = MaxOrderQty(max_qty=1000), FakeView()
    assert check.check(replace(999, 1000), view) is None
    rejected(check.check(replace(1000, 1001), view), "max_order_qty", LIMIT)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "max_qty: must be > 0, got 0"),
        ("-1", ValueError, "max_qty: must be > 0, got '-1'"),
        ("abc", ValueError, "max_qty: expected a number, got 'abc'"),
        ("nan", ValueError, "max_qty: expected a number, got 'nan'"),
        (True, TypeError, "max_qty: expected a number, got true"),
        (None, TypeError, "max_qty: expected a number, got null"),
        ([1], TypeError, "max_qty: expected a number, got [1]"),
    ],
)
def test_number_parameters_are_validated(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as info:
        MaxOrderQty(max_qty=value)
    assert str(info.value) == message
    assert isinstance(info.value, ParameterError) and info.value.param == "max_qty"


# -------------------------------------------------------------------------------------- tick_lot


def test_tick_lot_price_on_and_off_the_grid() -> None:
    check, view = TickLot(), FakeView()
    assert check.check(order(100, "190.01"), view) is None
    text = "tick_lot: Price 190.015 is not a multiple of tick size 0.01"
    rejected(check.check(order(100, "190.015"), view), "tick_lot", OTHER, text)


def test_tick_lot_quantity_in_whole_lots() -> None:
    check, view = TickLot(), FakeView()
    assert check.check(order(2000, "1.10001", symbol="EURUSD"), view) is None
    text = "tick_lot: OrderQty 2500 is not a multiple of lot size 1000"
    rejected(check.check(order(2500, "1.10001", symbol="EURUSD"), view), "tick_lot", OTHER, text)


def test_tick_lot_market_order_checks_lot_only_and_unknown_symbol_passes() -> None:
    check, view = TickLot(), FakeView()
    assert check.check(order(5, None), view) is None
    rejected(check.check(order("5.5", None), view), "tick_lot", OTHER)
    assert check.check(order("0.5", "1.234567", symbol="NOPE"), view) is None


def test_tick_lot_absurd_quantity_is_rejected_not_raised() -> None:
    view = FakeView(lots={"AAPL": D("0.001")})
    rejected(TickLot().check(order("1E40", "190.00"), view), "tick_lot", OTHER)


# ---------------------------------------------------------------------------------- max_notional


def test_max_notional_limit_order_boundary() -> None:
    check, view = MaxNotional(max_notional="190000"), FakeView()
    assert check.check(order(1000, "190.00"), view) is None
    text = "max_notional: notional 190010.00 (OrderQty 1000 x Price 190.01) exceeds limit 190000"
    rejected(check.check(order(1000, "190.01"), view), "max_notional", LIMIT, text)


def test_max_notional_market_order_uses_reference() -> None:
    check, view = MaxNotional(max_notional=190000), FakeView()
    assert check.check(order(1000, None), view) is None
    reject = rejected(check.check(order(1001, None), view), "max_notional", LIMIT)
    assert "reference price 190.00" in reject.text


def test_max_notional_market_order_without_reference_is_rejected() -> None:
    reject = rejected(
        MaxNotional(max_notional=1).check(order(1, None, symbol="MSFT"), FakeView()), "max_notional", OTHER
    )
    assert "no reference price" in reject.text


def test_max_notional_counts_negative_prices_by_magnitude() -> None:
    check, view = MaxNotional(max_notional=500), FakeView()
    assert check.check(order(10, "-50"), view) is None
    rejected(check.check(order(10, "-50.01"), view), "max_notional", LIMIT)


# ---------------------------------------------------------------------------------- price_collar


@pytest.mark.parametrize(
    ("price", "passes"), [("209.00", True), ("209.01", False), ("171.00", True), ("170.99", False)]
)
def test_price_collar_percent_boundary(price: str, passes: bool) -> None:
    result = PriceCollar(max_pct=10).check(order(1, price), FakeView())
    if passes:
        assert result is None
    else:
        reject = rejected(result, "price_collar", OTHER)
        assert f"Price {price}" in reject.text and "reference 190.00" in reject.text and "10%" in reject.text


@pytest.mark.parametrize(
    ("price", "passes"), [("190.05", True), ("190.06", False), ("189.95", True), ("189.94", False)]
)
def test_price_collar_ticks_boundary(price: str, passes: bool) -> None:
    result = PriceCollar(max_ticks=5).check(order(1, price), FakeView())
    if passes:
        assert result is None
    else:
        assert "5-tick collar" in rejected(result, "price_collar", OTHER).text


def test_price_collar_both_bounds_apply() -> None:
    check, view = PriceCollar(max_pct="10", max_ticks=5), FakeView()
    assert check.check(order(1, "190.05"), view) is None
    rejected(check.check(order(1, "190.06"), view), "price_collar", OTHER)  # ticks, well inside 10 %


def test_price_collar_without_reference() -> None:
    view = FakeView()
    assert PriceCollar(max_pct=10).check(order(1, "999.99", symbol="MSFT"), view) is None  # limit: passes
    reject = rejected(
        PriceCollar(max_pct=10).check(order(1, None, symbol="MSFT"), view), "price_collar", OTHER
    )
    assert "no reference price" in reject.text
    allow = PriceCollar(max_pct=10, market_without_reference="allow")
    assert allow.check(order(1, None, symbol="MSFT"), view) is None


def test_price_collar_market_order_with_reference_passes() -> None:
    assert PriceCollar(max_ticks=1).check(order(1, None), FakeView()) is None


def test_price_collar_replace_checks_the_new_price() -> None:
    check, view = PriceCollar(max_pct=10), FakeView()
    assert check.check(replace(100, 100, "209.00"), view) is None
    rejected(check.check(replace(100, 100, "209.01"), view), "price_collar", OTHER)


def test_price_collar_negative_reference() -> None:
    check, view = PriceCollar(max_pct=10), FakeView(refs={"AAPL": D("-10.00")})
    assert check.check(order(1, "-11.00"), view) is None
    rejected(check.check(order(1, "-11.01"), view), "price_collar", OTHER)


def test_price_collar_parameters() -> None:
    with pytest.raises(ValueError, match="price_collar: set at least one of max_pct, max_ticks"):
        PriceCollar()
    with pytest.raises(ParameterError, match="market_without_reference: expected one of: reject, allow"):
        PriceCollar(max_pct=1, market_without_reference="maybe")
    with pytest.raises(ParameterError, match="max_ticks: must be > 0"):
        PriceCollar(max_ticks=0)


# ---------------------------------------------------------------------------------- max_position


def test_max_position_buy_counts_position_and_working_buys() -> None:
    check = MaxPosition(max_long=1000, max_short=1000)
    view = FakeView(positions={"AAPL": D(500)}, workings={"AAPL": (D(300), D(9999))})
    assert check.check(order(200), view) is None
    text = "max_position: long 1001 in AAPL (position 500 + working buys 300 + order 201) exceeds limit 1000"
    rejected(check.check(order(201), view), "max_position", LIMIT, text)


def test_max_position_sell_counts_position_and_working_sells() -> None:
    check = MaxPosition(max_long=1000, max_short=1000)
    view = FakeView(positions={"AAPL": D(-500)}, workings={"AAPL": (D(9999), D(300))})
    assert check.check(order(200, side=Side.SELL), view) is None
    reject = rejected(check.check(order(201, side=Side.SELL), view), "max_position", LIMIT)
    assert reject.text.startswith("max_position: short 1001 in AAPL") and reject.text.endswith("limit 1000")
    rejected(check.check(order(201, side=Side.SELL_SHORT), view), "max_position", LIMIT)


def test_max_position_selling_out_of_a_long() -> None:
    check, view = MaxPosition(max_short=1000), FakeView(positions={"AAPL": D(800)})
    assert check.check(order(1800, side=Side.SELL), view) is None
    rejected(check.check(order(1801, side=Side.SELL), view), "max_position", LIMIT)


def test_max_position_only_the_configured_side_is_limited() -> None:
    view = FakeView(positions={"AAPL": D(10**9)})
    assert MaxPosition(max_short=1).check(order(10**6), view) is None
    rejected(MaxPosition(max_long=1).check(order(1), view), "max_position", LIMIT)


def test_max_position_zero_short_means_no_shorting() -> None:
    check = MaxPosition(max_short=0)
    assert check.check(order(1, side=Side.SELL), FakeView(positions={"AAPL": D(1)})) is None
    rejected(check.check(order(1, side=Side.SELL), FakeView()), "max_position", LIMIT)


def test_max_position_replace_counts_only_the_added_quantity() -> None:
    # the order's current 100 is already among the working buys
    check, view = MaxPosition(max_long=150), FakeView(workings={"AAPL": (D(100), D(0))})
    assert check.check(replace(100, 150), view) is None
    rejected(check.check(replace(100, 151), view), "max_position", LIMIT)


def test_max_position_reducing_replace_passes_even_beyond_the_limit() -> None:
    check = MaxPosition(max_long=1000)
    view = FakeView(positions={"AAPL": D(2000)}, workings={"AAPL": (D(500), D(0))})
    rejected(check.check(order(1), view), "max_position", LIMIT)
    assert check.check(replace(100, 50), view) is None
    assert check.check(replace(100, 100, "191.00"), view) is None  # price-only change adds nothing


def test_max_position_parameters() -> None:
    with pytest.raises(ValueError, match="set at least one of max_long, max_short"):
        MaxPosition()
    with pytest.raises(ParameterError, match="max_long: must be >= 0, got -1"):
        MaxPosition(max_long=-1)


# ---------------------------------------------------------------------------------- credit_limit


def test_credit_limit_gross_boundary() -> None:
    check, view = CreditLimit(max_gross=1000), FakeView(gross_net=(D(900), D(0)))
    assert check.check(order(1, "100"), view) is None
    text = "credit_limit: gross exposure 1000.01 (current 900 + order 100.01) exceeds limit 1000"
    rejected(check.check(order(1, "100.01"), view), "credit_limit", LIMIT, text)


def test_credit_limit_market_order_uses_reference_or_is_rejected() -> None:
    check, view = CreditLimit(max_gross="1900"), FakeView()
    assert check.check(order(10, None), view) is None  # 10 x 190.00
    rejected(check.check(order(11, None), view), "credit_limit", LIMIT)
    reject = rejected(check.check(order(1, None, symbol="MSFT"), view), "credit_limit", OTHER)
    assert "no reference price" in reject.text


def test_credit_limit_net_is_signed_by_side() -> None:
    check = CreditLimit(max_net=1000)
    long_view, short_view = FakeView(gross_net=(D(0), D(900))), FakeView(gross_net=(D(0), D(-900)))
    assert check.check(order(1, "100"), long_view) is None
    rejected(check.check(order(1, "100.01"), long_view), "credit_limit", LIMIT)
    assert check.check(order(1, "100", Side.SELL), short_view) is None
    reject = rejected(check.check(order(1, "100.01", Side.SELL), short_view), "credit_limit", LIMIT)
    assert reject.text.startswith("credit_limit: net exposure -1000.01 (current -900 - order 100.01)")
    assert check.check(order(10, "100", Side.SELL), long_view) is None  # 900 -> -100


def test_credit_limit_net_reducing_order_passes_beyond_the_limit() -> None:
    check, view = CreditLimit(max_net=1000), FakeView(gross_net=(D(0), D(2000)))
    assert check.check(order(1, "100", Side.SELL), view) is None  # 2000 -> 1900: closer to flat
    assert check.check(order(40, "100", Side.SELL), view) is None  # 2000 -> -2000: no worse
    rejected(check.check(order(41, "100", Side.SELL), view), "credit_limit", LIMIT)  # -> -2100


def test_credit_limit_replace_counts_only_the_added_quantity() -> None:
    check, view = CreditLimit(max_gross=1000), FakeView(gross_net=(D(10**9), D(10**9)))
    assert check.check(replace(100, 50, "100"), view) is None  # reducing: passes beyond the limit
    view.gross_net = (D(0), D(0))
    assert check.check(replace(100, 110, "100"), view) is None  # adds 10 x 100
    rejected(check.check(replace(100, 111, "100"), view), "credit_limit", LIMIT)


def test_credit_limit_parameters() -> None:
    with pytest.raises(ValueError, match="set at least one of max_gross, max_net"):
        CreditLimit()


# ------------------------------------------------------------------------- restricted / allowed


def test_restricted_list() -> None:
    check, view = RestrictedList(symbols=["TSLA"]), FakeView()
    rejected(
        check.check(order(symbol="TSLA"), view),
        "restricted_list",
        OTHER,
        "restricted_list: TSLA is restricted",
    )
    assert check.check(order(), view) is None
    merged = check.including(("AAPL",))
    rejected(merged.check(order(), view), "restricted_list", OTHER)
    rejected(merged.check(order(symbol="TSLA"), view), "restricted_list", OTHER)
    assert check.check(order(), view) is None  # the original is unchanged


def test_restricted_list_symbols_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="symbols: expected a list of symbols, got 'TSLA'"):
        RestrictedList(symbols="TSLA")
    with pytest.raises(ValueError, match="symbols: expected symbols without spaces, got 'BRK A'"):
        RestrictedList(symbols=["BRK A"])


def test_allowed_instruments() -> None:
    check, view = AllowedInstruments(symbols=["MSFT", "AAPL"]), FakeView()
    assert check.check(order(), view) is None
    text = "allowed_instruments: TSLA is not allowed (allowed: AAPL, MSFT)"
    rejected(
        check.check(order(symbol="TSLA"), view), "allowed_instruments", OrdRejReason.UNKNOWN_SYMBOL, text
    )
    with pytest.raises(ValueError, match="symbols: must list at least one symbol"):
        AllowedInstruments(symbols=[])


# ------------------------------------------------------------------------------- max_open_orders


def test_max_open_orders_per_client_boundary() -> None:
    check = MaxOpenOrders(per_client="3")
    assert check.check(order(), FakeView(opens={None: 2})) is None
    text = "max_open_orders: 3 open orders, limit 3"
    rejected(check.check(order(), FakeView(opens={None: 3})), "max_open_orders", LIMIT, text)


def test_max_open_orders_per_instrument_boundary() -> None:
    check = MaxOpenOrders(per_client=100, per_instrument=2)
    assert check.check(order(), FakeView(opens={None: 50, "AAPL": 1})) is None
    text = "max_open_orders: 2 open orders in AAPL, limit 2 per instrument"
    rejected(check.check(order(), FakeView(opens={None: 50, "AAPL": 2})), "max_open_orders", LIMIT, text)


def test_max_open_orders_replace_opens_nothing() -> None:
    assert (
        MaxOpenOrders(per_client=1, per_instrument=1).check(
            replace(1, 2), FakeView(opens={None: 9, "AAPL": 9})
        )
        is None
    )


def test_max_open_orders_needs_whole_numbers() -> None:
    with pytest.raises(ParameterError, match=r"per_client: expected a whole number, got 1\.5"):
        MaxOpenOrders(per_client=1.5)
    with pytest.raises(ValueError, match="set at least one of per_client, per_instrument"):
        MaxOpenOrders()


# -------------------------------------------------------------------------------- token bucket


def test_token_bucket_starts_full_and_refills_exactly() -> None:
    bucket = TokenBucket(2, 2)
    assert bucket.take(0) and bucket.take(0)
    assert not bucket.take(0)
    assert not bucket.take(NS_PER_S // 2 - 1)  # one nanosecond short of a token
    assert bucket.take(NS_PER_S // 2)
    assert not bucket.take(NS_PER_S // 2)


def test_token_bucket_rate_that_is_not_a_whole_number_of_ns() -> None:
    bucket = TokenBucket(3, 1)  # one token every 333 333 333.33 ns
    assert bucket.take(0)
    assert not bucket.take(333_333_333)
    assert bucket.take(333_333_334)
    assert bucket.available(NS_PER_S) == 1  # capped at the burst


def test_token_bucket_has_no_drift_over_a_second() -> None:
    bucket = TokenBucket(3, 3)
    assert all(bucket.take(0) for _ in range(3))
    assert bucket.available(NS_PER_S - 1) < 3
    assert bucket.available(NS_PER_S) == 3  # exactly three tokens, not 2.999...


def test_token_bucket_burst_caps_banked_tokens() -> None:
    bucket = TokenBucket(10, 3)
    assert bucket.take(0)
    taken = sum(bucket.take(100 * NS_PER_S) for _ in range(10))  # a long idle banks only the burst
    assert taken == 3


def test_token_bucket_slow_rate_default_burst_is_one() -> None:
    bucket = TokenBucket("0.5")
    assert bucket.burst == 1
    assert bucket.take(0)
    assert not bucket.take(2 * NS_PER_S - 1)
    assert bucket.take(2 * NS_PER_S)


def test_token_bucket_default_burst_is_one_second_of_tokens() -> None:
    bucket = TokenBucket(5)
    assert sum(bucket.take(0) for _ in range(10)) == 5


def test_token_bucket_clock_stepping_back_refills_nothing() -> None:
    bucket = TokenBucket(1, 1)
    assert bucket.take(10 * NS_PER_S)
    assert not bucket.take(5 * NS_PER_S)
    assert not bucket.take(11 * NS_PER_S - 1)
    assert bucket.take(11 * NS_PER_S)


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, "0.5")])
def test_token_bucket_rejects_bad_parameters(rate: Any, burst: Any) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


# ------------------------------------------------------------------------------------ throttle


def test_throttle_orders_refill_with_the_view_clock() -> None:
    check, view = Throttle(orders_per_s=2), FakeView()
    assert check.check(order(), view) is None
    assert check.check(replace(100, 200), view) is None  # replaces take order tokens too
    text = "throttle: more than 2 orders/s (burst 2)"
    rejected(check.check(order(), view), "throttle", OTHER, text)
    view.now_ns = NS_PER_S // 2 - 1
    rejected(check.check(order(), view), "throttle", OTHER)
    view.now_ns = NS_PER_S // 2
    assert check.check(order(), view) is None


def test_throttle_messages_have_their_own_bucket() -> None:
    check, view = Throttle(orders_per_s=1, messages_per_s=2, burst=1), FakeView()
    assert check.on_message(view) is None
    rejected(check.on_message(view), "throttle", OTHER, "throttle: more than 2 messages/s (burst 1)")
    assert check.check(order(), view) is None  # the order bucket is untouched
    view.now_ns = NS_PER_S // 2
    assert check.on_message(view) is None


def test_throttle_with_one_rate_leaves_the_other_unlimited() -> None:
    view = FakeView()
    messages_only, orders_only = Throttle(messages_per_s=1), Throttle(orders_per_s=1)
    assert all(messages_only.check(order(), view) is None for _ in range(100))
    assert all(orders_only.on_message(view) is None for _ in range(100))


def test_throttle_parameters() -> None:
    with pytest.raises(ValueError, match="set at least one of orders_per_s, messages_per_s"):
        Throttle()
    with pytest.raises(ParameterError, match=r"burst: must be >= 1, got 0\.5"):
        Throttle(orders_per_s=10, burst=0.5)
    with pytest.raises(ParameterError, match="orders_per_s: must be > 0"):
        Throttle(orders_per_s=0)


# ------------------------------------------------------------------------------- duplicate_order


def test_duplicate_order_within_the_window() -> None:
    check, view = DuplicateOrder(window_s=1), FakeView()
    assert check.check(order(), view) is None
    check.record(order(), view)
    view.now_ns = NS_PER_S - 1
    reject = rejected(check.check(order(), view), "duplicate_order", OTHER)
    assert reject.text == (
        "duplicate_order: same AAPL BUY 100 @ 190.00 as an order accepted 1.000s ago (window 1s)"
    )
    view.now_ns = NS_PER_S  # exactly the window later: expired
    assert check.check(order(), view) is None
    assert len(check) == 0


def test_duplicate_order_only_exact_terms_match() -> None:
    check, view = DuplicateOrder(window_s=1), FakeView()
    check.record(order(100, "190.00"), view)
    assert check.check(order(100, "190.01"), view) is None
    assert check.check(order(101, "190.00"), view) is None
    assert check.check(order(100, "190.00", Side.SELL), view) is None
    assert check.check(order(100, "190.00", symbol="MSFT"), view) is None
    assert check.check(order(100, "190.00", client="CLIENT2"), view) is None
    rejected(check.check(order("100.0", "190.0"), view), "duplicate_order", OTHER)  # same numbers


def test_duplicate_order_replaces_and_unrecorded_orders_do_not_count() -> None:
    check, view = DuplicateOrder(window_s=1), FakeView()
    assert check.check(order(), view) is None  # checked but not accepted: not remembered
    assert check.check(order(), view) is None
    check.record(order(), view)
    assert check.check(replace(100, 100), view) is None  # replaces are never duplicates
    check.record(replace(50, 60), view)
    assert len(check) == 1


def test_duplicate_order_re_acceptance_extends_the_window() -> None:
    check, view = DuplicateOrder(window_s=1), FakeView()
    check.record(order(), view)
    view.now_ns = 800_000_000
    check.record(order(), view)
    view.now_ns = 1_500_000_000  # the first acceptance expired, the second has not
    rejected(check.check(order(), view), "duplicate_order", OTHER)
    view.now_ns = 1_800_000_000
    assert check.check(order(), view) is None


def test_duplicate_order_memory_is_bounded_by_the_window() -> None:
    check, view = DuplicateOrder(window_s="0.1"), FakeView()
    for i in range(5000):
        view.now_ns = i * 1_000_000  # one distinct order per millisecond
        check.record(order(i + 1), view)
        assert len(check) <= 100
    assert len(check) == 100


def test_duplicate_order_window_zero_is_off() -> None:
    check, view = DuplicateOrder(window_s=0), FakeView()
    check.record(order(), view)
    assert check.check(order(), view) is None and len(check) == 0
    with pytest.raises(ParameterError, match="window_s: must be >= 0"):
        DuplicateOrder(window_s=-1)
