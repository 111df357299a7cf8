"""Checkout traffic at paysim's payment and order APIs, with failures injected.

    make load                         # 20 users for 60 s, then the invariants
    locust -f loadtests/locustfile.py --headless -u 20 -r 5 -t 60s

Users:
- ``Customer``: the checkout mix (success, decline then retry, cancel before and after
  payment), through the public HTTP APIs, like the demo's customers;
- ``Restaurant``: moves paid orders along (confirm, preparing, ready for pickup) or,
  now and then, rejects one (compensation);
- ``Chaos`` (one at most): every few seconds a bounded fault at the Stripe emulator —
  latency, 500s, 429s, dropped connections, held (timed-out) answers — each limited to
  a few requests, and webhook duplicates and reordering switched on for the run.

When the run stops, it waits for every saga to settle and prints the invariants over the
orders it created; a violation makes locust exit non-zero. Every request loop is bounded
by locust's run time; targets are loopback only.
"""

from __future__ import annotations

import os
import random
import threading
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

from loadtests.stack_hooks import RunState
from paysim.domain.invariants import check_run
from paysim.domain.status import OrderStatus
from paysim.sim import run_facts
from paysim.sim.closing_time import close_out
from paysim.sim.report import order_records, payment_records

STATE = RunState()
ANY_ORDER_STATUS = [status.value for status in OrderStatus]
_ORDERS_LOCK = threading.Lock()
DECLINES = (
    "pm_card_visa_chargeDeclined",
    "pm_card_visa_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedProcessingError",
)
FAULTS: tuple[dict[str, Any], ...] = (
    {
        "kind": "latency",
        "match": "POST /v1/payment_intents/*/confirm",
        "latency_ms": 300,
        "times": 10,
    },
    {"kind": "error", "match": "POST /v1/payment_intents", "status": 500, "times": 2},
    {"kind": "rate_limit", "match": "POST /v1/payment_intents/*/confirm", "times": 2},
    {"kind": "drop_after", "match": "POST /v1/payment_intents/*/confirm", "times": 1},
    {"kind": "timeout", "match": "POST /v1/payment_intents/*/confirm", "times": 1, "hold_s": 8.0},
)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    STATE.attach()
    environment.host = STATE.payment_api


@events.test_stop.add_listener
def _on_stop(environment: Environment, **_: Any) -> None:
    ids = list(STATE.order_ids)
    with STATE.emulator(timeout=30.0) as admin:
        admin.clear_faults()
        admin.configure_webhooks(duplicate=0.0, reorder=False)
        # Orders still waiting on a person (a restaurant, a customer) are finished first.
        close_out(STATE.order_api, ids)
        facts = run_facts.wait_drained(
            lambda: run_facts.gather(
                bootstrap_servers=_bootstrap(),
                payment_api=STATE.payment_api,
                order_api=STATE.order_api,
                emulator=admin,
                publishing_services=_publishing(),
                order_ids=ids,
            ),
            timeout_s=120,
        )
    verdicts = check_run(
        payment_records(facts), order_records(facts), facts.in_flight, drained=True
    )
    print(f"\npaysim: {len(ids)} orders created by the load run")
    for verdict in verdicts:
        print(verdict)
    if not all(v.ok for v in verdicts):
        environment.process_exit_code = 1
    if STATE.lab is not None:
        STATE.lab.stop()


def _bootstrap() -> str:
    if STATE.lab is not None:
        return STATE.lab.bootstrap_servers
    return os.environ["PAYSIM_BOOTSTRAP_SERVERS"]


def _publishing() -> list[str]:
    if STATE.lab is not None:
        return STATE.lab.urls.publishing()
    return [STATE.payment_api, STATE.order_api, os.environ["PAYSIM_DELIVERY_API"]]


