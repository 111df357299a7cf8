"""The order API's long-poll on the real stack: ``GET /api/orders/{id}?waitFor=...``
answers once the order reaches a status it waits for, else as it is at ``timeoutMs``;
its inputs are bounded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from paysim.domain.bounds import MAX_WAIT_MS
from paysim.domain.status import OrderStatus
from paysim.infra.service_launcher import ServiceUrls
from tests.support import confirm, create_intent, wait_for_order

pytestmark = pytest.mark.integration

# Shorter than the longest wait asked for: an answer inside it was woken by the change,
# and a wait that missed its change fails with a ReadTimeout instead of passing late.
CLIENT_TIMEOUT = httpx.Timeout(MAX_WAIT_MS / 1000 * 2 / 3)


def long_poll(
    order_api: str, order_id: int, statuses: list[str], timeout_ms: int | str
) -> httpx.Response:
    return httpx.get(
        f"{order_api}/api/orders/{order_id}",
        params={"waitFor": statuses, "timeoutMs": timeout_ms},
        timeout=CLIENT_TIMEOUT,
    )


def test_a_wait_asked_before_the_order_exists_answers_when_it_is_paid(
    services: ServiceUrls,
) -> None:
    payment = create_intent(services.payment_api)
    with ThreadPoolExecutor(1) as pool:
        # Asked at once: the order service may not have read the payment's event yet.
        waiting = pool.submit(
            long_poll, services.order_api, payment["orderId"], ["PENDING"], MAX_WAIT_MS
        )
        wait_for_order(services.order_api, payment["orderId"], "PAYMENT_PENDING")
        assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").is_success
        answer = waiting.result()
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "PENDING"
    assert answer.json()["history"]


def test_a_wait_that_runs_out_answers_the_order_as_it_is(services: ServiceUrls) -> None:
    payment = create_intent(services.payment_api)
    wait_for_order(services.order_api, payment["orderId"], "PAYMENT_PENDING")
    answer = long_poll(services.order_api, payment["orderId"], ["DELIVERED", "REFUNDED"], 50)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "PAYMENT_PENDING"


@pytest.mark.parametrize(
    ("statuses", "timeout_ms"),
    [
        (["PENDING"], MAX_WAIT_MS + 1),
        (["PENDING"], -1),
        (["PENDING"], "soon"),
        (["NOT_A_STATUS"], 100),
        (["pending"], 100),
        (["PENDING"] * (len(OrderStatus) + 1), 100),
    ],
)
def test_a_wait_out_of_bounds_is_refused_with_a_422(
    services: ServiceUrls, statuses: list[str], timeout_ms: int | str
) -> None:
    answer = long_poll(services.order_api, 1, statuses, timeout_ms)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


def test_a_wait_for_an_order_that_never_comes_ends_in_a_404(services: ServiceUrls) -> None:
    answer = long_poll(services.order_api, 2**62, ["PENDING"], 50)
    assert answer.status_code == 404, answer.text
    assert "does not exist" in answer.json()["message"]
