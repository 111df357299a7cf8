"""Stripe webhooks: verified, recorded once per Stripe event, applied forward only.

Stripe promises neither once-only nor in-order delivery. A webhook is recorded under
its Stripe event id (a second delivery changes nothing), published without its secrets
as ``payment-webhook-received``, and its status is *offered* to the payment: a late or
duplicated one is recorded as ignored, never applied. The confirmation attempt it
belongs to is read from the idempotency key of the request that caused it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from paysim.domain.events import PaymentEventType
from paysim.domain.idempotency_keys import confirm_attempt
from paysim.domain.money import Money
from paysim.domain.status import PaymentStatus
from paysim.errors import PermanentError
from paysim.gateway.stripe_redaction import redacted_json
from paysim.gateway.stripe_webhooks import WebhookSignatureError, verify_webhook
from paysim.services.payment import repository as repo
from paysim.services.payment import webhook_repository as webhooks
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.service import PaymentService
from paysim.services.payment.stripe_truth import receipt_url

log = logging.getLogger(__name__)


class WebhookRejectedError(PermanentError):
    """The webhook's signature, timestamp or body is not acceptable (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    stripe_event_id: str
    type: str
    duplicate: bool
    payment_id: int | None
    applied: bool
    note: str | None


def verify(payload: bytes, signature: str | None, secret: str) -> dict[str, Any]:
    """The Stripe event, if the signature is Stripe's scheme over this body and recent,
    and the event has the fields paysim reads."""
    try:
        return verify_webhook(payload, signature, secret)
    except WebhookSignatureError as exc:
        raise WebhookRejectedError(str(exc)) from exc


def _attempt_of(event: Any, namespace: str) -> int | None:
    request = event.get("request")
    key = request.get("idempotency_key") if isinstance(request, dict) else None
    return confirm_attempt(key or "", namespace=namespace)


def _target(
    event_type: str, obj: Any, payment: Payment
) -> tuple[PaymentStatus, dict[str, Any]] | None:
    if event_type == "payment_intent.succeeded":
        captured = obj.get("amount_received") or obj.get("amount")
        if captured is None or obj.get("currency") is None:
            raise WebhookRejectedError(f"{event_type} without its amount or currency")
        return PaymentStatus.COMPLETED, {
            "stripe_charge_id": obj.get("latest_charge"),
            "receipt_url": receipt_url(obj.get("latest_charge")),
            "captured": Money(captured, obj["currency"]),
        }
    if event_type == "payment_intent.payment_failed":
        error = obj.get("last_payment_error") or {}
        return PaymentStatus.FAILED, {
            "failure_reason": error.get("message"),
            "error_code": error.get("code"),
            "decline_code": error.get("decline_code"),
        }
    if event_type == "payment_intent.canceled":
        return PaymentStatus.CANCELLED, {
            "cancel_reason": payment.cancel_reason
            or obj.get("cancellation_reason")
            or "canceled at Stripe"
        }
    return None  # charge.refunded and others: recorded; refunds are owned by the refund flow


def handle(service: PaymentService, event: Any) -> WebhookOutcome:
    """Record and apply one verified Stripe event, in one transaction.

    The event is republished without its secrets (the intent's client secret): every
    reader of ``payment-webhook-received`` sees it, and the outbox keeps it a while.
    """
    obj = event["data"]["object"]
    intent_id = obj.get("payment_intent") if obj.get("object") == "charge" else obj.get("id")
    with service.uow() as uow:
        conn = uow.connection
        if webhooks.seen(conn, event["id"]):
            return WebhookOutcome(event["id"], event["type"], True, None, False, "duplicate")
        payment = repo.by_intent(conn, intent_id) if intent_id else None
        applied, note = False, None
        if payment is None:
            note = f"no payment for {intent_id}"
        else:
            uow.outbox.add(
                payment_event(
                    payment,
                    PaymentEventType.PAYMENT_WEBHOOK_RECEIVED,
                    webhook_id=f"wh_{uuid.uuid4().hex[:16]}",
                    stripe_event_id=event["id"],
                    webhook_event_type=event["type"],
                    raw_payload=redacted_json(event),
                )
            )
            target = _target(event["type"], obj, payment)
            if target is not None:
                status, updates = target
                moved = service.apply_outcome(
                    payment.id,
                    status,
                    f"webhook {event['type']}",
                    _attempt_of(event, service.namespace),
                    updates,
                    event_id=event["id"],
                    uow=uow,
                )
                applied = moved.status != payment.status
                note = None if applied else f"{status} not applied to {payment.status}"
        webhooks.record(
            conn,
            webhooks.WebhookRecord(
                stripe_event_id=event["id"],
                type=event["type"],
                payment_id=payment.id if payment else None,
                applied=applied,
                note=note,
                received_at=service.now(),
            ),
        )
    log.info(
        "webhook %s %s paymentId=%s applied=%s",
        event["type"],
        event["id"],
        payment.id if payment else None,
        applied,
    )
    return WebhookOutcome(
        event["id"], event["type"], False, payment.id if payment else None, applied, note
    )
