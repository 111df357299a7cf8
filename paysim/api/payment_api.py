"""The payment service's HTTP API, the plan's endpoints with paysim's validation."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic.alias_generators import to_camel

from paysim.api.operational_routes import DeadWorkers, no_dead_workers, service_app
from paysim.api.params import ListLimit, PathId
from paysim.domain.bounds import (
    MAX_AMOUNT_DIGITS,
    MAX_AMOUNT_MINOR,
    MAX_EVENT_IDS,
    MAX_ID,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_REASON_LENGTH,
    MAX_STRIPE_ID_LENGTH,
)
from paysim.domain.idempotency_keys import IdempotencyKeyReusedError
from paysim.domain.money import MAX_DECIMALS, Money
from paysim.domain.order_ids import CLIENT_ORDER_IDS, OrderIdTakenError
from paysim.domain.status import PaymentMethod, RefundStatus
from paysim.errors import PaysimError
from paysim.services.payment import audit_trail, webhook_handler
from paysim.services.payment.confirming import ConfirmationInProgressError, PaymentConfirmations
from paysim.services.payment.payment_errors import PaymentDeclinedError, StripeRefusedError
from paysim.services.payment.payment_metrics import refresh_gauges
from paysim.services.payment.refund_repository import Refund
from paysim.services.payment.refunding import (
    NotRefundableError,
    PaymentRefunds,
    refund_fingerprint,
)
from paysim.services.payment.repository import Payment, PaymentNotFoundError
from paysim.services.payment.service import (
    CreateIntent,
    IntentNotCreatedError,
    PaymentNotCancellableError,
    PaymentService,
)
from paysim.services.payment.webhook_repository import WebhookRecord

STATUSES: dict[type[PaysimError], int] = {
    PaymentNotFoundError: 404,
    OrderIdTakenError: 409,
    ConfirmationInProgressError: 409,
    NotRefundableError: 409,
    PaymentNotCancellableError: 409,
    webhook_handler.WebhookRejectedError: 400,
    PaymentDeclinedError: 402,
    StripeRefusedError: 422,
}

StripeEventId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_STRIPE_ID_LENGTH)]


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class AmountFields(CamelModel):
    """An amount as the plan's decimal ``amount`` or as exact ``amountMinor``; never both."""

    # Bounds any currency allows (8 whole digits for JPY, 3 decimals for KWD), checked
    # before any arithmetic; the currency's own decimals and the exact ceiling are
    # checked by ``Money.from_decimal``.
    amount: Decimal | None = Field(
        default=None,
        max_digits=MAX_AMOUNT_DIGITS + MAX_DECIMALS,
        decimal_places=MAX_DECIMALS,
        description="Major units, e.g. 25.99",
    )
    amount_minor: int | None = Field(
        default=None, ge=1, le=MAX_AMOUNT_MINOR, description="Minor units, e.g. 2599"
    )

    def money(self, currency: str) -> Money | None:
        if self.amount_minor is not None:
            return Money(self.amount_minor, currency)
        if self.amount is not None:
            return Money.from_decimal(self.amount, currency)
        return None

    @model_validator(mode="after")
    def _one_amount(self) -> AmountFields:
        if self.amount is not None and self.amount_minor is not None:
            raise ValueError("give amount or amountMinor, not both")
        return self


class CreateIntentRequest(AmountFields):
    user_id: int = Field(gt=0, le=MAX_ID)
    currency: str = Field(min_length=3, max_length=3, examples=["usd"])
    payment_method: PaymentMethod = PaymentMethod.CARD
    order_id: int | None = Field(
        default=None,
        gt=0,
        le=MAX_ID,
        description=(
            "Omit it: one is generated. A new order's own id must lie in "
            f"{CLIENT_ORDER_IDS.start}..{CLIENT_ORDER_IDS.stop - 1}; an id already used "
            "may be named again only by the same userId (a new payment for that order)."
        ),
    )

    @model_validator(mode="after")
    def _positive_amount(self) -> CreateIntentRequest:
        money = self.money(self.currency)
        if money is None:
            raise ValueError("amount (or amountMinor) is required")
        if not money.is_positive:
            raise ValueError(f"amount must be positive, got {money}")
        return self


class ConfirmRequest(CamelModel):
    payment_method_id: str = Field(
        min_length=1, max_length=MAX_STRIPE_ID_LENGTH, examples=["pm_card_visa"]
    )


class CancelRequest(CamelModel):
    reason: str = Field(default="requested_by_customer", min_length=1, max_length=MAX_REASON_LENGTH)


class RefundRequest(AmountFields):
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)


IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)]


def payment_view(payment: Payment) -> dict[str, Any]:
    """A payment as every endpoint shows it: without its intent's client secret, which
    only the create-intent response hands to the payment's creator."""
    return {
        "paymentId": payment.id,
        "orderId": payment.order_id,
        "userId": payment.user_id,
        "status": payment.status.value,
        "amount": str(payment.amount.to_decimal()),
        "amountMinor": payment.amount.minor,
        "currency": payment.amount.currency,
        "paymentMethod": payment.payment_method.value,
        "paymentMethodId": payment.payment_method_id,
        "stripePaymentIntentId": payment.stripe_payment_intent_id,
        "stripeChargeId": payment.stripe_charge_id,
        "receiptUrl": payment.receipt_url,
        "attempts": payment.attempts,
        "capturedMinor": payment.captured.minor,
        "refundedMinor": payment.refunded.minor,
        "failureReason": payment.failure_reason,
        "errorCode": payment.error_code,
        "declineCode": payment.decline_code,
        "cancelReason": payment.cancel_reason,
    }


