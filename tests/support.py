"""Small helpers the integration tests share: talk to the payment API, read Kafka back."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from confluent_kafka import Consumer, KafkaException, TopicPartition
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from paysim.bootstrap.common import ServiceProcess
from paysim.bus.producer import EventProducer
from paysim.bus.reader import Record, wait_for_records
from paysim.config import Settings
from paysim.domain.events import AnyEvent, PaymentEvent, PaymentEventType
from paysim.infra import processes
from paysim.infra.service_launcher import ServiceUrls
from paysim.observe.lag import consumer_lag
from paysim.store.database import sqlite_url
from paysim.stripe_emulator.client import EmulatorAdmin

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


def payment_of(api: str, payment_id: int) -> Any:
    response = httpx.get(f"{api}/api/payments/{payment_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_payment(api: str, payment_id: int, status: str, timeout_s: float = 30.0) -> Any:
    """Poll the payment service until the payment is in ``status`` (fail with what it is)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        payment = payment_of(api, payment_id)
        if payment["status"] == status:
            return payment
        time.sleep(0.1)
    seen = payment_of(api, payment_id)["status"]
    raise AssertionError(f"payment {payment_id} is {seen}, not {status}, after {timeout_s}s")


def order_of(api: str, order_id: int) -> Any:
    response = httpx.get(f"{api}/api/orders/{order_id}", timeout=TIMEOUT)
    return response.json() if response.status_code == 200 else None


def wait_for_order(api: str, order_id: int, status: str, timeout_s: float = 30.0) -> Any:
    """Poll the order service until the order is in ``status`` (fail with what it is)."""
    deadline = time.monotonic() + timeout_s
    order = None
    while time.monotonic() < deadline:
        order = order_of(api, order_id)
        if order is not None and order["status"] == status:
            return order
        time.sleep(0.1)
    seen = order["status"] if order else "missing"
    raise AssertionError(f"order {order_id} is {seen}, not {status}, after {timeout_s}s")


def awaiting_payment(services: ServiceUrls) -> Any:
    """A created payment, once the order service holds its order (PAYMENT_PENDING)."""
    payment = create_intent(services.payment_api)
    wait_for_order(services.order_api, payment["orderId"], "PAYMENT_PENDING")
    return payment


def placed(services: ServiceUrls, amount: str = "25.99") -> Any:
    """A paid checkout, once its order is placed (PENDING, waiting on the restaurant)."""
    payment = paid(services.payment_api, amount)
    wait_for_order(services.order_api, payment["orderId"], "PENDING")
    return payment


def refund_request(
    order_id: int, payment_id: int, amount_minor: int, request_id: str, reason: str
) -> PaymentEvent:
    """A refund asked for on Kafka, as the order service asks for one."""
    return PaymentEvent(
        event_type=PaymentEventType.PAYMENT_REFUND_INITIATED,
        source="order-service",
        order_id=order_id,
        payment_id=payment_id,
        currency="usd",
        refund_amount_minor=amount_minor,
        refund_reason=reason,
        refund_request_id=request_id,
    )


def publish(bootstrap_servers: str, *events: AnyEvent) -> None:
    """Publish the events in order (each to its own topic and its catch-all), flushed."""
    producer = EventProducer(bootstrap_servers, client_id="paysim-tests")
    try:
        for event in events:
            producer.publish_event(event)
        assert producer.flush(10) == 0
    finally:
        producer.close()


def stripe_outsider(emulator: EmulatorAdmin) -> stripe.StripeClient:
    """Stripe itself, as someone other than paysim (the test) reaches it."""
    return stripe.StripeClient(
        "sk_test_paysim", base_addresses={"api": emulator.base_url}, max_network_retries=0
    )


def compensations_of(order_api: str, order_id: int) -> list[dict[str, Any]]:
    """The order's compensations as ``/api/compensations`` shows them, newest first."""
    compensations = httpx.get(f"{order_api}/api/compensations", timeout=TIMEOUT).json()
    return [c for c in compensations if c["orderId"] == order_id]


def compensation_reasons(order_api: str, order_id: int) -> list[str]:
    """Why the saga compensated the order, once per compensation it issued."""
    return [c["reason"] for c in compensations_of(order_api, order_id)]


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


