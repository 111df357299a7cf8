"""Overlay the emulator's records onto stripe-mock's response templates.

stripe-mock answers with a fixture of the right shape (every field the API version has)
but fixed values. The emulator keeps that shape and overwrites every field it owns, so
that clients see Stripe's structure with the state the emulator keeps. Fixture values
that would contradict that state (``next_action``, ``processing``, a fixed
``canceled_at``) are cleared.
"""

from __future__ import annotations

from typing import Any

from paysim.stripe_emulator.records import ChargeRecord, PaymentIntentRecord, RefundRecord

JsonObject = dict[str, Any]


def render_intent(
    template: JsonObject, intent: PaymentIntentRecord, charge: ChargeRecord | None = None
) -> JsonObject:
    """A PaymentIntent in stripe-mock's shape; ``charge`` fills an expanded latest_charge."""
    body = dict(template)
    body.update(intent.echoed)
    body.update(
        {
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount,
            "amount_capturable": intent.amount_capturable,
            "amount_received": intent.amount_received,
            "currency": intent.currency,
            "status": intent.status,
            "capture_method": intent.capture_method,
            "confirmation_method": intent.confirmation_method,
            "client_secret": intent.client_secret,
            "created": intent.created,
            "canceled_at": intent.canceled_at,
            "cancellation_reason": intent.cancellation_reason,
            "last_payment_error": intent.last_payment_error,
            "latest_charge": intent.latest_charge,
            "metadata": dict(intent.metadata),
            "payment_method": intent.payment_method,
            "livemode": False,
            "next_action": None,
            "processing": None,
        }
    )
    expanded = template.get("latest_charge")
    if isinstance(expanded, dict) and charge is not None and charge.id == intent.latest_charge:
        body["latest_charge"] = render_charge(expanded, charge)
    return body


def _outcome(charge: ChargeRecord) -> JsonObject:
    if charge.decline is None:
        return {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }
    return {
        "network_status": "declined_by_network",
        "reason": charge.decline.decline_code or charge.decline.code,
        "risk_level": "normal",
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
    }


def render_charge(template: JsonObject, charge: ChargeRecord) -> JsonObject:
    body = dict(template)
    body.update(
        {
            "id": charge.id,
            "object": "charge",
            "amount": charge.amount,
            "amount_captured": charge.amount_captured,
            # Cancelling an uncaptured charge gives the whole hold back, as a refund.
            "amount_refunded": charge.amount if charge.released else charge.amount_refunded,
            "captured": charge.captured,
            "created": charge.created,
            "currency": charge.currency,
            "failure_code": charge.decline.code if charge.decline else None,
            "failure_message": charge.decline.message if charge.decline else None,
            "livemode": False,
            "outcome": _outcome(charge),
            "paid": charge.status == "succeeded",
            "payment_intent": charge.payment_intent,
            "payment_method": charge.payment_method,
            "refunded": charge.refunded,
            "status": charge.status,
        }
    )
    return body


def render_refund(template: JsonObject, refund: RefundRecord) -> JsonObject:
    body = dict(template)
    body.update(
        {
            "id": refund.id,
            "object": "refund",
            "amount": refund.amount,
            "charge": refund.charge,
            "created": refund.created,
            "currency": refund.currency,
            "metadata": dict(refund.metadata),
            "payment_intent": refund.payment_intent,
            "reason": refund.reason,
            "status": refund.status,
        }
    )
    return body
