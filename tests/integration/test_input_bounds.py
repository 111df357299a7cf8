"""Out-of-range numbers and oversized bodies get a 4xx from the running services, not a 500.

Each of these answered 500 (or 200, for the 1.2 MB reason that then jammed the outbox)
before the bounds of ``paysim.domain.bounds``; each is followed by a request that must
still be served.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from paysim.domain.bounds import MAX_BODY_BYTES, MAX_ID, MAX_REASON_LENGTH
from paysim.infra.service_launcher import ServiceUrls
from tests.support import TIMEOUT, create_intent, paid, post

PAST_INT64 = 2**63
HUGE_REASON = "x" * 1_200_000


def still_serving(services: ServiceUrls) -> None:
    """After a refused request the payment service takes the next checkout as usual."""
    payment = create_intent(services.payment_api, "3.00")
    assert payment["status"] == "PENDING"
    for api in (services.payment_api, services.order_api, services.delivery_api):
        assert httpx.get(f"{api}/healthz", timeout=TIMEOUT).status_code == 200


def refused(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text[:500]
    for word in words:
        assert word in response.text, response.text[:500]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "1E+40000"}, "amount"),
        ({"amount": "1e999999999999"}, "amount"),
        ({"amount": "-1E+40000"}, "amount"),
        ({"amount": "1E-40000"}, "amount"),
        ({"amount": "1000000.00"}, "amount"),  # one cent past Stripe's ceiling
        ({"amountMinor": 10**30}, "amountMinor"),
        ({"amountMinor": 100_000_000}, "amountMinor"),
        ({"amount": "25.99", "userId": PAST_INT64}, "userId"),
        ({"amount": "25.99", "orderId": PAST_INT64}, "orderId"),
    ],
)
def test_create_intent_refuses_numbers_out_of_range_with_422(
    services: ServiceUrls, body: dict[str, Any], field: str
) -> None:
    request = {"userId": 7, "currency": "usd", **body}
    response = post(services.payment_api, "/api/payments/create-intent", request)
    refused(response, 422, field)
    still_serving(services)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"userId": 7, "currency": "usd", "amount": 1E+40000}', "amount"),
        ('{"userId": 7, "currency": "usd", "amount": NaN}', "amount"),
        ('{"userId": 1E+400, "currency": "usd", "amount": "1.00"}', "userId"),
    ],
)
def test_a_json_number_past_any_float_is_refused_not_echoed_into_a_500(
    services: ServiceUrls, raw: str, field: str
) -> None:
    # Parsed as an infinite float; FastAPI's own 422 failed to echo it back (500).
    response = httpx.post(
        f"{services.payment_api}/api/payments/create-intent",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=TIMEOUT,
    )
    refused(response, 422, field)
    still_serving(services)


def test_the_largest_amount_is_accepted(services: ServiceUrls) -> None:
    payment = create_intent(services.payment_api, "999999.99", "usd")
    assert payment["amountMinor"] == 99_999_999
    assert create_intent(services.payment_api, "99999999", "jpy")["amountMinor"] == 99_999_999


@pytest.mark.parametrize("body", [{"amount": "1E+40000"}, {"amountMinor": 10**30}])
def test_a_refund_out_of_range_is_refused_and_refunds_nothing(
    services: ServiceUrls, body: dict[str, Any]
) -> None:
    payment = paid(services.payment_api, "10.00")
    pid = payment["paymentId"]
    response = post(services.payment_api, f"/api/payments/{pid}/refund", body)
    refused(response, 422, next(iter(body)))
    after = httpx.get(f"{services.payment_api}/api/payments/{pid}", timeout=TIMEOUT).json()
    assert (after["status"], after["refundedMinor"]) == ("COMPLETED", 0)
    still_serving(services)


def id_paths(services: ServiceUrls, entity_id: int) -> Iterator[tuple[str, str, str]]:
    """Every route that takes an id in its path: (method, base, path)."""
    pay, order = services.payment_api, services.order_api
    yield "GET", pay, f"/api/payments/{entity_id}"
    for action in ("confirm", "cancel", "refund"):
        yield "POST", pay, f"/api/payments/{entity_id}/{action}"
    yield "GET", order, f"/api/orders/{entity_id}"
    for action in ("cancel", "confirm", "preparing", "ready-for-pickup", "reject"):
        yield "POST", order, f"/api/orders/{entity_id}/{action}"
    yield "GET", services.delivery_api, f"/api/deliveries/{entity_id}"


@pytest.mark.parametrize("entity_id", [PAST_INT64, 10**30, 0, -1])
def test_a_path_id_outside_the_stores_integer_is_refused_with_422(
    services: ServiceUrls, entity_id: int
) -> None:
    bodies = {"confirm": {"paymentMethodId": "pm_card_visa"}}
    for method, base, path in id_paths(services, entity_id):
        body = bodies.get(path.rsplit("/", 1)[-1], {})
        response = httpx.request(
            method, f"{base}{path}", json=body if method == "POST" else None, timeout=TIMEOUT
        )
        assert response.status_code == 422, f"{method} {path}: {response.text[:300]}"
    still_serving(services)


def test_the_largest_id_is_in_range_and_simply_not_found(services: ServiceUrls) -> None:
    response = httpx.get(f"{services.payment_api}/api/payments/{MAX_ID}", timeout=TIMEOUT)
    assert response.status_code == 404, response.text
    response = httpx.get(f"{services.order_api}/api/orders/{MAX_ID}", timeout=TIMEOUT)
    assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    ("base", "path"),
    [
        ("payment_api", "/api/payments?limit=1000000000000000000000"),
        ("payment_api", "/api/payments?limit=0"),
        ("order_api", "/api/orders?limit=1000000000000000000000"),
        ("order_api", "/api/orders?limit=100001"),
        ("notification_api", f"/api/notifications?orderId={PAST_INT64}"),
        ("notification_api", f"/api/notifications?userId={PAST_INT64}"),
    ],
)
def test_query_numbers_out_of_range_are_refused_with_422(
    services: ServiceUrls, base: str, path: str
) -> None:
    response = httpx.get(f"{getattr(services, base)}{path}", timeout=TIMEOUT)
    assert response.status_code == 422, response.text[:300]


def test_a_huge_reason_is_refused_413_and_the_payment_is_not_cancelled(
    services: ServiceUrls,
) -> None:
    payment = create_intent(services.payment_api)
    pid = payment["paymentId"]
    response = post(services.payment_api, f"/api/payments/{pid}/cancel", {"reason": HUGE_REASON})
    assert response.status_code == 413, response.text[:300]
    after = httpx.get(f"{services.payment_api}/api/payments/{pid}", timeout=TIMEOUT).json()
    assert after["status"] == "PENDING"
    still_serving(services)
    # The same payment can still be cancelled with a reason of a sensible size.
    response = post(services.payment_api, f"/api/payments/{pid}/cancel", {"reason": "changed"})
    assert response.json()["status"] == "CANCELLED", response.text


def test_a_reason_just_past_its_bound_is_refused_422(services: ServiceUrls) -> None:
    payment = create_intent(services.payment_api)
    long_reason = {"reason": "r" * (MAX_REASON_LENGTH + 1)}
    response = post(
        services.payment_api, f"/api/payments/{payment['paymentId']}/cancel", long_reason
    )
    refused(response, 422, "reason")
    response = post(services.order_api, f"/api/orders/{payment['orderId']}/cancel", long_reason)
    refused(response, 422, "reason")


def test_every_service_caps_the_request_body_even_when_sent_in_chunks(
    services: ServiceUrls,
) -> None:
    def chunks() -> Iterator[bytes]:
        # No Content-Length: the body is streamed and counted as it arrives.
        yield b'{"reason": "'
        for _ in range(2 * MAX_BODY_BYTES // 4096):
            yield b"x" * 4096
        yield b'"}'

    targets = [
        (services.payment_api, "/api/payments/1/cancel"),
        (services.order_api, "/api/orders/1/cancel"),
        (services.payment_api, "/webhooks/stripe"),
    ]
    for base, path in targets:
        response = httpx.post(
            f"{base}{path}",
            content=chunks(),
            headers={"content-type": "application/json"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 413, f"{path}: {response.text[:300]}"
    response = post(services.order_api, "/api/orders/1/cancel", {"reason": HUGE_REASON})
    assert response.status_code == 413, response.text[:300]
    still_serving(services)


def test_an_idempotency_key_past_its_bound_is_refused(services: ServiceUrls) -> None:
    response = post(
        services.payment_api,
        "/api/payments/create-intent",
        {"userId": 7, "currency": "usd", "amount": "1.00"},
        **{"Idempotency-Key": "k" * 1000},
    )
    refused(response, 422, "idempotency-key")
