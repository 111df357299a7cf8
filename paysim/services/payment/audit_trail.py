"""How a payment got where it is: the moves offered to it and the Stripe events it got.

The read side of the payment service's audit trail, for its HTTP API (and through it,
for observers such as the notebooks): nobody outside the service reads its tables.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from paysim.services.payment import repository as repo
from paysim.services.payment import webhook_repository as webhooks
from paysim.services.payment.service import PaymentService
from paysim.services.payment.webhook_repository import WebhookRecord


def history(service: PaymentService, payment_id: int) -> list[dict[str, Any]]:
    """Every status move offered to the payment, applied or ignored and why, in order."""
    with service.reading() as conn:
        repo.get(conn, payment_id)  # an unknown payment is not found, not empty
        return repo.history(conn, payment_id)


def webhook_events(service: PaymentService, payment_id: int) -> list[WebhookRecord]:
    """The Stripe events recorded against the payment (once per event id), oldest first."""
    with service.reading() as conn:
        repo.get(conn, payment_id)
        return webhooks.for_payment(conn, payment_id)


def webhook_events_by_id(
    service: PaymentService, stripe_event_ids: Collection[str]
) -> list[WebhookRecord]:
    """These Stripe events as recorded, whatever payment they matched (or none)."""
    with service.reading() as conn:
        return webhooks.by_ids(conn, stripe_event_ids)
