"""Durable journal of gateway events and order snapshots (SQLite or PostgreSQL)."""

from gateway.journal.journal import DEFAULT_URL, EventRecord, Journal, JournalError, OrderRecord

__all__ = ["DEFAULT_URL", "EventRecord", "Journal", "JournalError", "OrderRecord"]
