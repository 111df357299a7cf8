from paysim.domain.events import DeliveryEventType, OrderEventType, PaymentEventType
from paysim.topics import BY_NAME, CATALOG, dead_letter_topic, destinations, topic_for

PLAN_PAYMENT_TOPICS = [
    "payment-events",
    "payment-initiated",
    "payment-processing",
    "payment-completed",
    "payment-failed",
    "payment-cancelled",
    "payment-refund-initiated",
    "payment-refunded",
    "payment-webhook-received",
    "payment-events-dlq",
]
PLAN_ORDER_TOPICS = [
    "order-events",
    "order-created",
    "order-confirmed",
    "order-preparing",
    "order-ready-for-pickup",
    "order-out-for-delivery",
    "order-delivered",
    "order-cancelled",
]
PLAN_DELIVERY_TOPICS = [
    "delivery-events",
    "delivery-assigned",
    "delivery-picked-up",
    "delivery-in-transit",
    "delivery-delivered",
    "delivery-cancelled",
]


def test_catalog_holds_every_topic_named_in_the_plan() -> None:
    for name in PLAN_PAYMENT_TOPICS + PLAN_ORDER_TOPICS + PLAN_DELIVERY_TOPICS:
        assert name in BY_NAME, name
    assert len({t.name for t in CATALOG}) == len(CATALOG)


def test_partitions_follow_the_plan() -> None:
    assert BY_NAME["payment-events"].partitions == 3
    assert BY_NAME["payment-events-dlq"].partitions == 1
    assert all(t.replicas == 1 for t in CATALOG)


def test_every_event_type_has_its_own_topic_and_a_catch_all() -> None:
    for event_type in [*PaymentEventType, *OrderEventType, *DeliveryEventType]:
        own, catch_all = destinations(event_type.value)
        assert topic_for(event_type.value).name == own
        assert catch_all.endswith("-events")
    assert destinations("PAYMENT_COMPLETED") == ("payment-completed", "payment-events")
    assert destinations("ORDER_CREATED") == ("order-created", "order-events")


def test_dead_letters_go_to_the_family_topic() -> None:
    assert dead_letter_topic("payment-completed") == "payment-events-dlq"
    assert dead_letter_topic("payment-completed-retry") == "payment-events-dlq"
    assert dead_letter_topic("order-created") == "order-events-dlq"
    assert dead_letter_topic("delivery-assigned") == "delivery-events-dlq"
