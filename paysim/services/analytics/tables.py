"""The analytics service's own tables (beside the shared outbox and tracking tables)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table

metadata = MetaData()

event_counts = Table(
    "event_counts",
    metadata,
    Column("event_type", String(64), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

revenue = Table(
    "revenue",
    metadata,
    # Minor units of one currency: exact, whatever the currency's decimals.
    Column("currency", String(3), primary_key=True),
    Column("captured_minor", BigInteger, nullable=False),
    Column("refunded_minor", BigInteger, nullable=False),
)

refunded_payments = Table(
    "refunded_payments",
    metadata,
    # Payments refunded at least once: a payment refunded in parts counts once.
    Column("payment_key", String(64), primary_key=True),
    Column("first_event_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
