"""The order state machine and the mappings that drive it."""

from __future__ import annotations

import itertools

import pytest

from paysim.domain.events import DeliveryEventType, OrderEventType, PaymentEventType
from paysim.domain.order_state import (
    ORDER_EVENT_ON_ENTER,
    ORDER_RANK,
    RESTAURANT_MOVE_TARGETS,
    RestaurantMove,
    apply_order_event,
    cancel_order,
    move_order,
    order_event_on_enter,
    order_target,
)
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.domain.transitions import IllegalTransition, Outcome

OS = OrderStatus

PAID = [OS.PENDING, OS.CONFIRMED, OS.PREPARING, OS.READY_FOR_PICKUP, OS.OUT_FOR_DELIVERY]
LEGAL = {
    (OS.PAYMENT_PENDING, OS.PENDING),
    (OS.PAYMENT_PENDING, OS.PAYMENT_FAILED),
    (OS.PAYMENT_PENDING, OS.CANCELLED),
    (OS.PAYMENT_FAILED, OS.PAYMENT_PENDING),
    (OS.PAYMENT_FAILED, OS.PENDING),
    (OS.PAYMENT_FAILED, OS.CANCELLED),
    (OS.PENDING, OS.CONFIRMED),
    (OS.CONFIRMED, OS.PREPARING),
    (OS.PREPARING, OS.READY_FOR_PICKUP),
    (OS.READY_FOR_PICKUP, OS.OUT_FOR_DELIVERY),
    (OS.OUT_FOR_DELIVERY, OS.DELIVERED),
    *((status, OS.CANCELLING) for status in PAID),
    (OS.CANCELLING, OS.REFUNDED),
}
ALL_PAIRS = list(itertools.product(OS, OS))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_command_moves(current: OS, target: OS) -> None:
    assert move_order(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_command_raises_naming_both_states(current: OS, target: OS) -> None:
    with pytest.raises(IllegalTransition, match=f"order cannot move from {current} to {target}"):
        move_order(current, target)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_events_never_raise_and_only_go_forward(current: OS, target: OS) -> None:
    result = apply_order_event(current, target)
    if result.applied:
        assert result.status is target
        assert ORDER_RANK[target] > ORDER_RANK[current]
    else:
        assert result.status is result.previous is current


def test_happy_path_by_events() -> None:
    status = OS.PAYMENT_PENDING
    for event_type in (
        PaymentEventType.PAYMENT_COMPLETED,
        DeliveryEventType.DELIVERY_PICKED_UP,
        DeliveryEventType.DELIVERY_DELIVERED,
    ):
        target = order_target(event_type)
        assert target is not None
        result = apply_order_event(status, target)
        assert result.applied, result.reason
        status = result.status
    assert status is OS.DELIVERED


@pytest.mark.parametrize(
    ("current", "late", "outcome"),
    [
        (OS.PENDING, OS.PAYMENT_PENDING, Outcome.STALE),  # late PAYMENT_INITIATED
        (OS.PENDING, OS.PAYMENT_FAILED, Outcome.STALE),  # failure of an earlier attempt
        (OS.CANCELLED, OS.PENDING, Outcome.STALE),  # completion after the customer cancelled
        (OS.CANCELLING, OS.OUT_FOR_DELIVERY, Outcome.STALE),  # pickup of a cancelled order
        (OS.DELIVERED, OS.OUT_FOR_DELIVERY, Outcome.STALE),
        (OS.OUT_FOR_DELIVERY, OS.OUT_FOR_DELIVERY, Outcome.DUPLICATE),  # PICKED_UP then IN_TRANSIT
        (OS.CANCELLING, OS.DELIVERED, Outcome.CONFLICT),
        (OS.DELIVERED, OS.CANCELLED, Outcome.CONFLICT),
        (OS.PENDING, OS.CANCELLED, Outcome.CONFLICT),  # a paid order is never just CANCELLED
    ],
)
def test_backward_or_conflicting_events_are_ignored(
    current: OS, late: OS, outcome: Outcome
) -> None:
    result = apply_order_event(current, late)
    assert result.outcome is outcome
    assert result.status is current
    assert result.reason.startswith(outcome.value)


def test_retry_completion_moves_a_failed_order_straight_to_pending() -> None:
    result = apply_order_event(OS.PAYMENT_FAILED, OS.PENDING)
    assert result.applied
    assert result.status is OS.PENDING


def test_retry_start_needs_the_attempt_to_reopen_a_failed_order() -> None:
    assert not apply_order_event(OS.PAYMENT_FAILED, OS.PAYMENT_PENDING).applied
    reopened = apply_order_event(
        OS.PAYMENT_FAILED, OS.PAYMENT_PENDING, event_attempt=2, current_attempt=1
    )
    assert reopened.applied
    assert reopened.status is OS.PAYMENT_PENDING


def test_full_refund_of_a_paid_order_ends_it() -> None:
    result = apply_order_event(OS.CONFIRMED, OS.REFUNDED)
    assert result.applied
    assert result.status is OS.REFUNDED


@pytest.mark.parametrize(
    ("event_type", "target"),
    [
        (PaymentEventType.PAYMENT_INITIATED, OS.PAYMENT_PENDING),
        (PaymentEventType.PAYMENT_PROCESSING, OS.PAYMENT_PENDING),
        (PaymentEventType.PAYMENT_COMPLETED, OS.PENDING),
        (PaymentEventType.PAYMENT_FAILED, OS.PAYMENT_FAILED),
        (PaymentEventType.PAYMENT_CANCELLED, OS.CANCELLED),
        (PaymentEventType.PAYMENT_REFUNDED, OS.REFUNDED),
        (PaymentEventType.PAYMENT_REFUND_INITIATED, None),
        (PaymentEventType.PAYMENT_WEBHOOK_RECEIVED, None),
        (DeliveryEventType.DELIVERY_ASSIGNED, None),
        (DeliveryEventType.DELIVERY_PICKED_UP, OS.OUT_FOR_DELIVERY),
        (DeliveryEventType.DELIVERY_IN_TRANSIT, OS.OUT_FOR_DELIVERY),
        (DeliveryEventType.DELIVERY_DELIVERED, OS.DELIVERED),
        (DeliveryEventType.DELIVERY_CANCELLED, None),
    ],
)
def test_incoming_event_targets(
    event_type: PaymentEventType | DeliveryEventType, target: OS | None
) -> None:
    assert order_target(event_type) is target


def test_partial_refund_does_not_end_the_order() -> None:
    refunded = PaymentEventType.PAYMENT_REFUNDED
    assert order_target(refunded, payment_status=PaymentStatus.PARTIALLY_REFUNDED) is None
    assert order_target(refunded, payment_status=PaymentStatus.REFUNDED) is OS.REFUNDED


@pytest.mark.parametrize(
    ("move", "target"),
    [
        (RestaurantMove.ACCEPT, OS.CONFIRMED),
        (RestaurantMove.START_PREPARING, OS.PREPARING),
        (RestaurantMove.MARK_READY, OS.READY_FOR_PICKUP),
        (RestaurantMove.REJECT, OS.CANCELLING),
    ],
)
def test_restaurant_moves(move: RestaurantMove, target: OS) -> None:
    assert RESTAURANT_MOVE_TARGETS[move] is target


def test_restaurant_rejection_of_a_paid_order_is_a_legal_command() -> None:
    target = RESTAURANT_MOVE_TARGETS[RestaurantMove.REJECT]
    assert move_order(OS.PENDING, target) is OS.CANCELLING


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        (OS.PAYMENT_PENDING, None),
        (OS.PAYMENT_FAILED, None),
        (OS.PENDING, OrderEventType.ORDER_CREATED),
        (OS.CONFIRMED, OrderEventType.ORDER_CONFIRMED),
        (OS.PREPARING, OrderEventType.ORDER_PREPARING),
        (OS.READY_FOR_PICKUP, OrderEventType.ORDER_READY_FOR_PICKUP),
        (OS.OUT_FOR_DELIVERY, OrderEventType.ORDER_OUT_FOR_DELIVERY),
        (OS.DELIVERED, OrderEventType.ORDER_DELIVERED),
        (OS.CANCELLING, OrderEventType.ORDER_CANCELLED),
        (OS.CANCELLED, OrderEventType.ORDER_CANCELLED),
        (OS.REFUNDED, None),
    ],
)
def test_event_published_on_entering(status: OS, event_type: OrderEventType | None) -> None:
    assert order_event_on_enter(status) is event_type


def test_every_order_event_type_is_published_by_some_status() -> None:
    assert set(ORDER_EVENT_ON_ENTER.values()) == set(OrderEventType)


@pytest.mark.parametrize(
    ("current", "expected"),
    [(OS.PAYMENT_PENDING, OS.CANCELLED), (OS.PAYMENT_FAILED, OS.CANCELLED)]
    + [(status, OS.CANCELLING) for status in PAID],
)
def test_customer_cancel(current: OS, expected: OS) -> None:
    assert cancel_order(current) is expected


@pytest.mark.parametrize("current", [OS.DELIVERED, OS.CANCELLING, OS.CANCELLED, OS.REFUNDED])
def test_customer_cannot_cancel_a_finished_or_cancelling_order(current: OS) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to CANCELLED"):
        cancel_order(current)
