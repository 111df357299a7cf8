"""The payment state machine (the shared rules are in ``transitions``).

Payment moves (PROCESSING and FAILED may be cancelled as well as PENDING: a payment that
never finishes must be cancellable by the deadline rule, and cancelling a failed payment
closes its intent so that no later attempt can capture money for an abandoned order)::

    PENDING -> PROCESSING | CANCELLED
    PROCESSING -> COMPLETED | FAILED | CANCELLED
    FAILED -> PROCESSING (a new attempt, command only) | CANCELLED
    COMPLETED -> REFUND_PENDING
    REFUND_PENDING -> PARTIALLY_REFUNDED | REFUNDED
    PARTIALLY_REFUNDED -> REFUND_PENDING (a further refund, command only)

Whether a finished refund leaves the payment PARTIALLY_REFUNDED or REFUNDED depends on
amounts, not events: ask ``paysim.domain.refunds.status_after_refunds``.
"""

from __future__ import annotations

from collections.abc import Mapping

from paysim.domain.events import PaymentEventType
from paysim.domain.status import PaymentStatus
from paysim.domain.transitions import StateMachine, Transition

P = PaymentStatus

PAYMENT_MOVES: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    P.PENDING: frozenset({P.PROCESSING, P.CANCELLED}),
    P.PROCESSING: frozenset({P.COMPLETED, P.FAILED, P.CANCELLED}),
    P.FAILED: frozenset({P.PROCESSING, P.CANCELLED}),
    P.COMPLETED: frozenset({P.REFUND_PENDING}),
    P.REFUND_PENDING: frozenset({P.PARTIALLY_REFUNDED, P.REFUNDED}),
    P.PARTIALLY_REFUNDED: frozenset({P.REFUND_PENDING}),
    P.CANCELLED: frozenset(),
    P.REFUNDED: frozenset(),
}

# CANCELLED ranks above FAILED so that cancelling a failed payment is forward; it ties
# with COMPLETED because neither can follow the other.
PAYMENT_RANK: Mapping[PaymentStatus, int] = {
    P.PENDING: 0,
    P.PROCESSING: 1,
    P.FAILED: 2,
    P.CANCELLED: 3,
    P.COMPLETED: 3,
    P.REFUND_PENDING: 4,
    P.PARTIALLY_REFUNDED: 5,
    P.REFUNDED: 6,
}

PAYMENT_MACHINE: StateMachine[PaymentStatus] = StateMachine(
    "payment", PAYMENT_MOVES, PAYMENT_RANK, restarts={P.FAILED: P.PROCESSING}
)

PAYMENT_EVENT_ON_ENTER: Mapping[PaymentStatus, PaymentEventType] = {
    P.PENDING: PaymentEventType.PAYMENT_INITIATED,
    P.PROCESSING: PaymentEventType.PAYMENT_PROCESSING,
    P.COMPLETED: PaymentEventType.PAYMENT_COMPLETED,
    P.FAILED: PaymentEventType.PAYMENT_FAILED,
    P.CANCELLED: PaymentEventType.PAYMENT_CANCELLED,
    P.REFUND_PENDING: PaymentEventType.PAYMENT_REFUND_INITIATED,
    P.PARTIALLY_REFUNDED: PaymentEventType.PAYMENT_REFUNDED,
    P.REFUNDED: PaymentEventType.PAYMENT_REFUNDED,
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