def start_at_end(bootstrap_servers: str, group: str, topics: Iterable[str]) -> None:
    """Commit ``group``'s offsets at the topics' current ends (the group has no members).

    Retried for a while: on a broker just started, partitions may have no leader yet.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            _commit_ends(bootstrap_servers, group, list(topics))
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _commit_ends(bootstrap_servers: str, group: str, topics: list[str]) -> None:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        ends = []
        for topic in topics:
            for partition in metadata.topics[topic].partitions:
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                ends.append(TopicPartition(topic, partition, high))
        consumer.commit(offsets=ends, asynchronous=False)
    finally:
        consumer.close()


@contextmanager
def running(process: ServiceProcess) -> Iterator[TestClient]:
    """The process's workers started and its app served; stopped cleanly on exit."""
    assert process.app is not None
    stop = threading.Event()
    threads = process.start(stop)
    try:
        with TestClient(process.app) as client:
            yield client
    finally:
        stop.set()
        process.shutdown(threads)


@contextmanager
def in_process(
    build_process: Callable[..., ServiceProcess],
    topics: Iterable[str],
    settings: Settings,
    bootstrap_servers: str,
    db_path: Path,
) -> Iterator[TestClient]:
    """A consumer service ``running`` in-process on its own database, under a consumer
    group of its own positioned at the end of ``topics`` first: it handles only what is
    published from now on, and the session's services never see its group."""
    group = f"{db_path.stem}-test-{uuid.uuid4().hex[:10]}"
    start_at_end(bootstrap_servers, group, topics)
    process = build_process(
        settings, bootstrap_servers=bootstrap_servers, db_url=sqlite_url(db_path), group=group
    )
    with running(process) as client:
        yield client


def poll(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """``check()``'s first truthy answer, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if answer := check():
            return answer
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


OUTBOX_BACKLOG = "payment_outbox_backlog"


def outbox_backlog(exposition: str, service: str) -> int:
    """A service's unpublished outbox rows, as one /metrics exposition reports them.

    Fails if the exposition has no such gauge: a backlog not reported is not zero.
    """
    rows = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        if family.name == OUTBOX_BACKLOG
        for sample in family.samples
        if sample.labels.get("service") == service
    ]
    if not rows:
        pytest.fail(f"/metrics reports no {OUTBOX_BACKLOG} for service {service!r}")
    return int(sum(rows))


def _exposition(where: str | TestClient) -> str:
    if isinstance(where, TestClient):
        return where.get("/metrics").text
    return httpx.get(f"{where}/metrics", timeout=TIMEOUT).text


def wait_until_drained(
    bootstrap_servers: str,
    *,
    groups: Iterable[str],
    topics: Iterable[str],
    outboxes: Mapping[str, str | TestClient],
    timeout_s: float = 30.0,
) -> None:
    """Wait until ``groups`` have consumed all of ``topics`` and the services' outboxes
    are empty: nothing is left in flight, so a check that something did *not* happen
    (a second refund, one more event) may be made. Fails with what was left, if not.

    ``outboxes`` maps a service's name (its ``payment_outbox_backlog`` label) to its
    base URL, or to the ``TestClient`` of its app when it runs in-process. Lag is read
    before the backlog: a handler writes its outbox rows in its own transaction, before
    its offset is stored and committed, so once the lag is zero those rows are already
    counted by the backlog, which /metrics computes from the store on each scrape.
    """
    watched, named = list(groups), list(topics)
    deadline = time.monotonic() + timeout_s
    while True:
        lag = {
            f"{p.group} {p.topic}[{p.partition}]": p.lag
            for p in consumer_lag(bootstrap_servers, watched, topics=named)
            if p.lag
        }
        backlog = {
            service: rows
            for service, where in outboxes.items()
            if (rows := outbox_backlog(_exposition(where), service))
        }
        if not lag and not backlog:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not drained after {timeout_s}s: lag {lag}, outbox backlog {backlog}")
        time.sleep(0.2)


def serve_payment(
    stripe_api_base: str,
    bootstrap_servers: str,
    db_url: str,
    log: Path,
    env: Mapping[str, str] | None = None,
) -> tuple[processes.ProcessHandle, str]:
    """A payment service of its own (database, run folder), without relay or consumer.

    Ready when it serves its OpenAPI document: a probe that touches nothing else, so the
    test's own first request is the process's first use of its store.
    """
    port = processes.free_port()
    handle = processes.spawn(
        "payment",
        [
            sys.executable,
            "-m",
            "paysim",
            "serve",
            "payment",
            "--port",
            str(port),
            "--bootstrap-servers",
            bootstrap_servers,
            "--stripe-api-base",
            stripe_api_base,
            "--db-url",
            db_url,
            "--no-relay",
            "--no-consumer",
        ],
        log,
        env={**os.environ, "PAYSIM_RUN_DIR": str(log.parent), **(env or {})},
    )
    base = f"http://127.0.0.1:{port}"
    processes.wait_until(
        lambda: _answers(f"{base}/openapi.json"), what="payment", timeout_s=30, process=handle
    )
    return handle, base


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
