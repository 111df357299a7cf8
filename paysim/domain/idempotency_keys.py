"""Deterministic Stripe idempotency keys, derived from the logical operation.

A retried call (after a timeout, a 5xx, a crash before the result was stored) sends the
same key, and Stripe answers with the first call's result instead of acting twice: a
payment cannot be confirmed twice, nor a refund paid out twice. So keys are built only
from what identifies the operation, never from time, randomness or ``hash()`` (which is
salted per process).

Keys read ``paysim[:namespace]:<operation>:payment-<id>[:<detail>]``. Database ids start
at 1 again in every run while Stripe remembers keys for 24 hours, so a run against a
Stripe that outlives it must pass a ``namespace`` (the run id) to keep its keys apart.
Stripe accepts keys of up to 255 characters; a part too long or with unusual characters
is replaced by its SHA-256 digest so the key stays within bounds and stable.

Clients give paysim keys of their own (the ``Idempotency-Key`` header). paysim keeps such
a key with the *fingerprint* of the request's parameters, as Stripe does: the same key
with the same parameters gets the first result back, the same key with other parameters
is refused (``IdempotencyKeyReusedError``), never answered with another request's result.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from paysim.errors import PermanentError

PREFIX = "paysim"
MAX_KEY_LENGTH = 255
_MAX_PART_LENGTH = 64
_SAFE_PART = re.compile(r"[A-Za-z0-9._-]+")
_CONFIRM_ATTEMPT = re.compile(r":confirm:payment-\d+:attempt-(\d+)$")


class IdempotencyKeyError(PermanentError, ValueError):
    """A key part that cannot identify an operation (empty, zero, negative)."""


class IdempotencyKeyReusedError(PermanentError):
    """A client's key used again with other parameters (Stripe's ``idempotency_error``)."""

    error_type = "idempotency_error"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Keys for idempotent requests can only be used with the same parameters they "
            f"were first used with. Idempotency-Key {key!r} was used with other parameters; "
            "use a new key for a different request."
        )


RequestValue = str | int | bool | None


def request_fingerprint(operation: str, params: Mapping[str, RequestValue]) -> str:
    """SHA-256 of the operation and its canonical parameters (key order does not matter).

    Callers pass parameters already canonical (money as minor units and a lower-case
    currency), so two spellings of one request (``5.00`` and ``500`` minor) match.
    """
    canonical = json.dumps(
        {"operation": operation, "params": dict(params)}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_fingerprint(key: str, stored: str | None, given: str) -> None:
    """Refuse a key seen before with other parameters; ``stored`` None (no print kept,
    a request from before fingerprints) is refused too: nothing proves it is the same."""
    if stored != given:
        raise IdempotencyKeyReusedError(key)


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise IdempotencyKeyError(f"{name} must be a positive int, got {value!r}")
    return value


def _part(name: str, value: str) -> str:
    if not value:
        raise IdempotencyKeyError(f"{name} must not be empty")
    if len(value) <= _MAX_PART_LENGTH and _SAFE_PART.fullmatch(value):
        return value
    return "sha256-" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _key(operation: str, payment_id: int, *details: str, namespace: str | None) -> str:
    parts = [PREFIX]
    if namespace is not None:
        parts.append(_part("namespace", namespace))
    parts += [operation, f"payment-{_positive('payment_id', payment_id)}", *details]
    key = ":".join(parts)
    if len(key) > MAX_KEY_LENGTH:
        # Only an absurd id can get here: the text parts are bounded by _part.
        raise IdempotencyKeyError(f"key of {len(key)} characters exceeds {MAX_KEY_LENGTH}")
    return key


def create_intent_key(payment_id: int, *, namespace: str | None = None) -> str:
    """Key for creating the PaymentIntent of a payment (one intent per payment)."""
    return _key("create-intent", payment_id, namespace=namespace)


def confirm_key(payment_id: int, attempt: int, *, namespace: str | None = None) -> str:
    """Key for confirming a payment; each attempt (1, 2, ...) after a decline is new."""
    return _key(
        "confirm", payment_id, f"attempt-{_positive('attempt', attempt)}", namespace=namespace
    )


def confirm_attempt(key: str, *, namespace: str) -> int | None:
    """The attempt a ``confirm_key`` of ``namespace`` names; None for any other key.

    Stripe echoes the key of the request behind each event, so a webhook tells which
    confirmation attempt it reports on.
    """
    match = _CONFIRM_ATTEMPT.search(key)
    return int(match.group(1)) if match and namespace in key else None


def cancel_key(payment_id: int, *, namespace: str | None = None) -> str:
    """Key for cancelling a payment's intent (a payment is cancelled at most once)."""
    return _key("cancel", payment_id, namespace=namespace)


def refund_key(payment_id: int, refund_request_id: str, *, namespace: str | None = None) -> str:
    """Key for one logical refund, named by the request that asked for it."""
    return _key(
        "refund",
        payment_id,
        f"request-{_part('refund_request_id', refund_request_id)}",
        namespace=namespace,
    )