def webhook_view(record: WebhookRecord) -> dict[str, Any]:
    return {
        "stripeEventId": record.stripe_event_id,
        "type": record.type,
        "paymentId": record.payment_id,
        "applied": record.applied,
        "note": record.note,
        "receivedAt": record.received_at.isoformat(),
    }


def refund_view(refund: Refund) -> dict[str, Any]:
    return {
        "requestId": refund.request_id,
        "amountMinor": refund.amount.minor,
        "status": refund.status,
        "reason": refund.reason,
        "stripeRefundId": refund.stripe_refund_id,
        "failureReason": refund.failure_reason,
        "errorCode": refund.error_code,
    }


def create_app(
    service: PaymentService,
    confirmations: PaymentConfirmations,
    refunds: PaymentRefunds,
    webhook_secret: str,
    *,
    dead_workers: DeadWorkers = no_dead_workers,
) -> FastAPI:
    """The app over a built service; ``paysim.bootstrap`` does the building."""
    gauges = partial(refresh_gauges, service)
    app = service_app(
        "paysim payment service", service.check_store, gauges, dead_workers, statuses=STATUSES
    )

    @app.exception_handler(IdempotencyKeyReusedError)
    async def _key_reused(_request: Request, exc: IdempotencyKeyReusedError) -> JSONResponse:
        # Stripe's answer to the same mistake: 400 with the type idempotency_error.
        return JSONResponse({"error": exc.error_type, "message": str(exc)}, status_code=400)

    @app.exception_handler(IntentNotCreatedError)
    async def _not_created(_request: Request, exc: IntentNotCreatedError) -> JSONResponse:
        body = {"error": type(exc).__name__, "message": str(exc), "paymentId": exc.payment_id}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    @app.post("/api/payments/create-intent", status_code=201)
    def create_intent(
        body: CreateIntentRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        money = body.money(body.currency)
        assert money is not None
        payment = service.create_intent(
            CreateIntent(
                user_id=body.user_id,
                amount=money,
                payment_method=body.payment_method,
                order_id=body.order_id,
                request_key=idempotency_key,
            )
        )
        # Only here: the secret lets its holder confirm the intent with Stripe.js.
        return {**payment_view(payment), "clientSecret": payment.client_secret}

    @app.post("/api/payments/{payment_id}/confirm")
    def confirm(payment_id: PathId, body: ConfirmRequest) -> JSONResponse:
        result = confirmations.confirm(payment_id, body.payment_method_id)
        view = payment_view(result.payment)
        if result.declined is not None:
            # The decline's message on top, where every 4xx of paysim's says what is wrong.
            declined = {"error": _declined(result.declined), "message": result.declined.message}
            return JSONResponse(status_code=402, content={**view, **declined})
        return JSONResponse(content=view)

    @app.post("/api/payments/{payment_id}/cancel")
    def cancel(payment_id: PathId, body: CancelRequest) -> dict[str, Any]:
        return payment_view(service.cancel(payment_id, body.reason))

    @app.post("/api/payments/{payment_id}/refund")
    def refund(
        payment_id: PathId,
        body: RefundRequest,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        payment = service.get(payment_id)
        amount = body.money(payment.amount.currency)
        request_id = f"api-{idempotency_key}" if idempotency_key else None
        outcome = refunds.refund(
            payment_id,
            amount,
            body.reason,
            request_id,
            fingerprint=refund_fingerprint(amount, body.reason) if idempotency_key else None,
        )
        view = {**payment_view(outcome.payment), "refund": refund_view(outcome.refund)}
        if outcome.refund.status is RefundStatus.FAILED:
            failure = {"error": "RefundFailedError", "message": outcome.refund.failure_reason}
            return JSONResponse(status_code=422, content={**view, **failure})
        return JSONResponse(content=view)

    @app.get("/api/payments")
    def list_payments(limit: ListLimit = 10_000) -> list[dict[str, Any]]:
        return [payment_view(p) for p in service.list(limit)]

    @app.get("/api/payments/{payment_id}")
    def get_payment(payment_id: PathId) -> dict[str, Any]:
        payment = service.get(payment_id)
        return {
            **payment_view(payment),
            "refunds": [refund_view(r) for r in refunds.refunds_of(payment)],
        }

    @app.get("/api/payments/{payment_id}/history")
    def payment_history(payment_id: PathId) -> list[dict[str, Any]]:
        return audit_trail.history(service, payment_id)

    @app.get("/api/payments/{payment_id}/webhook-events")
    def payment_webhook_events(payment_id: PathId) -> list[dict[str, Any]]:
        return [webhook_view(r) for r in audit_trail.webhook_events(service, payment_id)]

    @app.get("/api/webhook-events")
    def webhook_events(
        stripe_event_ids: Annotated[
            list[StripeEventId],
            Query(alias="stripeEventId", min_length=1, max_length=MAX_EVENT_IDS),
        ],
    ) -> list[dict[str, Any]]:
        """The Stripe events the service recorded, by id, whatever payment they matched."""
        found = audit_trail.webhook_events_by_id(service, stripe_event_ids)
        return [webhook_view(r) for r in found]

    @app.post("/webhooks/stripe")
    async def stripe_webhook(request: Request) -> dict[str, Any]:
        payload = await request.body()
        event = webhook_handler.verify(
            payload, request.headers.get("stripe-signature"), webhook_secret
        )
        outcome = await run_in_threadpool(webhook_handler.handle, service, event)
        return {"received": True, "duplicate": outcome.duplicate, "applied": outcome.applied}

    return app


def _declined(declined: PaymentDeclinedError) -> dict[str, Any]:
    return {
        "error": "CardDeclinedError",
        "message": declined.message,
        "code": declined.code,
        "declineCode": declined.decline_code,
    }
