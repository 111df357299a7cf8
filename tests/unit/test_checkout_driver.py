"""The demo driver repeats a call whose answer was lost only where that is safe."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from paysim.domain.money import Money
from paysim.sim import driver as driver_module
from paysim.sim.driver import CheckoutDriver
from paysim.sim.scenarios import CheckoutPlan, Scenario

PAY = "http://payment.test"
ORDERS = "http://order.test"


class FakeApis:
    """The payment and order APIs of one checkout, with answers that can be lost."""

    def __init__(self) -> None:
        self.status = "PAYMENT_PENDING"
        self.payment_status = "PENDING"
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.lose: dict[str, int] = {}  # path -> how many answers to lose after applying
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            path = request.url.path
            self.calls.append((request.method, path, dict(request.headers)))
            response = self._answer(request, path)
            if self.lose.get(path, 0) > 0:
                self.lose[path] -= 1
                raise httpx.ReadError("[Errno 9] Bad file descriptor", request=request)
            return response

    def _answer(self, request: httpx.Request, path: str) -> httpx.Response:
        if request.method == "GET":
            status = self.status if path.startswith("/api/orders/") else self.payment_status
            return httpx.Response(200, json={"status": status})
        if path == "/api/payments/create-intent":
            return httpx.Response(201, json={"orderId": 42, "paymentId": 7})
        if path.startswith("/api/payments/"):
            return self._confirm()
        return self._move(request, path.rsplit("/", 1)[-1])

    def _confirm(self) -> httpx.Response:
        if self.payment_status == "COMPLETED":
            return httpx.Response(409, json={"message": "payment cannot move"})
        self.payment_status, self.status = "COMPLETED", "PENDING"
        return httpx.Response(200, json={"status": "COMPLETED"})

    def _move(self, request: httpx.Request, move: str) -> httpx.Response:
        target = {
            "confirm": "CONFIRMED",
            "preparing": "PREPARING",
            "ready-for-pickup": "DELIVERED",  # the courier is quick
        }[move]
        if self.status == target:
            return httpx.Response(409, json={"message": f"order cannot move to {target}"})
        self.status = target
        return httpx.Response(200, json={"status": target, "body": json.loads(request.content)})


def _plan() -> CheckoutPlan:
    return CheckoutPlan(1, Scenario.HAPPY, 5, Money(1200, "usd"), "pm_card_visa", None, None)


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver_module, "RETRY_BACKOFF_S", 0.0)
    monkeypatch.setattr(driver_module, "POLL_S", (0.0, 0.0))


def _driver(apis: FakeApis) -> CheckoutDriver:
    return CheckoutDriver(PAY, ORDERS, wait_s=5, transport=httpx.MockTransport(apis))


def test_a_checkout_with_every_answer_lost_once_still_completes_once() -> None:
    apis = FakeApis()
    apis.lose = {
        "/api/payments/create-intent": 1,
        "/api/payments/7/confirm": 1,
        "/api/orders/42/confirm": 1,
        "/api/orders/42/preparing": 1,
        "/api/orders/42/ready-for-pickup": 1,
        "/api/orders/42": 1,
    }
    outcome = _driver(apis).run(_plan())

    assert outcome.error is None, outcome.error
    assert outcome.steps == ["confirm pm_card_visa", "confirm", "preparing", "ready-for-pickup"]
    creates = [h for m, p, h in apis.calls if p == "/api/payments/create-intent"]
    # Repeated with the same key, so the payment service returns the same payment.
    assert len(creates) == 2
    assert creates[0]["idempotency-key"] == creates[1]["idempotency-key"]


def test_a_409_without_a_lost_answer_is_a_failure() -> None:
    apis = FakeApis()
    apis.payment_status = "COMPLETED"  # someone else confirmed it: not ours to accept
    outcome = _driver(apis).run(_plan())
    assert outcome.error is not None
    assert "answered 409" in outcome.error


def test_a_lost_answer_is_retried_a_bounded_number_of_times() -> None:
    apis = FakeApis()
    apis.lose = {"/api/payments/create-intent": 99}
    outcome = _driver(apis).run(_plan())
    assert outcome.error is not None
    assert "Bad file descriptor" in outcome.error
    creates = [p for _m, p, _h in apis.calls if p == "/api/payments/create-intent"]
    assert len(creates) == driver_module.ATTEMPTS


def test_every_worker_thread_has_a_client_of_its_own() -> None:
    driver = _driver(FakeApis())
    together = threading.Barrier(4)

    def client_of_this_thread(_n: int) -> httpx.Client:
        together.wait(timeout=5)  # four threads at once, none reused
        first = driver._http
        assert driver._http is first
        return first

    with ThreadPoolExecutor(4) as pool:
        clients = list(pool.map(client_of_this_thread, range(4)))
    assert len({id(c) for c in clients}) == 4
    assert sorted(map(id, driver._clients)) == sorted(map(id, clients))
    driver.close()
    assert driver._clients == []
    assert all(c.is_closed for c in clients)


def test_the_driver_waits_for_an_order_with_a_bounded_long_poll() -> None:
    apis = FakeApis()
    waits: list[httpx.QueryParams] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/api/orders/42":
            waits.append(request.url.params)
        return apis(request)

    driver = CheckoutDriver(PAY, ORDERS, wait_s=5, transport=httpx.MockTransport(answer))
    outcome = driver.run(_plan())

    assert outcome.error is None, outcome.error
    # One request per wait (the status was there), each naming what it waits for.
    assert [w.get_list("waitFor") for w in waits] == [["PAYMENT_PENDING"], ["PENDING"]]
    assert all(0 < int(w["timeoutMs"]) <= driver_module.LONG_POLL_S * 1000 for w in waits)
