"""TWAP: slice a parent quantity into child limit orders at the touch over a time window.

At each of ``slices`` evenly spaced times the unfilled child (if any) is canceled and a new one
sent for the parent's remaining share at the touch (best bid to buy, best ask to sell, over every
venue's latest quote); a child whose price the market has left is repriced to the new touch; the
last slice crosses the spread so the parent completes. Params: symbol, side (buy|sell), qty,
start_s (after the replay start), duration_s, slices.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.backtest.strategy import Context, Quote, Report, Strategy

NS = 1_000_000_000


class Twap(Strategy):
    def __init__(self, symbol: str, side: str, qty: int | str, start_s: float = 0, duration_s: float = 60,
                 slices: int = 6) -> None:  # fmt: skip
        super().__init__()
        if slices < 1:
            raise ValueError("slices must be at least 1")
        self.symbol, self.side = symbol, side.lower()
        self.qty = Decimal(str(qty))
        self.start_s, self.duration_s, self.slices = start_s, duration_s, slices
        self.filled = Decimal(0)
        self.slice_no = 0
        self.child: str | None = None
        self.child_px: Decimal | None = None
        self.quotes: dict[str, Quote] = {}
        self.t0 = 0

    def on_start(self, ctx: Context) -> None:
        self.t0 = ctx.now_ns + int(self.start_s * NS)
        step = self.duration_s / self.slices
        for i in range(self.slices):
            ctx.set_timer(self.t0 + int(i * step * NS))

    def _touch(self, aggressive: bool) -> Decimal | None:
        buy = self.side == "buy"
        if buy != aggressive:  # passive buy or aggressive sell: the best bid
            bids = [q.bid for q in self.quotes.values() if q.symbol == self.symbol and q.bid is not None]
            return max(bids) if bids else None
        asks = [q.ask for q in self.quotes.values() if q.symbol == self.symbol and q.ask is not None]
        return min(asks) if asks else None

    def on_timer(self, ctx: Context, now_ns: int) -> None:
        self.slice_no += 1
        if self.child is not None:
            ctx.cancel(self.child)  # its unfilled part goes into this slice
            self.child = None
        remaining = self.qty - self.filled
        if remaining <= 0:
            return
        left = self.slices - self.slice_no + 1
        qty = remaining if left <= 1 else max(Decimal(1), (remaining / left).to_integral_value())
        last = self.slice_no == self.slices
        price = self._touch(aggressive=last)
        if price is None:
            return
        self.child = ctx.send_order(self.symbol, self.side, qty, price, tif="day")
        self.child_px = price

    def on_market_data(self, ctx: Context, quote: Quote) -> None:
        self.quotes[quote.venue] = quote
        if self.child is None or self.child_px is None or self.slice_no == self.slices:
            return
        touch = self._touch(aggressive=False)
        if touch is not None and touch != self.child_px:
            ctx.replace(self.child, price=touch)
            self.child_px = touch

    def on_report(self, ctx: Context, report: Report) -> None:
        if report.exec_type == "TRADE" and report.last_qty:
            self.filled += report.last_qty
        if report.cl_ord_id == self.child and report.done:
            self.child = None
