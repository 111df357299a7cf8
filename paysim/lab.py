"""paysim from a notebook: the real stack up in one call, and a customer's view of it.

    from paysim.lab import Lab
    lab = Lab.start()                     # Kafka, stripe-mock, emulator, every service
    payment = lab.shop.create_intent(25.99)
    lab.shop.confirm(payment["paymentId"], "pm_card_visa")
    lab.shop.wait_for_order(payment["orderId"], "PENDING")
    lab.audit_trail(payment["orderId"])   # a DataFrame of every event of that order
    lab.verdicts()                        # the run's invariants, as a DataFrame
    lab.stop()                            # stops only what start() started

Everything goes through the same public HTTP APIs, topics and admin endpoints that the
tests and the load runs use; nothing is faked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pandas as pd

from paysim import infra
from paysim.config import Settings
from paysim.domain.invariants import check_run
from paysim.infra import Endpoints, service_launcher
from paysim.infra.service_launcher import ServiceUrls
from paysim.observe.frames import audit_trail, topic_frame
from paysim.sim import run_facts
from paysim.sim.report import order_records, payment_records
from paysim.stripe_emulator.client import EmulatorAdmin

TIMEOUT = httpx.Timeout(20.0)


class Shop:
    """The customer's and the restaurant's side: the payment and order APIs over HTTP."""

    def __init__(self, urls: ServiceUrls) -> None:
        self.urls = urls
        self._http = httpx.Client(timeout=TIMEOUT)
        # The fault switchboard wants the stack's admin token; the shop's own calls do not.
        self._admin = {"Authorization": f"Bearer {urls.admin_token.get_secret_value()}"}

    def _call(
        self, method: str, url: str, body: dict[str, Any] | None = None, *, admin: bool = False
    ) -> Any:
        response = self._http.request(
            method, url, json=body, headers=self._admin if admin else None
        )
        if response.status_code == 204:
            return None
        data = response.json()
        if response.status_code >= 400 and response.status_code != 402:
            raise RuntimeError(f"{method} {url}: HTTP {response.status_code}: {data}")
        return data

    def create_intent(
        self, amount: Decimal | str | float, currency: str = "usd", user_id: int = 7, **extra: Any
    ) -> Any:
        body = {"userId": user_id, "amount": str(amount), "currency": currency, **extra}
        return self._call("POST", f"{self.urls.payment_api}/api/payments/create-intent", body)

    def confirm(self, payment_id: int, card: str = "pm_card_visa") -> Any:
        """The payment after confirmation; a decline comes back with an ``error`` field."""
        return self._call(
            "POST",
            f"{self.urls.payment_api}/api/payments/{payment_id}/confirm",
            {"paymentMethodId": card},
        )

    def refund(
        self, payment_id: int, amount: Decimal | str | None = None, reason: str | None = None
    ) -> Any:
        body = {"reason": reason, **({"amount": str(amount)} if amount is not None else {})}
        return self._call("POST", f"{self.urls.payment_api}/api/payments/{payment_id}/refund", body)

    def payment(self, payment_id: int) -> Any:
        return self._call("GET", f"{self.urls.payment_api}/api/payments/{payment_id}")

    def order(self, order_id: int) -> Any:
        return self._call("GET", f"{self.urls.order_api}/api/orders/{order_id}")

    def cancel_order(self, order_id: int, reason: str = "changed my mind") -> Any:
        return self._call(
            "POST", f"{self.urls.order_api}/api/orders/{order_id}/cancel", {"reason": reason}
        )

    def restaurant(self, order_id: int, move: str, reason: str | None = None) -> Any:
        """``move``: confirm, preparing, ready-for-pickup or reject."""
        return self._call(
            "POST", f"{self.urls.order_api}/api/orders/{order_id}/{move}", {"reason": reason}
        )

    def inject_fault(
        self,
        point: str,
        mode: str = "transient",
        order_id: int | None = None,
        times: int | None = None,
    ) -> Any:
        """A failure in the order service: ``handle`` (any event), ``place-order`` or
        ``cancel-payment``."""
        return self._call(
            "POST",
            f"{self.urls.order_api}/_faults",
            {"point": point, "mode": mode, "orderId": order_id, "times": times},
            admin=True,
        )

    def faults(self) -> Any:
        """The order service's fault rules, each with how often it has fired."""
        return self._call("GET", f"{self.urls.order_api}/_faults", admin=True)

    def clear_faults(self) -> None:
        self._call("DELETE", f"{self.urls.order_api}/_faults", admin=True)

    def wait_for_order(self, order_id: int, status: str, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        seen: Any = None
        while time.monotonic() < deadline:
            response = self._http.get(f"{self.urls.order_api}/api/orders/{order_id}")
            if response.status_code == 200:
                seen = response.json()
                if seen["status"] == status:
                    return seen
            time.sleep(0.1)
        now = seen["status"] if seen else "missing"
        raise TimeoutError(f"order {order_id} is {now}, not {status}, after {timeout_s}s")

    def wait_for_payment(self, payment_id: int, status: str, timeout_s: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout_s
        payment = self.payment(payment_id)
        while payment["status"] != status and time.monotonic() < deadline:
            time.sleep(0.1)
            payment = self.payment(payment_id)
        if payment["status"] != status:
            raise TimeoutError(f"payment {payment_id} is {payment['status']}, not {status}")
        return payment

    def checkout(
        self,
        amount: Decimal | str | float = "25.99",
        currency: str = "usd",
        card: str = "pm_card_visa",
    ) -> Any:
        """Create and confirm a payment; the payment as the API returned it."""
        payment = self.create_intent(amount, currency)
        return self.confirm(payment["paymentId"], card)

    def close(self) -> None:
        self._http.close()


@dataclass
class Lab:
    """A running stack and handles on every part of it."""

    settings: Settings
    endpoints: Endpoints
    urls: ServiceUrls
    started: bool
    shop: Shop = field(init=False)
    emulator: EmulatorAdmin = field(init=False)

    def __post_init__(self) -> None:
        self.shop = Shop(self.urls)
        self.emulator = EmulatorAdmin(
            self.urls.stripe_emulator, self.urls.admin_token, timeout=20.0
        )

    @classmethod
    def start(
        cls, settings: Settings | None = None, service_env: dict[str, str] | None = None
    ) -> Lab:
        """Bring up (or reuse) the infrastructure and every service.

        ``service_env`` sets the services' own settings, e.g. short saga deadlines:
        ``{"PAYSIM_DEADLINE_PAYMENT_PENDING_S": "5"}`` (used when they are started here).
        """
        settings = settings or Settings()
        running = infra.status(settings).healthy and service_launcher.status(settings) is not None
        endpoints = infra.up(settings)
        urls = service_launcher.up(settings, endpoints, env=service_env)
        return cls(settings, endpoints, urls, started=not running)

    @property
    def bootstrap_servers(self) -> str:
        return self.endpoints.bootstrap_servers

    def topic(self, *topics: str, order_id: int | None = None) -> pd.DataFrame:
        return topic_frame(self.bootstrap_servers, topics, order_id=order_id)

    def audit_trail(self, order_id: int) -> pd.DataFrame:
        return audit_trail(self.bootstrap_servers, order_id)

    def _facts(self, order_ids: list[int] | None) -> run_facts.RunFacts:
        return run_facts.gather(
            bootstrap_servers=self.bootstrap_servers,
            payment_api=self.urls.payment_api,
            order_api=self.urls.order_api,
            emulator=self.emulator,
            publishing_services=self.urls.publishing(),
            order_ids=order_ids,
        )

    def verdicts(self, order_ids: list[int] | None = None) -> pd.DataFrame:
        """The run's invariants over the given orders (default: all of them)."""
        facts = self._facts(order_ids)
        verdicts = check_run(
            payment_records(facts), order_records(facts), facts.in_flight, drained=True
        )
        return pd.DataFrame(
            [
                {"invariant": v.name, "ok": v.ok, "violations": "; ".join(map(str, v.violations))}
                for v in verdicts
            ]
        )

    def settle(self, order_ids: list[int] | None = None, timeout_s: float = 60.0) -> pd.DataFrame:
        """Wait until nothing is in flight (or the time is up), then return the verdicts."""
        run_facts.wait_drained(lambda: self._facts(order_ids), timeout_s)
        return self.verdicts(order_ids)

    def stop(self) -> None:
        """Stop what ``start`` started; a stack that was already running is left alone."""
        self.shop.close()
        self.emulator.close()
        if self.started:
            service_launcher.down(self.settings)
            infra.down(self.settings)
