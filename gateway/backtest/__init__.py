"""``fixgw backtest``: historical market data replayed into simulated venues, driving the real gateway.

:mod:`.config` reads the backtest YAML, :mod:`.runner` is the coordinator (simulated clock,
quiescence, venues, order-flow clients, the gateway subprocess), :mod:`.result` builds the result
dict that :mod:`.report` turns into report.json / report.html and the terminal table.
"""
