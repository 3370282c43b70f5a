"""A simple market maker: one bid and one ask around the mid, skewed by inventory.

On every quote from its venue it requotes: bid at mid - half_spread_ticks*tick - skew, ask at
mid + half_spread_ticks*tick - skew, where skew = position * skew_ticks * tick (long: both quotes
lower, to sell more and buy less). No bid while long max_position, no ask while short it.
Params: symbol, venue, qty, half_spread_ticks, tick, max_position, skew_ticks (0.5).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from gateway.backtest.strategy import Context, Quote, Report, Strategy


class MarketMaker(Strategy):
    def __init__(self, symbol: str, venue: str, qty: int | str = 1, half_spread_ticks: int = 1,
                 tick: str = "0.25", max_position: int | str = 10,
                 skew_ticks: str | float = "0.5") -> None:  # fmt: skip
        super().__init__()
        self.symbol, self.venue = symbol, venue
        self.qty = Decimal(str(qty))
        self.half = Decimal(half_spread_ticks)
        self.tick = Decimal(str(tick))
        self.max_position = Decimal(str(max_position))
        self.skew = Decimal(str(skew_ticks))
        self.orders: dict[str, str | None] = {"buy": None, "sell": None}
        self.prices: dict[str, Decimal | None] = {"buy": None, "sell": None}

    def _round(self, px: Decimal, up: bool) -> Decimal:
        steps = (px / self.tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
        return steps * self.tick

    def on_market_data(self, ctx: Context, quote: Quote) -> None:
        if quote.venue != self.venue or quote.symbol != self.symbol or quote.mid is None:
            return
        pos = ctx.position(self.symbol)
        skew = pos * self.skew * self.tick
        want = {
            "buy": None
            if pos >= self.max_position
            else self._round(quote.mid - self.half * self.tick - skew, False),
            "sell": None
            if pos <= -self.max_position
            else self._round(quote.mid + self.half * self.tick - skew, True),
        }
        for side, price in want.items():
            current = self.orders[side]
            if price is None:
                if current is not None:
                    ctx.cancel(current)
                continue
            if current is None:
                self.orders[side] = ctx.send_order(self.symbol, side, self.qty, price, tif="day")
                self.prices[side] = price
            elif self.prices[side] != price:
                ctx.replace(current, price=price)
                self.prices[side] = price

    def on_report(self, ctx: Context, report: Report) -> None:
        for side, cl_ord_id in self.orders.items():
            if cl_ord_id == report.cl_ord_id and report.done:
                self.orders[side] = None
                self.prices[side] = None
