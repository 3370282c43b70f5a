"""Durable journal of gateway events, order and position snapshots (SQLite or PostgreSQL)."""

from gateway.journal.journal import (
    DEFAULT_URL,
    EventRecord,
    Journal,
    JournalError,
    OrderRecord,
    PositionRecord,
)

__all__ = ["DEFAULT_URL", "EventRecord", "Journal", "JournalError", "OrderRecord", "PositionRecord"]
