"""Building the plan's PaymentEvent from a payment's current state."""

from __future__ import annotations

from typing import Any

from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.status import PaymentStatus
from paysim.services.payment.repository import Payment


def payment_event(
    payment: Payment,
    event_type: PaymentEventType,
    *,
    previous: PaymentStatus | None = None,
    **extra: Any,
) -> PaymentEvent:
    """An event carrying everything the payment knows now, plus event-specific fields."""
    fields: dict[str, Any] = {
        "event_type": event_type,
        "payment_id": payment.id,
        "order_id": payment.order_id,
        "user_id": payment.user_id,
        "stripe_payment_intent_id": payment.stripe_payment_intent_id,
        "stripe_charge_id": payment.stripe_charge_id,
        "amount_minor": payment.amount.minor,
        "currency": payment.amount.currency,
        "status": payment.status,
        "previous_status": previous,
        "payment_method": payment.payment_method,
        "payment_method_id": payment.payment_method_id,
        "receipt_url": payment.receipt_url,
        "attempt": payment.attempts or None,
        **extra,
    }
    return PaymentEvent.model_validate(fields)
