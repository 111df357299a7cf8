"""Money safety on the real stack, whatever the client or Stripe does: a reused key, an
answer Stripe never gave or gave late, a refund Stripe refuses, a fresh process."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from paysim.bus.dead_letter_replay import by_event_id, list_dead_letters
from paysim.config import Settings
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.infra import processes, state
from paysim.infra.service_launcher import ServiceUrls
from paysim.store.database import sqlite_url
from paysim.stripe_emulator.client import EmulatorAdmin
from paysim.stripe_emulator.webhooks import signature_header
from tests.support import (
    confirm,
    create_intent,
    events_of_order,
    order_of,
    paid,
    payment_of,
    poll,
    post,
    publish,
    refund_request,
    serve_payment,
    stripe_outsider,
    wait_for_order,
    wait_for_payment,
)

# The processes this file starts itself are told their webhook secret explicitly.
FRESH_SECRET = "whsec_" + uuid.uuid4().hex


def _refund(api: str, payment_id: int, body: dict[str, Any], key: str) -> httpx.Response:
    return post(api, f"/api/payments/{payment_id}/refund", body, **{"Idempotency-Key": key})


def _create(api: str, key: str, **body: Any) -> httpx.Response:
    fields = {"userId": 7, "amount": "25.99", "currency": "usd", **body}
    return post(api, "/api/payments/create-intent", fields, **{"Idempotency-Key": key})


@contextmanager
def webhooks_lost(emulator: EmulatorAdmin) -> Iterator[None]:
    """No webhook reaches the payment service meanwhile (Stripe still records them)."""
    url = emulator.webhook_settings().url
    emulator.disable_webhooks()
    try:
        yield
    finally:
        emulator.configure_webhooks(url=url)


@contextmanager
def answers_lost(emulator: EmulatorAdmin, match: str) -> Iterator[None]:
    """Stripe applies every matching request and the connection drops before its answer."""
    rule = emulator.set_fault("drop_after", match)
    try:
        yield
    finally:
        emulator.remove_fault(rule.id)


def _key() -> str:
    return f"key-{uuid.uuid4().hex[:12]}"


# -- item 2: a client's Idempotency-Key is scoped and fingerprinted ----------------------


def test_a_refund_key_reused_on_another_payment_refunds_that_payment(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    api, key = services.payment_api, _key()
    first, second = paid(api, "20.00"), paid(api, "30.00")
    assert _refund(api, first["paymentId"], {"amount": "5.00"}, key).status_code == 200
    other = _refund(api, second["paymentId"], {"amount": "7.00"}, key)
    assert other.status_code == 200, other.text
    assert (other.json()["paymentId"], other.json()["refundedMinor"]) == (second["paymentId"], 700)
    ledger = emulator.ledger()
    assert [r.amount for r in ledger.refunds_for(second["stripePaymentIntentId"])] == [700]
    assert [r.amount for r in ledger.refunds_for(first["stripePaymentIntentId"])] == [500]


def test_a_refund_key_pending_on_one_payment_never_refunds_another_with_its_amount(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    api, key = services.payment_api, _key()
    first, second = paid(api, "20.00"), paid(api, "30.00")
    # Stripe refunds the first payment but its answer never arrives: left pending.
    with answers_lost(emulator, "POST /v1/refunds"):
        lost = _refund(api, first["paymentId"], {"amount": "5.00"}, key)
    assert lost.status_code == 503, lost.text
    other = _refund(api, second["paymentId"], {"amount": "7.00"}, key)
    assert other.status_code == 200, other.text
    assert other.json()["refundedMinor"] == 700
    ledger = emulator.ledger()
    assert [r.amount for r in ledger.refunds_for(second["stripePaymentIntentId"])] == [700]
    # The first refund is finished under its own name (the reconciler sends it again).
    done = poll(
        lambda: (p := payment_of(api, first["paymentId"]))["refundedMinor"] == 500 and p,
        "the pending refund of the first payment to be finished",
    )
    assert done["status"] == "PARTIALLY_REFUNDED"
    assert [r.amount for r in emulator.ledger().refunds_for(first["stripePaymentIntentId"])] == [
        500
    ]


def test_a_refund_key_reused_with_other_parameters_is_refused_as_stripe_refuses_it(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    api, key = services.payment_api, _key()
    payment = paid(api, "20.00")
    first = _refund(api, payment["paymentId"], {"amount": "5.00", "reason": "cold"}, key)
    assert first.status_code == 200, first.text
    for changed in ({"amount": "6.00", "reason": "cold"}, {"amount": "5.00"}):
        refused = _refund(api, payment["paymentId"], changed, key)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "idempotency_error"
        assert "other parameters" in refused.json()["message"]
    # The same parameters (spelled in minor units) get the first result, and no new refund.
    again = _refund(api, payment["paymentId"], {"amountMinor": 500, "reason": "cold"}, key)
    assert again.status_code == 200, again.text
    assert again.json()["refundedMinor"] == 500
    assert again.json()["refund"]["stripeRefundId"] == first.json()["refund"]["stripeRefundId"]
    assert len(emulator.ledger().refunds_for(payment["stripePaymentIntentId"])) == 1


def test_a_create_intent_key_is_scoped_to_its_user_and_to_its_parameters(
    services: ServiceUrls,
) -> None:
    api, key = services.payment_api, _key()
    mine = _create(api, key, userId=7)
    assert mine.status_code == 201, mine.text
    theirs = _create(api, key, userId=8)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["paymentId"] != mine.json()["paymentId"]
    assert theirs.json()["clientSecret"] != mine.json()["clientSecret"]
    same = _create(api, key, userId=7, amountMinor=2599, amount=None)
    assert same.status_code == 201, same.text
    assert same.json()["paymentId"] == mine.json()["paymentId"]
    other = _create(api, key, userId=7, amount="26.00")
    assert other.status_code == 400, other.text
    assert other.json()["error"] == "idempotency_error"
    assert "clientSecret" not in other.text


# -- item 5: an answer that says nothing about the outcome is not a failure ---------------


@pytest.fixture
def stripe_mock_process(stack_settings: Settings) -> processes.ProcessHandle:
    found = state.load(stack_settings.resolved_run_dir)
    assert found is not None, "the test stack left no state file"
    [handle] = [p for p in found.processes if p.name == "stripe-mock"]
    return handle


def test_a_confirm_still_running_at_stripe_is_waited_for_never_failed(
    services: ServiceUrls, emulator: EmulatorAdmin, stripe_mock_process: processes.ProcessHandle
) -> None:
    payment = create_intent(services.payment_api)
    intent = payment["stripePaymentIntentId"]
    # A rule that changes nothing, to count the confirm requests that reach Stripe.
    counter = emulator.set_fault("latency", f"POST /v1/payment_intents/{intent}/confirm")
    answers: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(
            confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
        )
    )
    # Stripe slows down: the first try is taken and runs past the payment service's
    # timeout; its retry (same key) is answered 409 idempotency_key_in_use.
    os.kill(stripe_mock_process.pid, signal.SIGSTOP)
    try:
        caller.start()
        poll(
            lambda: next(r.matched for r in emulator.faults() if r.id == counter.id) >= 2,
            "a retry of the confirmation to meet the first one still running",
        )
    finally:
        os.kill(stripe_mock_process.pid, signal.SIGCONT)
    caller.join(timeout=60)
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "COMPLETED"
    assert (answer.json()["attempts"], answer.json()["failureReason"]) == (1, None)
    assert len(emulator.ledger().succeeded_charges_for(intent)) == 1


def test_a_confirm_of_an_intent_stripe_already_captured_takes_stripes_status(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = create_intent(services.payment_api)
    declined = confirm(services.payment_api, payment["paymentId"], "pm_card_visa_chargeDeclined")
    assert declined.status_code == 402
    intent = payment["stripePaymentIntentId"]
    with webhooks_lost(emulator):
        # An attempt paysim lost track of captured the money at Stripe.
        stripe_outsider(emulator).v1.payment_intents.confirm(
            intent, params={"payment_method": "pm_card_visa"}
        )
        answer = confirm(services.payment_api, payment["paymentId"], "pm_card_mastercard")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["capturedMinor"]) == ("COMPLETED", 2599)
    assert len(emulator.ledger().succeeded_charges_for(intent)) == 1


# -- item 6: what waits on Stripe too long is reconciled ------------------------------------


def test_a_confirmation_whose_answer_and_webhooks_were_lost_is_reconciled(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = create_intent(services.payment_api)
    order_id = payment["orderId"]
    wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    intent = payment["stripePaymentIntentId"]
    with webhooks_lost(emulator):
        with answers_lost(emulator, f"POST /v1/payment_intents/{intent}/confirm"):
            lost = confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
        assert lost.status_code == 503, lost.text  # the outcome is unknown, not failed
        # The reconciler learns from Stripe that the payment was captured.
        settled = wait_for_payment(services.payment_api, payment["paymentId"], "COMPLETED")
    assert settled["capturedMinor"] == 2599
    wait_for_order(services.order_api, order_id, "PENDING")


def test_a_confirmation_that_never_reached_stripe_is_sent_again_by_the_reconciler(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = create_intent(services.payment_api)
    intent = payment["stripePaymentIntentId"]
    unreachable = emulator.set_fault("drop_before", f"POST /v1/payment_intents/{intent}/confirm")
    try:
        lost = confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
    finally:
        emulator.remove_fault(unreachable.id)
    assert lost.status_code == 503, lost.text
    # The reconciler sends the confirmation again under its own key.
    settled = wait_for_payment(services.payment_api, payment["paymentId"], "COMPLETED")
    assert settled["attempts"] == 1
    assert len(emulator.ledger().succeeded_charges_for(intent)) == 1


def test_a_cancelled_order_whose_payment_stripe_captured_ends_refunded(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = create_intent(services.payment_api, "14.20")
    order_id = payment["orderId"]
    wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    intent = payment["stripePaymentIntentId"]
    with webhooks_lost(emulator):
        with answers_lost(emulator, f"POST /v1/payment_intents/{intent}/confirm"):
            assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").is_error
        # The customer gives up on the order; Stripe cannot cancel a captured intent.
        cancelled = post(services.order_api, f"/api/orders/{order_id}/cancel", {"reason": "slow"})
        assert cancelled.status_code == 200, cancelled.text
        # Four hops over Kafka and Stripe, on a machine that may be loaded.
        wait_for_payment(services.payment_api, payment["paymentId"], "REFUNDED", timeout_s=60)
    # Cancelled while unpaid it stays CANCELLED; if the reconciler's truth reached it first,
    # it was paid when cancelled and ends REFUNDED. Either way the money went back, once.
    ended = poll(
        lambda: (
            (o := order_of(services.order_api, order_id))
            and o["status"] in {"CANCELLED", "REFUNDED"}
        ),
        f"order {order_id} to end cancelled or refunded",
    )
    assert ended
    assert [r.amount for r in emulator.ledger().refunds_for(intent)] == [1420]


# -- item 8: a refund Stripe refuses for good ends FAILED ----------------------------------


def test_a_refund_stripe_refuses_for_good_fails_and_releases_its_amount(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    api, key = services.payment_api, _key()
    payment = paid(api, "20.00")
    intent = payment["stripePaymentIntentId"]
    # Refunded at Stripe, outside paysim: only 5.00 is left there.
    stripe_outsider(emulator).v1.refunds.create(params={"payment_intent": intent, "amount": 1500})
    refused = _refund(api, payment["paymentId"], {"amount": "10.00"}, key)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["status"] == "COMPLETED"
    assert body["refund"]["status"] == "FAILED"
    assert "greater than unrefunded" in body["refund"]["failureReason"]
    assert body["error"] == "RefundFailedError"
    # The first result again for the same request; Stripe is not asked again.
    assert _refund(api, payment["paymentId"], {"amount": "10.00"}, key).json() == body

    [failed] = events_of_order(bootstrap_servers, "payment-refund-failed", payment["orderId"])
    assert isinstance(failed, PaymentEvent)
    assert failed.event_type is PaymentEventType.PAYMENT_REFUND_FAILED
    assert (failed.refund_amount_minor, failed.status) == (1000, "COMPLETED")
    assert failed.failure_reason

    # Its 10.00 is no longer reserved: up to the full 20.00 may be asked for again.
    rest = _refund(api, payment["paymentId"], {"amount": "5.00"}, _key())
    assert rest.status_code == 200, rest.text
    assert (rest.json()["status"], rest.json()["refundedMinor"]) == ("PARTIALLY_REFUNDED", 500)
    shown = payment_of(api, payment["paymentId"])["refunds"]
    assert [(r["amountMinor"], r["status"]) for r in shown] == [
        (1000, "FAILED"),
        (500, "SUCCEEDED"),
    ]
    assert "payment_refunds_failed_total" in httpx.get(f"{api}/metrics", timeout=10).text


def test_a_refund_request_naming_another_orders_payment_is_dead_lettered_not_refunded(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    victim = paid(services.payment_api, "31.00")
    other = paid(services.payment_api, "4.00")
    # The other order's refund request, naming the victim's payment.
    forged = refund_request(
        other["orderId"],
        victim["paymentId"],
        3100,
        f"compensate-order-{other['orderId']}-payment-{victim['paymentId']}",
        "customer_cancelled",
    )
    publish(bootstrap_servers, forged)

    [letter] = poll(
        lambda: by_event_id(list_dead_letters(bootstrap_servers), [str(forged.event_id)]),
        "the forged refund request to be dead-lettered",
    )
    assert (letter.original_topic, letter.consumer_group) == (
        "payment-refund-initiated",
        "payment-service",
    )
    assert letter.error_class == "RefundForAnotherOrderError"
    assert f"names payment {victim['paymentId']}" in letter.error_message
    assert f"which is order {victim['orderId']}'s" in letter.error_message
    # Refused before anything was written or asked of Stripe.
    shown = payment_of(services.payment_api, victim["paymentId"])
    assert (shown["status"], shown["refundedMinor"], shown["refunds"]) == ("COMPLETED", 0, [])
    assert emulator.ledger().refunds_for(victim["stripePaymentIntentId"]) == []


# -- item 9: an intent Stripe did not create yet is finished, never cancelled --------------


def test_create_intent_during_a_stripe_outage_is_finished_by_the_retry(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    api, key = services.payment_api, _key()
    outage = emulator.set_fault("error", "POST /v1/payment_intents$", status=503)
    try:
        unavailable = _create(api, key)
    finally:
        emulator.remove_fault(outage.id)
    assert unavailable.status_code == 503, unavailable.text
    assert "same Idempotency-Key" in unavailable.json()["message"]
    payment_id = unavailable.json()["paymentId"]
    assert payment_of(api, payment_id)["status"] == "PENDING"

    retried = _create(api, key)
    assert retried.status_code == 201, retried.text
    assert (retried.json()["paymentId"], retried.json()["status"]) == (payment_id, "PENDING")
    assert retried.json()["clientSecret"]
    done = confirm(api, payment_id, "pm_card_visa")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "COMPLETED"


def test_confirming_a_payment_whose_intent_was_never_created_creates_it_first(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    api = services.payment_api
    outage = emulator.set_fault("error", "POST /v1/payment_intents$", status=500)
    try:
        unavailable = _create(api, _key())
    finally:
        emulator.remove_fault(outage.id)
    assert unavailable.status_code == 503, unavailable.text
    done = confirm(api, unavailable.json()["paymentId"], "pm_card_visa")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "COMPLETED"
    assert done.json()["stripePaymentIntentId"]
    assert len(emulator.ledger().succeeded_charges_for(done.json()["stripePaymentIntentId"])) == 1


# -- item 10: a fresh process's first request may be a webhook ------------------------------


def _serve_payment(
    services: ServiceUrls, bootstrap_servers: str, db_url: str, log: Path
) -> tuple[processes.ProcessHandle, str]:
    secret = {"PAYSIM_WEBHOOK_SECRET": FRESH_SECRET}
    return serve_payment(services.stripe_emulator, bootstrap_servers, db_url, log, secret)


def test_a_fresh_payment_process_whose_first_request_is_a_webhook_answers(
    services: ServiceUrls, bootstrap_servers: str, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path / "payment.db")
    first, api = _serve_payment(services, bootstrap_servers, db_url, tmp_path / "first.log")
    try:
        payment = create_intent(api)
    finally:
        processes.stop(first)
    fresh, api = _serve_payment(services, bootstrap_servers, db_url, tmp_path / "fresh.log")
    try:
        event = {
            "id": f"evt_fresh_{uuid.uuid4().hex[:8]}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": payment["stripePaymentIntentId"],
                    "object": "payment_intent",
                    "amount": 2599,
                    "amount_received": 2599,
                    "currency": "usd",
                    "status": "succeeded",
                    "latest_charge": "ch_fresh",
                }
            },
            "request": {"id": None, "idempotency_key": None},
        }
        body = json.dumps(event).encode()
        # A hang detector, not a speed test: the answer must come within a normal timeout.
        answer = httpx.post(
            f"{api}/webhooks/stripe",
            content=body,
            timeout=5,
            headers={"Stripe-Signature": signature_header(body, FRESH_SECRET, None)},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] is True
    finally:
        processes.stop(fresh)
