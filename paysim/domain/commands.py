"""Commands: what the saga (or the API) asks the payment service to do, in the imperative.

A command is a request that may be refused; an event is a fact. Commands carry what the
Stripe call needs to be idempotent: a refund carries a ``request_id`` chosen by whoever
issues it, so that the same logical refund, issued again by a retry or by a second saga
path, maps to the same Stripe idempotency key and can never pay out twice.

``reason`` is for logs, events and people. The gateway must not send it to Stripe:
Stripe rejects a reused idempotency key whose parameters differ, and a retried refund
may carry another reason (a deadline retry) than the first try did.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from paysim.domain.money import Money
from paysim.errors import PermanentError


class InvalidCommandError(PermanentError, ValueError):
    """A command built with values that can never be carried out."""


class CompensationReason(StrEnum):
    """Why the saga asks for a refund or a cancellation."""

    CUSTOMER_CANCELLED = "customer_cancelled"
    RESTAURANT_REJECTED = "restaurant_rejected"
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_NOT_PLACED = "order_not_placed"
    ORDER_CANCELLED = "order_cancelled"
    ORDER_ALREADY_PAID = "order_already_paid"
    PAYMENT_DEADLINE = "payment_deadline"
    RETRY_DEADLINE = "retry_deadline"
    RESTAURANT_DEADLINE = "restaurant_deadline"
    REFUND_DEADLINE = "refund_deadline"


def _check_ids(payment_id: int, order_id: int) -> None:
    for name, value in (("payment_id", payment_id), ("order_id", order_id)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidCommandError(f"{name} must be a positive int, got {value!r}")


@dataclass(frozen=True, slots=True)
class RefundPayment:
    """Refund ``amount`` of a captured payment (the Stripe key comes from ``request_id``)."""

    payment_id: int
    order_id: int
    amount: Money
    reason: str
    request_id: str

    def __post_init__(self) -> None:
        _check_ids(self.payment_id, self.order_id)
        if not self.amount.is_positive:
            raise InvalidCommandError(f"refund of {self.amount} must be positive")
        if not self.request_id:
            raise InvalidCommandError("a refund needs a request_id to be idempotent")


@dataclass(frozen=True, slots=True)
class CancelPayment:
    """Cancel a payment that has not been captured (one cancel per payment)."""

    payment_id: int
    order_id: int
    reason: str

    def __post_init__(self) -> None:
        _check_ids(self.payment_id, self.order_id)


Command = RefundPayment | CancelPayment
"""Every command the saga can return."""


def compensation_request_id(order_id: int, payment_id: int) -> str:
    """The request id of the refund that compensates an order's payment.

    One per (order, payment): every saga path that refunds the same payment for the same
    order (a cancel, a late completion, a deadline retry) lands on the same Stripe refund.
    """
    return f"compensate-order-{order_id}-payment-{payment_id}"
