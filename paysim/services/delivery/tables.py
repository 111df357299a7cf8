"""The delivery service's own tables (beside the shared outbox and tracking tables)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, MetaData, String, Table, Text

from paysim.store.audit_trail import transitions_table
from paysim.store.schema import ROW_ID

metadata = MetaData()


deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    # One delivery per order: a second order-created (or a race of two consumers) for the
    # same order fails on this key instead of sending a second courier.
    Column("order_id", BigInteger, nullable=False, unique=True),
    # None only for an order cancelled before any courier was assigned.
    Column("agent_id", String(64), nullable=True),
    Column("status", String(32), nullable=False),
    Column("reason", Text, nullable=True),
    Column("pickup_requested_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)

delivery_timers = Table(
    "delivery_timers",
    metadata,
    # The courier's next step, kept in the database so that a restarted process resumes
    # every run where it stopped. At most one step is pending per delivery.
    Column("delivery_id", BigInteger, ForeignKey("deliveries.id"), primary_key=True),
    Column("next_status", String(32), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False, index=True),
)

# The audit trail: every move offered to a delivery, applied or ignored, and why.
delivery_transitions = transitions_table("delivery_transitions", metadata, "delivery_id")
