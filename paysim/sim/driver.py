"""Carrying out a checkout plan against the real services, as a customer and a restaurant.

Every call goes through the public HTTP APIs with a timeout; waits poll with a deadline.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from paysim.errors import PaysimError
from paysim.sim.scenarios import CheckoutPlan, Scenario

TIMEOUT = httpx.Timeout(15.0)


class CheckoutError(PaysimError):
    """A step of a checkout did not answer as the scenario expects."""


@dataclass
class CheckoutOutcome:
    """What the customer saw: ids, when payment was confirmed, any error."""

    plan: CheckoutPlan
    order_id: int | None = None
    payment_id: int | None = None
    confirmed_at: datetime | None = None
    error: str | None = None
    steps: list[str] = field(default_factory=list)


class CheckoutDriver:
    """One client for the payment and order APIs, shared by the run's worker threads."""

    def __init__(self, payment_api: str, order_api: str, *, wait_s: float = 60.0) -> None:
        self._http = httpx.Client(timeout=TIMEOUT)
        self._payment_api = payment_api
        self._order_api = order_api
        self._wait_s = wait_s

    def close(self) -> None:
        self._http.close()

    def run(self, plan: CheckoutPlan) -> CheckoutOutcome:
        outcome = CheckoutOutcome(plan)
        try:
            self._run(plan, outcome)
        except (httpx.HTTPError, PaysimError) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome

    def _run(self, plan: CheckoutPlan, out: CheckoutOutcome) -> None:
        payment = self._post(
            f"{self._payment_api}/api/payments/create-intent",
            {
                "userId": plan.user_id,
                "amountMinor": plan.amount.minor,
                "currency": plan.amount.currency,
            },
            expect=(201,),
        )
        out.order_id, out.payment_id = payment["orderId"], payment["paymentId"]
        self._wait_order(out.order_id, {"PAYMENT_PENDING"})
        if plan.scenario is Scenario.CANCEL_BEFORE_PAYMENT:
            self._cancel(out)
            return
        if plan.decline_card is not None:
            self._confirm(out, plan.decline_card, expect=(402,))
            if plan.scenario is Scenario.DECLINE_GIVE_UP:
                self._wait_order(out.order_id, {"PAYMENT_FAILED"})
                self._cancel(out)
                return
        out.confirmed_at = datetime.now(UTC)
        self._confirm(out, plan.card, expect=(200,))
        self._wait_order(out.order_id, {"PENDING"})
        if plan.scenario is Scenario.CANCEL_AFTER_PAYMENT:
            self._cancel(out)
            return
        self._restaurant(out, "confirm")
        if plan.scenario is Scenario.RESTAURANT_REJECTS:
            self._restaurant(out, "reject", {"reason": "kitchen closed early"})
            return
        self._restaurant(out, "preparing")
        self._restaurant(out, "ready-for-pickup")
        if plan.partial_refund is not None:
            self._wait_order(out.order_id, {"DELIVERED"})
            self._post(
                f"{self._payment_api}/api/payments/{out.payment_id}/refund",
                {
                    "amountMinor": plan.partial_refund.minor,
                    "reason": "item missing",
                },
                expect=(200,),
            )
            out.steps.append("partial refund")

    def _confirm(self, out: CheckoutOutcome, card: str, expect: tuple[int, ...]) -> None:
        self._post(
            f"{self._payment_api}/api/payments/{out.payment_id}/confirm",
            {"paymentMethodId": card},
            expect=expect,
        )
        out.steps.append(f"confirm {card}")

    def _cancel(self, out: CheckoutOutcome) -> None:
        self._post(
            f"{self._order_api}/api/orders/{out.order_id}/cancel",
            {"reason": "customer changed their mind"},
            expect=(200,),
        )
        out.steps.append("cancel")

    def _restaurant(
        self, out: CheckoutOutcome, move: str, body: dict[str, Any] | None = None
    ) -> None:
        self._post(f"{self._order_api}/api/orders/{out.order_id}/{move}", body or {}, expect=(200,))
        out.steps.append(move)

    def _post(self, url: str, body: dict[str, Any], expect: tuple[int, ...]) -> Any:
        response = self._http.post(url, json=body)
        if response.status_code not in expect:
            raise CheckoutError(f"POST {url} answered {response.status_code}: {response.text}")
        return response.json()

    def _wait_order(self, order_id: int, statuses: set[str]) -> None:
        deadline = time.monotonic() + self._wait_s
        seen = None
        while time.monotonic() < deadline:
            response = self._http.get(f"{self._order_api}/api/orders/{order_id}")
            if response.status_code == 200:
                seen = response.json()["status"]
                if seen in statuses:
                    return
            time.sleep(0.05)
        raise CheckoutError(f"order {order_id} stayed {seen}, expected {sorted(statuses)}")
