"""Choose the strategy for an order and give it the venues as they are right now.

The router is the order core's one entry into routing: it picks the client's
strategy for the instrument, builds each venue's :class:`VenueInfo` from static
capabilities (config) and live state (logged on, trading state, circuit breaker,
observed fill ratio and latency), and returns the strategy's child orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from gateway.marketdata.api import MarketView
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.routing.api import ChildSpec, RouteReject, RouteRequest, RoutingStrategy, VenueInfo


@dataclass
class VenueStats:
    """What this gateway observed of a venue: fill ratio and acknowledgement latency (EWMA)."""

    sent_qty: Decimal = Decimal(0)
    filled_qty: Decimal = Decimal(0)
    orders: int = 0
    ack_latency_us: float | None = None

    @property
    def fill_ratio(self) -> float | None:
        return float(self.filled_qty / self.sent_qty) if self.sent_qty else None

    def on_ack(self, latency_us: float, alpha: float = 0.2) -> None:
        prev = self.ack_latency_us
        self.ack_latency_us = latency_us if prev is None else prev + alpha * (latency_us - prev)


@dataclass
class Router:
    # client -> (default strategy, {symbol: strategy})
    strategies: Mapping[str, tuple[RoutingStrategy, Mapping[str, RoutingStrategy]]]
    market: MarketView
    capabilities: Mapping[str, VenueInfo]  # static part per venue: order types, TIFs, fees
    primary: Mapping[str, str | None]  # symbol -> configured default venue
    reroute_on_child_reject: bool = False
    stats: dict[str, VenueStats] = field(default_factory=dict)
    breaker_open: Callable[[str], bool] = lambda venue: False
    headroom: Callable[[str], int | None] = lambda venue: None
    # (venue, symbol) -> (tick size, lot size) where a venue's differ from the instrument's
    terms: Mapping[tuple[str, str], tuple[Decimal | None, Decimal | None]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg, market: MarketView) -> Router:
        """Strategies per client and instrument, venue capabilities and fees, from config."""
        from gateway.config import ConfigError
        from gateway.routing.registry import RoutingConfigError, build_strategy

        def build(choice) -> RoutingStrategy:
            try:
                return build_strategy(choice.strategy, dict(choice.params))
            except RoutingConfigError as exc:
                param = getattr(exc, "param", None)
                key = f"{choice.key}.params.{param}" if param else choice.key
                raise ConfigError(choice.source, str(exc), key) from None

        strategies = {
            name: (build(c.routing.default), {sym: build(ch) for sym, ch in c.routing.instruments.items()})
            for name, c in cfg.clients.items()
        }
        capabilities = {
            v.name: VenueInfo(
                v.name,
                connected=False,
                order_types=v.order_types,
                tifs=v.time_in_force,
                maker_bps=v.fees.maker_bps,
                taker_bps=v.fees.taker_bps,
                supports_replace=v.supports_replace,
            )
            for v in cfg.venues.values()
        }
        terms = {
            (v.name, symbol): (o.tick_size, o.lot_size)
            for v in cfg.venues.values()
            for symbol, o in v.instruments.items()
        }
        return cls(
            strategies=strategies,
            market=market,
            capabilities=capabilities,
            terms=terms,
            primary={s: i.venue for s, i in cfg.instruments.items()},
            reroute_on_child_reject=cfg.routing.on_child_reject == "reroute",
        )

    def strategy_for(self, client: str, symbol: str) -> RoutingStrategy:
        default, per_symbol = self.strategies[client]
        return per_symbol.get(symbol, default)

    def venues(self, up: set[str], halted: set[str]) -> dict[str, VenueInfo]:
        """Each venue's state now, as routing may use it (built directly: this is per order)."""
        out = {}
        stats_of = self.stats.get
        for name, c in self.capabilities.items():
            stats = stats_of(name)
            out[name] = VenueInfo(
                name=name,
                connected=name in up,
                halted=name in halted,
                breaker_open=self.breaker_open(name),
                order_headroom=self.headroom(name),
                order_types=c.order_types,
                tifs=c.tifs,
                maker_bps=c.maker_bps,
                taker_bps=c.taker_bps,
                supports_replace=c.supports_replace,
                fill_ratio=stats.fill_ratio if stats else None,
                orders_sent=stats.orders if stats else 0,
                ack_latency_us=stats.ack_latency_us if stats else None,
            )
        return out

    def route(
        self,
        client: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        qty: Decimal,
        price: Decimal | None,
        tif: TimeInForce,
        ex_destination: str | None,
        up: set[str],
        halted: set[str],
        now_ns: int,
        exclude: frozenset[str] = frozenset(),
    ) -> list[ChildSpec] | RouteReject:
        strategy, venues = self.strategy_for(client, symbol), self.venues(up, halted)
        misfit: set[str] = set()
        for _ in range(len(venues) + 1):
            req = RouteRequest(
                client,
                symbol,
                side,
                ord_type,
                qty,
                price,
                tif,
                ex_destination,
                self.primary.get(symbol),
                exclude,
            )
            result = strategy.route(req, self.market, venues, now_ns)
            if not isinstance(result, list):
                if misfit:
                    where = ", ".join(sorted(misfit))
                    return RouteReject(f"{result.text}; {where}: not at its tick and lot size for {symbol}")
                return result
            result = [c for c in result if c.qty > 0 and c.venue not in exclude]
            # Never route what a venue cannot take: its own tick or lot size for the instrument.
            misfits = {c.venue for c in result if not self._fits(c, symbol)}
            if not misfits:
                return result or RouteReject(f"no venue can take {qty} {symbol} now")
            misfit |= misfits
            exclude = exclude | misfits
        return RouteReject(f"no venue can take {qty} {symbol} at its tick and lot size")

    def _fits(self, child: ChildSpec, symbol: str) -> bool:
        tick, lot = self.terms.get((child.venue, symbol), (None, None))
        if tick and child.price is not None and child.price % tick:
            return False
        return not (lot and child.qty % lot)

    def supports_replace(self, venue: str) -> bool:
        info = self.capabilities.get(venue)
        return info is None or info.supports_replace

    def on_sent(self, venue: str, qty: Decimal) -> None:
        stats = self.stats.setdefault(venue, VenueStats())
        stats.sent_qty += qty
        stats.orders += 1

    def on_fill(self, venue: str, qty: Decimal) -> None:
        self.stats.setdefault(venue, VenueStats()).filled_qty += qty
