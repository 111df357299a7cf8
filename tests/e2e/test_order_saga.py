"""Whole sagas on the real stack: payment and order services, Kafka, the Stripe emulator."""

from __future__ import annotations

import uuid
from collections import Counter

import httpx

from paysim.bus.producer import EventProducer
from paysim.bus.reader import read_records
from paysim.domain.events import OrderEventType, PaymentEvent, PaymentEventType
from paysim.infra.service_launcher import ServiceUrls
from paysim.lab import Shop
from paysim.stripe_emulator.client import EmulatorAdmin
from tests.support import (
    awaiting_payment,
    compensation_reasons,
    confirm,
    create_intent,
    events_of_order,
    order_of,
    paid,
    placed,
    poll,
    post,
    wait_for_order,
    wait_for_payment,
)


def test_payment_completed_places_the_order_and_publishes_order_created(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = paid(services.payment_api)
    order = wait_for_order(services.order_api, payment["orderId"], "PENDING")
    assert order["paymentId"] == payment["paymentId"]
    assert order["capturedMinor"] == 2599
    [created] = events_of_order(bootstrap_servers, "order-created", payment["orderId"])
    assert created.event_type is OrderEventType.ORDER_CREATED


def test_decline_then_successful_retry_places_the_order(services: ServiceUrls) -> None:
    payment = create_intent(services.payment_api)
    assert (
        confirm(
            services.payment_api, payment["paymentId"], "pm_card_visa_chargeDeclined"
        ).status_code
        == 402
    )
    wait_for_order(services.order_api, payment["orderId"], "PAYMENT_FAILED")
    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    wait_for_order(services.order_api, payment["orderId"], "PENDING")


def test_cancel_after_payment_ends_refunded_with_the_refund_at_stripe(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    payment = placed(services, "18.40")
    order_id = payment["orderId"]
    cancelled = post(services.order_api, f"/api/orders/{order_id}/cancel", {"reason": "too slow"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLING"
    wait_for_order(services.order_api, order_id, "REFUNDED")
    [refund] = emulator.ledger().refunds_for(payment["stripePaymentIntentId"])
    assert refund.amount == 1840
    [order_cancelled] = events_of_order(bootstrap_servers, "order-cancelled", order_id)
    assert order_cancelled.event_type is OrderEventType.ORDER_CANCELLED


def test_cancel_before_payment_cancels_the_payment(services: ServiceUrls) -> None:
    payment = awaiting_payment(services)
    order_id = payment["orderId"]
    response = post(services.order_api, f"/api/orders/{order_id}/cancel", {"reason": "oops"})
    assert response.json()["status"] == "CANCELLED"
    wait_for_payment(services.payment_api, payment["paymentId"], "CANCELLED")
    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 409


def test_restaurant_rejection_is_compensated_by_a_refund(
    services: ServiceUrls, emulator: EmulatorAdmin
) -> None:
    payment = placed(services)
    order_id = payment["orderId"]
    rejected = post(
        services.order_api, f"/api/orders/{order_id}/reject", {"reason": "out of dough"}
    )
    assert rejected.json()["status"] == "CANCELLING"
    wait_for_order(services.order_api, order_id, "REFUNDED")
    wait_for_payment(services.payment_api, payment["paymentId"], "REFUNDED")
    assert len(emulator.ledger().refunds_for(payment["stripePaymentIntentId"])) == 1
    assert "restaurant_rejected" in compensation_reasons(services.order_api, order_id)


def test_an_order_that_cannot_be_placed_after_payment_is_refunded(
    services: ServiceUrls, order_faults: Shop
) -> None:
    payment = create_intent(services.payment_api)
    order_id = payment["orderId"]
    wait_for_order(services.order_api, order_id, "PAYMENT_PENDING")
    order_faults.inject_fault("place-order", "permanent", order_id=order_id)
    assert confirm(services.payment_api, payment["paymentId"], "pm_card_visa").status_code == 200
    order = wait_for_order(services.order_api, order_id, "REFUNDED")
    assert "could not be placed" in (order["reason"] or "")
    wait_for_payment(services.payment_api, payment["paymentId"], "REFUNDED")
    assert compensation_reasons(services.order_api, order_id) == ["order_not_placed"]


def test_a_duplicate_payment_completed_straight_into_kafka_is_applied_once(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = placed(services)
    order_id = payment["orderId"]
    [original] = [
        e
        for e in events_of_order(bootstrap_servers, "payment-events", order_id, count=3)
        if e.event_type is PaymentEventType.PAYMENT_COMPLETED
    ]
    replay = PaymentEvent.model_validate(original.model_dump())  # same eventId
    copy = original.model_copy(update={"event_id": uuid.uuid4()})  # a new id, same facts
    producer = EventProducer(bootstrap_servers)
    for event in (replay, copy):
        producer.publish_event(event)
    assert producer.flush(10) == 0

    post(services.order_api, f"/api/orders/{order_id}/confirm", {})  # a marker behind them
    wait_for_order(services.order_api, order_id, "CONFIRMED")
    history = order_of(services.order_api, order_id)["history"]
    entered_pending = [h for h in history if h["to"] == "PENDING" and h["applied"]]
    assert len(entered_pending) == 1
    created = [
        r for r in read_records(bootstrap_servers, ["order-created"]) if r.key == str(order_id)
    ]
    assert len(created) == 1
    ignored = Counter(h["note"].split(":")[0] for h in history if not h["applied"] and h["note"])
    assert ignored["duplicate"] >= 1


def test_a_payment_stuck_pending_past_its_deadline_is_cancelled(services: ServiceUrls) -> None:
    payment = create_intent(services.payment_api)
    order_id = payment["orderId"]
    # No confirm ever comes: the saga's deadline (8 s in tests) cancels the payment.
    wait_for_order(services.order_api, order_id, "CANCELLED", timeout_s=40)
    wait_for_payment(services.payment_api, payment["paymentId"], "CANCELLED")
    assert "payment_deadline" in compensation_reasons(services.order_api, order_id)


def test_a_paid_order_the_restaurant_never_accepts_is_rejected_and_refunded(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    payment = placed(services, "27.30")
    order_id = payment["orderId"]
    # The restaurant never answers: past its deadline (20 s in tests) the order is
    # rejected on its behalf and the money goes back.
    order = wait_for_order(services.order_api, order_id, "REFUNDED", timeout_s=60)
    assert "did not accept the order" in (order["reason"] or "")
    assert [h["to"] for h in order["history"] if h["applied"]][-2:] == ["CANCELLING", "REFUNDED"]
    wait_for_payment(services.payment_api, payment["paymentId"], "REFUNDED")
    [refund] = emulator.ledger().refunds_for(payment["stripePaymentIntentId"])
    assert (refund.amount, refund.status) == (2730, "succeeded")
    assert compensation_reasons(services.order_api, order_id) == ["restaurant_deadline"]
    # Rejected like a restaurant's own rejection: the courier is told to stand down.
    [cancelled] = events_of_order(bootstrap_servers, "order-cancelled", order_id)
    assert cancelled.event_type is OrderEventType.ORDER_CANCELLED


def test_a_full_refund_through_the_payment_api_cancels_the_order_and_its_courier(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    payment = placed(services, "16.80")
    order_id = payment["orderId"]
    assert post(services.order_api, f"/api/orders/{order_id}/confirm", {}).status_code == 200
    delivery_url = f"{services.delivery_api}/api/deliveries/{order_id}"
    poll(
        lambda: httpx.get(delivery_url, timeout=10).json().get("status") == "ASSIGNED",
        "a courier assigned",
    )

    refunded = post(
        services.payment_api, f"/api/payments/{payment['paymentId']}/refund", {"reason": "goodwill"}
    )
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "REFUNDED"

    order = wait_for_order(services.order_api, order_id, "REFUNDED")
    applied = [h["to"] for h in order["history"] if h["applied"]]
    assert applied[-2:] == ["CANCELLING", "REFUNDED"]
    [cancelled] = events_of_order(bootstrap_servers, "order-cancelled", order_id)
    assert cancelled.event_type is OrderEventType.ORDER_CANCELLED
    delivery = poll(
        lambda: (d := httpx.get(delivery_url, timeout=10).json())["status"] == "CANCELLED" and d,
        "the courier stopped",
    )
    assert "DELIVERED" not in [h["to"] for h in delivery["history"] if h["applied"]]
    assert post(services.order_api, f"/api/orders/{order_id}/preparing", {}).status_code == 409
    assert len(emulator.ledger().refunds_for(payment["stripePaymentIntentId"])) == 1


def test_the_happy_path_ends_delivered_with_every_milestone_in_order(
    services: ServiceUrls, bootstrap_servers: str
) -> None:
    payment = placed(services, "31.50")
    order_id = payment["orderId"]
    for move in ("confirm", "preparing", "ready-for-pickup"):
        assert post(services.order_api, f"/api/orders/{order_id}/{move}", {}).status_code == 200
    wait_for_order(services.order_api, order_id, "DELIVERED")
    milestones = [
        e.event_type for e in events_of_order(bootstrap_servers, "order-events", order_id, count=6)
    ]
    assert milestones == [
        OrderEventType.ORDER_CREATED,
        OrderEventType.ORDER_CONFIRMED,
        OrderEventType.ORDER_PREPARING,
        OrderEventType.ORDER_READY_FOR_PICKUP,
        OrderEventType.ORDER_OUT_FOR_DELIVERY,
        OrderEventType.ORDER_DELIVERED,
    ]
    deliveries = [
        e.event_type.value
        for e in events_of_order(bootstrap_servers, "delivery-events", order_id, count=4)
    ]
    assert deliveries == [
        "DELIVERY_ASSIGNED",
        "DELIVERY_PICKED_UP",
        "DELIVERY_IN_TRANSIT",
        "DELIVERY_DELIVERED",
    ]
    sent = httpx.get(
        f"{services.notification_api}/api/notifications", params={"orderId": order_id}, timeout=10
    ).json()
    assert any("31.50 USD" in n["text"] for n in sent), sent
