"""Payment-side reliability on the real stack: retries charge once, webhooks are
verified and applied forward only, the outbox survives a killed relay, refunds asked
for on Kafka are performed once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from paysim.bootstrap.common import default_db_path
from paysim.bus.reader import read_records, wait_for_records
from paysim.config import Settings
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.order_ids import CLIENT_ORDER_IDS
from paysim.infra import processes
from paysim.infra.service_launcher import ServiceUrls
from paysim.services.payment import refund_consumer
from paysim.store.database import create_engine_for, sqlite_url
from paysim.store.schema import outbox
from paysim.stripe_emulator.client import EmulatorAdmin
from paysim.stripe_emulator.webhooks import signature_header
from tests.support import (
    confirm,
    create_intent,
    events_of_order,
    paid,
    poll,
    post,
    publish,
    records_of_order,
    refund_request,
    serve_payment,
    wait_for_order,
    wait_until_drained,
)

RELAY_STARTED = "outbox relay started"


def _post_webhook(
    api: str, event: object, *, secret: str, timestamp: int | None = None
) -> httpx.Response:
    payload = json.dumps(event).encode()
    return httpx.post(
        f"{api}/webhooks/stripe",
        content=payload,
        timeout=10,
        headers={
            "Stripe-Signature": signature_header(payload, secret, timestamp),
            "Content-Type": "application/json",
        },
    )


def _stripe_events(emulator: EmulatorAdmin, intent_id: str, event_type: str) -> list[dict]:
    return [
        e
        for e in emulator.events()
        if e["type"] == event_type and e["data"]["object"].get("id") == intent_id
    ]


def test_a_confirm_that_times_out_and_is_retried_charges_once(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = create_intent(services.payment_api)
    # The emulator charges, then holds the answer past the service's 1.5 s Stripe timeout.
    emulator.set_fault("timeout", "POST /v1/payment_intents/*/confirm", times=1, hold_s=4)
    response = confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED"
    ledger = emulator.ledger()
    assert len(ledger.succeeded_charges_for(payment["stripePaymentIntentId"])) == 1


def test_stripe_5xx_and_429_are_retried_with_the_same_key(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    emulator.set_fault("error", "POST /v1/payment_intents", times=1, status=500)
    emulator.set_fault("rate_limit", "POST /v1/payment_intents/*/confirm", times=1)
    payment = paid(services.payment_api)
    ledger = emulator.ledger()
    assert len(ledger.succeeded_charges_for(payment["stripePaymentIntentId"])) == 1


def test_forged_and_stale_signatures_are_rejected_and_nothing_is_recorded(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str, webhook_secret: str
) -> None:
    payment = paid(services.payment_api)
    [real] = _stripe_events(emulator, payment["stripePaymentIntentId"], "payment_intent.succeeded")
    forged = {**real, "id": f"evt_forged_{uuid.uuid4().hex[:8]}"}
    stale = {**real, "id": f"evt_stale_{uuid.uuid4().hex[:8]}"}
    fresh = {**real, "id": f"evt_fresh_{uuid.uuid4().hex[:8]}"}

    wrong_secret = _post_webhook(services.payment_api, forged, secret="whsec_attacker")
    assert wrong_secret.status_code == 400
    assert "signature" in wrong_secret.json()["message"]
    too_old = _post_webhook(
        services.payment_api, stale, secret=webhook_secret, timestamp=int(time.time()) - 3600
    )
    assert too_old.status_code == 400
    unsigned = httpx.post(f"{services.payment_api}/webhooks/stripe", content=b"{}", timeout=10)
    assert unsigned.status_code == 400

    assert _post_webhook(services.payment_api, fresh, secret=webhook_secret).status_code == 200
    # The relay publishes in commit order: once the fresh one is out, nothing else came.
    records = wait_for_records(
        bootstrap_servers,
        ["payment-webhook-received"],
        lambda r: r.key == str(payment["orderId"]) and fresh["id"] in (r.value or b"").decode(),
    )
    assert records
    ids = {
        e.stripe_event_id
        for e in events_of_order(bootstrap_servers, "payment-webhook-received", payment["orderId"])
        if isinstance(e, PaymentEvent)
    }
    assert forged["id"] not in ids
    assert stale["id"] not in ids


def _succeeded(intent_id: str, **fields: object) -> dict[str, object]:
    obj = {"id": intent_id, "object": "payment_intent", "amount": 2599, "currency": "usd"}
    return {
        "id": f"evt_shape_{uuid.uuid4().hex[:12]}",
        "type": "payment_intent.succeeded",
        "data": {"object": {**obj, **fields}},
    }


# Found by tests/integration/test_api_fuzz.py: each of these answered 500 (an
# AttributeError in the SDK's construct_event, a KeyError or ValueError in the handler).
NOT_STRIPE_EVENTS: list[tuple[str, Callable[[str], object], str]] = [
    ("null", lambda _i: None, "event"),
    ("a list", lambda _i: [1, 2], "event"),
    ("no data", lambda _i: {"id": "evt_shape_no_data", "type": "payment_intent.succeeded"}, "data"),
    ("data not an object", lambda i: {**_succeeded(i), "data": "pi"}, "data"),
    ("no object", lambda i: {**_succeeded(i), "data": {}}, "data.object"),
    ("amount as text", lambda i: _succeeded(i, amount="25.99"), "data.object.amount"),
    ("intent id a number", lambda i: _succeeded(i, id=12), "data.object.id"),
    ("no amount", lambda i: _succeeded(i, amount=None), "without its amount"),
    ("no currency", lambda i: _succeeded(i, currency=None), "without its amount or currency"),
    ("type not text", lambda i: {**_succeeded(i), "type": 7}, "type"),
]


@pytest.mark.parametrize(
    ("shape", "make", "named"), NOT_STRIPE_EVENTS, ids=[n for n, _m, _f in NOT_STRIPE_EVENTS]
)
def test_a_signed_body_not_shaped_like_a_stripe_event_is_400_and_changes_nothing(
    services: ServiceUrls,
    webhook_secret: str,
    shape: str,
    make: Callable[[str], object],
    named: str,
) -> None:
    payment = create_intent(services.payment_api)
    answer = _post_webhook(
        services.payment_api, make(payment["stripePaymentIntentId"]), secret=webhook_secret
    )
    assert answer.status_code == 400, (shape, answer.text)
    assert named in answer.json()["message"]
    after = httpx.get(f"{services.payment_api}/api/payments/{payment['paymentId']}", timeout=10)
    assert after.json()["status"] == "PENDING"


def test_an_old_api_versions_request_id_alone_is_accepted(
    services: ServiceUrls, webhook_secret: str
) -> None:
    payment = create_intent(services.payment_api)
    event = {**_succeeded(payment["stripePaymentIntentId"]), "request": "req_123"}
    answer = _post_webhook(services.payment_api, event, secret=webhook_secret)
    assert answer.status_code == 200, answer.text
    assert answer.json()["applied"] is True


def test_a_webhook_is_republished_and_kept_without_the_intents_client_secret(
    services: ServiceUrls,
    emulator: EmulatorAdmin,
    bootstrap_servers: str,
    stack_settings: Settings,
) -> None:
    created = create_intent(services.payment_api)
    secret = created["clientSecret"]
    assert confirm(services.payment_api, created["paymentId"], "pm_card_visa").status_code == 200
    # What Stripe sent carries the secret (so a copy of it would too)...
    [sent] = _stripe_events(emulator, created["stripePaymentIntentId"], "payment_intent.succeeded")
    assert sent["data"]["object"]["client_secret"] == secret

    [record] = wait_for_records(
        bootstrap_servers,
        ["payment-webhook-received"],
        lambda r: r.key == str(created["orderId"]) and sent["id"] in (r.value or b"").decode(),
    )
    # ...what the payment service republished and keeps in its outbox does not.
    event = record.event()
    assert isinstance(event, PaymentEvent)
    assert event.raw_payload is not None
    republished = json.loads(event.raw_payload)
    assert republished["id"] == sent["id"]
    assert republished["data"]["object"]["id"] == created["stripePaymentIntentId"]
    assert "client_secret" not in republished["data"]["object"]
    assert secret not in (record.value or b"").decode()
    kept = create_engine_for(sqlite_url(default_db_path(stack_settings, "payment")))
    try:
        with kept.connect() as connection:
            payloads = connection.execute(select(outbox.c.payload)).scalars().all()
    finally:
        kept.dispose()
    assert payloads
    assert not [p for p in payloads if secret.encode() in p]


def test_duplicated_and_reordered_webhooks_change_state_once_and_forward_only(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str, webhook_secret: str
) -> None:
    payment = create_intent(services.payment_api)
    declined = confirm(services.payment_api, payment["paymentId"], "pm_card_visa_chargeDeclined")
    assert declined.status_code == 402
    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    intent = payment["stripePaymentIntentId"]
    [failed] = _stripe_events(emulator, intent, "payment_intent.payment_failed")
    [succeeded] = _stripe_events(emulator, intent, "payment_intent.succeeded")

    # Replay Stripe's own events late, twice, and in the wrong order.
    for event in (succeeded, failed, succeeded, failed):
        assert _post_webhook(services.payment_api, event, secret=webhook_secret).status_code == 200
    second = _post_webhook(services.payment_api, failed, secret=webhook_secret).json()
    assert second["duplicate"] is True

    state = httpx.get(
        f"{services.payment_api}/api/payments/{payment['paymentId']}", timeout=10
    ).json()
    assert state["status"] == "COMPLETED"
    events = events_of_order(bootstrap_servers, "payment-events", payment["orderId"], count=5)
    counts = Counter(e.event_type for e in events)
    assert counts[PaymentEventType.PAYMENT_COMPLETED] == 1
    assert counts[PaymentEventType.PAYMENT_FAILED] == 1


def test_the_emulators_own_duplicates_and_reordering_are_absorbed(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    emulator.configure_webhooks(duplicate=True, reorder=True, reorder_window_s=0.5)
    try:
        payment = create_intent(services.payment_api)
        confirm(services.payment_api, payment["paymentId"], "pm_card_visa_chargeDeclined")
        confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
        deadline = time.monotonic() + 20
        intent = payment["stripePaymentIntentId"]
        while time.monotonic() < deadline:
            # The intent's events read once a round: read once per delivery, the round
            # grew with every webhook the session had sent, past the deadline.
            events = {e["id"] for e in emulator.events() if e["data"]["object"].get("id") == intent}
            mine = [d for d in emulator.webhook_deliveries() if d.event_id in events]
            if len(mine) >= 6 and all(d.state == "delivered" for d in mine):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the emulator did not deliver the duplicated webhooks in time")
    finally:
        emulator.configure_webhooks(duplicate=0.0, reorder=False)
    events = events_of_order(bootstrap_servers, "payment-events", payment["orderId"], count=5)
    counts = Counter(e.event_type for e in events)
    assert counts[PaymentEventType.PAYMENT_COMPLETED] == 1
    assert counts[PaymentEventType.PAYMENT_FAILED] == 1
    received = [e for e in events if e.event_type == PaymentEventType.PAYMENT_WEBHOOK_RECEIVED]
    stripe_ids = [e.stripe_event_id for e in received if isinstance(e, PaymentEvent)]
    assert len(stripe_ids) == len(set(stripe_ids)), "a duplicate webhook was recorded twice"


def test_refund_requested_on_kafka_is_performed_once(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    payment = paid(services.payment_api, "30.00")
    request = refund_request(
        payment["orderId"],
        payment["paymentId"],
        1200,
        f"order-{payment['orderId']}-cancel",
        "restaurant closed",
    )
    publish(bootstrap_servers, request, request)  # delivered twice, as Kafka may

    [refunded] = events_of_order(bootstrap_servers, "payment-refunded", payment["orderId"])
    assert isinstance(refunded, PaymentEvent)
    assert refunded.refund_amount_minor == 1200
    assert refunded.refund_request_id == request.refund_request_id
    assert refunded.refund_id
    # Both requests handled and whatever they owed published: a wrongly repeated refund
    # would be at Stripe and on Kafka by now.
    wait_until_drained(
        bootstrap_servers,
        groups=[refund_consumer.GROUP],
        topics=refund_consumer.TOPICS,
        outboxes={"payment": services.payment_api},
    )
    assert len(emulator.ledger().refunds_for(payment["stripePaymentIntentId"])) == 1
    assert len(records_of_order(bootstrap_servers, "payment-refunded", payment["orderId"])) == 1
    state = httpx.get(
        f"{services.payment_api}/api/payments/{payment['paymentId']}", timeout=10
    ).json()
    assert (state["status"], state["refundedMinor"]) == ("PARTIALLY_REFUNDED", 1200)


@pytest.fixture
def relay_less_payment_service(
    services: ServiceUrls, bootstrap_servers: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """A second payment service on its own database, whose relay runs apart from it."""
    db_url = sqlite_url(tmp_path / "payment.db")
    api, base = serve_payment(
        services.stripe_emulator, bootstrap_servers, db_url, tmp_path / "payment.log"
    )
    try:
        yield base, db_url
    finally:
        processes.stop(api)


def _frees_the_database(db_file: Path) -> bool:
    """Whether nobody holds a lock on the SQLite file: an exclusive transaction starts."""
    connection = sqlite3.connect(db_file, timeout=0.2)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        connection.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        connection.close()


def _freeze_between_rounds(pid: int, db_file: Path) -> None:
    """SIGSTOP the relay, but never inside one of its transactions.

    Frozen mid-transaction it would hold the store's lock and stall the very writes the
    test needs; the crash under test is one between the service's commit and the relay's
    publish, so the relay is thawed and frozen again until it holds nothing.
    """
    for _ in range(100):
        os.kill(pid, signal.SIGSTOP)
        if _frees_the_database(db_file):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the relay never left its transaction long enough to be frozen")


def _relay(bootstrap_servers: str, db_url: str, log: Path) -> processes.ProcessHandle:
    return processes.spawn(
        "relay",
        [
            sys.executable,
            "-m",
            "paysim",
            "serve",
            "relay",
            "--service",
            "payment",
            "--bootstrap-servers",
            bootstrap_servers,
            "--db-url",
            db_url,
        ],
        log,
    )


def _deliver(order_api: str, order_id: int) -> None:
    """Take an order through the restaurant to its courier."""
    wait_for_order(order_api, order_id, "PENDING")
    for move in ("confirm", "preparing", "ready-for-pickup"):
        response = post(order_api, f"/api/orders/{order_id}/{move}", {})
        assert response.status_code == 200, response.text


def test_a_relay_killed_between_commit_and_publish_loses_and_duplicates_nothing(
    relay_less_payment_service: tuple[str, str],
    services: ServiceUrls,
    bootstrap_servers: str,
    tmp_path: Path,
) -> None:
    api, db_url = relay_less_payment_service
    relay_log = tmp_path / "relay-1.log"
    relay = _relay(bootstrap_servers, db_url, relay_log)
    # Once it runs, freeze it, so that commits pile up unpublished.
    poll(lambda: RELAY_STARTED in relay_log.read_text(), "the relay to start")
    _freeze_between_rounds(relay.pid, tmp_path / "payment.db")
    # Order ids of their own: this database's counter would repeat the main service's.
    first = CLIENT_ORDER_IDS.start + int(time.time() * 1000) % 10**9 * 10
    orders = [paid(api, f"{10 + i}.00", orderId=first + i)["orderId"] for i in range(3)]
    os.killpg(relay.pid, signal.SIGKILL)  # a real crash: no flush, no goodbye
    mine = {str(o) for o in orders}
    assert not [
        r for r in read_records(bootstrap_servers, ["payment-completed"]) if r.key in mine
    ], "the frozen relay published something"

    restarted = _relay(bootstrap_servers, db_url, tmp_path / "relay-2.log")
    try:
        # The shared order service places these orders with this database's paymentIds,
        # which in the shared payment service are other payments: they are handed to the
        # restaurant as soon as they are placed, before the slow read of the whole topic,
        # so the restaurant deadline never asks the wrong payment service for a refund.
        for order in orders:
            _deliver(services.order_api, order)
        records = wait_for_records(
            bootstrap_servers, ["payment-events"], lambda r: r.key in mine, count=9, timeout_s=30
        )
    finally:
        processes.stop(restarted)
    ids = Counter(r.headers["eventId"] for r in records)
    assert all(n == 1 for n in ids.values()), f"duplicated: {ids.most_common(3)}"
    for order in mine:
        types = [
            r.headers["eventType"]
            for r in sorted(records, key=lambda r: r.offset)
            if r.key == order
        ]
        assert types == ["PAYMENT_INITIATED", "PAYMENT_PROCESSING", "PAYMENT_COMPLETED"]
