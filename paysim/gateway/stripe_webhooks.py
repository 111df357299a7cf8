"""Stripe's webhook signatures, checked with the official SDK.

A webhook is Stripe's only if its ``Stripe-Signature`` header is Stripe's scheme
(HMAC-SHA256 over the exact body, with the endpoint's secret) and its timestamp is
recent, so a captured request cannot be replayed later; and only if its body has the
fields paysim reads, in their types (:mod:`.stripe_event_shape`), so a signed body of
another shape is refused with a 400 instead of failing half-way through its handling.
"""

from __future__ import annotations

import json
from typing import Any

import stripe

from paysim.errors import PermanentError
from paysim.gateway.stripe_event_shape import check_event_shape

SIGNATURE_TOLERANCE_S = 300


class WebhookSignatureError(PermanentError):
    """The webhook's signature, timestamp or body is not an event signed by Stripe."""


def verify_webhook(payload: bytes, signature_header: str | None, secret: str) -> dict[str, Any]:
    """The Stripe event, if the signature is Stripe's scheme over this body and recent,
    and the event has the fields paysim reads (``stripe_event_shape``)."""
    if not signature_header:
        raise WebhookSignatureError("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature_header, secret, tolerance=SIGNATURE_TOLERANCE_S
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(f"signature rejected: {exc.user_message or exc}") from exc
    except ValueError as exc:  # not UTF-8
        raise WebhookSignatureError(f"body is not a Stripe event: {exc}") from exc
    # Parsed and checked here, not by the SDK's construct_event, which fails with an
    # AttributeError on a signed body that is JSON but not an object.
    try:
        event = json.loads(payload)
        check_event_shape(event)
    except (ValueError, RecursionError) as exc:  # not JSON (or nested past parsing)
        raise WebhookSignatureError(f"body is not a Stripe event: {exc}") from exc
    verified: dict[str, Any] = event
    return verified
