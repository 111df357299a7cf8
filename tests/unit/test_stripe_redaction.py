"""A Stripe event loses its secrets, at any depth, and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from paysim.gateway.stripe_redaction import is_secret_field, redacted, redacted_json

EVENT: dict[str, Any] = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "data": {
        "object": {
            "id": "pi_1",
            "object": "payment_intent",
            "amount": 2599,
            "client_secret": "pi_1_secret_abc",
            "latest_charge": "ch_1",
            "metadata": {"order_id": "42", "note": "a secret recipe"},
            "charges": {"data": [{"id": "ch_1", "payment_intent_secret": "x"}]},
            "next_action": None,
        },
        "previous_attributes": {"client_secret": "pi_1_secret_old"},
    },
    "request": {"id": "req_1", "idempotency_key": "paysim:1:confirm"},
    "endpoint": {"secret": "whsec_123", "url": "http://127.0.0.1/hook"},
}


def test_every_secret_field_is_dropped_at_any_depth() -> None:
    clean = redacted(EVENT)
    text = json.dumps(clean)
    for secret in ("pi_1_secret_abc", "pi_1_secret_old", "whsec_123", '"x"'):
        assert secret not in text
    assert "client_secret" not in clean["data"]["object"]
    assert clean["data"]["object"]["charges"]["data"] == [{"id": "ch_1"}]
    assert clean["data"]["previous_attributes"] == {}
    assert clean["endpoint"] == {"url": "http://127.0.0.1/hook"}


def test_everything_else_is_kept_as_it_was() -> None:
    clean = redacted(EVENT)
    obj = clean["data"]["object"]
    assert obj["amount"] == 2599
    assert obj["metadata"] == {"order_id": "42", "note": "a secret recipe"}
    assert obj["next_action"] is None
    assert clean["request"] == EVENT["request"]
    assert EVENT["data"]["object"]["client_secret"] == "pi_1_secret_abc"  # not mutated


def test_the_json_form_is_the_redacted_event() -> None:
    assert json.loads(redacted_json(EVENT)) == redacted(EVENT)


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("client_secret", True),
        ("secret", True),
        ("Client_Secret", True),
        ("webhook_secret", True),
        ("secret_key_hint", False),
        ("secretary", False),
        ("description", False),
    ],
)
def test_secret_field_names(name: str, secret: bool) -> None:
    assert is_secret_field(name) is secret
