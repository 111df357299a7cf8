"""The saga's compensations when the other side does not do its part, on the real stack.

A payment cancel that gets no answer is asked again until the payment service answers;
a refund Stripe refuses for good leaves the order REFUND_FAILED, for an operator, and is
not asked again.
"""

from __future__ import annotations

from paysim.domain.events import PaymentEventType
from paysim.infra.service_launcher import ServiceUrls
from paysim.lab import Shop
from paysim.services.order.payment_cancels import FAULT_POINT
from paysim.stripe_emulator.client import EmulatorAdmin
from tests.support import (
    awaiting_payment,
    compensations_of,
    confirm,
    events_of_order,
    order_of,
    payment_of,
    placed,
    poll,
    post,
    stripe_outsider,
    wait_for_order,
    wait_for_payment,
)


def _fired(order_faults: Shop, rule_id: int) -> int:
    return next(int(r["fired"]) for r in order_faults.faults() if r["id"] == rule_id)


def test_a_cancel_the_payment_service_never_got_arrives_once_it_answers_again(
    services: ServiceUrls, order_faults: Shop
) -> None:
    payment = awaiting_payment(services)
    order_id, payment_id = payment["orderId"], payment["paymentId"]
    # Every call to cancel this order's payment is lost until the rule is lifted.
    rule = order_faults.inject_fault(FAULT_POINT, "transient", order_id)

    cancelled = post(services.order_api, f"/api/orders/{order_id}/cancel", {"reason": "oops"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    # The first try and at least one retry by the sweep went unanswered...
    poll(lambda: _fired(order_faults, rule["id"]) >= 2, "the cancel to be asked again")
    [owed] = compensations_of(services.order_api, order_id)
    assert (owed["kind"], owed["settledAt"]) == ("CANCEL_PAYMENT", None)
    assert owed["tries"] >= 1
    assert owed["detail"].startswith("no answer: injected transient failure")
    assert payment_of(services.payment_api, payment_id)["status"] == "PENDING"

    order_faults.clear_faults()  # the payment service can be reached again
    wait_for_payment(services.payment_api, payment_id, "CANCELLED")
    settled = poll(
        lambda: (c := compensations_of(services.order_api, order_id)[0])["settledAt"] and c,
        "the cancel to be settled",
    )
    assert settled["detail"] == "cancelled"
    # Cancelled at Stripe too: the customer can no longer be charged for it.
    assert confirm(services.payment_api, payment_id, "pm_card_visa").status_code == 409
    assert order_of(services.order_api, order_id)["status"] == "CANCELLED"


def test_a_refund_stripe_refuses_for_good_leaves_the_order_refund_failed(
    services: ServiceUrls, emulator: EmulatorAdmin, bootstrap_servers: str
) -> None:
    payment = placed(services, "20.00")
    order_id, intent = payment["orderId"], payment["stripePaymentIntentId"]
    # Refunded at Stripe outside paysim: the saga's full refund will be refused for good.
    stripe_outsider(emulator).v1.refunds.create(params={"payment_intent": intent, "amount": 1500})

    cancelled = post(services.order_api, f"/api/orders/{order_id}/cancel", {"reason": "late"})
    assert cancelled.json()["status"] == "CANCELLING"
    order = wait_for_order(services.order_api, order_id, "REFUND_FAILED")

    assert "greater than unrefunded" in (order["reason"] or "")
    assert [h["to"] for h in order["history"] if h["applied"]][-2:] == [
        "CANCELLING",
        "REFUND_FAILED",
    ]
    failure, refund = compensations_of(services.order_api, order_id)
    assert (refund["kind"], refund["reason"]) == ("REFUND", "customer_cancelled")
    assert (failure["kind"], failure["reason"], failure["amountMinor"]) == (
        "REFUND_FAILED",
        "customer_cancelled",
        2000,
    )
    assert "greater than unrefunded" in failure["detail"]
    # The money is still captured, and the payment says its refund failed.
    shown = payment_of(services.payment_api, payment["paymentId"])
    assert shown["status"] == "COMPLETED"
    assert [(r["amountMinor"], r["status"]) for r in shown["refunds"]] == [(2000, "FAILED")]
    [failed] = events_of_order(bootstrap_servers, "payment-refund-failed", order_id)
    assert failed.event_type is PaymentEventType.PAYMENT_REFUND_FAILED
    assert [r.amount for r in emulator.ledger().refunds_for(intent)] == [1500]
