"""What a Stripe event must look like before paysim reads it.

A signature proves who sent a body, not that the body has the fields paysim reads, in
the types it reads them in. An event is checked against this shape right after its
signature: one that does not fit is refused with a 400 that names the field, instead of
failing half-way through its handling. Only the fields paysim reads are checked; Stripe
adds fields to its objects all the time, and those are let through.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from paysim.domain.bounds import MAX_STRIPE_ID_LENGTH

MAX_EVENT_TYPE_LENGTH = 64
"""The longest event type kept (Stripe's longest is about half that)."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class PaymentErrorShape(_Shape):
    message: StrictStr | None = None
    code: StrictStr | None = Field(default=None, max_length=64)
    decline_code: StrictStr | None = Field(default=None, max_length=64)


class StripeObjectShape(_Shape):
    """The fields paysim reads of a PaymentIntent or a Charge."""

    id: StrictStr | None = Field(default=None, max_length=MAX_STRIPE_ID_LENGTH)
    object: StrictStr | None = None
    payment_intent: StrictStr | None = Field(default=None, max_length=MAX_STRIPE_ID_LENGTH)
    amount: StrictInt | None = Field(default=None, ge=0)
    amount_received: StrictInt | None = Field(default=None, ge=0)
    currency: StrictStr | None = None
    latest_charge: StrictStr | None = Field(default=None, max_length=MAX_STRIPE_ID_LENGTH)
    last_payment_error: PaymentErrorShape | None = None
    cancellation_reason: StrictStr | None = None


class EventDataShape(_Shape):
    object: StripeObjectShape


class EventRequestShape(_Shape):
    id: StrictStr | None = None
    idempotency_key: StrictStr | None = None


class StripeEventShape(_Shape):
    """An event: its id and type, the object it is about, the request that caused it."""

    id: StrictStr = Field(min_length=1, max_length=MAX_STRIPE_ID_LENGTH)
    type: StrictStr = Field(min_length=1, max_length=MAX_EVENT_TYPE_LENGTH)
    data: EventDataShape
    # Old API versions send the request's id alone.
    request: EventRequestShape | StrictStr | None = None


class NotAStripeEventError(ValueError):
    """The body is signed, but it is not shaped like a Stripe event."""


def check_event_shape(event: Any) -> None:
    """Raise ``NotAStripeEventError`` naming what is wrong if ``event`` lacks a field
    paysim reads, or has one in the wrong type."""
    try:
        StripeEventShape.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'event'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise NotAStripeEventError(problems) from None
