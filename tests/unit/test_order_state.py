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
    refund_path,
)
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.domain.transitions import IllegalTransition, Outcome

PAID = [
    OrderStatus.PENDING,
    OrderStatus.CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.OUT_FOR_DELIVERY,
]
LEGAL = {
    (OrderStatus.PAYMENT_PENDING, OrderStatus.PENDING),
    (OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_FAILED),
    (OrderStatus.PAYMENT_PENDING, OrderStatus.CANCELLED),
    (OrderStatus.PAYMENT_FAILED, OrderStatus.PAYMENT_PENDING),
    (OrderStatus.PAYMENT_FAILED, OrderStatus.PENDING),
    (OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED),
    (OrderStatus.PENDING, OrderStatus.CONFIRMED),
    (OrderStatus.CONFIRMED, OrderStatus.PREPARING),
    (OrderStatus.PREPARING, OrderStatus.READY_FOR_PICKUP),
    (OrderStatus.READY_FOR_PICKUP, OrderStatus.OUT_FOR_DELIVERY),
    (OrderStatus.OUT_FOR_DELIVERY, OrderStatus.DELIVERED),
    *((status, OrderStatus.CANCELLING) for status in PAID),
    (OrderStatus.CANCELLING, OrderStatus.REFUNDED),
    (OrderStatus.CANCELLING, OrderStatus.REFUND_FAILED),
    (OrderStatus.REFUND_FAILED, OrderStatus.REFUNDED),
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_command_moves(current: OrderStatus, target: OrderStatus) -> None:
    assert move_order(current, target) is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_command_raises_naming_both_states(
    current: OrderStatus, target: OrderStatus
) -> None:
    with pytest.raises(IllegalTransition, match=f"order cannot move from {current} to {target}"):
        move_order(current, target)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_events_never_raise_and_only_go_forward(current: OrderStatus, target: OrderStatus) -> None:
    result = apply_order_event(current, target)
    if result.applied:
        assert result.status is target
        assert ORDER_RANK[target] > ORDER_RANK[current]
    else:
        assert result.status is result.previous is current


def test_happy_path_by_events() -> None:
    status = OrderStatus.PAYMENT_PENDING
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
    assert status is OrderStatus.DELIVERED


@pytest.mark.parametrize(
    ("current", "late", "outcome"),
    [
        (OrderStatus.PENDING, OrderStatus.PAYMENT_PENDING, Outcome.STALE),  # late PAYMENT_INITIATED
        (
            OrderStatus.PENDING,
            OrderStatus.PAYMENT_FAILED,
            Outcome.STALE,
        ),  # failure of an earlier attempt
        (
            OrderStatus.CANCELLED,
            OrderStatus.PENDING,
            Outcome.STALE,
        ),  # completion after the customer cancelled
        (
            OrderStatus.CANCELLING,
            OrderStatus.OUT_FOR_DELIVERY,
            Outcome.STALE,
        ),  # pickup of a cancelled order
        (OrderStatus.DELIVERED, OrderStatus.OUT_FOR_DELIVERY, Outcome.STALE),
        (
            OrderStatus.OUT_FOR_DELIVERY,
            OrderStatus.OUT_FOR_DELIVERY,
            Outcome.DUPLICATE,
        ),  # PICKED_UP then IN_TRANSIT
        (OrderStatus.CANCELLING, OrderStatus.DELIVERED, Outcome.CONFLICT),
        (OrderStatus.DELIVERED, OrderStatus.CANCELLED, Outcome.CONFLICT),
        (
            OrderStatus.PENDING,
            OrderStatus.CANCELLED,
            Outcome.CONFLICT,
        ),  # a paid order is never just CANCELLED
    ],
)
def test_backward_or_conflicting_events_are_ignored(
    current: OrderStatus, late: OrderStatus, outcome: Outcome
) -> None:
    result = apply_order_event(current, late)
    assert result.outcome is outcome
    assert result.status is current
    assert result.reason.startswith(outcome.value)


def test_a_refund_refused_for_good_stops_the_saga_until_an_operator_refunds() -> None:
    failed = apply_order_event(OrderStatus.CANCELLING, OrderStatus.REFUND_FAILED)
    assert failed.applied
    # Late news of the order's earlier life is stale; an operator's full refund ends it.
    for late in (OrderStatus.CANCELLING, OrderStatus.DELIVERED, OrderStatus.OUT_FOR_DELIVERY):
        assert apply_order_event(OrderStatus.REFUND_FAILED, late).outcome is Outcome.STALE
    assert apply_order_event(OrderStatus.REFUND_FAILED, OrderStatus.REFUNDED).applied
    # A refund that landed is not undone by a failure reported late.
    assert not apply_order_event(OrderStatus.REFUNDED, OrderStatus.REFUND_FAILED).applied


def test_retry_completion_moves_a_failed_order_straight_to_pending() -> None:
    result = apply_order_event(OrderStatus.PAYMENT_FAILED, OrderStatus.PENDING)
    assert result.applied
    assert result.status is OrderStatus.PENDING


def test_retry_start_needs_the_attempt_to_reopen_a_failed_order() -> None:
    assert not apply_order_event(OrderStatus.PAYMENT_FAILED, OrderStatus.PAYMENT_PENDING).applied
    reopened = apply_order_event(
        OrderStatus.PAYMENT_FAILED, OrderStatus.PAYMENT_PENDING, event_attempt=2, current_attempt=1
    )
    assert reopened.applied
    assert reopened.status is OrderStatus.PAYMENT_PENDING


def test_full_refund_of_a_paid_order_ends_it() -> None:
    result = apply_order_event(OrderStatus.CONFIRMED, OrderStatus.REFUNDED)
    assert result.applied
    assert result.status is OrderStatus.REFUNDED


@pytest.mark.parametrize("current", PAID)
def test_full_refund_of_a_paid_undelivered_order_cancels_it_first(current: OrderStatus) -> None:
    path = refund_path(current)
    assert path == (OrderStatus.CANCELLING, OrderStatus.REFUNDED)
    # Each step is a forward move, and entering CANCELLING stops restaurant and courier.
    status = current
    for step in path:
        status = apply_order_event(status, step).status
    assert status is OrderStatus.REFUNDED
    assert order_event_on_enter(path[0]) is OrderEventType.ORDER_CANCELLED


@pytest.mark.parametrize(
    "current",
    [
        OrderStatus.CANCELLING,
        OrderStatus.DELIVERED,
        OrderStatus.REFUNDED,
        OrderStatus.REFUND_FAILED,
    ],
)
def test_full_refund_of_any_other_order_goes_straight_to_refunded(current: OrderStatus) -> None:
    assert refund_path(current) == (OrderStatus.REFUNDED,)


@pytest.mark.parametrize(
    ("event_type", "target"),
    [
        (PaymentEventType.PAYMENT_INITIATED, OrderStatus.PAYMENT_PENDING),
        (PaymentEventType.PAYMENT_PROCESSING, OrderStatus.PAYMENT_PENDING),
        (PaymentEventType.PAYMENT_COMPLETED, OrderStatus.PENDING),
        (PaymentEventType.PAYMENT_FAILED, OrderStatus.PAYMENT_FAILED),
        (PaymentEventType.PAYMENT_CANCELLED, OrderStatus.CANCELLED),
        (PaymentEventType.PAYMENT_REFUNDED, OrderStatus.REFUNDED),
        (PaymentEventType.PAYMENT_REFUND_INITIATED, None),
        (PaymentEventType.PAYMENT_WEBHOOK_RECEIVED, None),
        (DeliveryEventType.DELIVERY_ASSIGNED, None),
        (DeliveryEventType.DELIVERY_PICKED_UP, OrderStatus.OUT_FOR_DELIVERY),
        (DeliveryEventType.DELIVERY_IN_TRANSIT, OrderStatus.OUT_FOR_DELIVERY),
        (DeliveryEventType.DELIVERY_DELIVERED, OrderStatus.DELIVERED),
        (DeliveryEventType.DELIVERY_CANCELLED, None),
    ],
)
def test_incoming_event_targets(
    event_type: PaymentEventType | DeliveryEventType, target: OrderStatus | None
) -> None:
    assert order_target(event_type) is target


def test_partial_refund_does_not_end_the_order() -> None:
    refunded = PaymentEventType.PAYMENT_REFUNDED
    assert order_target(refunded, payment_status=PaymentStatus.PARTIALLY_REFUNDED) is None
    assert order_target(refunded, payment_status=PaymentStatus.REFUNDED) is OrderStatus.REFUNDED


@pytest.mark.parametrize(
    ("move", "target"),
    [
        (RestaurantMove.ACCEPT, OrderStatus.CONFIRMED),
        (RestaurantMove.START_PREPARING, OrderStatus.PREPARING),
        (RestaurantMove.MARK_READY, OrderStatus.READY_FOR_PICKUP),
        (RestaurantMove.REJECT, OrderStatus.CANCELLING),
    ],
)
def test_restaurant_moves(move: RestaurantMove, target: OrderStatus) -> None:
    assert RESTAURANT_MOVE_TARGETS[move] is target


def test_restaurant_rejection_of_a_paid_order_is_a_legal_command() -> None:
    target = RESTAURANT_MOVE_TARGETS[RestaurantMove.REJECT]
    assert move_order(OrderStatus.PENDING, target) is OrderStatus.CANCELLING


@pytest.mark.parametrize(
    ("status", "event_type"),
    [
        (OrderStatus.PAYMENT_PENDING, None),
        (OrderStatus.PAYMENT_FAILED, None),
        (OrderStatus.PENDING, OrderEventType.ORDER_CREATED),
        (OrderStatus.CONFIRMED, OrderEventType.ORDER_CONFIRMED),
        (OrderStatus.PREPARING, OrderEventType.ORDER_PREPARING),
        (OrderStatus.READY_FOR_PICKUP, OrderEventType.ORDER_READY_FOR_PICKUP),
        (OrderStatus.OUT_FOR_DELIVERY, OrderEventType.ORDER_OUT_FOR_DELIVERY),
        (OrderStatus.DELIVERED, OrderEventType.ORDER_DELIVERED),
        (OrderStatus.CANCELLING, OrderEventType.ORDER_CANCELLED),
        (OrderStatus.CANCELLED, OrderEventType.ORDER_CANCELLED),
        (OrderStatus.REFUNDED, None),
        (OrderStatus.REFUND_FAILED, None),
    ],
)
def test_event_published_on_entering(
    status: OrderStatus, event_type: OrderEventType | None
) -> None:
    assert order_event_on_enter(status) is event_type


def test_every_order_event_type_is_published_by_some_status() -> None:
    assert set(ORDER_EVENT_ON_ENTER.values()) == set(OrderEventType)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (OrderStatus.PAYMENT_PENDING, OrderStatus.CANCELLED),
        (OrderStatus.PAYMENT_FAILED, OrderStatus.CANCELLED),
    ]
    + [(status, OrderStatus.CANCELLING) for status in PAID],
)
def test_customer_cancel(current: OrderStatus, expected: OrderStatus) -> None:
    assert cancel_order(current) is expected


@pytest.mark.parametrize(
    "current",
    [
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLING,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
        OrderStatus.REFUND_FAILED,
    ],
)
def test_customer_cannot_cancel_a_finished_or_cancelling_order(current: OrderStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"from {current} to CANCELLED"):
        cancel_order(current)
