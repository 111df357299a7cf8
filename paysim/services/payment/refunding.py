"""Refunds of captured payments: asked for by the API or by the order service's event.

One logical refund is one row (its request id), created with the payment's move to
REFUND_PENDING and the event owed, in one transaction; Stripe is then called with a key
derived from the request id, so a retried or resumed refund is one refund at Stripe; the
outcome is a second transaction. Refunds still pending after a crash are resumed by
``resume_stuck_refunds``. A refund Stripe refuses for good (already refunded there, say)
ends FAILED: its reserved amount is released, the payment returns to where its other
refunds leave it, and PAYMENT_REFUND_FAILED tells the order service.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from paysim import metrics
from paysim.domain import idempotency_keys as keys
from paysim.domain.events import PaymentEventType
from paysim.domain.money import Money
from paysim.domain.payment_state import REFUNDABLE, move_payment
from paysim.domain.refunds import (
    status_after_failed_refund,
    status_after_refunds,
    validate_refund,
)
from paysim.domain.status import PaymentStatus, RefundStatus
from paysim.errors import PermanentError
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.services.payment import refund_repository as refund_rows
from paysim.services.payment import repository as repo
from paysim.services.payment.payment_errors import StripeRefusedError, stripe_refusals
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.service import PaymentService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class NotRefundableError(PermanentError):
    """Only a completed payment can be refunded."""


class RefundForAnotherOrderError(PermanentError):
    """A refund request names a payment that is not its order's: refunding it would
    give back another order's money."""


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """A refund request's result: the payment now, and the refund row it made."""

    payment: Payment
    refund: refund_rows.Refund


def refund_fingerprint(amount: Money | None, reason: str | None) -> str:
    """What a reuse of a refund's request id must repeat (None asks for the rest)."""
    return keys.request_fingerprint(
        "refund", {"amountMinor": None if amount is None else amount.minor, "reason": reason}
    )


