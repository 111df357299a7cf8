"""Readiness probes: is the broker serving metadata, does stripe-mock answer?"""

from __future__ import annotations

import httpx
from confluent_kafka.admin import AdminClient

STRIPE_TEST_KEY = "sk_test_paysim"


def kafka_ready(bootstrap_servers: str, timeout_s: float = 2.0) -> bool:
    """True once the broker answers a metadata request and reports itself."""
    admin = AdminClient({"bootstrap.servers": bootstrap_servers, "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except Exception:
        return False
    return bool(metadata.brokers)


def stripe_mock_ready(api_base: str, timeout_s: float = 2.0) -> bool:
    """True once stripe-mock serves a validated API call."""
    try:
        response = httpx.get(
            f"{api_base}/v1/customers",
            headers={"Authorization": f"Bearer {STRIPE_TEST_KEY}"},
            timeout=timeout_s,
        )
    except httpx.HTTPError:
        return False
    return response.status_code == 200
