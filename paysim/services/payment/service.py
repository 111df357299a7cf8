"""The payment service's operations: create, confirm, cancel, refund, apply outcomes.

Each operation follows one pattern: check and record intent in a transaction (state plus
the events owed, via the outbox), call Stripe outside any transaction with a key derived
from the operation, then record the outcome in a second transaction. A crash between
the two leaves the payment in a pending status that a retry of the same operation
(same key, so no second charge) or Stripe's webhook completes.
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
from paysim.errors import PermanentError
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.services.payment import repository as repo
from paysim.services.payment.payment_errors import (
    PaymentDeclinedError,
    StripeRefusedError,
    stripe_refusals,
)
from paysim.services.payment.payment_events import payment_event
from paysim.services.payment.repository import Payment
from paysim.services.payment.tables import instance
from paysim.store.transactional_service import TransactionalService
from paysim.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class ConfirmationInProgressError(PermanentError):
    """A confirmation with another payment method is still waiting for Stripe's outcome."""


@dataclass(frozen=True, slots=True)
class CreateIntent:
    user_id: int
    amount: Money
    payment_method: PaymentMethod = PaymentMethod.CARD
    order_id: int | None = None
    request_key: str | None = None


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    payment: Payment
    declined: PaymentDeclinedError | None = None


class PaymentService(TransactionalService):
    """Payments against Stripe, with state and events committed together."""

    def __init__(
        self, engine: Engine, gateway: StripeGateway, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(engine, clock=clock)
        self._gateway = gateway
        self._namespace: str | None = None

    @property
    def namespace(self) -> str:
        """This store's prefix for Stripe idempotency keys, created once and kept."""
        if self._namespace is None:
            with self.uow() as uow:
                found = uow.connection.execute(select(instance.c.namespace)).scalar()
                if found is None:
                    found = uuid.uuid4().hex[:12]
                    uow.connection.execute(insert(instance).values(namespace=found))
            self._namespace = str(found)
        return self._namespace

    def get(self, payment_id: int) -> Payment:
        with self.uow() as uow:
            return repo.get(uow.connection, payment_id)

    def list(self, limit: int) -> list[Payment]:
        with self.uow() as uow:
            return repo.all_payments(uow.connection, limit)

    def create_intent(self, cmd: CreateIntent) -> Payment:
        with self.uow() as uow:
            if cmd.request_key and (same := repo.by_request_key(uow.connection, cmd.request_key)):
                return same
            order_id = _order_id(uow, cmd)
            payment = repo.insert_payment(
                uow.connection,
                order_id=order_id,
                user_id=cmd.user_id,
                amount=cmd.amount,
                payment_method=cmd.payment_method,
                request_key=cmd.request_key,
                now=self._clock(),
            )
        try:
            with stripe_refusals():
                intent = self._gateway.create_intent(
                    cmd.amount,
                    idempotency_key=keys.create_intent_key(payment.id, namespace=self.namespace),
                    metadata={"paymentId": str(payment.id), "orderId": str(order_id)},
                )
        except Exception as exc:
            # No order has heard of this payment yet (nothing was published): close it quietly.
            self.apply_outcome(
                payment.id,
                PaymentStatus.CANCELLED,
                "create-intent failed",
                None,
                {"cancel_reason": f"intent creation failed: {exc}"},
                publish=False,
            )
            raise
        with self.uow() as uow:
            current = repo.get(uow.connection, payment.id)
            created = repo.save(
                uow.connection,
                current,
                replace(
                    current, stripe_payment_intent_id=intent.id, client_secret=intent.client_secret
                ),
                "create-intent",
                self._clock(),
            )
            uow.outbox.add(payment_event(created, PaymentEventType.PAYMENT_INITIATED))
        log.info("payment initiated paymentId=%s orderId=%s", created.id, created.order_id)
        return created

    def confirm(self, payment_id: int, payment_method_id: str) -> ConfirmResult:
        with self.uow() as uow:
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
        attempt = payment.attempts
        assert payment.stripe_payment_intent_id is not None
        key = keys.confirm_key(payment_id, attempt, namespace=self.namespace)
        try:
            with stripe_refusals():
                intent = self._gateway.confirm(
                    payment.stripe_payment_intent_id, payment_method_id, idempotency_key=key
                )
        except PaymentDeclinedError as declined:
            failed = self.apply_outcome(
                payment_id,
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
        except StripeRefusedError as refused:
            self.apply_outcome(
                payment_id,
                PaymentStatus.FAILED,
                "confirm refused",
                attempt,
                {"failure_reason": str(refused), "error_code": refused.code},
            )
            raise
        if intent.status == "succeeded":
            completed = self.apply_outcome(
                payment_id,
                PaymentStatus.COMPLETED,
                "confirm succeeded",
                attempt,
                {
                    "stripe_charge_id": intent.latest_charge,
                    "captured": Money(intent.amount_received, intent.currency),
                    "receipt_url": receipt_url(intent.latest_charge),
                },
            )
            return ConfirmResult(completed)
        # "processing" and friends: Stripe's webhook will tell the outcome.
        return ConfirmResult(self.get(payment_id))

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
            self._clock(),
        )
        uow.outbox.add(
            payment_event(processing, PaymentEventType.PAYMENT_PROCESSING, previous=payment.status)
        )
        return processing

    def cancel(self, payment_id: int, reason: str) -> Payment:
        with self.uow() as uow:
            payment = repo.get(uow.connection, payment_id)
            move_payment(payment.status, PaymentStatus.CANCELLED)
            # Kept before Stripe is called: its webhook may land first, and then carries
            # the customer's reason rather than Stripe's generic one.
            payment = repo.save(
                uow.connection,
                payment,
                replace(payment, cancel_reason=reason),
                "cancel requested",
                self._clock(),
            )
        if payment.stripe_payment_intent_id is not None:
            with stripe_refusals():
                self._gateway.cancel(
                    payment.stripe_payment_intent_id,
                    idempotency_key=keys.cancel_key(payment_id, namespace=self.namespace),
                )
        return self.apply_outcome(
            payment_id, PaymentStatus.CANCELLED, "cancel", None, {"cancel_reason": reason}
        )

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


def receipt_url(charge_id: str | None) -> str | None:
    return f"https://pay.stripe.com/receipts/{charge_id}" if charge_id else None
