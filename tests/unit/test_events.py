import json
from decimal import Decimal

import pytest

from paysim.codec import decode_event, encode_event
from paysim.domain.events import (
    SCHEMA_VERSION,
    DeliveryEvent,
    DeliveryEventType,
    OrderEvent,
    OrderEventType,
    PaymentEvent,
    PaymentEventType,
)
from paysim.domain.money import Money
from paysim.errors import InvalidEventError
from paysim.sim.event_roundtrip import sample_payment_events

# The plan's PaymentEvent field list, verbatim (section "Event Payload Schemas").
PLAN_FIELDS = [
    "eventId",
    "eventType",
    "timestamp",
    "source",
    "paymentId",
    "orderId",
    "userId",
    "stripePaymentIntentId",
    "stripeChargeId",
    "amount",
    "currency",
    "status",
    "previousStatus",
    "paymentMethod",
    "paymentMethodId",
    "receiptUrl",
    "failureReason",
    "errorCode",
    "cancelReason",
    "refundReason",
    "refundAmount",
    "refundId",
]


def _full_payment_event() -> PaymentEvent:
    return PaymentEvent.model_validate(
        {
            "event_type": "PAYMENT_REFUNDED",
            "payment_id": 7,
            "order_id": 9,
            "user_id": 3,
            "stripe_payment_intent_id": "pi_1",
            "stripe_charge_id": "ch_1",
            "amount_minor": 2599,
            "currency": "usd",
            "status": "REFUNDED",
            "previous_status": "REFUND_PENDING",
            "payment_method": "CARD",
            "payment_method_id": "pm_card_visa",
            "receipt_url": "https://r/1",
            "failure_reason": "-",
            "error_code": "-",
            "cancel_reason": "-",
            "refund_reason": "cancelled",
            "refund_amount_minor": 1000,
            "refund_id": "re_1",
        }
    )


def test_every_plan_field_is_on_the_wire_in_camel_case() -> None:
    wire = json.loads(encode_event(_full_payment_event()))
    missing = [name for name in PLAN_FIELDS if name not in wire]
    assert missing == []
    assert wire["schemaVersion"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    ("minor", "currency", "wire_amount"),
    [(2599, "usd", "25.99"), (49900, "inr", "499.00"), (1500, "jpy", "1500"), (5, "usd", "0.05")],
)
def test_wire_amount_is_rendered_exactly(minor: int, currency: str, wire_amount: str) -> None:
    event = PaymentEvent(
        event_type=PaymentEventType.PAYMENT_COMPLETED,
        order_id=1,
        amount_minor=minor,
        currency=currency,
    )
    raw = encode_event(event).decode()
    assert f'"amount":{wire_amount}' in raw
    assert f'"amountMinor":{minor}' in raw
    decoded = decode_event(raw)
    assert decoded == event
    assert isinstance(decoded, PaymentEvent)
    assert decoded.amount == Money(minor, currency)


def test_a_plan_style_record_with_only_a_decimal_amount_is_read_exactly() -> None:
    raw = json.dumps(
        {
            "eventType": "PAYMENT_COMPLETED",
            "orderId": 12,
            "amount": 19.99,
            "currency": "usd",
            "refundAmount": 0.1,
        }
    )
    event = decode_event(raw)
    assert isinstance(event, PaymentEvent)
    assert event.amount_minor == 1999
    assert event.refund_amount_minor == 10
    assert event.schema_version == 1


def test_each_sample_event_round_trips_through_the_codec() -> None:
    for event in sample_payment_events(order_id=5):
        assert decode_event(encode_event(event)) == event


def test_order_and_delivery_events_round_trip() -> None:
    order = OrderEvent(
        event_type=OrderEventType.ORDER_CREATED,
        order_id=4,
        total_amount_minor=1200,
        currency="inr",
    )
    delivery = DeliveryEvent(
        event_type=DeliveryEventType.DELIVERY_ASSIGNED, order_id=4, agent_id="agent-7"
    )
    assert decode_event(encode_event(order)) == order
    assert decode_event(encode_event(delivery)) == delivery
    assert json.loads(encode_event(order))["totalAmount"] == 12.0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not an object"),
        (None, "no value"),
        (b'{"eventType": "PAYMENT_EXPLODED", "orderId": 1}', "unknown eventType"),
        (b'{"eventType": "PAYMENT_COMPLETED"}', "orderId"),
        (b'{"eventType": "PAYMENT_COMPLETED", "orderId": "abc"}', "orderId"),
        (
            b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "schemaVersion": 99}',
            "schemaVersion 99",
        ),
        (
            b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "amount": 1.234, "currency": "usd"}',
            "more decimals",
        ),
        (
            b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "amountMinor": 5,'
            b' "currency": "zzz"}',
            "unknown currency",
        ),
        (
            b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "amount": 2, "currency": "usd",'
            b' "amountMinor": 3}',
            "disagrees",
        ),
        (b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "surprise": true}', "surprise"),
        (b'{"eventType": "PAYMENT_COMPLETED", "orderId": 1, "amount": 5}', "without a currency"),
    ],
)
def test_malformed_records_are_rejected_with_a_clear_error(raw: bytes | None, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        decode_event(raw)


def test_wire_dict_uses_decimal_not_float() -> None:
    wire = _full_payment_event().wire_dict()
    assert wire["amount"] == Decimal("25.99")
    assert isinstance(wire["amount"], Decimal)
