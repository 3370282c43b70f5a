"""Replay of recorded market data into simulated venues: events, file readers and a replay book.

Pure and I/O-free apart from the readers' file streaming; the backtest orchestration
(``gateway.backtest``) drives it with a simulated clock.
"""

from gateway.simulator.replay.book import ReplayBook
from gateway.simulator.replay.events import (
    DataAdd,
    DataCancel,
    DataClear,
    DataLevel,
    DataModify,
    DataQuote,
    DataTrade,
    ReplayEvent,
)
from gateway.simulator.replay.readers import READERS, Reader, ReplaySource, perturbed, reader_for

__all__ = [
    "READERS",
    "DataAdd",
    "DataCancel",
    "DataClear",
    "DataLevel",
    "DataModify",
    "DataQuote",
    "DataTrade",
    "Reader",
    "ReplayBook",
    "ReplayEvent",
    "ReplaySource",
    "perturbed",
    "reader_for",
]
