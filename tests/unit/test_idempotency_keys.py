"""Stripe idempotency keys: deterministic, distinct per operation, within Stripe's limit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from paysim.domain.idempotency_keys import (
    MAX_KEY_LENGTH,
    IdempotencyKeyError,
    IdempotencyKeyReusedError,
    cancel_key,
    check_fingerprint,
    confirm_attempt,
    confirm_key,
    create_intent_key,
    refund_key,
    request_fingerprint,
)


def test_keys_are_readable() -> None:
    assert create_intent_key(42) == "paysim:create-intent:payment-42"
    assert confirm_key(42, 1) == "paysim:confirm:payment-42:attempt-1"
    assert cancel_key(42) == "paysim:cancel:payment-42"
    assert refund_key(42, "req-9") == "paysim:refund:payment-42:request-req-9"


def test_namespace_keeps_runs_apart() -> None:
    assert create_intent_key(42, namespace="run-a") == "paysim:run-a:create-intent:payment-42"
    assert create_intent_key(42, namespace="run-a") != create_intent_key(42, namespace="run-b")


def test_same_operation_same_key_different_operation_different_key() -> None:
    keys = {
        create_intent_key(1),
        create_intent_key(2),
        confirm_key(1, 1),
        confirm_key(1, 2),
        cancel_key(1),
        refund_key(1, "a"),
        refund_key(1, "b"),
        refund_key(2, "a"),
    }
    assert len(keys) == 8
    assert refund_key(1, "a") == refund_key(1, "a")


def test_keys_are_stable_across_processes() -> None:
    # hash() is salted per process; a key built from it would differ in a new process.
    long_id = "x" * 500
    code = (
        "from paysim.domain.idempotency_keys import refund_key;"
        f"print(refund_key(5, {long_id!r}, namespace='run/1'))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == refund_key(5, long_id, namespace="run/1")


def test_long_or_unusual_parts_are_digested_within_the_limit() -> None:
    key = refund_key(2**63 - 1, "é" * 1000, namespace="n" * 300)
    assert len(key) <= MAX_KEY_LENGTH
    assert key.startswith("paysim:sha256-")
    assert ":request-sha256-" in key
    assert refund_key(1, "a b") != refund_key(1, "a_b")


@pytest.mark.parametrize(
    "make",
    [
        lambda: create_intent_key(0),
        lambda: cancel_key(-1),
        lambda: confirm_key(1, 0),
        lambda: confirm_key(True, 1),
        lambda: refund_key(1, ""),
        lambda: create_intent_key(10**300),
    ],
)
def test_invalid_parts_are_refused(make: object) -> None:
    assert callable(make)
    with pytest.raises(IdempotencyKeyError):
        make()


def test_the_attempt_is_read_back_from_a_confirm_key_of_the_same_namespace() -> None:
    assert confirm_attempt(confirm_key(42, 3, namespace="run1"), namespace="run1") == 3
    assert confirm_attempt(confirm_key(42, 3, namespace="run1"), namespace="run2") is None
    assert confirm_attempt(cancel_key(42, namespace="run1"), namespace="run1") is None
    assert confirm_attempt("", namespace="run1") is None


def test_a_request_fingerprint_ignores_parameter_order_and_sees_every_value() -> None:
    first = request_fingerprint("refund", {"amountMinor": 500, "reason": None})
    assert first == request_fingerprint("refund", {"reason": None, "amountMinor": 500})
    assert first != request_fingerprint("refund", {"amountMinor": 501, "reason": None})
    assert first != request_fingerprint("refund", {"amountMinor": 500, "reason": "late"})
    assert first != request_fingerprint("create-intent", {"amountMinor": 500, "reason": None})
    assert len(first) == 64


def test_a_key_reused_with_other_parameters_is_refused_like_stripe_refuses_it() -> None:
    given = request_fingerprint("refund", {"amountMinor": 500})
    check_fingerprint("k-1", given, given)
    with pytest.raises(IdempotencyKeyReusedError, match="other parameters") as info:
        check_fingerprint("k-1", request_fingerprint("refund", {"amountMinor": 900}), given)
    assert info.value.error_type == "idempotency_error"
    with pytest.raises(IdempotencyKeyReusedError):
        check_fingerprint("k-1", None, given)  # nothing proves it is the same request
