"""The payment service's endpoints and the exact records they leave on Kafka."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from paysim.bus.reader import read_records
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.order_ids import CLIENT_ORDER_IDS
from paysim.infra.service_launcher import ServiceUrls
from tests.support import (
    confirm,
    create_intent,
    events_of_order,
    paid,
    post,
    records_of_order,
    wait_for_order,
)

DECLINES = [
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
    ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
    ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card"),
    ("pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card"),
    # As at Stripe, these three carry an error code and no decline code.
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None),
    ("pm_card_chargeDeclinedProcessingError", "processing_error", None),
]


def test_create_intent_publishes_payment_initiated_keyed_by_order(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = create_intent(services.payment_api, "12.50", "usd")
    assert payment["status"] == "PENDING"
    assert payment["stripePaymentIntentId"].startswith("pi_")
    assert payment["clientSecret"]

    [record] = records_of_order(bootstrap_servers, "payment-initiated", payment["orderId"])
    wire = json.loads(record.value or b"")
    assert record.key == str(payment["orderId"])
    assert wire["eventType"] == "PAYMENT_INITIATED"
    assert wire["paymentId"] == payment["paymentId"]
    assert wire["amount"] == 12.5
    assert wire["amountMinor"] == 1250
    assert wire["stripePaymentIntentId"] == payment["stripePaymentIntentId"]
    catch_all = records_of_order(bootstrap_servers, "payment-events", payment["orderId"])
    # The catch-all carries it too (and the payment_intent.created webhook, if it came).
    types = [r.headers["eventType"] for r in sorted(catch_all, key=lambda r: r.offset)]
    assert types[0] == "PAYMENT_INITIATED"
    assert set(types) <= {"PAYMENT_INITIATED", "PAYMENT_WEBHOOK_RECEIVED"}


def test_confirm_publishes_processing_then_completed(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = paid(services.payment_api, "1500", "jpy")
    assert payment["capturedMinor"] == 1500
    order = payment["orderId"]
    events = events_of_order(bootstrap_servers, "payment-events", order, count=4)
    types = [e.event_type for e in events if e.event_type != "PAYMENT_WEBHOOK_RECEIVED"]
    assert types[:3] == [
        PaymentEventType.PAYMENT_INITIATED,
        PaymentEventType.PAYMENT_PROCESSING,
        PaymentEventType.PAYMENT_COMPLETED,
    ]
    [completed] = events_of_order(bootstrap_servers, "payment-completed", order)
    assert isinstance(completed, PaymentEvent)
    assert completed.stripe_charge_id == payment["stripeChargeId"]
    assert completed.receipt_url
    assert str(completed.amount) == "1500 JPY"


@pytest.mark.parametrize(("card", "code", "decline_code"), DECLINES)
def test_each_decline_publishes_payment_failed_and_a_good_card_then_succeeds(
    services: ServiceUrls, bootstrap_servers: str, card: str, code: str, decline_code: str | None
) -> None:
    payment = create_intent(services.payment_api)
    declined = confirm(services.payment_api, payment["paymentId"], card)
    assert declined.status_code == 402
    body = declined.json()
    assert body["status"] == "FAILED"
    assert (body["error"]["code"], body["error"]["declineCode"]) == (code, decline_code)
    # Like every 4xx, it says what is wrong at the top (found by test_api_fuzz.py).
    assert body["message"] == body["error"]["message"]
    assert body["message"]

    [failed] = events_of_order(bootstrap_servers, "payment-failed", payment["orderId"])
    assert isinstance(failed, PaymentEvent)
    assert failed.error_code == code
    assert failed.decline_code == decline_code
    assert failed.failure_reason

    retried = confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "COMPLETED"
    assert retried.json()["attempts"] == 2


def test_cancel_publishes_payment_cancelled_and_blocks_confirmation(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = create_intent(services.payment_api)
    cancelled = post(
        services.payment_api,
        f"/api/payments/{payment['paymentId']}/cancel",
        {"reason": "changed my mind"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    [event] = events_of_order(bootstrap_servers, "payment-cancelled", payment["orderId"])
    assert isinstance(event, PaymentEvent)
    assert event.cancel_reason == "changed my mind"

    refused = confirm(services.payment_api, payment["paymentId"], "pm_card_visa")
    assert refused.status_code == 409
    assert "CANCELLED" in refused.json()["message"]
    after = httpx.get(f"{services.payment_api}/api/payments/{payment['paymentId']}", timeout=10)
    assert after.json()["status"] == "CANCELLED"


def test_partial_then_full_refund_adds_up(services: ServiceUrls, bootstrap_servers: str) -> None:
    payment = paid(services.payment_api, "20.00")
    pid, order = payment["paymentId"], payment["orderId"]
    partial = post(
        services.payment_api,
        f"/api/payments/{pid}/refund",
        {"amount": "5.00", "reason": "missing fries"},
    )
    assert partial.status_code == 200, partial.text
    assert (partial.json()["status"], partial.json()["refundedMinor"]) == (
        "PARTIALLY_REFUNDED",
        500,
    )

    too_much = post(services.payment_api, f"/api/payments/{pid}/refund", {"amount": "15.01"})
    assert too_much.status_code == 422
    assert "exceeds the 15.00 USD still refundable" in too_much.json()["message"]

    rest = post(services.payment_api, f"/api/payments/{pid}/refund", {"reason": "cancelled"})
    assert rest.json()["status"] == "REFUNDED"
    assert rest.json()["refundedMinor"] == 2000

    refunded = events_of_order(bootstrap_servers, "payment-refunded", order, count=2)
    amounts = [e.refund_amount_minor for e in refunded if isinstance(e, PaymentEvent)]
    assert amounts == [500, 1500]
    initiated = events_of_order(bootstrap_servers, "payment-refund-initiated", order, count=2)
    assert all(e.source == "payment-service" for e in initiated)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"userId": 7, "amount": "0", "currency": "usd"}, "must be positive"),
        ({"userId": 7, "amount": "-5", "currency": "usd"}, "must be positive"),
        ({"userId": 7, "amount": "5", "currency": "xyz"}, "unknown currency"),
        ({"userId": 7, "amount": "5.001", "currency": "usd"}, "more decimals"),
        ({"userId": 7, "amount": "5.5", "currency": "jpy"}, "more decimals"),
        ({"amount": "5", "currency": "usd"}, "userId"),
        ({"userId": 7, "currency": "usd"}, "amount"),
        ({"userId": 7, "amount": "5", "amountMinor": 500, "currency": "usd"}, "not both"),
    ],
)
def test_bad_input_is_rejected_with_a_reason_and_publishes_nothing(
    services: ServiceUrls, bootstrap_servers: str, body: dict[str, object], message: str
) -> None:
    before = len(read_records(bootstrap_servers, ["payment-initiated"]))
    response = post(services.payment_api, "/api/payments/create-intent", body)
    assert 400 <= response.status_code < 500
    assert message in response.text
    assert len(read_records(bootstrap_servers, ["payment-initiated"])) == before


def test_only_the_create_intent_response_carries_the_client_secret(
    services: ServiceUrls,
) -> None:
    created = create_intent(services.payment_api)
    assert created["clientSecret"].startswith(created["stripePaymentIntentId"] + "_secret_")
    payment_id = created["paymentId"]
    base = f"{services.payment_api}/api/payments"
    confirmed = confirm(services.payment_api, payment_id, "pm_card_visa")
    one = httpx.get(f"{base}/{payment_id}", timeout=10)
    listed = httpx.get(base, timeout=10)
    assert (confirmed.status_code, one.status_code, listed.status_code) == (200, 200, 200)
    assert [p for p in listed.json() if p["paymentId"] == payment_id]
    for answer in (confirmed, one, listed):
        assert "clientSecret" not in answer.text
        assert created["clientSecret"] not in answer.text


def _checkout(api: str, user_id: int, order_id: int) -> httpx.Response:
    body = {"userId": user_id, "amount": "9.00", "currency": "usd", "orderId": order_id}
    return post(api, "/api/payments/create-intent", body)


def _payments_of_order(api: str, order_id: int) -> list[int]:
    everything = httpx.get(f"{api}/api/payments", timeout=10).json()
    return [p["paymentId"] for p in everything if p["orderId"] == order_id]


def test_two_checkouts_never_end_up_as_one_order(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    api = services.payment_api
    generated = create_intent(api, "12.00")  # userId 7, orderId generated
    order_id = generated["orderId"]
    assert order_id < CLIENT_ORDER_IDS.start

    # Another customer naming that order is refused, and no payment joins it.
    taken = _checkout(api, 8, order_id)
    assert taken.status_code == 409, taken.text
    assert "belongs to another customer" in taken.json()["message"]
    # An id in the generated range that no checkout has used yet would be handed out
    # later to someone else: a client cannot take it either.
    ahead = _checkout(api, 8, order_id + 1_000_000)
    assert ahead.status_code == 422, ahead.text
    assert "leave orderId out" in ahead.json()["message"]

    # A client's own id lies in its own range, and is its own from then on.
    own = CLIENT_ORDER_IDS.start + uuid.uuid4().int % 10**12
    first = _checkout(api, 8, own)
    assert first.status_code == 201, first.text
    assert _checkout(api, 9, own).status_code == 409
    # The same customer may pay again for their order (after a decline, say).
    again = _checkout(api, 8, own)
    assert again.status_code == 201, again.text

    assert _payments_of_order(api, order_id) == [generated["paymentId"]]
    assert _payments_of_order(api, own) == [first.json()["paymentId"], again.json()["paymentId"]]
    order = wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    assert (order["paymentId"], order["userId"]) == (generated["paymentId"], 7)
    initiated = records_of_order(bootstrap_servers, "payment-initiated", order_id)
    assert len(initiated) == 1


def test_unknown_payment_is_404(services: ServiceUrls) -> None:
    response = httpx.get(f"{services.payment_api}/api/payments/999999", timeout=10)
    assert response.status_code == 404
    assert "does not exist" in response.json()["message"]


def test_openapi_metrics_and_health_are_served(services: ServiceUrls) -> None:
    spec = httpx.get(f"{services.payment_api}/openapi.json", timeout=10).json()
    assert "/api/payments/create-intent" in spec["paths"]
    assert httpx.get(f"{services.payment_api}/healthz", timeout=10).status_code == 200
    paid(services.payment_api)
    text = httpx.get(f"{services.payment_api}/metrics", timeout=10).text
    for name in (
        "payment_events_published_total",
        "payment_success_rate",
        "payment_refund_rate",
        "payment_outbox_backlog",
        "payment_outbox_publish_latency_seconds",
    ):
        assert name in text, name
