"""Built-in pre-trade checks (SEC 15c3-5 / MiFID II RTS 6 style), registered in :data:`BUILTIN_CHECKS`.

Each check is built once per client session from its YAML parameters, validated in ``__init__``
(a bad one raises :class:`ParameterError`, a ``ValueError`` or ``TypeError`` naming the parameter,
which the engine turns into a config error at that exact key), and then answers ``check(intent,
view)`` with ``None`` or a :class:`~gateway.risk.api.Reject` whose text names the check, the limit
and the value. The hot path does Decimal comparisons and O(1) view calls only; texts are built
only when rejecting.

Reject reasons: 3 (ORDER_EXCEEDS_LIMIT) for limit breaches, 1 (UNKNOWN_SYMBOL) for symbols the
client may not trade, 99 (OTHER) for everything else.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from gateway.orders.enums import OrdRejReason, OrdType, Side
from gateway.plugins import ParameterError, ParameterTypeError, show
from gateway.risk.api import OrderIntent, Reject, RiskView
from gateway.risk.throttle import NS_PER_S, TokenBucket

ZERO = Decimal(0)
LIMIT = OrdRejReason.ORDER_EXCEEDS_LIMIT
UNKNOWN_SYMBOL = OrdRejReason.UNKNOWN_SYMBOL
OTHER = OrdRejReason.OTHER


# ------------------------------------------------------------------------------------- parameters


def _decimal(param: str, value: Any, *, zero_ok: bool = False) -> Decimal:
    """A number or numeric string as an exact Decimal, > 0 (or >= 0 with ``zero_ok``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ParameterTypeError(param, f"expected a number, got {show(value)}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ParameterError(param, f"expected a number, got {show(value)}") from None
    if not result.is_finite():
        raise ParameterError(param, f"expected a number, got {show(value)}")
    if result < 0 or (result == 0 and not zero_ok):
        raise ParameterError(param, f"must be {'>=' if zero_ok else '>'} 0, got {show(value)}")
    return result


def _optional_decimal(param: str, value: Any, *, zero_ok: bool = False) -> Decimal | None:
    return None if value is None else _decimal(param, value, zero_ok=zero_ok)


def _count(param: str, value: Any) -> int:
    """A whole number >= 1 (``1000`` or ``"1000"``; not ``1.5``)."""
    number = _decimal(param, value)
    if number != number.to_integral_value():
        raise ParameterError(param, f"expected a whole number, got {show(value)}")
    return int(number)


def _symbols(param: str, value: Any, *, required: bool) -> frozenset[str]:
    """A list of symbols; a bare string is refused (it would be read as a list of letters)."""
    if not isinstance(value, list | tuple | set | frozenset):
        raise ParameterTypeError(param, f"expected a list of symbols, got {show(value)}")
    for symbol in value:
        if not isinstance(symbol, str) or not symbol or symbol != symbol.strip() or " " in symbol:
            raise ParameterError(param, f"expected symbols without spaces, got {show(symbol)}")
    if required and not value:
        raise ParameterError(param, "must list at least one symbol")
    return frozenset(value)


def _at_least_one(name: str, **params: Any) -> None:
    if all(value is None for value in params.values()):
        raise ValueError(f"{name}: set at least one of {', '.join(params)}")


def _is_multiple(value: Decimal, step: Decimal) -> bool:
    try:
        return value % step == 0
    except InvalidOperation:  # quotient beyond Decimal precision: not a sane multiple either
        return False


# ---------------------------------------------------------------------------------------- checks


class _Check:
    """Common base: ``name`` is the name the check is configured by, and what its rejects show."""

    __slots__ = ()
    name: ClassVar[str]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__ if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class MarketOrders(_Check):
    """Market orders have no price to bound, so some clients may only send limit orders."""

    name = "market_orders"
    __slots__ = ("allowed",)

    def __init__(self, *, allowed: bool) -> None:
        if not isinstance(allowed, bool):
            raise ParameterTypeError("allowed", f"expected true or false, got {show(allowed)}")
        self.allowed = allowed

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.ord_type is OrdType.MARKET and not self.allowed:
            return Reject(self.name, OTHER, f"{self.name}: market orders are not allowed (OrdType 1)")
        return None


class MaxOrderQty(_Check):
    """Fat-finger guard on the size of one order (the new total for a replace)."""

    name = "max_order_qty"
    __slots__ = ("max_qty",)

    def __init__(self, *, max_qty: Any) -> None:
        self.max_qty = _decimal("max_qty", max_qty)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.qty > self.max_qty:
            return Reject(
                self.name, LIMIT, f"{self.name}: OrderQty {intent.qty} exceeds limit {self.max_qty}"
            )
        return None


class TickLot(_Check):
    """Price on the tick grid and quantity in whole lots, as venues would reject otherwise.

    Unknown symbols pass: the order core rejects them before risk runs.
    """

    name = "tick_lot"
    __slots__ = ()

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        price = intent.price
        if price is not None:
            tick = view.tick_size(intent.symbol)
            if tick is not None and not _is_multiple(price, tick):
                text = f"{self.name}: Price {price} is not a multiple of tick size {tick}"
                return Reject(self.name, OTHER, text)
        lot = view.lot_size(intent.symbol)
        if lot is not None and not _is_multiple(intent.qty, lot):
            text = f"{self.name}: OrderQty {intent.qty} is not a multiple of lot size {lot}"
            return Reject(self.name, OTHER, text)
        return None


def _valuation_price(intent: OrderIntent, view: RiskView) -> Decimal | None:
    """The limit price, or for a market order the reference price (None when there is none)."""
    return intent.price if intent.price is not None else view.reference_price(intent.symbol)


def _no_reference(name: str, intent: OrderIntent) -> Reject:
    text = f"{name}: market order for {intent.symbol} and no reference price to value it"
    return Reject(name, OTHER, text)


class MaxNotional(_Check):
    """Value of one order (quantity x limit or reference price); an unvaluable order is refused."""

    name = "max_notional"
    __slots__ = ("max_notional",)

    def __init__(self, *, max_notional: Any) -> None:
        self.max_notional = _decimal("max_notional", max_notional)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        price = _valuation_price(intent, view)
        if price is None:
            return _no_reference(self.name, intent)
        notional = intent.qty * abs(price)  # spreads can trade at negative prices
        if notional > self.max_notional:
            what = "Price" if intent.price is not None else "reference price"
            text = (
                f"{self.name}: notional {notional} (OrderQty {intent.qty} x {what} {price}) "
                f"exceeds limit {self.max_notional}"
            )
            return Reject(self.name, LIMIT, text)
        return None


class PriceCollar(_Check):
    """A limit price must lie within ``max_pct`` % and/or ``max_ticks`` ticks of the reference price.

    With no reference a limit order passes (nothing to compare with); a market order passes when
    there is a reference and otherwise follows ``market_without_reference`` (``reject`` by default,
    since nothing then bounds where it fills).
    """

    name = "price_collar"
    __slots__ = ("_reject_market", "market_without_reference", "max_pct", "max_ticks")

    def __init__(
        self, *, max_pct: Any = None, max_ticks: Any = None, market_without_reference: str = "reject"
    ) -> None:
        _at_least_one(self.name, max_pct=max_pct, max_ticks=max_ticks)
        self.max_pct = _optional_decimal("max_pct", max_pct)
        self.max_ticks = _optional_decimal("max_ticks", max_ticks)
        if market_without_reference not in ("reject", "allow"):
            problem = f"expected one of: reject, allow, got {show(market_without_reference)}"
            raise ParameterError("market_without_reference", problem)
        self.market_without_reference = market_without_reference
        self._reject_market = market_without_reference == "reject"

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        price = intent.price
        reference = view.reference_price(intent.symbol)
        if price is None:
            if reference is None and self._reject_market:
                text = f"{self.name}: market order for {intent.symbol} and no reference price to collar it"
                return Reject(self.name, OTHER, text)
            return None
        if reference is None:
            return None
        distance = abs(price - reference)
        if self.max_pct is not None and distance * 100 > abs(reference) * self.max_pct:
            band = abs(reference) * self.max_pct / 100
            text = (
                f"{self.name}: Price {price} is {distance} from reference {reference}, "
                f"beyond the {self.max_pct}% collar ({band})"
            )
            return Reject(self.name, OTHER, text)
        if self.max_ticks is not None:
            tick = view.tick_size(intent.symbol)
            if tick is not None and distance > tick * self.max_ticks:
                text = (
                    f"{self.name}: Price {price} is {distance} from reference {reference}, "
                    f"beyond the {self.max_ticks}-tick collar ({tick * self.max_ticks})"
                )
                return Reject(self.name, OTHER, text)
        return None


class MaxPosition(_Check):
    """Position limit per symbol, counting working orders as if filled (the worst case).

    Buy: position + working buys + added qty <= max_long. Sell: position - working sells - added qty
    >= -max_short. An intent that adds nothing (a replace that reduces) always passes.
    """

    name = "max_position"
    __slots__ = ("max_long", "max_short")

    def __init__(self, *, max_long: Any = None, max_short: Any = None) -> None:
        _at_least_one(self.name, max_long=max_long, max_short=max_short)
        self.max_long = _optional_decimal("max_long", max_long, zero_ok=True)
        self.max_short = _optional_decimal("max_short", max_short, zero_ok=True)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        added = intent.added_qty
        if added <= 0:
            return None
        buy = intent.side is Side.BUY
        limit = self.max_long if buy else self.max_short
        if limit is None:
            return None
        position = view.position(intent.client, intent.symbol)
        working_buy, working_sell = view.working(intent.client, intent.symbol)
        if buy:
            projected = position + working_buy + added
            if projected > limit:
                text = (
                    f"{self.name}: long {projected} in {intent.symbol} (position {position} + working buys "
                    f"{working_buy} + order {added}) exceeds limit {limit}"
                )
                return Reject(self.name, LIMIT, text)
        else:
            projected = position - working_sell - added
            if -projected > limit:
                text = (
                    f"{self.name}: short {-projected} in {intent.symbol} (position {position} - working "
                    f"sells {working_sell} - order {added}) exceeds limit {limit}"
                )
                return Reject(self.name, LIMIT, text)
        return None


class CreditLimit(_Check):
    """Client-wide exposure: gross and/or net notional of positions and working orders.

    The intent adds ``added_qty`` x (limit or reference price), signed by side for net. An intent
    that adds nothing passes, and so does one that brings net exposure closer to zero (it reduces
    risk even when the client is already beyond the net limit).
    """

    name = "credit_limit"
    __slots__ = ("max_gross", "max_net")

    def __init__(self, *, max_gross: Any = None, max_net: Any = None) -> None:
        _at_least_one(self.name, max_gross=max_gross, max_net=max_net)
        self.max_gross = _optional_decimal("max_gross", max_gross)
        self.max_net = _optional_decimal("max_net", max_net)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        added = intent.added_qty
        if added <= 0:
            return None
        price = _valuation_price(intent, view)
        if price is None:
            return _no_reference(self.name, intent)
        notional = added * abs(price)
        gross, net = view.exposure(intent.client)
        if self.max_gross is not None and gross + notional > self.max_gross:
            text = (
                f"{self.name}: gross exposure {gross + notional} (current {gross} + order {notional}) "
                f"exceeds limit {self.max_gross}"
            )
            return Reject(self.name, LIMIT, text)
        if self.max_net is not None:
            buy = intent.side is Side.BUY
            new_net = net + notional if buy else net - notional
            if abs(new_net) > self.max_net and abs(new_net) > abs(net):
                text = (
                    f"{self.name}: net exposure {new_net} (current {net} {'+' if buy else '-'} order "
                    f"{notional}) exceeds limit {self.max_net}"
                )
                return Reject(self.name, LIMIT, text)
        return None


class RestrictedList(_Check):
    """Symbols nobody may trade (the engine adds the gateway-wide ``restricted_symbols``)."""

    name = "restricted_list"
    __slots__ = ("symbols",)

    def __init__(self, *, symbols: Any = ()) -> None:
        self.symbols = _symbols("symbols", symbols, required=False)

    def including(self, symbols: tuple[str, ...] | frozenset[str]) -> RestrictedList:
        """A copy that also restricts ``symbols``."""
        return RestrictedList(symbols=self.symbols | frozenset(symbols))

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.symbol in self.symbols:
            return Reject(self.name, OTHER, f"{self.name}: {intent.symbol} is restricted")
        return None


class AllowedInstruments(_Check):
    """Only the listed symbols: a client onboarded for some products cannot trade the others."""

    name = "allowed_instruments"
    __slots__ = ("_shown", "symbols")

    def __init__(self, *, symbols: Any) -> None:
        self.symbols = _symbols("symbols", symbols, required=True)
        listed = sorted(self.symbols)
        self._shown = ", ".join(listed[:10]) + (f" and {len(listed) - 10} more" if len(listed) > 10 else "")

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.symbol not in self.symbols:
            text = f"{self.name}: {intent.symbol} is not allowed (allowed: {self._shown})"
            return Reject(self.name, UNKNOWN_SYMBOL, text)
        return None


class MaxOpenOrders(_Check):
    """Cap on working orders, per client and/or per client and symbol; replaces open nothing."""

    name = "max_open_orders"
    __slots__ = ("per_client", "per_instrument")

    def __init__(self, *, per_client: Any = None, per_instrument: Any = None) -> None:
        _at_least_one(self.name, per_client=per_client, per_instrument=per_instrument)
        self.per_client = None if per_client is None else _count("per_client", per_client)
        self.per_instrument = None if per_instrument is None else _count("per_instrument", per_instrument)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.is_replace:
            return None
        if self.per_client is not None:
            count = view.open_orders(intent.client)
            if count >= self.per_client:
                text = f"{self.name}: {count} open orders, limit {self.per_client}"
                return Reject(self.name, LIMIT, text)
        if self.per_instrument is not None:
            count = view.open_orders(intent.client, intent.symbol)
            if count >= self.per_instrument:
                limit = self.per_instrument
                text = f"{self.name}: {count} open orders in {intent.symbol}, limit {limit} per instrument"
                return Reject(self.name, LIMIT, text)
        return None


class Throttle(_Check):
    """Order and message rate limits for one client session (RTS 6 art. 15), as token buckets.

    ``check`` takes an order token (new orders and replaces); ``on_message`` takes a message token
    for every application message. ``burst`` (default: one second's worth, at least 1) applies to
    both buckets. Time is ``view.now_ns``, so the limit is exact and replayable.
    """

    name = "throttle"
    __slots__ = ("_messages", "_orders", "burst", "messages_per_s", "orders_per_s")

    def __init__(self, *, orders_per_s: Any = None, messages_per_s: Any = None, burst: Any = None) -> None:
        _at_least_one(self.name, orders_per_s=orders_per_s, messages_per_s=messages_per_s)
        self.orders_per_s = _optional_decimal("orders_per_s", orders_per_s)
        self.messages_per_s = _optional_decimal("messages_per_s", messages_per_s)
        self.burst = _optional_decimal("burst", burst)
        if self.burst is not None and self.burst < 1:
            raise ParameterError("burst", f"must be >= 1, got {show(burst)}")
        rates = (self.orders_per_s, self.messages_per_s)
        self._orders, self._messages = (None if r is None else TokenBucket(r, self.burst) for r in rates)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if self._orders is not None and not self._orders.take(view.now_ns):
            text = f"{self.name}: more than {self.orders_per_s} orders/s (burst {self._orders.burst})"
            return Reject(self.name, OTHER, text)
        return None

    def on_message(self, view: RiskView) -> Reject | None:
        if self._messages is not None and not self._messages.take(view.now_ns):
            text = f"{self.name}: more than {self.messages_per_s} messages/s (burst {self._messages.burst})"
            return Reject(self.name, OTHER, text)
        return None


_DuplicateKey = tuple[str, str, Side, Decimal, Decimal | None]


class DuplicateOrder(_Check):
    """A new order with the same client, symbol, side, qty and price as one accepted less than
    ``window_s`` ago is most likely a resend by a confused client; 0 disables the check.

    Accepted orders are remembered in arrival order and forgotten once older than the window, so
    memory is bounded by the orders accepted in one window and each costs O(1) amortised.
    """

    name = "duplicate_order"
    __slots__ = ("_accepted", "_latest", "_window_ns", "window_s")

    def __init__(self, *, window_s: Any) -> None:
        self.window_s = _decimal("window_s", window_s, zero_ok=True)
        self._window_ns = int(self.window_s * NS_PER_S)
        self._latest: dict[_DuplicateKey, int] = {}  # key -> last accepted at (ns)
        self._accepted: deque[tuple[int, _DuplicateKey]] = deque()  # in arrival order

    @staticmethod
    def _key(intent: OrderIntent) -> _DuplicateKey:
        return (intent.client, intent.symbol, intent.side, intent.qty, intent.price)

    def _expire(self, now_ns: int) -> None:
        cutoff = now_ns - self._window_ns
        accepted, latest = self._accepted, self._latest
        while accepted and accepted[0][0] <= cutoff:
            at, key = accepted.popleft()
            if latest.get(key) == at:
                del latest[key]

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if not self._window_ns or intent.is_replace:
            return None
        now = view.now_ns
        self._expire(now)
        at = self._latest.get(self._key(intent))
        if at is not None:
            price = "MKT" if intent.price is None else intent.price
            text = (
                f"{self.name}: same {intent.symbol} {intent.side.name} {intent.qty} @ {price} as an order "
                f"accepted {(now - at) / NS_PER_S:.3f}s ago (window {self.window_s}s)"
            )
            return Reject(self.name, OTHER, text)
        return None

    def record(self, intent: OrderIntent, view: RiskView) -> None:
        if not self._window_ns or intent.is_replace:
            return
        now = view.now_ns
        self._expire(now)
        key = self._key(intent)
        self._latest[key] = now
        self._accepted.append((now, key))

    def __len__(self) -> int:
        """Orders currently remembered (for tests of the memory bound)."""
        return len(self._latest)


#: Built-in checks by configured name.
BUILTIN_CHECKS: dict[str, type] = {
    cls.name: cls
    for cls in (
        MarketOrders,
        MaxOrderQty,
        TickLot,
        MaxNotional,
        PriceCollar,
        MaxPosition,
        CreditLimit,
        RestrictedList,
        AllowedInstruments,
        MaxOpenOrders,
        Throttle,
        DuplicateOrder,
    )
}
