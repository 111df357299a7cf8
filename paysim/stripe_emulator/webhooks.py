"""Stripe event objects and their ``Stripe-Signature``, as Stripe builds and signs them.

The signature is ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">`` keyed
with the endpoint's secret (the whole ``whsec_...`` string), which is exactly what
``stripe.Webhook.construct_event`` checks. Each delivery attempt is signed anew with
its own timestamp over the same payload bytes, so a late retry still verifies within
the SDK's tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from paysim.stripe_emulator.records import new_id

JsonObject = dict[str, Any]

PAYMENT_INTENT_CREATED = "payment_intent.created"
PAYMENT_INTENT_SUCCEEDED = "payment_intent.succeeded"
PAYMENT_INTENT_PAYMENT_FAILED = "payment_intent.payment_failed"
PAYMENT_INTENT_CANCELED = "payment_intent.canceled"
PAYMENT_INTENT_AMOUNT_CAPTURABLE_UPDATED = "payment_intent.amount_capturable_updated"
CHARGE_REFUNDED = "charge.refunded"


@dataclass(frozen=True, slots=True)
class EventSource:
    """The API request that caused an event (Stripe's ``event.request``)."""

    request_id: str | None
    idempotency_key: str | None
    api_version: str


@dataclass(frozen=True, slots=True)
class Event:
    """A built event: its id and type, and the exact bytes every delivery sends."""

    id: str
    type: str
    payload: bytes
    ordering_key: str = ""
    """The payment intent the event is about (a charge's own intent): the deliveries of
    one key go out in the order the events happened."""

    def as_json(self) -> JsonObject:
        decoded: JsonObject = json.loads(self.payload)
        return decoded


def build_event(event_type: str, data_object: JsonObject, source: EventSource) -> Event:
    """A Stripe ``event`` wrapping a snapshot of the object it is about."""
    event_id = new_id("evt")
    body: JsonObject = {
        "id": event_id,
        "object": "event",
        "api_version": source.api_version,
        "created": int(time.time()),
        "data": {"object": data_object},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": source.request_id, "idempotency_key": source.idempotency_key},
        "type": event_type,
    }
    payload = json.dumps(body, indent=2).encode()
    return Event(event_id, event_type, payload, ordering_key(data_object))


def ordering_key(data_object: JsonObject) -> str:
    """The intent an object belongs to: a charge's ``payment_intent``, else its own id."""
    intent = data_object.get("payment_intent")
    return intent if isinstance(intent, str) else str(data_object.get("id", ""))


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``v1`` scheme: hex HMAC-SHA256 of ``"<timestamp>.<payload>"``."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for one delivery of ``payload``."""
    at = int(time.time()) if timestamp is None else timestamp
    return f"t={at},v1={compute_signature(payload, secret, at)}"


def is_enabled(event_type: str, enabled_events: tuple[str, ...]) -> bool:
    """Stripe's ``enabled_events`` filter: ``*`` or the exact type."""
    return "*" in enabled_events or event_type in enabled_events
