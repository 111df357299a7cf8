"""The saga's rules: which compensation an order's situation calls for, if any.

Pure functions from what is known (an order's status, its payment, the time) to a
command or ``None``. They decide; the services carry out. Every refund they ask for
uses ``compensation_request_id``, so the same compensation asked for twice (two paths,
or a deadline retry) is one refund at Stripe.

The rules:

* payment completed, but the order cannot take it (no such order, already cancelled or
  being cancelled, or already paid by another payment) -> refund what was captured;
* customer cancel: unpaid -> cancel the payment; paid and undelivered -> refund it;
* restaurant rejection of a paid order -> refund it;
* deadlines: PAYMENT_PENDING too long -> cancel the payment; PAYMENT_FAILED too long
  (the customer never retried) -> cancel the payment, so a late retry cannot capture
  money for an abandoned order; PENDING too long (the restaurant never accepted) ->
  the order is rejected on the restaurant's behalf and refunded, as real platforms
  auto-reject; CANCELLING too long -> ask for the refund again.

A payment cancel the saga asks for is written down with the move that calls for it and
asked again, with ``cancel_retry_delay`` between tries, until the payment service
answers: an intent left uncancelled could still be confirmed and capture money for an
order that no longer wants it.

Time is passed in. ``entered_at`` is when the order entered its status, or when the
last compensation for it was issued, so that retries are spaced by the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from paysim.domain.commands import (
    CancelPayment,
    Command,
    CompensationReason,
    RefundPayment,
    compensation_request_id,
)
from paysim.domain.money import Money
from paysim.domain.order_state import PAID_UNDELIVERED, UNPAID
from paysim.domain.refunds import refundable
from paysim.domain.status import OrderStatus

_CANCELLED_ORDER = frozenset(
    {
        OrderStatus.CANCELLED,
        OrderStatus.CANCELLING,
        OrderStatus.REFUNDED,
        OrderStatus.REFUND_FAILED,
    }
)


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """What the saga knows of an order's payment: ids, captured and refunded amounts.

    ``captured`` is zero while nothing has been captured; ``refunded`` (zero when not
    given) counts refunds made or in flight.
    """

    payment_id: int
    order_id: int
    captured: Money
    refunded: Money | None = None

    @property
    def still_refundable(self) -> Money:
        refunded = self.refunded or Money(0, self.captured.currency)
        return refundable(self.captured, refunded)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long an order may stay in a waiting status before the saga steps in."""

    payment_pending: timedelta = field(default=timedelta(minutes=15))
    payment_failed: timedelta = field(default=timedelta(minutes=30))
    restaurant_accept: timedelta = field(default=timedelta(minutes=5))
    cancelling: timedelta = field(default=timedelta(minutes=5))

    def __post_init__(self) -> None:
        for name in ("payment_pending", "payment_failed", "restaurant_accept", "cancelling"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"deadline {name} must be positive")

    def by_status(self) -> dict[OrderStatus, timedelta]:
        """The waiting statuses, each with its deadline."""
        return {
            OrderStatus.PAYMENT_PENDING: self.payment_pending,
            OrderStatus.PAYMENT_FAILED: self.payment_failed,
            OrderStatus.PENDING: self.restaurant_accept,
            OrderStatus.CANCELLING: self.cancelling,
        }

    def for_status(self, status: OrderStatus) -> timedelta | None:
        """The deadline of a waiting status; None for statuses without one."""
        return self.by_status().get(status)

    @property
    def shortest(self) -> timedelta:
        """No order can be overdue sooner than this after it last moved."""
        return min(self.by_status().values())


DEFAULT_DEADLINES = Deadlines()

CANCEL_RETRY_FIRST = timedelta(seconds=1)
CANCEL_RETRY_MAX = timedelta(seconds=30)


def cancel_retry_delay(tries: int) -> timedelta:
    """The wait before the next payment cancel, after ``tries`` that got no answer.

    Doubling from ``CANCEL_RETRY_FIRST`` up to ``CANCEL_RETRY_MAX``, and never giving up:
    the wait is bounded so that a cancel lands soon after the payment service is back.
    """
    if tries < 0:
        raise ValueError("tries cannot be negative")
    # Capped before doubling further, so a long outage cannot overflow the exponent.
    doubled: timedelta = CANCEL_RETRY_FIRST * 2 ** min(tries, 16)
    return min(doubled, CANCEL_RETRY_MAX)


