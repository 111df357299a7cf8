"""The messages a customer gets, as data: one template per event, on its channels.

Placeholders (``str.format`` fields) are filled by ``messages.fields_for``: ``order_id``,
``amount``, ``refund_amount`` (money rendered exactly, e.g. ``25.99 USD``), ``reason``
and ``courier``. Every placeholder always has a value, so a template never fails to
render for want of a field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from paysim.domain.events import DeliveryEventType, OrderEventType, PaymentEventType


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"


@dataclass(frozen=True, slots=True)
class Template:
    """One message, sent on each of ``channels``."""

    name: str
    channels: tuple[Channel, ...]
    subject: str
    text: str


E, S, P = Channel.EMAIL, Channel.SMS, Channel.PUSH

REFUND_TIMELINE = "5-10 business days"
"""How long a card refund takes to show, as the plan tells customers."""

TEMPLATES: Mapping[str, Template] = {
    PaymentEventType.PAYMENT_COMPLETED: Template(
        "payment-confirmation",
        (E, S, P),
        "Payment received for order #{order_id}",
        "Thank you! We received your payment of {amount} for order #{order_id}.",
    ),
    PaymentEventType.PAYMENT_FAILED: Template(
        "payment-failed",
        (E, P),
        "Payment failed for order #{order_id}",
        "Your payment of {amount} for order #{order_id} did not go through: {reason}. "
        "Please try again, or use another card.",
    ),
    PaymentEventType.PAYMENT_REFUNDED: Template(
        "payment-refunded",
        (E,),
        "Refund of {refund_amount} for order #{order_id}",
        "We have refunded {refund_amount} for order #{order_id}. "
        f"It takes {REFUND_TIMELINE} to appear on your statement.",
    ),
    OrderEventType.ORDER_CONFIRMED: Template(
        "order-confirmed",
        (P,),
        "Order #{order_id} confirmed",
        "The restaurant has confirmed your order #{order_id} and will start preparing it soon.",
    ),
    DeliveryEventType.DELIVERY_ASSIGNED: Template(
        "courier-assigned",
        (P,),
        "A courier for order #{order_id}",
        "{courier} will pick up your order #{order_id} as soon as it is ready.",
    ),
    OrderEventType.ORDER_OUT_FOR_DELIVERY: Template(
        "order-out-for-delivery",
        (P, S),
        "Order #{order_id} is on its way",
        "Your order #{order_id} has been picked up and is on its way to you.",
    ),
    OrderEventType.ORDER_DELIVERED: Template(
        "order-delivered",
        (P,),
        "Order #{order_id} delivered",
        "Your order #{order_id} has been delivered. Enjoy your meal!",
    ),
    OrderEventType.ORDER_CANCELLED: Template(
        "order-cancelled",
        (E, P),
        "Order #{order_id} cancelled",
        "Your order #{order_id} has been cancelled: {reason}. If you paid for it, the refund "
        "follows, and we will confirm it by email.",
    ),
}
"""Templates by the eventType that triggers them."""
