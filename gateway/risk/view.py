"""The order core's :class:`~gateway.risk.api.RiskView`: aggregates, instruments, prices, clock."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from gateway.risk.exposure import Exposure, ReferencePrices


class CoreRiskView:
    __slots__ = ("_clock", "_exposure", "_lots", "_prices", "_ticks")

    def __init__(
        self,
        exposure: Exposure,
        prices: ReferencePrices,
        ticks: Mapping[str, Decimal],
        lots: Mapping[str, Decimal],
        clock: Callable[[], int],
    ):
        self._exposure = exposure
        self._prices = prices
        self._ticks = ticks
        self._lots = lots
        self._clock = clock

    @property
    def now_ns(self) -> int:
        return self._clock()

    def tick_size(self, symbol: str) -> Decimal | None:
        return self._ticks.get(symbol)

    def lot_size(self, symbol: str) -> Decimal | None:
        return self._lots.get(symbol)

    def reference_price(self, symbol: str) -> Decimal | None:
        return self._prices.reference(symbol)

    def position(self, client: str, symbol: str) -> Decimal:
        return self._exposure.position(client, symbol)

    def working(self, client: str, symbol: str) -> tuple[Decimal, Decimal]:
        return self._exposure.working(client, symbol)

    def exposure(self, client: str) -> tuple[Decimal, Decimal]:
        return self._exposure.exposure(client)

    def open_orders(self, client: str, symbol: str | None = None) -> int:
        return self._exposure.open_orders(client, symbol)
