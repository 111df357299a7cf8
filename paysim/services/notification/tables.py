"""The notification service's own tables (beside the shared outbox and tracking tables)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, UniqueConstraint

from paysim.store.schema import ROW_ID

metadata = MetaData()


notifications = Table(
    "notifications",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("order_id", BigInteger, nullable=False, index=True),
    Column("user_id", BigInteger, nullable=True, index=True),
    Column("template", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("event_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    # One message per event and channel: whatever redelivers an event, nobody gets the
    # same email (or SMS, or push) twice.
    UniqueConstraint("event_id", "channel", name="uq_notifications_event_channel"),
    sqlite_autoincrement=True,
)

recipients = Table(
    "recipients",
    metadata,
    # Who an order belongs to, learned from the events that say (payment and order
    # events carry userId; delivery events do not).
    Column("order_id", BigInteger, primary_key=True),
    Column("user_id", BigInteger, nullable=False),
)
