"""The saga's compensation rules and deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paysim.domain.commands import (
    CancelPayment,
    CompensationReason,
    InvalidCommandError,
    RefundPayment,
    compensation_request_id,
)
from paysim.domain.money import Money
from paysim.domain.saga import (
    CANCEL_RETRY_MAX,
    Deadlines,
    PaymentRef,
    cancel_retry_delay,
    on_customer_cancel,
    on_order_creation_failed,
    on_order_placement_failed,
    on_payment_completed,
    on_restaurant_rejected,
    on_restaurant_silent,
    overdue,
)
from paysim.domain.status import OrderStatus

PAID = [
    OrderStatus.PENDING,
    OrderStatus.CONFIRMED,
    OrderStatus.PREPARING,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.OUT_FOR_DELIVERY,
]
CAPTURED = PaymentRef(payment_id=7, order_id=42, captured=Money(2599, "usd"))
UNCAPTURED = PaymentRef(payment_id=7, order_id=42, captured=Money(0, "usd"))
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def full_refund(reason: CompensationReason) -> RefundPayment:
    return RefundPayment(
        payment_id=7,
        order_id=42,
        amount=Money(2599, "usd"),
        reason=reason,
        request_id="compensate-order-42-payment-7",
    )


def test_request_id_is_one_per_order_and_payment() -> None:
    assert compensation_request_id(42, 7) == "compensate-order-42-payment-7"
    assert compensation_request_id(42, 8) != compensation_request_id(42, 7)


# --- payment completed but the order cannot proceed -------------------------------


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.CANCELLED,
        OrderStatus.CANCELLING,
        OrderStatus.REFUNDED,
        OrderStatus.REFUND_FAILED,
    ],
)
def test_completion_for_a_cancelled_order_is_refunded(status: OrderStatus) -> None:
    assert on_payment_completed(CAPTURED, status) == full_refund(CompensationReason.ORDER_CANCELLED)


def test_completion_without_an_order_is_refunded() -> None:
    assert on_payment_completed(CAPTURED, None) == full_refund(CompensationReason.ORDER_NOT_FOUND)
    assert on_order_creation_failed(CAPTURED) == full_refund(CompensationReason.ORDER_NOT_FOUND)
    assert on_order_placement_failed(CAPTURED) == full_refund(CompensationReason.ORDER_NOT_PLACED)


def test_second_payment_for_a_paid_order_is_refunded() -> None:
    command = on_payment_completed(CAPTURED, OrderStatus.CONFIRMED, paid_by=6)
    assert command == full_refund(CompensationReason.ORDER_ALREADY_PAID)


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_FAILED, *PAID, OrderStatus.DELIVERED],
)
def test_completion_for_an_order_that_can_take_it_needs_nothing(status: OrderStatus) -> None:
    assert on_payment_completed(CAPTURED, status) is None
    assert on_payment_completed(CAPTURED, status, paid_by=7) is None


def test_refund_is_only_of_what_is_left() -> None:
    partly = PaymentRef(7, 42, captured=Money(2599, "usd"), refunded=Money(599, "usd"))
    command = on_payment_completed(partly, OrderStatus.CANCELLED)
    assert isinstance(command, RefundPayment)
    assert command.amount == Money(2000, "usd")


def test_nothing_is_refunded_twice() -> None:
    done = PaymentRef(7, 42, captured=Money(2599, "usd"), refunded=Money(2599, "usd"))
    assert on_payment_completed(done, OrderStatus.CANCELLED) is None


# --- cancels and rejections -------------------------------------------------------------


@pytest.mark.parametrize("status", PAID)
def test_customer_cancel_of_a_paid_order_refunds(status: OrderStatus) -> None:
    assert on_customer_cancel(status, CAPTURED) == full_refund(
        CompensationReason.CUSTOMER_CANCELLED
    )


@pytest.mark.parametrize("status", [OrderStatus.PAYMENT_PENDING, OrderStatus.PAYMENT_FAILED])
def test_customer_cancel_of_an_unpaid_order_cancels_the_payment(status: OrderStatus) -> None:
    assert on_customer_cancel(status, UNCAPTURED) == CancelPayment(
        payment_id=7, order_id=42, reason=CompensationReason.CUSTOMER_CANCELLED
    )


@pytest.mark.parametrize(
    "status",
    [OrderStatus.DELIVERED, OrderStatus.CANCELLING, OrderStatus.CANCELLED, OrderStatus.REFUNDED],
)
def test_customer_cancel_of_a_finished_order_needs_nothing(status: OrderStatus) -> None:
    assert on_customer_cancel(status, CAPTURED) is None


@pytest.mark.parametrize("status", PAID)
def test_restaurant_rejection_refunds(status: OrderStatus) -> None:
    assert on_restaurant_rejected(status, CAPTURED) == full_refund(
        CompensationReason.RESTAURANT_REJECTED
    )


@pytest.mark.parametrize(
    "status", [OrderStatus.PAYMENT_PENDING, OrderStatus.DELIVERED, OrderStatus.CANCELLING]
)
def test_restaurant_rejection_outside_paid_orders_needs_nothing(status: OrderStatus) -> None:
    assert on_restaurant_rejected(status, CAPTURED) is None


# --- deadlines ----------------------------------------------------------------------------


def test_default_deadlines() -> None:
    deadlines = Deadlines()
    assert deadlines.payment_pending == timedelta(minutes=15)
    assert deadlines.cancelling == timedelta(minutes=5)
    assert (
        deadlines.for_status(OrderStatus.PENDING)
        == deadlines.restaurant_accept
        == timedelta(minutes=5)
    )
    assert deadlines.for_status(OrderStatus.CONFIRMED) is None


@pytest.mark.parametrize(
    "name", ["payment_pending", "payment_failed", "restaurant_accept", "cancelling"]
)
def test_every_deadline_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Deadlines(**{name: timedelta(seconds=-1)})


def test_deadlines_must_be_positive() -> None:
    with pytest.raises(ValueError, match="cancelling"):
        Deadlines(cancelling=timedelta(0))


def test_payment_pending_past_its_deadline_cancels_the_payment() -> None:
    deadlines = Deadlines(payment_pending=timedelta(minutes=10))
    late = T0 + timedelta(minutes=10, seconds=1)
    assert overdue(OrderStatus.PAYMENT_PENDING, T0, late, UNCAPTURED, deadlines) == CancelPayment(
        7, 42, CompensationReason.PAYMENT_DEADLINE
    )


def test_payment_pending_within_its_deadline_waits() -> None:
    deadlines = Deadlines(payment_pending=timedelta(minutes=10))
    on_time = T0 + timedelta(minutes=10)
    assert overdue(OrderStatus.PAYMENT_PENDING, T0, on_time, UNCAPTURED, deadlines) is None


def test_abandoned_failed_payment_is_cancelled() -> None:
    late = T0 + Deadlines().payment_failed + timedelta(seconds=1)
    command = overdue(OrderStatus.PAYMENT_FAILED, T0, late, UNCAPTURED)
    assert command == CancelPayment(7, 42, CompensationReason.RETRY_DEADLINE)


def test_cancelling_past_its_deadline_asks_for_the_same_refund_again() -> None:
    first = on_customer_cancel(OrderStatus.PREPARING, CAPTURED)
    late = T0 + timedelta(minutes=6)
    retry = overdue(OrderStatus.CANCELLING, T0, late, CAPTURED)
    assert isinstance(first, RefundPayment)
    assert isinstance(retry, RefundPayment)
    assert retry.reason == CompensationReason.REFUND_DEADLINE
    # Same request id and amount: the same Stripe refund, never a second one.
    assert (retry.request_id, retry.amount) == (first.request_id, first.amount)


def test_cancelling_whose_refund_has_landed_needs_nothing() -> None:
    done = PaymentRef(7, 42, captured=Money(2599, "usd"), refunded=Money(2599, "usd"))
    assert overdue(OrderStatus.CANCELLING, T0, T0 + timedelta(hours=1), done) is None


def test_a_paid_order_the_restaurant_never_accepts_is_refunded_in_full() -> None:
    deadlines = Deadlines(restaurant_accept=timedelta(minutes=3))
    late = T0 + timedelta(minutes=3, seconds=1)
    assert overdue(OrderStatus.PENDING, T0, late, CAPTURED, deadlines) == full_refund(
        CompensationReason.RESTAURANT_DEADLINE
    )


def test_a_paid_order_within_the_restaurants_deadline_waits() -> None:
    deadlines = Deadlines(restaurant_accept=timedelta(minutes=3))
    assert overdue(OrderStatus.PENDING, T0, T0 + timedelta(minutes=3), CAPTURED, deadlines) is None


def test_the_restaurant_deadline_refunds_only_what_is_left() -> None:
    partly = PaymentRef(7, 42, captured=Money(2599, "usd"), refunded=Money(599, "usd"))
    command = overdue(OrderStatus.PENDING, T0, T0 + timedelta(hours=1), partly)
    assert isinstance(command, RefundPayment)
    assert command.amount == Money(2000, "usd")
    # The same request id as every other compensation of this payment: one Stripe refund.
    assert command.request_id == compensation_request_id(42, 7)


def test_the_restaurant_deadline_and_a_restaurant_rejection_are_the_same_refund() -> None:
    rejected = on_restaurant_rejected(OrderStatus.PENDING, CAPTURED)
    silent = on_restaurant_silent(OrderStatus.PENDING, CAPTURED)
    assert rejected is not None
    assert silent is not None
    assert (silent.request_id, silent.amount) == (rejected.request_id, rejected.amount)
    assert silent.reason == CompensationReason.RESTAURANT_DEADLINE


@pytest.mark.parametrize("status", [s for s in OrderStatus if s is not OrderStatus.PENDING])
def test_the_restaurant_deadline_is_only_for_orders_waiting_on_the_restaurant(
    status: OrderStatus,
) -> None:
    assert on_restaurant_silent(status, CAPTURED) is None


@pytest.mark.parametrize(
    "status",
    [
        *(s for s in PAID if s is not OrderStatus.PENDING),
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    ],
)
def test_statuses_without_deadline_are_never_overdue(status: OrderStatus) -> None:
    assert overdue(status, T0, T0 + timedelta(days=30), CAPTURED) is None


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        overdue(OrderStatus.PAYMENT_PENDING, T0.replace(tzinfo=None), T0, UNCAPTURED)


def test_commands_refuse_impossible_values() -> None:
    with pytest.raises(InvalidCommandError, match="must be positive"):
        RefundPayment(7, 42, Money(0, "usd"), "x", "req-1")
    with pytest.raises(InvalidCommandError, match="request_id"):
        RefundPayment(7, 42, Money(1, "usd"), "x", "")
    with pytest.raises(InvalidCommandError, match="payment_id"):
        CancelPayment(0, 42, "x")


# --- an unanswered payment cancel ---------------------------------------------------


def test_an_unanswered_cancel_is_asked_again_sooner_than_any_deadline() -> None:
    waits = [cancel_retry_delay(tries).total_seconds() for tries in range(8)]
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    # Bounded however long the payment service stays away, and never giving up.
    assert cancel_retry_delay(10**6) == CANCEL_RETRY_MAX
    with pytest.raises(ValueError, match="negative"):
        cancel_retry_delay(-1)
