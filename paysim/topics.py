"""The topic catalog as data: every topic of DESIGN.md, its partitions and its family.

Names come from the plan and are never renamed. Each family has one dead-letter topic;
``payment-events-dlq`` is the plan's. Retry topics are derived from a topic's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from paysim.domain.events import DeliveryEventType, OrderEventType, PaymentEventType

Family = Literal["payment", "order", "delivery"]

DEFAULT_PARTITIONS = 3


@dataclass(frozen=True, slots=True)
class Topic:
    """One Kafka topic. Records are keyed by ``orderId`` on every topic."""

    name: str
    family: Family
    partitions: int = DEFAULT_PARTITIONS
    replicas: int = 1
    event_type: str | None = None
    """The one event type this topic carries; None for catch-all and dead-letter topics."""

    @property
    def retry_name(self) -> str:
        return f"{self.name}-retry"


def _family(
    family: Family, catch_all: str, dead_letter: str, types: list[tuple[str, str]]
) -> list[Topic]:
    topics = [Topic(catch_all, family)]
    topics += [Topic(name, family, event_type=event_type) for name, event_type in types]
    # One partition keeps dead letters in arrival order for the people who read them.
    topics.append(Topic(dead_letter, family, partitions=1))
    return topics


PAYMENT_EVENTS = "payment-events"
PAYMENT_DLQ = "payment-events-dlq"
ORDER_EVENTS = "order-events"
ORDER_DLQ = "order-events-dlq"
DELIVERY_EVENTS = "delivery-events"
DELIVERY_DLQ = "delivery-events-dlq"

CATALOG: tuple[Topic, ...] = tuple(
    _family(
        "payment",
        PAYMENT_EVENTS,
        PAYMENT_DLQ,
        [
            ("payment-initiated", PaymentEventType.PAYMENT_INITIATED),
            ("payment-processing", PaymentEventType.PAYMENT_PROCESSING),
            ("payment-completed", PaymentEventType.PAYMENT_COMPLETED),
            ("payment-failed", PaymentEventType.PAYMENT_FAILED),
            ("payment-cancelled", PaymentEventType.PAYMENT_CANCELLED),
            ("payment-refund-initiated", PaymentEventType.PAYMENT_REFUND_INITIATED),
            ("payment-refunded", PaymentEventType.PAYMENT_REFUNDED),
            ("payment-webhook-received", PaymentEventType.PAYMENT_WEBHOOK_RECEIVED),
            ("payment-refund-failed", PaymentEventType.PAYMENT_REFUND_FAILED),
        ],
    )
    + _family(
        "order",
        ORDER_EVENTS,
        ORDER_DLQ,
        [
            ("order-created", OrderEventType.ORDER_CREATED),
            ("order-confirmed", OrderEventType.ORDER_CONFIRMED),
            ("order-preparing", OrderEventType.ORDER_PREPARING),
            ("order-ready-for-pickup", OrderEventType.ORDER_READY_FOR_PICKUP),
            ("order-out-for-delivery", OrderEventType.ORDER_OUT_FOR_DELIVERY),
            ("order-delivered", OrderEventType.ORDER_DELIVERED),
            ("order-cancelled", OrderEventType.ORDER_CANCELLED),
        ],
    )
    + _family(
        "delivery",
        DELIVERY_EVENTS,
        DELIVERY_DLQ,
        [
            ("delivery-assigned", DeliveryEventType.DELIVERY_ASSIGNED),
            ("delivery-picked-up", DeliveryEventType.DELIVERY_PICKED_UP),
            ("delivery-in-transit", DeliveryEventType.DELIVERY_IN_TRANSIT),
            ("delivery-delivered", DeliveryEventType.DELIVERY_DELIVERED),
            ("delivery-cancelled", DeliveryEventType.DELIVERY_CANCELLED),
        ],
    )
)

BY_NAME: dict[str, Topic] = {t.name: t for t in CATALOG}
_BY_EVENT_TYPE: dict[str, Topic] = {t.event_type: t for t in CATALOG if t.event_type}
_CATCH_ALL: dict[Family, str] = {
    "payment": PAYMENT_EVENTS,
    "order": ORDER_EVENTS,
    "delivery": DELIVERY_EVENTS,
}
_DEAD_LETTER: dict[Family, str] = {
    "payment": PAYMENT_DLQ,
    "order": ORDER_DLQ,
    "delivery": DELIVERY_DLQ,
}


def topic_for(event_type: str) -> Topic:
    """The dedicated topic of an event type (``PAYMENT_COMPLETED`` -> payment-completed)."""
    try:
        return _BY_EVENT_TYPE[event_type]
    except KeyError:
        raise KeyError(f"no topic carries event type {event_type!r}") from None


def destinations(event_type: str) -> tuple[str, str]:
    """Where an event is published: its own topic and its family's catch-all topic."""
    topic = topic_for(event_type)
    return topic.name, _CATCH_ALL[topic.family]


def dead_letter_topic(topic_name: str) -> str:
    """The dead-letter topic of the family a topic belongs to (unknown topics: payment's)."""
    base = topic_name.removesuffix("-retry")
    topic = BY_NAME.get(base)
    return _DEAD_LETTER[topic.family] if topic else PAYMENT_DLQ


def all_topic_names() -> list[str]:
    return [t.name for t in CATALOG]
