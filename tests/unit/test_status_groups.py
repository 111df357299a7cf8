"""The groups of statuses the services decide by, and the small rules over them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from paysim.domain.delivery_state import pickup_refusal
from paysim.domain.order_state import PAID, PAID_UNDELIVERED, UNPAID
from paysim.domain.payment_state import CAPTURED, REFUNDABLE, REFUNDED
from paysim.domain.saga import Deadlines
from paysim.domain.status import DeliveryStatus, OrderStatus, PaymentStatus


def test_a_paid_order_is_placed_and_not_being_cancelled() -> None:
    assert OrderStatus.DELIVERED in PAID
    assert PAID_UNDELIVERED < PAID
    assert not PAID & UNPAID
    assert not PAID & {OrderStatus.CANCELLING, OrderStatus.CANCELLED, OrderStatus.REFUNDED}


def test_captured_refundable_and_refunded_payments() -> None:
    assert {
        PaymentStatus.COMPLETED,
        PaymentStatus.REFUND_PENDING,
        PaymentStatus.PARTIALLY_REFUNDED,
    } == REFUNDABLE
    assert REFUNDABLE | {PaymentStatus.REFUNDED} == CAPTURED
    assert REFUNDED < CAPTURED
    assert not CAPTURED & {PaymentStatus.PENDING, PaymentStatus.FAILED, PaymentStatus.CANCELLED}


def test_a_pickup_is_requested_once_and_only_of_an_assigned_courier() -> None:
    assert pickup_refusal(DeliveryStatus.ASSIGNED, pickup_requested=False) is None
    assert pickup_refusal(DeliveryStatus.ASSIGNED, pickup_requested=True) == (
        "pickup already requested"
    )
    assert pickup_refusal(DeliveryStatus.CANCELLED, pickup_requested=False) == (
        "the delivery is CANCELLED"
    )


@pytest.mark.parametrize(
    "shortest", ["payment_pending", "payment_failed", "restaurant_accept", "cancelling"]
)
def test_the_shortest_deadline_is_the_earliest_an_order_can_be_overdue(shortest: str) -> None:
    deadlines = Deadlines(**{shortest: timedelta(seconds=1)})
    assert deadlines.shortest == timedelta(seconds=1)
    assert set(deadlines.by_status()) == {
        OrderStatus.PAYMENT_PENDING,
        OrderStatus.PAYMENT_FAILED,
        OrderStatus.PENDING,
        OrderStatus.CANCELLING,
    }