def refund_rest(payment: PaymentRef, reason: CompensationReason) -> RefundPayment | None:
    """Refund whatever of the payment is still refundable; None if nothing is."""
    amount = payment.still_refundable
    if not amount.is_positive:
        return None
    return RefundPayment(
        payment_id=payment.payment_id,
        order_id=payment.order_id,
        amount=amount,
        reason=reason,
        request_id=compensation_request_id(payment.order_id, payment.payment_id),
    )


def cancel(payment: PaymentRef, reason: CompensationReason) -> CancelPayment:
    return CancelPayment(payment_id=payment.payment_id, order_id=payment.order_id, reason=reason)


def on_payment_completed(
    payment: PaymentRef, order_status: OrderStatus | None, *, paid_by: int | None = None
) -> RefundPayment | None:
    """A captured payment whose order cannot proceed is refunded.

    ``order_status`` is None when the order does not exist (its creation failed);
    ``paid_by`` is the payment the order was already paid with, if any.
    """
    if order_status is None:
        return refund_rest(payment, CompensationReason.ORDER_NOT_FOUND)
    if order_status in _CANCELLED_ORDER:
        return refund_rest(payment, CompensationReason.ORDER_CANCELLED)
    if paid_by is not None and paid_by != payment.payment_id:
        return refund_rest(payment, CompensationReason.ORDER_ALREADY_PAID)
    return None


def on_order_placement_failed(payment: PaymentRef) -> RefundPayment | None:
    """Paid, and the order exists, but it could not be placed (the plan's compensation)."""
    return refund_rest(payment, CompensationReason.ORDER_NOT_PLACED)


def on_order_creation_failed(payment: PaymentRef) -> RefundPayment | None:
    """The plan's compensation: the order could not be placed after payment."""
    return refund_rest(payment, CompensationReason.ORDER_NOT_FOUND)


def on_customer_cancel(order_status: OrderStatus, payment: PaymentRef) -> Command | None:
    """Cancel an unpaid order's payment, refund a paid undelivered one; else nothing.

    ``order_status`` is the status before the cancel. An order already CANCELLING gets
    nothing new: its refund is on its way and the deadline rule retries it.
    """
    if order_status in UNPAID:
        return cancel(payment, CompensationReason.CUSTOMER_CANCELLED)
    if order_status in PAID_UNDELIVERED:
        return refund_rest(payment, CompensationReason.CUSTOMER_CANCELLED)
    return None


def on_restaurant_rejected(order_status: OrderStatus, payment: PaymentRef) -> RefundPayment | None:
    """A paid order the restaurant turns down is refunded in full."""
    if order_status in PAID_UNDELIVERED:
        return refund_rest(payment, CompensationReason.RESTAURANT_REJECTED)
    return None


def on_restaurant_silent(order_status: OrderStatus, payment: PaymentRef) -> RefundPayment | None:
    """A paid order the restaurant never accepted is rejected for it, and refunded in full."""
    if order_status is OrderStatus.PENDING:
        return refund_rest(payment, CompensationReason.RESTAURANT_DEADLINE)
    return None


def is_overdue(entered_at: datetime, now: datetime, limit: timedelta) -> bool:
    if entered_at.tzinfo is None or now.tzinfo is None:
        # Naive times from two processes may be in two zones; refuse to guess.
        raise ValueError("entered_at and now must be timezone-aware")
    return now - entered_at > limit


def overdue(
    status: OrderStatus,
    entered_at: datetime,
    now: datetime,
    payment: PaymentRef,
    deadlines: Deadlines = DEFAULT_DEADLINES,
) -> Command | None:
    """The compensation an order stuck in ``status`` since ``entered_at`` is owed by ``now``."""
    limit = deadlines.for_status(status)
    if limit is None or not is_overdue(entered_at, now, limit):
        return None
    if status is OrderStatus.PAYMENT_PENDING:
        return cancel(payment, CompensationReason.PAYMENT_DEADLINE)
    if status is OrderStatus.PAYMENT_FAILED:
        return cancel(payment, CompensationReason.RETRY_DEADLINE)
    if status is OrderStatus.PENDING:
        return on_restaurant_silent(status, payment)
    return refund_rest(payment, CompensationReason.REFUND_DEADLINE)
