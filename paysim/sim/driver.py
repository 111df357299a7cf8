"""Carrying out a checkout plan against the real services, as a customer and a restaurant.

Every call goes through the public HTTP APIs with a timeout; waits are long-polls of the
order (``waitFor``), repeated until a deadline.

Sound at high concurrency: each worker thread has its own HTTP client (one client's
connection pool shared by 48 threads failed with "Bad file descriptor" and stranded a
paid order), and a call whose answer is lost on the wire is repeated, a bounded number
of times, when repeating it is safe: GETs; create-intent and refunds, which carry an
``Idempotency-Key``; and confirm, cancel and the restaurant's moves, which the server
answers with 409 once applied, so a 409 after a lost answer is checked against the
status the call was to reach. A checkout that still fails leaves no money stranded: the
saga's deadlines cancel or refund whatever it left.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from paysim.errors import PaysimError
from paysim.sim.scenarios import CheckoutPlan, Scenario

TIMEOUT = httpx.Timeout(15.0)
ATTEMPTS = 4
"""Tries of one call whose answer is lost (a transport error) before the checkout fails."""
RETRY_BACKOFF_S = 0.25
LONG_POLL_S = 10.0
"""How long one order request waits server-side for the status (``waitFor``): below
``TIMEOUT``, so the server's answer, not the client's timeout, ends a wait."""
POLL_S = (0.05, 0.5)
"""Pauses between order requests answered early without the status (a server without
the long-poll, or a 503): from 50 ms, slowing down to 500 ms."""

# Where an order stands once a move was applied (the courier may have gone on since).
MOVED_TO: dict[str, frozenset[str]] = {
    "cancel": frozenset({"CANCELLED", "CANCELLING", "REFUNDED"}),
    "confirm": frozenset({"CONFIRMED"}),
    "preparing": frozenset({"PREPARING"}),
    "ready-for-pickup": frozenset({"READY_FOR_PICKUP", "OUT_FOR_DELIVERY", "DELIVERED"}),
    "reject": frozenset({"CANCELLING", "REFUNDED"}),
}


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
    """Drives checkouts through the payment and order APIs, from many worker threads."""

    def __init__(
        self,
        payment_api: str,
        order_api: str,
        *,
        wait_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._payment_api = payment_api
        self._order_api = order_api
        self._wait_s = wait_s
        self._transport = transport  # None: the network (unit tests pass a mock)
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._clients_lock = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        """This thread's own client (and connection pool)."""
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=TIMEOUT, transport=self._transport)
            self._local.client = client
            with self._clients_lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def run(self, plan: CheckoutPlan) -> CheckoutOutcome:
        outcome = CheckoutOutcome(plan)
        try:
            self._run(plan, outcome)
        except (httpx.HTTPError, PaysimError) as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        return outcome

    def _run(self, plan: CheckoutPlan, out: CheckoutOutcome) -> None:
        checkout_key = f"checkout-{plan.number}-{uuid.uuid4()}"
        payment = self._post(
            f"{self._payment_api}/api/payments/create-intent",
            {
                "userId": plan.user_id,
                "amountMinor": plan.amount.minor,
                "currency": plan.amount.currency,
            },
            expect=(201,),
            key=checkout_key,
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
                key=f"{checkout_key}-refund",
            )
            out.steps.append("partial refund")

    def _confirm(self, out: CheckoutOutcome, card: str, expect: tuple[int, ...]) -> None:
        outcome = "FAILED" if expect == (402,) else "COMPLETED"
        payment_url = f"{self._payment_api}/api/payments/{out.payment_id}"
        self._post(
            f"{payment_url}/confirm",
            {"paymentMethodId": card},
            expect=expect,
            applied=lambda: self._get(payment_url).json()["status"] == outcome,
        )
        out.steps.append(f"confirm {card}")

    def _cancel(self, out: CheckoutOutcome) -> None:
        self._move(out, "cancel", {"reason": "customer changed their mind"})

    def _restaurant(
        self, out: CheckoutOutcome, move: str, body: dict[str, Any] | None = None
    ) -> None:
        self._move(out, move, body or {})

    def _move(self, out: CheckoutOutcome, move: str, body: dict[str, Any]) -> None:
        order_url = f"{self._order_api}/api/orders/{out.order_id}"
        self._post(
            f"{order_url}/{move}",
            body,
            expect=(200,),
            applied=lambda: self._get(order_url).json()["status"] in MOVED_TO[move],
        )
        out.steps.append(move)

    def _post(
        self,
        url: str,
        body: dict[str, Any],
        expect: tuple[int, ...],
        *,
        key: str | None = None,
        applied: Callable[[], bool] | None = None,
    ) -> Any:
        """POST, repeated after a lost answer when that is safe: with an Idempotency-Key
        (``key``), or when ``applied`` can tell a 409 that means "done already"."""
        headers = {"Idempotency-Key": key} if key is not None else {}
        repeatable = key is not None or applied is not None
        response, lost = self._send(
            lambda: self._http.post(url, json=body, headers=headers), repeatable
        )
        if response.status_code == 409 and lost and applied is not None and applied():
            return None
        if response.status_code not in expect:
            raise CheckoutError(f"POST {url} answered {response.status_code}: {response.text}")
        return response.json()

    def _get(self, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
        response, _lost = self._send(lambda: self._http.get(url, params=params), repeatable=True)
        return response

    @staticmethod
    def _send(call: Callable[[], httpx.Response], repeatable: bool) -> tuple[httpx.Response, bool]:
        """The response, and whether an earlier try's answer was lost on the way."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return call(), attempt > 1
            except httpx.TransportError:
                if not repeatable or attempt == ATTEMPTS:
                    raise
                time.sleep(RETRY_BACKOFF_S * attempt)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _wait_order(self, order_id: int, statuses: set[str]) -> None:
        """Until the order is in one of ``statuses``: the server answers as soon as it is
        (or at the end of the long-poll, when the wait is asked again)."""
        deadline = time.monotonic() + self._wait_s
        seen = None
        pause = POLL_S[0]
        while (remaining := deadline - time.monotonic()) > 0:
            wait_s = min(remaining, LONG_POLL_S)
            asked = time.monotonic()
            response = self._get(
                f"{self._order_api}/api/orders/{order_id}",
                {"waitFor": sorted(statuses), "timeoutMs": int(wait_s * 1000)},
            )
            if response.status_code == 200:
                seen = response.json()["status"]
                if seen in statuses:
                    return
            if time.monotonic() - asked < wait_s:
                time.sleep(pause)  # answered early without the status: do not spin
                pause = min(pause * 1.5, POLL_S[1])
        raise CheckoutError(f"order {order_id} stayed {seen}, expected {sorted(statuses)}")
