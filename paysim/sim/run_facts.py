"""Everything a run's report is computed from, read back from the real parts.

Payments and orders from the services' APIs, charges and refunds from the Stripe
emulator's ledger (Stripe's own view), records and dead letters from Kafka, work still
in flight from the outbox gauges and the consumer groups' lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from paysim.bus.admin import record_counts
from paysim.domain.bounds import MAX_LIST_LIMIT
from paysim.domain.invariants import ORDER_AT_REST, InFlight
from paysim.observe.lag import consumer_lag
from paysim.stripe_emulator.client import EmulatorAdmin
from paysim.stripe_emulator.models import Ledger
from paysim.topics import CATALOG

TIMEOUT = httpx.Timeout(30.0)
GROUPS = (
    "payment-service",
    "order-service",
    "delivery-service",
    "notification-service",
    "analytics-service",
)
# The invariants' own idea of an order at rest (a declined order waits on its customer).
TERMINAL_ORDER = frozenset(status.value for status in ORDER_AT_REST)


@dataclass(frozen=True, slots=True)
class RunFacts:
    payments: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    ledger: Ledger
    topic_records: dict[str, int]
    in_flight: list[InFlight]


def _get(url: str) -> Any:
    response = httpx.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    return response.json()


def outbox_backlog(service_urls: Iterable[str]) -> int:
    """Unpublished outbox rows across services, from their own /metrics."""
    total = 0.0
    for url in service_urls:
        text = httpx.get(f"{url}/metrics", timeout=TIMEOUT).text
        for family in text_string_to_metric_families(text):
            if family.name == "payment_outbox_backlog":
                total += sum(sample.value for sample in family.samples)
    return int(total)


def in_flight(
    bootstrap_servers: str, publishing_services: Iterable[str], orders: Iterable[dict[str, Any]]
) -> list[InFlight]:
    lag = sum(p.lag for p in consumer_lag(bootstrap_servers, GROUPS))
    unsettled = sum(1 for o in orders if o["status"] not in TERMINAL_ORDER)
    return [
        InFlight("outbox rows not yet published", outbox_backlog(publishing_services)),
        InFlight("records not yet consumed (lag)", lag),
        InFlight("orders not yet settled", unsettled),
    ]


def gather(
    *,
    bootstrap_servers: str,
    payment_api: str,
    order_api: str,
    emulator: EmulatorAdmin,
    publishing_services: Iterable[str],
    order_ids: Iterable[int] | None = None,
) -> RunFacts:
    wanted = set(order_ids) if order_ids is not None else None
    orders = [
        o
        for o in _get(f"{order_api}/api/orders?limit={MAX_LIST_LIMIT}")
        if wanted is None or o["orderId"] in wanted
    ]
    payments = [
        p
        for p in _get(f"{payment_api}/api/payments?limit={MAX_LIST_LIMIT}")
        if wanted is None or p["orderId"] in wanted
    ]
    return RunFacts(
        payments=payments,
        orders=orders,
        ledger=emulator.ledger(),
        topic_records=record_counts(bootstrap_servers, [t.name for t in CATALOG]),
        in_flight=in_flight(bootstrap_servers, publishing_services, orders),
    )


def order_history(order_api: str, order_id: int) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = _get(f"{order_api}/api/orders/{order_id}")["history"]
    return history


def wait_drained(
    gather: Callable[[], RunFacts],
    timeout_s: float,
    on_wait: Callable[[dict[str, int]], None] | None = None,
) -> RunFacts:
    """Gather until nothing is in flight or the time is up; the last facts either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        facts = gather()
        left = {item.name: item.count for item in facts.in_flight if item.count}
        if not left or time.monotonic() > deadline:
            return facts
        if on_wait is not None:
            on_wait(left)
        time.sleep(0.3)
