"""The payment state machine (the shared rules are in ``transitions``).

Payment moves (PROCESSING and FAILED may be cancelled as well as PENDING: a payment that
never finishes must be cancellable by the deadline rule, and cancelling a failed payment
closes its intent so that no later attempt can capture money for an abandoned order)::

    PENDING -> PROCESSING | CANCELLED
    PROCESSING -> COMPLETED | FAILED | CANCELLED
    FAILED -> PROCESSING (a new attempt, command only) | CANCELLED
    COMPLETED -> REFUND_PENDING
    REFUND_PENDING -> PARTIALLY_REFUNDED | REFUNDED
    REFUND_PENDING -> COMPLETED | PARTIALLY_REFUNDED (a refund failed for good, command only)
    PARTIALLY_REFUNDED -> REFUND_PENDING (a further refund, command only)

Whether a finished refund leaves the payment PARTIALLY_REFUNDED or REFUNDED depends on
amounts, not events: ask ``paysim.domain.refunds.status_after_refunds`` (and
``status_after_failed_refund`` for where a failed refund leaves it).
"""

from __future__ import annotations

from collections.abc import Mapping

from paysim.domain.events import PaymentEventType
from paysim.domain.status import PaymentStatus
from paysim.domain.transitions import StateMachine, Transition

PAYMENT_MOVES: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.PROCESSING, PaymentStatus.CANCELLED}),
    PaymentStatus.PROCESSING: frozenset(
        {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.CANCELLED}
    ),
    PaymentStatus.FAILED: frozenset({PaymentStatus.PROCESSING, PaymentStatus.CANCELLED}),
    PaymentStatus.COMPLETED: frozenset({PaymentStatus.REFUND_PENDING}),
    PaymentStatus.REFUND_PENDING: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.COMPLETED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.REFUND_PENDING}),
    PaymentStatus.CANCELLED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}

# CANCELLED ranks above FAILED so that cancelling a failed payment is forward; it ties
# with COMPLETED because neither can follow the other.
PAYMENT_RANK: Mapping[PaymentStatus, int] = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.PROCESSING: 1,
    PaymentStatus.FAILED: 2,
    PaymentStatus.CANCELLED: 3,
    PaymentStatus.COMPLETED: 3,
    PaymentStatus.REFUND_PENDING: 4,
    PaymentStatus.PARTIALLY_REFUNDED: 5,
    PaymentStatus.REFUNDED: 6,
}

PAYMENT_MACHINE: StateMachine[PaymentStatus] = StateMachine(
    "payment",
    PAYMENT_MOVES,
    PAYMENT_RANK,
    restarts={PaymentStatus.FAILED: PaymentStatus.PROCESSING},
)

CAPTURED: frozenset[PaymentStatus] = frozenset(
    {
        PaymentStatus.COMPLETED,
        PaymentStatus.REFUND_PENDING,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.REFUNDED,
    }
)
"""Payments whose money was captured (some or all of it may have gone back since)."""

REFUNDABLE: frozenset[PaymentStatus] = CAPTURED - {PaymentStatus.REFUNDED}
"""Payments a refund may be asked for (how much is ``refunds``' question)."""

REFUNDED: frozenset[PaymentStatus] = frozenset(
    {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}
)
"""Payments refunded at least in part."""

PAYMENT_EVENT_ON_ENTER: Mapping[PaymentStatus, PaymentEventType] = {
    PaymentStatus.PENDING: PaymentEventType.PAYMENT_INITIATED,
    PaymentStatus.PROCESSING: PaymentEventType.PAYMENT_PROCESSING,
    PaymentStatus.COMPLETED: PaymentEventType.PAYMENT_COMPLETED,
    PaymentStatus.FAILED: PaymentEventType.PAYMENT_FAILED,
    PaymentStatus.CANCELLED: PaymentEventType.PAYMENT_CANCELLED,
    PaymentStatus.REFUND_PENDING: PaymentEventType.PAYMENT_REFUND_INITIATED,
    PaymentStatus.PARTIALLY_REFUNDED: PaymentEventType.PAYMENT_REFUNDED,
    PaymentStatus.REFUNDED: PaymentEventType.PAYMENT_REFUNDED,
}
"""The event a payment publishes on entering each status."""


def move_payment(current: PaymentStatus, target: PaymentStatus) -> PaymentStatus:
    """A commanded move: the new status, or ``IllegalTransition``."""
    return PAYMENT_MACHINE.move(current, target)


def apply_payment_event(
    current: PaymentStatus,
    target: PaymentStatus,
    *,
    event_attempt: int | None = None,
    current_attempt: int | None = None,
) -> Transition[PaymentStatus]:
    """An event's status: applied if forward, else ignored with a reason."""
    return PAYMENT_MACHINE.offer(
        current, target, event_attempt=event_attempt, current_attempt=current_attempt
    )
