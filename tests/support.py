"""Small helpers the integration tests share: talk to the payment API, read Kafka back."""

from __future__ import annotations

from typing import Any

import httpx

from paysim.bus.reader import Record, wait_for_records
from paysim.domain.events import AnyEvent

TIMEOUT = httpx.Timeout(20.0)


def post(base: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=TIMEOUT)


def create_intent(api: str, amount: str = "25.99", currency: str = "usd", **extra: Any) -> Any:
    response = post(
        api,
        "/api/payments/create-intent",
        {"userId": 7, "amount": amount, "currency": currency, **extra},
    )
    assert response.status_code == 201, response.text
    return response.json()


def confirm(api: str, payment_id: int, card: str) -> httpx.Response:
    return post(api, f"/api/payments/{payment_id}/confirm", {"paymentMethodId": card})


def paid(api: str, amount: str = "25.99", currency: str = "usd", **extra: Any) -> Any:
    payment = create_intent(api, amount, currency, **extra)
    response = confirm(api, payment["paymentId"], "pm_card_visa")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED"
    return response.json()


def events_of_order(
    bootstrap: str, topic: str, order_id: int, count: int = 1, timeout_s: float = 20.0
) -> list[AnyEvent]:
    """The events of one order on a topic, in offset order, once ``count`` are there."""
    records = wait_for_records(
        bootstrap, [topic], lambda r: r.key == str(order_id), count=count, timeout_s=timeout_s
    )
    return [r.event() for r in sorted(records, key=lambda r: r.offset)]


def records_of_order(bootstrap: str, topic: str, order_id: int, count: int = 1) -> list[Record]:
    return wait_for_records(bootstrap, [topic], lambda r: r.key == str(order_id), count=count)
