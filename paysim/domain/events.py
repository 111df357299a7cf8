"""Event models: the plan's ``PaymentEvent`` and its order and delivery siblings.

Field names on the wire are the plan's camelCase names. Amounts are held as integer
minor units (``amountMinor``); the plan's decimal ``amount`` is rendered from them
exactly when an event is put on the wire, and a record that carries only the plan's
``amount`` (a producer written from the plan) is converted back without loss.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from paysim.domain.bounds import MAX_AMOUNT_MINOR, MAX_ID
from paysim.domain.clock import utc_now
from paysim.domain.money import Money
from paysim.domain.status import DeliveryStatus, OrderStatus, PaymentMethod, PaymentStatus
from paysim.errors import MoneyError

SCHEMA_VERSION = 1
"""Version written on every record; readers accept this one and every older one."""


class PaymentEventType(StrEnum):
    PAYMENT_INITIATED = "PAYMENT_INITIATED"
    PAYMENT_PROCESSING = "PAYMENT_PROCESSING"
    PAYMENT_COMPLETED = "PAYMENT_COMPLETED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    PAYMENT_CANCELLED = "PAYMENT_CANCELLED"
    PAYMENT_REFUND_INITIATED = "PAYMENT_REFUND_INITIATED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYMENT_WEBHOOK_RECEIVED = "PAYMENT_WEBHOOK_RECEIVED"
    PAYMENT_REFUND_FAILED = "PAYMENT_REFUND_FAILED"
    """Not the plan's: Stripe refused a refund for good (its reason in ``failureReason``)."""


class OrderEventType(StrEnum):
    ORDER_CREATED = "ORDER_CREATED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_PREPARING = "ORDER_PREPARING"
    ORDER_READY_FOR_PICKUP = "ORDER_READY_FOR_PICKUP"
    ORDER_OUT_FOR_DELIVERY = "ORDER_OUT_FOR_DELIVERY"
    ORDER_DELIVERED = "ORDER_DELIVERED"
    ORDER_CANCELLED = "ORDER_CANCELLED"


class DeliveryEventType(StrEnum):
    DELIVERY_ASSIGNED = "DELIVERY_ASSIGNED"
    DELIVERY_PICKED_UP = "DELIVERY_PICKED_UP"
    DELIVERY_IN_TRANSIT = "DELIVERY_IN_TRANSIT"
    DELIVERY_DELIVERED = "DELIVERY_DELIVERED"
    DELIVERY_CANCELLED = "DELIVERY_CANCELLED"


class Event(BaseModel):
    """Fields every record carries, whatever its family."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )

    # Pairs of (minor-unit field, plan's decimal wire field) that share ``currency``.
    money_fields: ClassVar[tuple[tuple[str, str], ...]] = ()

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=SCHEMA_VERSION)
    event_id: UUID = Field(default_factory=uuid4)
    timestamp: datetime = Field(default_factory=utc_now)
    source: str = Field(min_length=1)
    order_id: int = Field(gt=0, le=MAX_ID)
    currency: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _decimal_amounts_to_minor(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not cls.money_fields:
            return data
        data = dict(data)
        currency = data.get("currency")
        for minor_field, wire_field in cls.money_fields:
            wire_value = data.pop(wire_field, None)
            if wire_value is None:
                continue
            if not isinstance(currency, str):
                raise ValueError(f"{wire_field} given without a currency")
            if isinstance(wire_value, float):
                # A float cannot be trusted to hold cents exactly; go through its repr.
                wire_value = repr(wire_value)
            # Bounded before any arithmetic; a MoneyError is a ValueError to pydantic.
            minor = Money.from_decimal(wire_value, currency).minor
            alias = to_camel(minor_field)
            given = data.get(alias, data.get(minor_field))
            if given is not None and given != minor:
                raise ValueError(f"{wire_field}={wire_value} disagrees with {alias}={given}")
            data[alias] = minor
        return data

    @model_validator(mode="after")
    def _currency_is_known(self) -> Event:
        if self.currency is not None:
            try:
                Money(0, self.currency)
            except MoneyError as exc:
                raise ValueError(str(exc)) from exc
        return self

    def money(self, minor_field: str) -> Money | None:
        minor = getattr(self, minor_field)
        if minor is None or self.currency is None:
            return None
        return Money(minor, self.currency)

    def wire_dict(self) -> dict[str, Any]:
        """The record as it goes on the wire: camelCase, no nulls, exact decimal amounts."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for minor_field, wire_field in self.money_fields:
            amount = self.money(minor_field)
            if amount is not None:
                data[wire_field] = amount.to_decimal()
        return data


class PaymentEvent(Event):
    """The plan's ``PaymentEvent``, every field of it, plus the webhook fields of event 9."""

    money_fields: ClassVar[tuple[tuple[str, str], ...]] = (
        ("amount_minor", "amount"),
        ("refund_amount_minor", "refundAmount"),
    )

    event_type: PaymentEventType
    source: str = "payment-service"
    payment_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    user_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    stripe_payment_intent_id: str | None = None
    stripe_charge_id: str | None = None
    amount_minor: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_MINOR)
    status: PaymentStatus | None = None
    previous_status: PaymentStatus | None = None
    payment_method: PaymentMethod | None = None
    payment_method_id: str | None = None
    receipt_url: str | None = None
    failure_reason: str | None = None
    error_code: str | None = None
    decline_code: str | None = None
    cancel_reason: str | None = None
    refund_reason: str | None = None
    refund_amount_minor: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_MINOR)
    refund_id: str | None = None
    refund_request_id: str | None = None
    """Names one logical refund; every retry of it reuses the name (and Stripe's key)."""
    attempt: int | None = Field(default=None, ge=1)
    """Which confirmation attempt of the payment this event belongs to."""
    webhook_id: str | None = None
    stripe_event_id: str | None = None
    webhook_event_type: str | None = None
    raw_payload: str | None = None
    """The Stripe event as JSON, without its secrets (no intent's ``client_secret``)."""

    @property
    def amount(self) -> Money | None:
        return self.money("amount_minor")

    @property
    def refund_amount(self) -> Money | None:
        return self.money("refund_amount_minor")


class OrderEvent(Event):
    """An order's milestone, published by the order service."""

    money_fields: ClassVar[tuple[tuple[str, str], ...]] = (("total_amount_minor", "totalAmount"),)

    event_type: OrderEventType
    source: str = "order-service"
    user_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    payment_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    restaurant_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    total_amount_minor: int | None = Field(default=None, ge=0, le=MAX_AMOUNT_MINOR)
    status: OrderStatus | None = None
    previous_status: OrderStatus | None = None
    reason: str | None = None

    @property
    def total_amount(self) -> Money | None:
        return self.money("total_amount_minor")


class DeliveryEvent(Event):
    """A delivery's milestone, published by the delivery service."""

    event_type: DeliveryEventType
    source: str = "delivery-service"
    delivery_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    agent_id: str | None = None
    status: DeliveryStatus | None = None
    previous_status: DeliveryStatus | None = None
    reason: str | None = None


AnyEvent = PaymentEvent | OrderEvent | DeliveryEvent
EventFamily = Literal["payment", "order", "delivery"]

EVENT_CLASSES: dict[str, type[PaymentEvent] | type[OrderEvent] | type[DeliveryEvent]] = {
    **{t.value: PaymentEvent for t in PaymentEventType},
    **{t.value: OrderEvent for t in OrderEventType},
    **{t.value: DeliveryEvent for t in DeliveryEventType},
}
