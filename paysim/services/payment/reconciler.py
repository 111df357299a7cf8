"""The reconciler: whatever has waited on Stripe too long is settled by asking Stripe.

A payment's outcome normally arrives twice, as the answer to paysim's call and as
Stripe's webhook. Both can be lost (a timeout after Stripe acted, a webhook endpoint
down for longer than Stripe retries), and then nothing else would ever move the payment:
a confirmation stays PROCESSING though Stripe captured the money, and an order's
deadline keeps asking to cancel an intent Stripe has long refused to cancel.

Every pass takes what has been in flight longer than ``after`` and settles it:

* a PROCESSING payment: the intent is retrieved and a settled status applied (through
  the forward-only ``apply_outcome``); if Stripe's intent does not tell (the confirmation
  never arrived, or was declined), the attempt is sent again under its own key, which
  Stripe answers with what it did, or does now;
* a cancel asked for and not finished: asked again under its key (a captured payment
  is then COMPLETED, and the order service refunds it);
* a payment whose PaymentIntent was never created: created, under its key;
* refunds still PENDING: sent again under their key (a refund Stripe refuses for good
  ends FAILED).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from paysim import metrics
from paysim.domain.status import PaymentStatus
from paysim.errors import TransientError
from paysim.services.payment import repository as repo
from paysim.services.payment.confirming import PaymentConfirmations
from paysim.services.payment.refunding import PaymentRefunds
from paysim.services.payment.repository import Payment
from paysim.services.payment.service import PaymentNotCancellableError, PaymentService

log = logging.getLogger(__name__)

BATCH = 100
"""Payments settled per pass at most: a long Stripe outage is worked off over passes."""


@dataclass(frozen=True, slots=True)
class ReconcilePass:
    """What one pass looked at and changed."""

    checked: int
    changed: int
    refunds_resumed: int


class PaymentReconciler:
    """Settles in-flight payments and refunds against Stripe, one pass at a time."""

    def __init__(
        self,
        payments: PaymentService,
        confirmations: PaymentConfirmations,
        refunds: PaymentRefunds,
        *,
        after: timedelta,
    ) -> None:
        self._payments = payments
        self._confirmations = confirmations
        self._refunds = refunds
        self.after = after

    def run_once(self) -> ReconcilePass:
        before = self._payments.now() - self.after
        with self._payments.reading() as conn:
            waiting = repo.in_flight(conn, before, BATCH)
        changed = 0
        for payment in waiting:
            try:
                settled = self._settle(payment)
            except TransientError as unavailable:
                # Stripe is still out of reach: the next pass tries again, and this one
                # does not spend a timeout on every payment meanwhile.
                log.warning("reconciling paymentId=%s: %s", payment.id, unavailable)
                break
            except Exception:
                log.exception("reconciling paymentId=%s failed", payment.id)
                continue
            if settled.status is not payment.status:
                changed += 1
                metrics.RECONCILED.labels(settled.status.value).inc()
                log.warning(
                    "reconciled paymentId=%s from %s to %s (Stripe is the source of truth)",
                    payment.id,
                    payment.status,
                    settled.status,
                )
        resumed = self._refunds.resume_stuck_refunds(self.after)
        return ReconcilePass(len(waiting), changed, resumed)

    def _settle(self, payment: Payment) -> Payment:
        if payment.stripe_payment_intent_id is None:
            return self._payments.finish_intent(payment)
        if payment.cancel_reason is not None and payment.status in repo.CANCELLABLE:
            return self._cancel_again(payment)
        if payment.status is PaymentStatus.PROCESSING:
            return self._confirmations.settle_attempt(payment).payment
        return payment

    def _cancel_again(self, payment: Payment) -> Payment:
        assert payment.cancel_reason is not None
        try:
            return self._payments.cancel(payment.id, payment.cancel_reason)
        except PaymentNotCancellableError:
            # Captured before the cancel: the payment took Stripe's status already.
            return self._payments.get(payment.id)
