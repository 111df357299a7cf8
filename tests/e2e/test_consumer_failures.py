"""Failures on the consumer side: poison records, retries, a killed order service."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from paysim.bus.dead_letter_replay import replay
from paysim.bus.dead_letters import DeadLetter
from paysim.bus.producer import EventProducer
from paysim.bus.reader import read_records, wait_for_records
from paysim.config import Settings
from paysim.infra import service_launcher
from paysim.infra.service_launcher import ServiceUrls
from paysim.lab import Shop
from tests.conftest import SERVICE_ENV
from tests.support import (
    awaiting_payment,
    confirm,
    create_intent,
    order_of,
    paid,
    poll,
    wait_for_order,
)


def test_a_poison_record_is_dead_lettered_and_the_partition_keeps_flowing(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = create_intent(services.payment_api)
    order_id = payment["orderId"]
    producer = EventProducer(bootstrap_servers)
    producer.publish("payment-events", str(order_id), b'{"eventType": "PAYMENT_', {})
    assert producer.flush(10) == 0
    # The same partition (same key) goes on: this payment's completion still places it.

    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    wait_for_order(services.order_api, order_id, "PENDING")

    letters = [
        DeadLetter.from_record(r)
        for r in wait_for_records(
            bootstrap_servers,
            ["payment-events-dlq"],
            lambda r: r.key == str(order_id) and r.value == b'{"eventType": "PAYMENT_',
            count=2,
        )
    ]
    # Every group that reads payment-events parks it: the order and analytics services.
    assert {d.consumer_group for d in letters} == {"order-service", "analytics-service"}
    [letter] = [d for d in letters if d.consumer_group == "order-service"]
    assert letter.original_topic == "payment-events"
    assert letter.error_class == "InvalidEventError"
    assert letter.consumer_group == "order-service"
    assert letter.attempts == 1  # permanent: not retried
    assert letter.original_offset >= 0


def test_a_handler_that_fails_twice_then_succeeds_is_retried_in_place(
    services: ServiceUrls, bootstrap_servers: str, order_faults: Shop
) -> None:
    payment = awaiting_payment(services)
    order_id = payment["orderId"]
    wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    order_faults.inject_fault("handle", "transient", order_id=order_id, times=2)

    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    wait_for_order(services.order_api, order_id, "PENDING")
    rules = order_faults.faults()
    assert [r["fired"] for r in rules if r["order_id"] == order_id] == [2]
    dead = [
        r for r in read_records(bootstrap_servers, ["payment-events-dlq"]) if r.key == str(order_id)
    ]
    assert dead == []


def test_the_order_service_killed_mid_stream_loses_and_duplicates_nothing(
    services: ServiceUrls, stack_settings: Settings, bootstrap_servers: str
) -> None:
    orders: list[int] = []

    def checkouts() -> None:
        for _ in range(12):
            orders.append(paid(services.payment_api, "9.99")["orderId"])

    traffic = threading.Thread(target=checkouts)
    traffic.start()
    while len(orders) < 4:  # kill it while events are flowing
        traffic.join(0.05)
    victim = service_launcher.process_of(stack_settings, "order")
    os.killpg(victim.pid, signal.SIGKILL)
    traffic.join(60)
    service_launcher.restart(stack_settings, "order", env=SERVICE_ENV)

    for order_id in orders:
        # Placed once, whatever came next (an order restarted late may already have been
        # rejected by the restaurant deadline).
        history = poll(
            lambda oid=order_id: _placed(order_of(services.order_api, oid)),
            f"order {order_id} placed",
            timeout_s=60,
        )
        applied = [h for h in history if h["applied"] and h["to"] == "PENDING"]
        assert len(applied) == 1, history
    mine = {str(o) for o in orders}
    created = [r for r in read_records(bootstrap_servers, ["order-created"]) if r.key in mine]
    event_ids_per_order: dict[str, set[str]] = {}
    for record in created:
        event_ids_per_order.setdefault(record.key or "", set()).add(record.headers["eventId"])
    # Every order announced once: a record the relay re-sent after the kill carries the
    # same eventId, which consumers recognise.
    assert {k: len(v) for k, v in event_ids_per_order.items()} == dict.fromkeys(mine, 1)


def _placed(order: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """The order's history once it has been placed (entered PENDING), else None."""
    if order is None or not any(h["applied"] and h["to"] == "PENDING" for h in order["history"]):
        return None
    history: list[dict[str, Any]] = order["history"]
    return history


def test_a_handler_that_always_fails_is_dead_lettered_and_replayed_once_fixed(
    services: ServiceUrls, bootstrap_servers: str, order_faults: Shop
) -> None:
    payment = awaiting_payment(services)
    order_id = payment["orderId"]
    wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    order_faults.inject_fault("handle", "transient", order_id=order_id)
    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    # PROCESSING and COMPLETED fail every attempt and are parked; the order stays behind.
    parked = wait_for_records(
        bootstrap_servers,
        ["payment-events-dlq"],
        lambda r: r.key == str(order_id) and r.headers.get("eventType") == "PAYMENT_COMPLETED",
        timeout_s=60,
    )
    letter = DeadLetter.from_record(parked[0])
    assert letter.attempts == 4
    assert letter.error_class == "InjectedTransientError"
    assert order_of(services.order_api, order_id)["status"] == "PAYMENT_PENDING"

    order_faults.clear_faults()  # the cause is fixed
    letters = [
        DeadLetter.from_record(r)
        for r in read_records(bootstrap_servers, ["payment-events-dlq"])
        if r.key == str(order_id)
    ]
    assert replay(bootstrap_servers, sorted(letters, key=lambda d: d.record.offset)) == len(letters)
    wait_for_order(services.order_api, order_id, "PENDING")
