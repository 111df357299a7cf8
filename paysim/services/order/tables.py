"""The order service's own tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

from paysim.store.audit_trail import transitions_table
from paysim.store.schema import ROW_ID

metadata = MetaData()


orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=True),
    Column("payment_id", BigInteger, nullable=True),
    Column("payment_attempt", Integer, nullable=True),
    Column("total_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(32), nullable=False),
    Column("captured_minor", BigInteger, nullable=False, default=0),
    Column("refunded_minor", BigInteger, nullable=False, default=0),
    Column("reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    # When the saga last stepped in; deadline retries are spaced from it.
    Column("compensated_at", DateTime(timezone=True), nullable=True),
)

# The audit trail: every move offered to an order, applied or ignored, and why.
order_transitions = transitions_table("order_transitions", metadata, "order_id")

compensations = Table(
    "compensations",
    metadata,
    # Every compensation the saga issued: what, for which order, and why.
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False, index=True),
    Column("payment_id", BigInteger, nullable=True),
    # REFUND or CANCEL_PAYMENT (asked for), REFUND_FAILED (Stripe refused the refund)
    Column("kind", String(32), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    # What came of it, in words: the payment service's answer, Stripe's refusal.
    Column("detail", Text, nullable=True),
    # When nothing more is owed by this service. A refund is settled when written (the
    # outbox carries it, the CANCELLING deadline re-asks); a payment cancel when the
    # payment service has answered it, until then retried at ``retry_at``.
    Column("settled_at", DateTime(timezone=True), nullable=True),
    Column("retry_at", DateTime(timezone=True), nullable=True, index=True),
    Column("tries", Integer, nullable=False, default=0),
    sqlite_autoincrement=True,
)