class Customer(HttpUser):
    """A customer checking out; the payment API is the host."""

    weight = 8
    wait_time = between(0.2, 1.0)

    def _intent(self) -> dict[str, Any] | None:
        body = {
            "userId": random.randint(1, 1000),
            "amountMinor": random.randint(500, 6000),
            "currency": "usd",
        }
        with self.client.post(
            "/api/payments/create-intent",
            json=body,
            timeout=20,
            catch_response=True,
            name="create-intent",
        ) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return None
            payment: dict[str, Any] = response.json()
        with _ORDERS_LOCK:
            STATE.order_ids.append(payment["orderId"])
        return payment

    def _confirm(self, payment_id: int, card: str, expect: tuple[int, ...]) -> bool:
        with self.client.post(
            f"/api/payments/{payment_id}/confirm",
            json={"paymentMethodId": card},
            timeout=30,
            catch_response=True,
            name="confirm",
        ) as response:
            if response.status_code not in expect:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return False
            response.success()
            return True

    def _cancel_order(self, order_id: int) -> None:
        # The order appears once the order service has read PAYMENT_INITIATED: a long-poll
        # for any status answers then (a 404 after 10 s is the eventual consistency the
        # plan speaks of, not a failure).
        with self.client.get(
            f"{STATE.order_api}/api/orders/{order_id}",
            params={"waitFor": ANY_ORDER_STATUS, "timeoutMs": 10_000},
            timeout=20,
            name="get-order",
            catch_response=True,
        ) as got:
            if got.status_code in (200, 404):
                got.success()
        self.client.post(
            f"{STATE.order_api}/api/orders/{order_id}/cancel",
            json={"reason": "load test"},
            timeout=20,
            name="cancel-order",
        )

    @task(6)
    def pay(self) -> None:
        if payment := self._intent():
            self._confirm(payment["paymentId"], "pm_card_visa", (200,))

    @task(2)
    def decline_then_retry(self) -> None:
        if payment := self._intent():
            self._confirm(payment["paymentId"], random.choice(DECLINES), (402,))
            self._confirm(payment["paymentId"], "pm_card_mastercard", (200,))

    @task(1)
    def cancel_before_paying(self) -> None:
        if payment := self._intent():
            self._cancel_order(payment["orderId"])

    @task(1)
    def cancel_after_paying(self) -> None:
        if (payment := self._intent()) and self._confirm(
            payment["paymentId"], "pm_card_visa", (200,)
        ):
            self._cancel_order(payment["orderId"])


class Restaurant(HttpUser):
    """Moves paid orders along; rejects one in ten (a refund the saga must make)."""

    weight = 2
    wait_time = between(0.5, 1.5)

    @task
    def work_the_queue(self) -> None:
        response = self.client.get(
            f"{STATE.order_api}/api/orders",
            params={"status": "PENDING"},
            timeout=20,
            name="list-pending",
        )
        if response.status_code != 200:
            return
        for order in response.json()[:5]:
            oid = order["orderId"]
            if oid not in STATE.order_ids:
                continue
            if random.random() < 0.1:
                moves = ["confirm", "reject"]
            else:
                moves = ["confirm", "preparing", "ready-for-pickup"]
            for move in moves:
                with self.client.post(
                    f"{STATE.order_api}/api/orders/{oid}/{move}",
                    json={},
                    timeout=20,
                    name=f"restaurant-{move}",
                    catch_response=True,
                ) as response:
                    # 409: another restaurant worker moved this order first; fine.
                    if response.status_code == 409:
                        response.success()
                        break


class Chaos(HttpUser):
    """One at most: bounded faults at the Stripe emulator while the run goes on."""

    weight = 1
    fixed_count = 1
    wait_time = between(4, 8)

    def on_start(self) -> None:
        with STATE.emulator() as admin:
            admin.configure_webhooks(duplicate=0.2, reorder=True, reorder_window_s=0.3)

    @task
    def inject(self) -> None:
        fault = dict(random.choice(FAULTS))
        with STATE.emulator() as admin:
            admin.set_fault(fault.pop("kind"), fault.pop("match"), **fault)
