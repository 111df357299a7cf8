"""Refund arithmetic on exact money: what may still be refunded, and what a refund leaves.

All amounts are ``Money`` in the payment's currency. ``refunded`` counts every refund
already made or in flight, so two refunds racing for the same remainder cannot both pass.
"""

from __future__ import annotations

from paysim.domain.money import Money
from paysim.domain.status import PaymentStatus
from paysim.errors import PermanentError


class RefundError(PermanentError, ValueError):
    """A refund that cannot be made as asked; retrying it will not help."""


class RefundCurrencyError(RefundError):
    """A refund in another currency than the payment's."""


class RefundNotPositiveError(RefundError):
    """A refund of zero or less."""


class RefundTooLargeError(RefundError):
    """A refund above what is still refundable."""


class NothingToRefundError(RefundError):
    """A payment whose captured amount has already been refunded in full."""


class RefundLedgerError(RefundError):
    """Captured and refunded totals that contradict each other (a corrupt record)."""


def refundable(captured: Money, refunded: Money) -> Money:
    """What can still be refunded: captured minus already refunded."""
    if refunded.currency != captured.currency:
        raise RefundLedgerError(
            f"refunded {refunded} is not in the captured currency {captured.currency.upper()}"
        )
    if captured.minor < 0 or refunded.minor < 0:
        raise RefundLedgerError(f"captured {captured} and refunded {refunded} must be >= 0")
    if captured < refunded:
        raise RefundLedgerError(f"refunded {refunded} exceeds the {captured} captured")
    return captured - refunded


def validate_refund(requested: Money | None, captured: Money, refunded: Money) -> Money:
    """The amount to refund for a request; ``None`` asks for the rest.

    Raises a ``RefundError`` that says what is wrong with the request.
    """
    remaining = refundable(captured, refunded)
    if requested is None:
        if not remaining.is_positive:
            raise NothingToRefundError(
                f"nothing left to refund: {captured} captured, {refunded} already refunded"
            )
        return remaining
    if requested.currency != captured.currency:
        raise RefundCurrencyError(
            f"refund in {requested.currency.upper()} does not match the payment's "
            f"{captured.currency.upper()}"
        )
    if not requested.is_positive:
        raise RefundNotPositiveError(f"refund of {requested} must be positive")
    if remaining < requested:
        raise RefundTooLargeError(f"refund of {requested} exceeds the {remaining} still refundable")
    return requested


def status_after_refunds(captured: Money, refunded: Money) -> PaymentStatus:
    """A captured payment's settled status given the total refunded so far.

    COMPLETED when nothing was refunded, PARTIALLY_REFUNDED when some of it was,
    REFUNDED when all of it was.
    """
    remaining = refundable(captured, refunded)
    if not refunded.is_positive:
        return PaymentStatus.COMPLETED
    if remaining.is_positive:
        return PaymentStatus.PARTIALLY_REFUNDED
    return PaymentStatus.REFUNDED


def status_after_refund(captured: Money, refunded_before: Money, amount: Money) -> PaymentStatus:
    """The status a successful refund of ``amount`` leaves: PARTIALLY_REFUNDED or REFUNDED.

    The refund is validated first, so an invalid one raises instead of yielding a status.
    """
    amount = validate_refund(amount, captured, refunded_before)
    return status_after_refunds(captured, refunded_before + amount)


def status_after_failed_refund(
    captured: Money, refunded: Money, still_pending: Money
) -> PaymentStatus:
    """The status a payment returns to when one of its refunds failed for good.

    The failed refund's reservation is released: with other refunds still in flight the
    payment stays REFUND_PENDING, otherwise it is back where it was before the refund
    (COMPLETED, or PARTIALLY_REFUNDED when earlier refunds went through).
    """
    if still_pending.currency != captured.currency or still_pending.minor < 0:
        raise RefundLedgerError(f"pending refunds {still_pending} are not a valid amount")
    refundable(captured, refunded + still_pending)
    if still_pending.is_positive:
        return PaymentStatus.REFUND_PENDING
    return status_after_refunds(captured, refunded)
