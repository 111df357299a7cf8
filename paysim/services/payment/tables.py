"""The payment service's own tables (beside the shared outbox and tracking tables)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from paysim.store.audit_trail import transitions_table
from paysim.store.schema import ROW_ID

metadata = MetaData()


instance = Table(
    "instance",
    metadata,
    # One row: this store's namespace for Stripe idempotency keys. Payment ids restart at
    # 1 in every new database, so keys must not collide with another store's at Stripe.
    Column("namespace", String(64), primary_key=True),
)

order_numbers = Table(
    "order_numbers",
    metadata,
    # Hands out orderIds for checkouts that arrive without one.
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    sqlite_autoincrement=True,
)

order_owners = Table(
    "order_owners",
    metadata,
    # Whose checkout used an orderId first (paysim.domain.order_ids): the primary key
    # lets only one checkout claim a new orderId, even with concurrent writers.
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=False),
)

payments = Table(
    "payments",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("order_id", BigInteger, nullable=False, index=True),
    Column("user_id", BigInteger, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(32), nullable=False),
    Column("payment_method", String(16), nullable=False),
    Column("payment_method_id", String(255), nullable=True),
    Column("stripe_payment_intent_id", String(255), nullable=True, unique=True),
    Column("stripe_charge_id", String(255), nullable=True),
    Column("client_secret", String(255), nullable=True),
    Column("receipt_url", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("captured_minor", BigInteger, nullable=False, default=0),
    Column("refunded_minor", BigInteger, nullable=False, default=0),
    Column("failure_reason", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("decline_code", String(64), nullable=True),
    Column("cancel_reason", Text, nullable=True),
    # The client's Idempotency-Key, scoped to its user, and the fingerprint of the
    # parameters it was first used with (a reuse with others is refused).
    Column("request_key", String(255), nullable=True),
    Column("request_fingerprint", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "request_key", name="uq_payments_user_request_key"),
    sqlite_autoincrement=True,
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", ROW_ID, primary_key=True, autoincrement=True),
    Column("payment_id", BigInteger, ForeignKey("payments.id"), nullable=False, index=True),
    # One logical refund of this payment, however often it is retried: also (with the
    # payment id) Stripe's idempotency key. Scoped per payment: another payment's
    # request of the same name is another refund.
    Column("request_id", String(255), nullable=False),
    Column("request_fingerprint", String(64), nullable=True),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # a RefundStatus
    Column("reason", Text, nullable=True),
    Column("stripe_refund_id", String(255), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("payment_id", "request_id", name="uq_refunds_payment_request"),
    sqlite_autoincrement=True,
)

webhook_events = Table(
    "webhook_events",
    metadata,
    # Stripe's event id: a webhook delivered twice is recognised and recorded once.
    Column("stripe_event_id", String(255), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("payment_id", BigInteger, nullable=True),
    Column("applied", Boolean, nullable=False),
    Column("note", Text, nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
Index("ix_webhook_events_received_at", webhook_events.c.received_at)

# The audit trail: every move offered to a payment, applied or ignored, and why.
payment_transitions = transitions_table("payment_transitions", metadata, "payment_id")
