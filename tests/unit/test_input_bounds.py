"""Every number a client or a record can carry has a range; past it, a validation error."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from paysim.api.order_api import ReasonBody
from paysim.api.payment_api import CancelRequest, CreateIntentRequest, RefundRequest
from paysim.domain.bounds import MAX_AMOUNT_MINOR, MAX_ID, MAX_REASON_LENGTH
from paysim.domain.events import PaymentEvent

any_int = st.integers() | st.sampled_from([0, 1, MAX_ID, MAX_ID + 1, 2**64, -(2**63), 10**30])


def accepted(model: Any, data: dict[str, Any]) -> bool:
    try:
        model.model_validate(data)
    except ValidationError:
        return False
    return True


@given(value=any_int)
@example(value=2**63)
def test_ids_are_accepted_exactly_from_one_to_the_stores_largest(value: int) -> None:
    in_range = 1 <= value <= MAX_ID
    intent = {"userId": 1, "currency": "usd", "amountMinor": 100}
    assert accepted(CreateIntentRequest, {**intent, "userId": value}) is in_range
    assert accepted(CreateIntentRequest, {**intent, "orderId": value}) is in_range
    event = {"eventType": "PAYMENT_INITIATED"}
    assert accepted(PaymentEvent, {**event, "orderId": value}) is in_range
    assert accepted(PaymentEvent, {**event, "orderId": 1, "paymentId": value}) is in_range


@given(value=any_int | st.sampled_from([MAX_AMOUNT_MINOR, MAX_AMOUNT_MINOR + 1]))
@example(value=10**30)
def test_minor_amounts_are_accepted_up_to_stripes_ceiling(value: int) -> None:
    intent = {"userId": 1, "currency": "usd", "amountMinor": value}
    assert accepted(CreateIntentRequest, intent) is (1 <= value <= MAX_AMOUNT_MINOR)
    assert accepted(RefundRequest, {"amountMinor": value}) is (1 <= value <= MAX_AMOUNT_MINOR)
    event = {"eventType": "PAYMENT_COMPLETED", "orderId": 1, "currency": "usd"}
    in_range = 0 <= value <= MAX_AMOUNT_MINOR
    assert accepted(PaymentEvent, {**event, "amountMinor": value}) is in_range


@given(length=st.integers(0, 3 * MAX_REASON_LENGTH))
@example(length=1_200_000)
def test_reasons_are_bounded_in_every_request(length: int) -> None:
    reason = "r" * length
    assert accepted(CancelRequest, {"reason": reason}) is (1 <= length <= MAX_REASON_LENGTH)
    assert accepted(RefundRequest, {"reason": reason}) is (length <= MAX_REASON_LENGTH)
    assert accepted(ReasonBody, {"reason": reason}) is (length <= MAX_REASON_LENGTH)
