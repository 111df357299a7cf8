"""Confirming a payment: attempts, each charged at most once, never two at a time.

Each confirmation is an *attempt* (1, 2, ... after declines) with its own Stripe key. An
attempt whose answer did not say what Stripe did (a timeout, 409 "still running", 5xx)
leaves the payment PROCESSING with its outcome unknown: the client's retry with the same
payment method sends the same attempt again (same key: Stripe answers with what it did),
and a retry with another one first settles the last attempt (the intent retrieved, then
that attempt sent again) before a new one may start. An intent that moved on without the
attempt (captured by an earlier one, canceled) gives the payment Stripe's status.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from paysim.domain import idempotency_keys as keys
from paysim.domain.events import PaymentEventType
from paysim.domain.payment_state import move_payment
from paysim.domain.status import PaymentStatus
from paysim.errors import PermanentError
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.services.payment import repository as repo
from paysim.services.payment.payment_errors import (
    IntentMovedOnError,
    PaymentDeclinedError,
    StripeRefusedError,
    stripe_refusals,
)
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.service import PaymentService
from paysim.store.unit_of_work import UnitOfWork


class ConfirmationInProgressError(PermanentError):
    """A confirmation with another payment method is still waiting for Stripe's outcome."""


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    payment: Payment
    declined: PaymentDeclinedError | None = None


class PaymentConfirmations:
    """The confirming side of the payment service, over the same store and gateway."""

    def __init__(self, payments: PaymentService, gateway: StripeGateway) -> None:
        self._payments = payments
        self._gateway = gateway

    def confirm(self, payment_id: int, payment_method_id: str) -> ConfirmResult:
        """Confirm with a payment method: a new attempt, or the current one again.

        A new attempt never starts while the last one's outcome is unknown: that one is
        settled first (Stripe asked for the intent, then the attempt sent again under its
        own key, which Stripe answers with what it did).
        """
        current = self._payments.get(payment_id)
        if current.status is PaymentStatus.PENDING and current.stripe_payment_intent_id is None:
            current = self._payments.finish_intent(current)
        if (
            current.status is PaymentStatus.PROCESSING
            and current.payment_method_id != payment_method_id
        ):
            settled = self.settle_attempt(current)
            if settled.payment.status in (PaymentStatus.PROCESSING, PaymentStatus.COMPLETED):
                return settled
        with self._payments.uow() as uow:
            payment = repo.get(uow.connection, payment_id)
            if payment.status == PaymentStatus.PROCESSING:
                # The outcome of the current attempt is unknown: ask again with its key.
                if payment.payment_method_id != payment_method_id:
                    raise ConfirmationInProgressError(
                        f"payment {payment_id} is still confirming attempt {payment.attempts} "
                        f"with {payment.payment_method_id}; retry with that payment method"
                    )
            else:
                move_payment(payment.status, PaymentStatus.PROCESSING)
                payment = self._enter_processing(uow, payment, payment_method_id)
        return self._send_confirm(payment, payment_method_id)

    def settle_attempt(self, payment: Payment) -> ConfirmResult:
        """Learn the outcome of a PROCESSING payment's last attempt, and apply it."""
        truth = self._payments.reconcile(payment.id, "retrieved from Stripe")
        if truth.status is not PaymentStatus.PROCESSING:
            return ConfirmResult(truth)
        assert truth.payment_method_id is not None
        return self._send_confirm(truth, truth.payment_method_id)

    def _send_confirm(self, payment: Payment, payment_method_id: str) -> ConfirmResult:
        attempt = payment.attempts
        assert payment.stripe_payment_intent_id is not None
        key = keys.confirm_key(payment.id, attempt, namespace=self._payments.namespace)
        try:
            with stripe_refusals():
                intent = self._gateway.confirm(
                    payment.stripe_payment_intent_id, payment_method_id, idempotency_key=key
                )
        except PaymentDeclinedError as declined:
            failed = self._payments.apply_outcome(
                payment.id,
                PaymentStatus.FAILED,
                "confirm declined",
                attempt,
                {
                    "failure_reason": declined.message,
                    "error_code": declined.code,
                    "decline_code": declined.decline_code,
                },
            )
            return ConfirmResult(failed, declined)
        except IntentMovedOnError:
            # The intent moved on without this attempt (an earlier one captured, or it
            # was canceled): what it is now is the truth.
            truth = self._payments.reconcile(payment.id, "confirm refused: intent moved on")
            if truth.status is PaymentStatus.CANCELLED:
                move_payment(truth.status, PaymentStatus.PROCESSING)  # says why: it is final
            return ConfirmResult(truth)
        except StripeRefusedError as refused:
            self._payments.apply_outcome(
                payment.id,
                PaymentStatus.FAILED,
                "confirm refused",
                attempt,
                {"failure_reason": str(refused), "error_code": refused.code},
            )
            raise
        # "processing" and friends change nothing: Stripe's webhook will tell the outcome.
        return ConfirmResult(
            self._payments.apply_intent(payment, intent, "confirm succeeded", attempt)
        )

    def _enter_processing(self, uow: UnitOfWork, payment: Payment, pm: str) -> Payment:
        if payment.stripe_payment_intent_id is None:
            raise PermanentError(f"payment {payment.id} has no PaymentIntent to confirm")
        processing = repo.save(
            uow.connection,
            payment,
            replace(
                payment,
                status=PaymentStatus.PROCESSING,
                attempts=payment.attempts + 1,
                payment_method_id=pm,
                failure_reason=None,
                error_code=None,
                decline_code=None,
            ),
            "confirm",
            self._payments.now(),
        )
        uow.outbox.add(
            payment_event(processing, PaymentEventType.PAYMENT_PROCESSING, previous=payment.status)
        )
        return processing
