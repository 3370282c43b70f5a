"""Pre-trade control: everything the order core asks before and after an order moves.

One object owns the risk-side state (reference prices, exposure aggregates,
positions, trading states, automatic triggers) and the configured checks, so the
core stays about orders: it asks :meth:`PreTrade.admit` before routing or amending,
tells :meth:`settle` about every changed order and :meth:`on_fill` about fills.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from gateway.marketdata.api import MarketView
from gateway.orders.enums import OrdRejReason, OrdStatus, Side
from gateway.orders.model import ClientOrder
from gateway.positions.book import Position, PositionBook
from gateway.risk.api import ZERO, Decision, OrderIntent
from gateway.risk.exposure import Exposure, ReferencePrices
from gateway.risk.trading_state import StateChange, TradingState, TradingStates
from gateway.risk.view import CoreRiskView


@dataclass(frozen=True, slots=True)
class AutoLimit:
    """An automatic trigger: past the limit, the client moves to ``state``."""

    state: TradingState
    max_loss: Decimal | None = None  # loss limit: realised + unrealised below -max_loss
    count: int = 0  # reject burst: this many venue rejects ...
    window_ns: int = 0  # ... within this window


class PreTrade:
    def __init__(
        self,
        clock: Callable[[], int],
        risk=None,  # gateway.risk.engine.RiskEngine, or None for no checks
        ticks: Mapping[str, Decimal] | None = None,
        lots: Mapping[str, Decimal] | None = None,
        reference_prices: Mapping[str, Decimal] | None = None,
        loss_limits: Mapping[str, AutoLimit] | None = None,
        reject_bursts: Mapping[str, AutoLimit] | None = None,
        market: MarketView | None = None,
    ):
        self.clock = clock
        self.risk = risk
        self.prices = ReferencePrices(dict(reference_prices or {}), market)
        self.exposure = Exposure(self.prices)
        self.positions = PositionBook()
        self.states = TradingStates()
        self.view = CoreRiskView(self.exposure, self.prices, ticks or {}, lots or {}, clock)
        self.loss_limits = dict(loss_limits or {})
        self.reject_bursts = dict(reject_bursts or {})
        self._rejects: defaultdict[str, deque[int]] = defaultdict(deque)
        # Unrealised P&L as running aggregates, for O(1) loss-limit checks on every fill: each
        # position's value at the current mark, per client totals, and positions per symbol so a
        # new mark re-values only that symbol's holders.
        self._unrealised: dict[tuple, Decimal] = {}
        self._unrealised_total: defaultdict[str, Decimal] = defaultdict(Decimal)
        self._by_symbol: defaultdict[str, set[tuple]] = defaultdict(set)

    @classmethod
    def from_config(cls, cfg, clock: Callable[[], int], market: MarketView | None = None) -> PreTrade:
        """Checks per client session, instrument terms, reference prices and triggers from config."""
        from gateway.risk.engine import RiskEngine  # checks import user plugins: only when running

        action = {"reduce": TradingState.REDUCING, "halt": TradingState.HALTED}
        loss = {
            name: AutoLimit(action[c.risk.loss_limit.action], max_loss=c.risk.loss_limit.max_loss)
            for name, c in cfg.clients.items()
            if c.risk.loss_limit is not None
        }
        bursts = {
            name: AutoLimit(
                action[c.risk.reject_burst.action],
                count=c.risk.reject_burst.count,
                window_ns=int(c.risk.reject_burst.window_s * 1e9),
            )
            for name, c in cfg.clients.items()
            if c.risk.reject_burst is not None
        }
        instruments = cfg.instruments.values()
        return cls(
            clock,
            RiskEngine.from_config(cfg),
            ticks={i.symbol: i.tick_size for i in instruments},
            lots={i.symbol: i.lot_size for i in instruments},
            reference_prices={i.symbol: i.reference_price for i in instruments if i.reference_price},
            loss_limits=loss,
            reject_bursts=bursts,
            market=market,
        )

    def adopt_rules(self, fresh: PreTrade) -> None:
        """Take ``fresh``'s configured rules (checks, automatic triggers, instrument terms,
        reference prices) and keep this instance's state (positions, exposure, trading states,
        marks): what a configuration reload changes."""
        self.risk, self.loss_limits, self.reject_bursts = fresh.risk, fresh.loss_limits, fresh.reject_bursts
        self.view = CoreRiskView(self.exposure, self.prices, fresh.view._ticks, fresh.view._lots, self.clock)
        self.prices.configured = fresh.prices.configured

    # ------------------------------------------------------------ before an order moves

    def on_message(self, client: str) -> tuple[OrdRejReason, str] | None:
        """Every client application message counts toward the session's message throttle."""
        if self.risk is None:
            return None
        reject = self.risk.on_message(client, self.view)
        return (reject.reason, reject.text) if reject else None

    def admit(self, intent: OrderIntent) -> tuple[Decision | None, tuple[OrdRejReason, str] | None]:
        """Trading state first, then the configured checks; the decision is for the journal."""
        state, why = self.states.effective(intent.client, intent.venue)
        if state is TradingState.HALTED:
            return None, (OrdRejReason.OTHER, f"trading halted ({why})")
        if state is TradingState.REDUCING and not self._reduces(intent):
            return None, (
                OrdRejReason.OTHER,
                f"trading state REDUCING ({why}): only orders that reduce the position are accepted",
            )
        if self.risk is None:
            return None, None
        decision = self.risk.evaluate(intent, self.view)
        if decision.reject is not None:
            return decision, (decision.reject.reason, decision.reject.text)
        self.risk.record(intent, self.view)
        return decision, None

    def _reduces(self, intent: OrderIntent) -> bool:
        """Would the order, with the same side's working orders, only shrink the position?"""
        added = intent.added_qty
        if added <= 0:
            return True  # a replace that takes quantity away
        position = self.exposure.position(intent.client, intent.symbol)
        working_buy, working_sell = self.exposure.working(intent.client, intent.symbol)
        if intent.side is Side.BUY:
            return position < 0 and working_buy + added <= -position
        return position > 0 and working_sell + added <= position

    # ------------------------------------------------------------ after it moved

    def settle(self, order: ClientOrder) -> None:
        self.exposure.update_order(order)

    def on_fill(self, order: ClientOrder, qty: Decimal, px: Decimal) -> tuple[Position, StateChange | None]:
        now = self.clock()
        position = self.positions.on_fill(
            order.session, order.account, order.symbol, order.side, qty, px, now
        )
        self._by_symbol[order.symbol].add(position.key())
        self.exposure.update_position(
            order.session, order.symbol, self.positions.net_qty(order.session, order.symbol)
        )
        self.on_price(order.symbol, px)
        return position, self._check_loss(order.session)

    def on_price(self, symbol: str, price: Decimal) -> None:
        """A new mark (a venue trade; market data later): re-value only the holders of ``symbol``."""
        self.exposure.on_price(symbol, price)
        for key in self._by_symbol.get(symbol, ()):
            self._revalue(key)

    def _revalue(self, key: tuple) -> None:
        position = self.positions.position(*key)
        value = position.unrealised(self.prices.reference(position.symbol)) if position else ZERO
        self._unrealised_total[key[0]] += value - self._unrealised.get(key, ZERO)
        self._unrealised[key] = value

    def unrealised(self, client: str) -> Decimal:
        return self._unrealised_total[client]

    def _check_loss(self, client: str) -> StateChange | None:
        limit = self.loss_limits.get(client)
        if limit is None or limit.max_loss is None:
            return None
        pnl = self.positions.realised(client) + self._unrealised_total[client]
        if pnl >= -limit.max_loss:
            return None
        return self._escalate(client, limit.state, f"loss {pnl} beyond limit {limit.max_loss}")

    def on_venue_reject(self, client: str) -> StateChange | None:
        burst = self.reject_bursts.get(client)
        if burst is None or burst.count <= 0:
            return None
        now = self.clock()
        times = self._rejects[client]
        times.append(now)
        while times and times[0] <= now - burst.window_ns:
            times.popleft()
        if len(times) < burst.count:
            return None
        return self._escalate(
            client, burst.state, f"{len(times)} venue rejects within {burst.window_ns / 1e9:g}s"
        )

    def _escalate(self, client: str, state: TradingState, reason: str) -> StateChange | None:
        current, _ = self.states.clients.get(client, (TradingState.ACTIVE, ""))
        if current >= state:
            return None
        return self.states.set("client", client, state, reason)

    # ------------------------------------------------------------ restart

    def restore(self, orders: Iterable[ClientOrder], positions: Iterable[Position]) -> None:
        self.positions.restore(positions)
        restored = sorted(self.positions.positions(), key=lambda p: p.updated_ns)
        for p in restored:  # the last trade seen in each symbol is its mark again
            if p.last_fill_px is not None:
                self.prices.mark(p.symbol, p.last_fill_px)
        for p in restored:
            self._by_symbol[p.symbol].add(p.key())
            self._revalue(p.key())
            self.exposure.update_position(p.client, p.symbol, self.positions.net_qty(p.client, p.symbol))
        for order in orders:
            if order.status is not OrdStatus.REJECTED:
                self.settle(order)
