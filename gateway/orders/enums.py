"""Order vocabulary shared by the order core, the codec and the simulator.

Enum values are the FIX 4.4 wire characters so the codec maps them without
tables; FIX 4.2 differences (ExecType 1/2, ExecTransType) are the codec's job.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "1"
    SELL = "2"
    SELL_SHORT = "5"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrdType(StrEnum):
    MARKET = "1"
    LIMIT = "2"


class TimeInForce(StrEnum):
    DAY = "0"
    GTC = "1"
    IOC = "3"
    FOK = "4"


class OrdStatus(StrEnum):
    NEW = "0"
    PARTIALLY_FILLED = "1"
    FILLED = "2"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {OrdStatus.FILLED, OrdStatus.CANCELED, OrdStatus.REJECTED, OrdStatus.EXPIRED, OrdStatus.DONE_FOR_DAY}
)


class ExecType(StrEnum):
    """FIX 4.4 ExecType. FIX 4.2 sends 1/2 for partial/full fills where 4.4 sends F."""

    NEW = "0"
    DONE_FOR_DAY = "3"
    CANCELED = "4"
    REPLACED = "5"
    PENDING_CANCEL = "6"
    REJECTED = "8"
    PENDING_NEW = "A"
    EXPIRED = "C"
    PENDING_REPLACE = "E"
    TRADE = "F"
    ORDER_STATUS = "I"


class CxlRejReason(StrEnum):
    TOO_LATE = "0"
    UNKNOWN_ORDER = "1"
    BROKER_OPTION = "2"
    ALREADY_PENDING = "3"
    DUPLICATE_CL_ORD_ID = "6"
    OTHER = "99"


class CxlRejResponseTo(StrEnum):
    CANCEL = "1"
    REPLACE = "2"


class OrdRejReason(StrEnum):
    BROKER_OPTION = "0"
    UNKNOWN_SYMBOL = "1"
    EXCHANGE_CLOSED = "2"
    ORDER_EXCEEDS_LIMIT = "3"
    TOO_LATE = "4"
    UNKNOWN_ORDER = "5"
    DUPLICATE_ORDER = "6"
    OTHER = "99"
