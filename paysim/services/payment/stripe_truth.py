"""What a PaymentIntent, as Stripe holds it, says about its payment.

Stripe is the source of truth. When paysim cannot know an outcome from its own calls (an
answer lost, a webhook lost, a call refused because the intent moved on), it retrieves
the intent and offers the status it implies through the same forward-only
``apply_outcome`` as every other outcome: a stale or conflicting one is ignored.
"""

from __future__ import annotations

from typing import Any

from paysim.domain.money import Money
from paysim.domain.status import PaymentStatus
from paysim.gateway.stripe_gateway import StripeIntent
from paysim.services.payment.repository import Payment


def receipt_url(charge_id: str | None) -> str | None:
    return f"https://pay.stripe.com/receipts/{charge_id}" if charge_id else None


def intent_outcome(
    intent: StripeIntent, payment: Payment
) -> tuple[PaymentStatus, dict[str, Any]] | None:
    """The status (and fields) a settled intent gives its payment; None while unsettled.

    Only Stripe's final states are read: ``succeeded`` (the money was captured) and
    ``canceled``. Any other state (``processing``, ``requires_payment_method`` after a
    decline or before a confirmation arrived) does not say what became of the last
    attempt; that is settled by sending the attempt again under its own key.
    """
    if intent.status == "succeeded":
        return PaymentStatus.COMPLETED, {
            "stripe_charge_id": intent.latest_charge,
            "receipt_url": receipt_url(intent.latest_charge),
            "captured": Money(intent.amount_received or intent.amount, intent.currency),
            # A cancel asked for too late: the payment was captured, not cancelled.
            "cancel_reason": None,
        }
    if intent.status == "canceled":
        return PaymentStatus.CANCELLED, {
            "cancel_reason": payment.cancel_reason
            or intent.cancellation_reason
            or "canceled at Stripe"
        }
    return None
