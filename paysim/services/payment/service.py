"""The payment service's operations: create, confirm, cancel, refund, apply outcomes.

Each operation follows one pattern: check and record intent in a transaction (state plus
the events owed, via the outbox), call Stripe outside any transaction with a key derived
from the operation, then record the outcome in a second transaction. A crash between
the two leaves the payment in a pending status that a retry of the same operation
(same key, so no second charge), Stripe's webhook, or the reconciler (which asks Stripe)
completes. An answer that does not say what Stripe did (a timeout, a 409 "still
running") leaves the outcome unknown, never failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from paysim.domain import idempotency_keys as keys
from paysim.domain import order_ids
from paysim.domain.clock import utc_now
from paysim.domain.events import PaymentEventType
from paysim.domain.money import Money
from paysim.domain.payment_state import PAYMENT_EVENT_ON_ENTER, apply_payment_event, move_payment
from paysim.domain.status import PaymentMethod, PaymentStatus
from paysim.errors import PermanentError, TransientError
from paysim.gateway.stripe_gateway import StripeGateway, StripeIntent, StripeUnavailableError
from paysim.services.payment import repository as repo
from paysim.services.payment.payment_errors import (
    IntentMovedOnError,
    StripeRefusedError,
    stripe_refusals,
)
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.stripe_truth import intent_outcome
from paysim.services.payment.tables import instance
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class PaymentNotCancellableError(PermanentError):
    """Stripe refused the cancel: the intent had moved on (captured, most often)."""


class IntentNotCreatedError(TransientError):
    """The payment is recorded, but Stripe did not create its PaymentIntent yet."""

    def __init__(self, payment_id: int, cause: Exception) -> None:
        super().__init__(
            f"payment {payment_id} is recorded but Stripe did not create its PaymentIntent "
            f"({cause}); retry the request with the same Idempotency-Key (or confirm "
            f"payment {payment_id}) to finish it"
        )
        self.payment_id = payment_id


@dataclass(frozen=True, slots=True)
class CreateIntent:
    user_id: int
    amount: Money
    payment_method: PaymentMethod = PaymentMethod.CARD
    order_id: int | None = None
    request_key: str | None = None

    def fingerprint(self) -> str:
        """What a reuse of ``request_key`` must repeat to get this payment back."""
        return keys.request_fingerprint(
            "create-intent",
            {
                "userId": self.user_id,
                "amountMinor": self.amount.minor,
                "currency": self.amount.currency,
                "paymentMethod": self.payment_method.value,
                "orderId": self.order_id,
            },
        )


class PaymentService(TransactionalService):
    """Payments against Stripe, with state and events committed together."""

    def __init__(
        self, engine: Engine, gateway: StripeGateway, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(engine, clock=clock)
        self._gateway = gateway
        # Read now, in a transaction of its own: read lazily it would open a second
        # transaction inside a caller's (a webhook's), which SQLite makes wait on itself.
        self.namespace = self._load_namespace()

    def _load_namespace(self) -> str:
        """This store's prefix for Stripe idempotency keys, created once and kept."""
        with self.uow() as uow:
            found = uow.connection.execute(select(instance.c.namespace)).scalar()
            if found is None:
                found = uuid.uuid4().hex[:12]
                uow.connection.execute(insert(instance).values(namespace=found))
        return str(found)

    def get(self, payment_id: int) -> Payment:
        with self.reading() as conn:
            return repo.get(conn, payment_id)

    def list(self, limit: int) -> list[Payment]:
        with self.reading() as conn:
            return repo.all_payments(conn, limit)

    def create_intent(self, cmd: CreateIntent) -> Payment:
        """A new payment and its PaymentIntent; the same request key (of the same user,
        with the same parameters) gets the same payment back, finished if it was not."""
        fingerprint = cmd.fingerprint()
        with self.uow() as uow:
            found = (
                repo.by_request_key(uow.connection, cmd.user_id, cmd.request_key)
                if cmd.request_key
                else None
            )
            if found is not None:
                payment, first_print = found
                keys.check_fingerprint(str(cmd.request_key), first_print, fingerprint)
            else:
                order_id = _order_id(uow, cmd)
                payment = repo.insert_payment(
                    uow.connection,
                    order_id=order_id,
                    user_id=cmd.user_id,
                    amount=cmd.amount,
                    payment_method=cmd.payment_method,
                    request_key=cmd.request_key,
                    request_fingerprint=fingerprint if cmd.request_key else None,
                    now=self._clock(),
                )
        if payment.status is PaymentStatus.PENDING and payment.stripe_payment_intent_id is None:
            return self.finish_intent(payment)
        return payment

    def finish_intent(self, payment: Payment) -> Payment:
        """Create the PaymentIntent of a payment that has none yet.

        The Stripe key is derived from the payment id, so however often this runs (a
        client's retry, a confirm, the reconciler) Stripe makes one intent. While Stripe
        is unreachable the payment stays PENDING without one (``IntentNotCreatedError``).
        """
        try:
            with stripe_refusals():
                intent = self._gateway.create_intent(
                    payment.amount,
                    idempotency_key=keys.create_intent_key(payment.id, namespace=self.namespace),
                    metadata={"paymentId": str(payment.id), "orderId": str(payment.order_id)},
                )
        except StripeRefusedError as refused:
            # Stripe will refuse it every time. No order has heard of this payment yet
            # (nothing was published): close it quietly.
            self.apply_outcome(
                payment.id,
                PaymentStatus.CANCELLED,
                "create-intent refused",
                None,
                {"cancel_reason": f"intent creation failed: {refused}"},
                publish=False,
            )
            raise
        except StripeUnavailableError as unknown:
            raise IntentNotCreatedError(payment.id, unknown) from unknown
        with self.uow() as uow:
            current = repo.get(uow.connection, payment.id)
            if current.stripe_payment_intent_id is not None:
                return current  # finished meanwhile by a concurrent retry
            created = repo.save(
                uow.connection,
                current,
                replace(
                    current, stripe_payment_intent_id=intent.id, client_secret=intent.client_secret
                ),
                "create-intent",
                self._clock(),
            )
            if created.status is PaymentStatus.PENDING:
                uow.outbox.add(payment_event(created, PaymentEventType.PAYMENT_INITIATED))
        log.info("payment initiated paymentId=%s orderId=%s", created.id, created.order_id)
        return created

    def cancel(self, payment_id: int, reason: str) -> Payment:
        with self.uow() as uow:
            payment = repo.get(uow.connection, payment_id)
            move_payment(payment.status, PaymentStatus.CANCELLED)
            # Kept before Stripe is called: its webhook may land first, and then carries
            # the customer's reason rather than Stripe's generic one. It also marks the
            # cancel as asked for, so that the reconciler finishes it if this call dies.
            payment = repo.save(
                uow.connection,
                payment,
                replace(payment, cancel_reason=reason),
                "cancel requested",
                self._clock(),
            )
        if payment.stripe_payment_intent_id is not None:
            try:
                with stripe_refusals():
                    self._gateway.cancel(
                        payment.stripe_payment_intent_id,
                        idempotency_key=keys.cancel_key(payment_id, namespace=self.namespace),
                    )
            except IntentMovedOnError as refused:
                # Captured before the cancel came (its answer and webhook lost, say): the
                # payment takes Stripe's status, and a captured one is refunded instead.
                truth = self.reconcile(payment_id, "cancel refused: intent moved on")
                if truth.status is PaymentStatus.CANCELLED:
                    return truth
                raise PaymentNotCancellableError(
                    f"payment {payment_id} cannot be cancelled: {refused}; it is "
                    f"{truth.status} (a captured payment is refunded, not cancelled)"
                ) from refused
        return self.apply_outcome(
            payment_id, PaymentStatus.CANCELLED, "cancel", None, {"cancel_reason": reason}
        )

    def reconcile(self, payment_id: int, cause: str) -> Payment:
        """Ask Stripe for the payment's intent and apply its settled status, if any."""
        payment = self.get(payment_id)
        if payment.stripe_payment_intent_id is None:
            return payment
        intent = self._gateway.retrieve(payment.stripe_payment_intent_id)
        return self.apply_intent(payment, intent, cause, None)

    def apply_intent(
        self, payment: Payment, intent: StripeIntent, cause: str, attempt: int | None
    ) -> Payment:
        """Offer what a retrieved (or returned) intent says, if it has settled."""
        outcome = intent_outcome(intent, payment)
        if outcome is None:
            return self.get(payment.id)
        status, updates = outcome
        return self.apply_outcome(payment.id, status, cause, attempt, updates)

    def apply_outcome(
        self,
        payment_id: int,
        target: PaymentStatus,
        cause: str,
        attempt: int | None,
        updates: dict[str, Any],
        *,
        publish: bool = True,
        extra: dict[str, Any] | None = None,
        event_id: str | None = None,
        uow: UnitOfWork | None = None,
    ) -> Payment:
        """Offer an outcome; applied (with its event) only if it moves the payment forward.

        ``event_id``: the Stripe event that reported the outcome, for the audit trail.
        """
        if uow is None:
            with self.uow() as own:
                return self.apply_outcome(
                    payment_id,
                    target,
                    cause,
                    attempt,
                    updates,
                    publish=publish,
                    extra=extra,
                    event_id=event_id,
                    uow=own,
                )
        payment = repo.get(uow.connection, payment_id)
        transition = apply_payment_event(
            payment.status, target, event_attempt=attempt, current_attempt=payment.attempts
        )
        now = self._clock()
        if not transition.applied:
            repo.audit.record(
                uow.connection,
                payment_id,
                payment.status,
                target,
                applied=False,
                cause=cause,
                event_id=event_id,
                note=transition.reason,
                now=now,
            )
            log.info("ignored %s for paymentId=%s: %s", target, payment_id, transition.reason)
            return payment
        moved = repo.save(
            uow.connection,
            payment,
            replace(payment, status=target, **updates),
            cause,
            now,
            event_id=event_id,
        )
        if publish:
            event_extra = {k: v for k, v in updates.items() if k in _EVENT_FIELDS}
            uow.outbox.add(
                payment_event(
                    moved,
                    PAYMENT_EVENT_ON_ENTER[target],
                    previous=payment.status,
                    **event_extra,
                    **(extra or {}),
                )
            )
        return moved


_EVENT_FIELDS = {"failure_reason", "error_code", "decline_code", "cancel_reason"}


def _order_id(uow: UnitOfWork, cmd: CreateIntent) -> int:
    """The checkout's order: a generated id, or the client's own if it may use it."""
    if cmd.order_id is None:
        order_id = order_ids.generated(repo.next_order_id(uow.connection))
        repo.own_order(uow.connection, order_id, cmd.user_id)
        return order_id
    if order_ids.may_claim(
        cmd.order_id, cmd.user_id, repo.order_owner(uow.connection, cmd.order_id)
    ):
        repo.own_order(uow.connection, cmd.order_id, cmd.user_id)
    return cmd.order_id
