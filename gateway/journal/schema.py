"""Table definitions of the journal (SQLAlchemy Core).

Kept free of dialect specifics so the same metadata creates the tables on SQLite
(embedded default) and PostgreSQL (production). Text columns carry no length
limit on purpose: a FIX field longer than an arbitrary VARCHAR(n) must never make
the journal (and therefore the gateway) refuse a write on PostgreSQL only.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

# SQLite only auto-increments an "INTEGER PRIMARY KEY" (the rowid alias), not BIGINT.
_EventId = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", _EventId, primary_key=True, autoincrement=True),
    Column("ts_ns", BigInteger, nullable=False),
    Column("kind", String, nullable=False),
    Column("order_id", String, nullable=True),
    Column("session", String, nullable=True),
    Column("msg_type", String, nullable=True),
    Column("text", Text, nullable=False),
    Index("ix_events_order_id", "order_id"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String, primary_key=True),
    Column("parent_id", String, nullable=True),
    Column("session", String, nullable=False),
    Column("cl_ord_id", String, nullable=False),
    Column("symbol", String, nullable=False),
    Column("side", String, nullable=False),
    Column("status", String, nullable=False),
    Column("is_open", Boolean, nullable=False),
    # Decimals are stored as their exact string form; no float or NUMERIC scale can alter them.
    Column("qty", String, nullable=False),
    Column("cum_qty", String, nullable=False),
    Column("avg_px", String, nullable=False),
    Column("price", String, nullable=True),
    Column("doc", JSON, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
    Index("ix_orders_parent_id", "parent_id"),
    Index("ix_orders_cl_ord_id", "cl_ord_id"),
    Index("ix_orders_is_open", "is_open"),
)

# One row per (client, account, instrument), upserted with every fill that changes it; ``doc``
# feeds restore. FIX tag 1 (Account) is optional but primary-key columns cannot be NULL, so
# ``account_key`` holds the account or '' when there is none ('' is no valid FIX value, so it
# cannot collide with a real account); ``account`` keeps the true value, NULL included.
positions = Table(
    "positions",
    metadata,
    Column("client", String, primary_key=True),
    Column("account_key", String, primary_key=True),
    Column("symbol", String, primary_key=True),
    Column("account", String, nullable=True),
    Column("qty", String, nullable=False),
    Column("avg_cost", String, nullable=False),
    Column("realised_pnl", String, nullable=False),
    Column("doc", JSON, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String, primary_key=True),
    Column("value", Text, nullable=False),
)
