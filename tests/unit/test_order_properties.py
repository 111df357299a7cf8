"""Properties of an order and its saga under any stream of payment and delivery events.

``OrderLifecycle`` offers payment and delivery events (late, twice, from any attempt) and
the customer's and restaurant's commands to the pure order state machine, tracking the
payment attempt as the order service does. Progress is (attempt, rank): it never
decreases, a paid order never goes back to waiting for payment or to CANCELLED (it is
refunded instead), and a final status stays. The saga's compensations never ask for more
than is still refundable, and every path asks for the same refund.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from paysim.domain.bounds import MAX_AMOUNT_MINOR
from paysim.domain.commands import CancelPayment, RefundPayment, compensation_request_id
from paysim.domain.events import DeliveryEventType, PaymentEventType
from paysim.domain.money import Money
from paysim.domain.order_state import (
    ORDER_RANK,
    PAID_UNDELIVERED,
    RESTAURANT_MOVE_TARGETS,
    UNPAID,
    RestaurantMove,
    apply_order_event,
    cancel_order,
    move_order,
    order_target,
)
from paysim.domain.saga import (
    PaymentRef,
    on_customer_cancel,
    on_order_placement_failed,
    on_payment_completed,
    on_restaurant_rejected,
    overdue,
)
from paysim.domain.status import OrderStatus, PaymentStatus
from paysim.domain.transitions import IllegalTransition

OS = OrderStatus
FINAL = frozenset({OS.DELIVERED, OS.CANCELLED, OS.REFUNDED})
EVER_PAID = PAID_UNDELIVERED | {OS.CANCELLING, OS.DELIVERED, OS.REFUNDED}
"""Where a paid order can be: it goes on to delivery or to a refund, never back."""
TOTAL = Money(2599, "usd")


class OrderLifecycle(RuleBasedStateMachine):
    """One order, moved by events from the payment and delivery services and by commands."""

    def __init__(self) -> None:
        super().__init__()
        self.status = OS.PAYMENT_PENDING
        self.attempt: int | None = None
        self.was_paid = False
        self.last = (0, ORDER_RANK[self.status])
        self.last_status = self.status

    def offer(self, target: OS | None, attempt: int | None) -> None:
        if target is None:
            return
        # As the order service offers it: attempts are compared only when both are known.
        transition = apply_order_event(
            self.status,
            target,
            event_attempt=attempt,
            current_attempt=self.attempt if attempt else None,
        )
        if not transition.applied:
            assert transition.status is self.status
            return
        self.status = target
        if attempt is not None:
            self.attempt = max(attempt, self.attempt or 0)

    @rule(
        event_type=st.sampled_from(list(PaymentEventType)),
        attempt=st.none() | st.integers(1, 3),
        partial=st.booleans(),
    )
    def payment_event(
        self, event_type: PaymentEventType, attempt: int | None, partial: bool
    ) -> None:
        status = PaymentStatus.PARTIALLY_REFUNDED if partial else PaymentStatus.REFUNDED
        self.offer(order_target(event_type, payment_status=status), attempt)

    @rule(event_type=st.sampled_from(list(DeliveryEventType)))
    def delivery_event(self, event_type: DeliveryEventType) -> None:
        self.offer(order_target(event_type), None)

    @rule()
    def customer_cancels(self) -> None:
        before = self.status
        payment = PaymentRef(1, 1, TOTAL if before in EVER_PAID else Money(0, "usd"))
        command = on_customer_cancel(before, payment)
        try:
            self.status = cancel_order(before)
        except IllegalTransition:
            assert before not in UNPAID | PAID_UNDELIVERED
            assert command is None
            return
        if before in UNPAID:
            assert self.status is OS.CANCELLED
            assert isinstance(command, CancelPayment)
        else:
            assert self.status is OS.CANCELLING
            assert isinstance(command, RefundPayment)
            assert command.amount == TOTAL

    @rule(move=st.sampled_from(list(RestaurantMove)))
    def restaurant(self, move: RestaurantMove) -> None:
        before = self.status
        try:
            self.status = move_order(before, RESTAURANT_MOVE_TARGETS[move])
        except IllegalTransition:
            return
        assert before in PAID_UNDELIVERED
        if move is RestaurantMove.REJECT:
            refund = on_restaurant_rejected(before, PaymentRef(1, 1, TOTAL))
            assert refund is not None
            assert refund.amount == TOTAL

    @invariant()
    def never_backwards(self) -> None:
        now = (self.attempt or 0, ORDER_RANK[self.status])
        assert now >= self.last, f"{self.last_status} {self.last} -> {self.status} {now}"
        if self.status is not self.last_status:
            assert now > self.last
        if self.last_status in FINAL:
            assert self.status is self.last_status
        self.last, self.last_status = now, self.status

    @invariant()
    def a_paid_order_is_refunded_never_unpaid_or_cancelled(self) -> None:
        if self.status in EVER_PAID:
            self.was_paid = True
        if self.was_paid:
            assert self.status in EVER_PAID, f"paid order moved to {self.status}"


TestOrderLifecycle = OrderLifecycle.TestCase
TestOrderLifecycle.settings = settings(stateful_step_count=30)


# --- the saga's compensations ---------------------------------------------------------------

statuses = st.sampled_from(list(OS))


@st.composite
def payments(draw: st.DrawFn) -> PaymentRef:
    captured = draw(st.integers(0, MAX_AMOUNT_MINOR))
    refunded = draw(st.integers(0, captured))
    currency = draw(st.sampled_from(["usd", "jpy", "kwd"]))
    return PaymentRef(
        payment_id=draw(st.integers(1, 10)),
        order_id=draw(st.integers(1, 10)),
        captured=Money(captured, currency),
        refunded=Money(refunded, currency),
    )


@given(status=statuses, payment=payments(), paid_by=st.none() | st.integers(1, 10))
def test_every_compensation_refunds_exactly_what_is_left_under_one_request_id(
    status: OS, payment: PaymentRef, paid_by: int | None
) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    commands = [
        on_payment_completed(payment, status, paid_by=paid_by),
        on_payment_completed(payment, None),
        on_order_placement_failed(payment),
        on_customer_cancel(status, payment),
        on_restaurant_rejected(status, payment),
        overdue(status, now - timedelta(days=1), now, payment),
    ]
    left = payment.still_refundable
    refunds = [c for c in commands if isinstance(c, RefundPayment)]
    for refund in refunds:
        assert 0 < refund.amount.minor == left.minor
        assert refund.amount.currency == payment.captured.currency
        # Whichever paths fire, they name one refund: Stripe pays it out once.
        assert refund.request_id == compensation_request_id(payment.order_id, payment.payment_id)
    if not left.is_positive:
        assert refunds == []


@given(status=statuses, payment=payments())
def test_an_unpaid_order_is_cancelled_never_refunded_and_a_paid_one_never_cancelled(
    status: OS, payment: PaymentRef
) -> None:
    command = on_customer_cancel(status, payment)
    if status in UNPAID:
        assert isinstance(command, CancelPayment)
    elif status in PAID_UNDELIVERED:
        assert command is None or isinstance(command, RefundPayment)
    else:
        assert command is None


@pytest.mark.parametrize("status", list(OS))
def test_a_payment_event_that_would_reopen_a_paid_order_is_ignored(status: OS) -> None:
    if status not in EVER_PAID:
        return
    reopening = [t for t in PaymentEventType if order_target(t) in UNPAID | {OS.CANCELLED}]
    assert len(reopening) == 4  # initiated, processing, failed, cancelled
    for event_type in reopening:
        target = order_target(event_type)
        assert target is not None
        for attempt in (None, 1, 99):
            transition = apply_order_event(status, target, event_attempt=attempt, current_attempt=1)
            assert not transition.applied, transition.reason
