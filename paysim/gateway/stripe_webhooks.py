"""Stripe's webhook signatures, checked with the official SDK.

A webhook is Stripe's only if its ``Stripe-Signature`` header is Stripe's scheme
(HMAC-SHA256 over the exact body, with the endpoint's secret) and its timestamp is
recent, so a captured request cannot be replayed later.
"""

from __future__ import annotations

from typing import Any

import stripe

from paysim.errors import PermanentError

SIGNATURE_TOLERANCE_S = 300


class WebhookSignatureError(PermanentError):
    """The webhook's signature, timestamp or body is not an event signed by Stripe."""


def verify_webhook(payload: bytes, signature_header: str | None, secret: str) -> dict[str, Any]:
    """The Stripe event, if the signature is Stripe's scheme over this body and recent."""
    if not signature_header:
        raise WebhookSignatureError("missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_S
        )
        verified: dict[str, Any] = event.to_dict()
        return verified
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(f"signature rejected: {exc.user_message or exc}") from exc
    except ValueError as exc:
        raise WebhookSignatureError(f"body is not a Stripe event: {exc}") from exc