class PaymentRefunds:
    """The refund side of the payment service, over the same store and Stripe gateway."""

    def __init__(self, payments: PaymentService, gateway: StripeGateway) -> None:
        self._payments = payments
        self._gateway = gateway

    def refund(
        self,
        payment_id: int,
        amount: Money | None,
        reason: str | None,
        request_id: str | None = None,
        *,
        announce: bool = True,
        fingerprint: str | None = None,
        for_order: int | None = None,
    ) -> RefundOutcome:
        """Refund all or part of a captured payment; idempotent per (payment, ``request_id``).

        ``announce`` publishes PAYMENT_REFUND_INITIATED; a refund asked for *by* that
        event (the order service's) is not announced again. ``fingerprint`` (a client's
        key) must match the one the request id was first used with. ``for_order`` (a
        refund asked for by event) must be the payment's order. A refund Stripe refuses
        for good ends FAILED, its amount released (see the outcome's refund).
        """
        request_id = request_id or f"api-{uuid.uuid4()}"
        with self._payments.uow() as uow:
            payment = repo.get(uow.connection, payment_id)
            if for_order is not None and for_order != payment.order_id:
                raise RefundForAnotherOrderError(
                    f"refund {request_id} for order {for_order} names payment {payment_id}, "
                    f"which is order {payment.order_id}'s: refused"
                )
            existing = refund_rows.by_request(
                uow.connection, payment_id, request_id, payment.amount.currency
            )
            if existing is not None and fingerprint is not None:
                keys.check_fingerprint(request_id, existing.request_fingerprint, fingerprint)
            if existing is not None and existing.status is not RefundStatus.PENDING:
                return RefundOutcome(payment, existing)
            refund = existing or self._start_refund(
                uow,
                payment,
                amount,
                reason=reason,
                request_id=request_id,
                announce=announce,
                fingerprint=fingerprint,
            )
        assert payment.stripe_payment_intent_id is not None
        try:
            with stripe_refusals():
                done = self._gateway.refund(
                    payment.stripe_payment_intent_id,
                    refund.amount,
                    idempotency_key=keys.refund_key(
                        payment_id, request_id, namespace=self._payments.namespace
                    ),
                )
        except StripeRefusedError as refused:
            return self._fail_refund(refund, refused)
        return self._finish_refund(refund, done.id)

    def _start_refund(
        self,
        uow: UnitOfWork,
        payment: Payment,
        amount: Money | None,
        *,
        reason: str | None,
        request_id: str,
        announce: bool,
        fingerprint: str | None,
    ) -> refund_rows.Refund:
        if payment.status not in REFUNDABLE:
            raise NotRefundableError(
                f"payment {payment.id} is {payment.status}; only a completed payment can be "
                "refunded"
            )
        reserved = Money(
            repo.pending_refunds_minor(uow.connection, payment.id), payment.amount.currency
        )
        to_refund = validate_refund(amount, payment.captured, payment.refunded + reserved)
        now = self._payments.now()
        refund = refund_rows.add(
            uow.connection,
            payment_id=payment.id,
            request_id=request_id,
            amount=to_refund,
            reason=reason,
            request_fingerprint=fingerprint,
            now=now,
        )
        current = payment
        if payment.status != PaymentStatus.REFUND_PENDING:
            current = repo.save(
                uow.connection,
                payment,
                replace(payment, status=PaymentStatus.REFUND_PENDING),
                "refund",
                now,
            )
        if announce:
            uow.outbox.add(
                payment_event(
                    current,
                    PaymentEventType.PAYMENT_REFUND_INITIATED,
                    previous=payment.status,
                    refund_amount_minor=to_refund.minor,
                    refund_reason=reason,
                    refund_request_id=request_id,
                )
            )
        return refund

    def _settle_refund(
        self,
        refund: refund_rows.Refund,
        record: Callable[[UnitOfWork, Payment, refund_rows.Refund], RefundOutcome],
    ) -> RefundOutcome:
        """Record a refund's outcome once: a concurrent retry that got there first wins."""
        with self._payments.uow() as uow:
            payment = repo.get(uow.connection, refund.payment_id)
            current = refund_rows.by_request(
                uow.connection, refund.payment_id, refund.request_id, payment.amount.currency
            )
            assert current is not None
            if current.status is not RefundStatus.PENDING:
                return RefundOutcome(payment, current)
            return record(uow, payment, current)

    def _finish_refund(self, refund: refund_rows.Refund, stripe_refund_id: str) -> RefundOutcome:
        def record(uow: UnitOfWork, payment: Payment, current: refund_rows.Refund) -> RefundOutcome:
            now = self._payments.now()
            refund_rows.finish(
                uow.connection, refund.id, RefundStatus.SUCCEEDED, stripe_refund_id, now
            )
            refunded = payment.refunded + refund.amount
            status = status_after_refunds(payment.captured, refunded)
            moved = repo.save(
                uow.connection,
                payment,
                replace(payment, status=status, refunded=refunded),
                "refunded",
                now,
            )
            uow.outbox.add(
                payment_event(
                    moved,
                    PaymentEventType.PAYMENT_REFUNDED,
                    previous=payment.status,
                    refund_amount_minor=refund.amount.minor,
                    refund_id=stripe_refund_id,
                    refund_reason=refund.reason,
                    refund_request_id=refund.request_id,
                )
            )
            done = replace(
                current, status=RefundStatus.SUCCEEDED, stripe_refund_id=stripe_refund_id
            )
            return RefundOutcome(moved, done)

        return self._settle_refund(refund, record)

    def _fail_refund(
        self, refund: refund_rows.Refund, refused: StripeRefusedError
    ) -> RefundOutcome:
        """Stripe refused for good: the refund is FAILED, its reservation released, the
        payment back where its other refunds leave it, and the failure published."""
        reason = str(refused)

        def record(uow: UnitOfWork, payment: Payment, current: refund_rows.Refund) -> RefundOutcome:
            now = self._payments.now()
            refund_rows.fail(uow.connection, refund.id, reason, refused.code, now)
            still_pending = Money(
                repo.pending_refunds_minor(uow.connection, payment.id), payment.amount.currency
            )
            status = status_after_failed_refund(payment.captured, payment.refunded, still_pending)
            if status is not payment.status:
                move_payment(payment.status, status)
            moved = repo.save(
                uow.connection, payment, replace(payment, status=status), "refund failed", now
            )
            uow.outbox.add(
                payment_event(
                    moved,
                    PaymentEventType.PAYMENT_REFUND_FAILED,
                    previous=payment.status,
                    refund_amount_minor=refund.amount.minor,
                    refund_reason=refund.reason,
                    refund_request_id=refund.request_id,
                    failure_reason=reason,
                    error_code=refused.code,
                )
            )
            metrics.REFUNDS_FAILED.labels(refused.code or "unknown").inc()
            log.warning(
                "refund %s of paymentId=%s failed for good: %s",
                refund.request_id,
                refund.payment_id,
                reason,
            )
            failed = replace(
                current, status=RefundStatus.FAILED, failure_reason=reason, error_code=refused.code
            )
            return RefundOutcome(moved, failed)

        return self._settle_refund(refund, record)

    def refunds_of(self, payment: Payment) -> list[refund_rows.Refund]:
        with self._payments.reading() as conn:
            return refund_rows.of_payment(conn, payment.id, payment.amount.currency)

    def resume_stuck_refunds(self, older_than: timedelta) -> int:
        """Finish refunds left PENDING by a crash; same request id, so same Stripe key."""
        with self._payments.reading() as conn:
            stuck = refund_rows.stuck(conn, self._payments.now() - older_than)
        for payment_id, request_id in stuck:
            try:
                self.refund(payment_id, None, None, request_id, announce=False)
            except Exception:
                log.exception("resuming refund %s of paymentId=%s failed", request_id, payment_id)
        return len(stuck)
