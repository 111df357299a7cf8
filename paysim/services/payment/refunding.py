"""Refunds of captured payments: asked for by the API or by the order service's event.

One logical refund is one row (its request id), created with the payment's move to
REFUND_PENDING and the event owed, in one transaction; Stripe is then called with a key
derived from the request id, so a retried or resumed refund is one refund at Stripe; the
outcome is a second transaction. Refunds still pending after a crash are resumed by
``resume_stuck_refunds``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import timedelta

from paysim.domain import idempotency_keys as keys
from paysim.domain.events import PaymentEventType
from paysim.domain.money import Money
from paysim.domain.payment_state import REFUNDABLE
from paysim.domain.refunds import status_after_refunds, validate_refund
from paysim.domain.status import PaymentStatus, RefundStatus
from paysim.errors import PermanentError
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.services.payment import refund_repository as refund_rows
from paysim.services.payment import repository as repo
from paysim.services.payment.payment_errors import stripe_refusals
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.service import PaymentService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class NotRefundableError(PermanentError):
    """Only a completed payment can be refunded."""


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
    ) -> Payment:
        """Refund all or part of a captured payment; idempotent per ``request_id``.

        ``announce`` publishes PAYMENT_REFUND_INITIATED; a refund asked for *by* that
        event (the order service's) is not announced again.
        """
        request_id = request_id or f"api-{uuid.uuid4()}"
        with self._payments.uow() as uow:
            payment = repo.get(uow.connection, payment_id)
            existing = refund_rows.by_request(uow.connection, request_id, payment.amount.currency)
            if existing is not None and existing.status is not RefundStatus.PENDING:
                return payment
            refund = existing or self._start_refund(
                uow, payment, amount, reason=reason, request_id=request_id, announce=announce
            )
        assert payment.stripe_payment_intent_id is not None
        with stripe_refusals():
            done = self._gateway.refund(
                payment.stripe_payment_intent_id,
                refund.amount,
                idempotency_key=keys.refund_key(
                    payment_id, request_id, namespace=self._payments.namespace
                ),
            )
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

    def _finish_refund(self, refund: refund_rows.Refund, stripe_refund_id: str) -> Payment:
        with self._payments.uow() as uow:
            payment = repo.get(uow.connection, refund.payment_id)
            current = refund_rows.by_request(
                uow.connection, refund.request_id, payment.amount.currency
            )
            if current is None or current.status is not RefundStatus.PENDING:
                return payment  # finished by a concurrent retry of the same request
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
            return moved

    def resume_stuck_refunds(self, older_than: timedelta) -> int:
        """Finish refunds left PENDING by a crash; same request id, so same Stripe key."""
        with self._payments.uow() as uow:
            stuck = refund_rows.stuck(uow.connection, self._payments.now() - older_than)
        for payment_id, request_id in stuck:
            try:
                self.refund(payment_id, None, None, request_id, announce=False)
            except Exception:
                log.exception("resuming refund %s of paymentId=%s failed", request_id, payment_id)
        return len(stuck)
