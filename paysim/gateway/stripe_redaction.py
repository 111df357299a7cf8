"""Stripe objects with their secrets taken out, for anything that keeps or republishes them.

A webhook's body carries the payment intent's ``client_secret``: whoever holds it can
confirm the intent from a browser. The payment service hands the secret to the payment's
creator once (the create-intent response); the copy of a webhook it publishes on Kafka
and keeps in its outbox must not hand it to every reader of the topic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

SECRET_FIELD = re.compile(r"(?:^|_)secret$", re.IGNORECASE)
"""The names Stripe gives secrets: ``client_secret`` (payment and setup intents),
``secret`` (webhook endpoints, ephemeral keys), and any other ``..._secret``."""


def is_secret_field(name: str) -> bool:
    return SECRET_FIELD.search(name) is not None


def redacted(value: Any) -> Any:
    """``value`` (a JSON tree) without any field named like a secret, at any depth."""
    if isinstance(value, Mapping):
        return {
            key: redacted(item)
            for key, item in value.items()
            if not (isinstance(key, str) and is_secret_field(key))
        }
    if isinstance(value, list | tuple):
        return [redacted(item) for item in value]
    return value


def redacted_json(event: Mapping[str, Any]) -> str:
    """A Stripe event, redacted, as compact JSON (what ``rawPayload`` carries)."""
    return json.dumps(redacted(event), separators=(",", ":"), ensure_ascii=False)
