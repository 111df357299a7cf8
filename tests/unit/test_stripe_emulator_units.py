"""Pure parts of the Stripe emulator: card table, signatures, idempotency, faults, rules."""

from __future__ import annotations

import json
import time

import pytest
import stripe

from paysim.stripe_emulator import lifecycle, test_cards
from paysim.stripe_emulator.api_call import api_key_of
from paysim.stripe_emulator.faults import FaultInjector, RequestPattern
from paysim.stripe_emulator.form import nest, parse_pairs
from paysim.stripe_emulator.idempotency import (
    IdempotencyStore,
    Replay,
    Reservation,
    StoredResponse,
    fingerprint,
)
from paysim.stripe_emulator.models import FaultSpec
from paysim.stripe_emulator.records import ChargeRecord, PaymentIntentRecord
from paysim.stripe_emulator.stripe_errors import EmulatedStripeError
from paysim.stripe_emulator.webhooks import EventSource, build_event, signature_header

SECRET = "whsec_unit_test_secret"

# --- card table ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "code", "decline_code", "message"),
    [
        (
            "pm_card_visa_chargeDeclined",
            "card_declined",
            "generic_decline",
            "Your card was declined.",
        ),
        (
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
            "Your card has insufficient funds.",
        ),
        ("pm_card_visa_chargeDeclinedLostCard", "card_declined", "lost_card", None),
        ("pm_card_visa_chargeDeclinedStolenCard", "card_declined", "stolen_card", None),
        ("pm_card_visa_chargeDeclinedFraudulent", "card_declined", "fraudulent", None),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired."),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None, None),
        ("pm_card_chargeDeclinedProcessingError", "processing_error", None, None),
    ],
)
def test_declining_cards(
    card: str, code: str, decline_code: str | None, message: str | None
) -> None:
    decline = test_cards.decline_for(card)
    assert decline is not None
    assert (decline.code, decline.decline_code) == (code, decline_code)
    if message is not None:
        assert decline.message == message
    assert decline.doc_url == "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


@pytest.mark.parametrize(
    "card", ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit", "pm_x"]
)
def test_other_cards_succeed(card: str) -> None:
    assert test_cards.decline_for(card) is None


def test_success_list_and_decline_table_do_not_overlap() -> None:
    assert not test_cards.SUCCEEDING_PAYMENT_METHODS & test_cards.DECLINING_PAYMENT_METHODS.keys()


# --- webhook signatures --------------------------------------------------------------


def _event_payload() -> bytes:
    source = EventSource("req_123", "idem_1", "2026-10-28.endive")
    event = build_event(
        "payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent"}, source
    )
    return event.payload


def test_signature_verifies_with_the_sdk() -> None:
    payload = _event_payload()
    header = signature_header(payload, SECRET)
    assert header.startswith("t=")
    assert ",v1=" in header
    event = stripe.Webhook.construct_event(payload.decode(), header, SECRET)
    assert event.type == "payment_intent.succeeded"
    assert event.data.object.id == "pi_1"


def test_signature_rejects_tampering_wrong_secret_and_old_timestamps() -> None:
    payload = _event_payload()
    header = signature_header(payload, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.decode().replace("pi_1", "pi_2"), header, SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.decode(), header, "whsec_other")
    stale = signature_header(payload, SECRET, timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload.decode(), stale, SECRET)


def test_event_has_stripe_shape() -> None:
    body = json.loads(_event_payload())
    assert body["id"].startswith("evt_")
    assert body["object"] == "event"
    assert body["livemode"] is False
    assert body["pending_webhooks"] == 1
    assert body["request"] == {"id": "req_123", "idempotency_key": "idem_1"}
    assert body["data"]["object"]["id"] == "pi_1"
    assert isinstance(body["created"], int)


# --- idempotency ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _answer(text: str) -> StoredResponse:
    return StoredResponse(200, text.encode(), (("content-type", "application/json"),))


def test_same_key_same_parameters_replays_the_saved_answer() -> None:
    store = IdempotencyStore()
    print_ = fingerprint("POST", "/v1/payment_intents", [("amount", "100"), ("currency", "usd")])
    reservation = store.begin("sk_test_a", "key-1", print_)
    assert isinstance(reservation, Reservation)
    store.complete(reservation, _answer('{"id": "pi_1"}'))
    replay = store.begin("sk_test_a", "key-1", print_)
    assert isinstance(replay, Replay)
    assert replay.response.body == b'{"id": "pi_1"}'


def test_fingerprint_ignores_parameter_order_but_not_values_or_endpoint() -> None:
    a = fingerprint("POST", "/v1/refunds", [("amount", "1"), ("payment_intent", "pi_1")])
    b = fingerprint("POST", "/v1/refunds", [("payment_intent", "pi_1"), ("amount", "1")])
    assert a == b
    assert a != fingerprint("POST", "/v1/refunds", [("amount", "2"), ("payment_intent", "pi_1")])
    assert a != fingerprint(
        "POST", "/v1/payment_intents", [("amount", "1"), ("payment_intent", "pi_1")]
    )


def test_same_key_other_parameters_is_an_idempotency_error() -> None:
    store = IdempotencyStore()
    reservation = store.begin("sk", "key-1", "print-a")
    assert isinstance(reservation, Reservation)
    store.complete(reservation, _answer("{}"))
    with pytest.raises(EmulatedStripeError) as refused:
        store.begin("sk", "key-1", "print-b")
    assert refused.value.status == 400
    assert refused.value.error["type"] == "idempotency_error"


def test_same_key_while_in_flight_is_a_409_and_release_frees_it() -> None:
    store = IdempotencyStore()
    reservation = store.begin("sk", "key-1", "print")
    assert isinstance(reservation, Reservation)
    with pytest.raises(EmulatedStripeError) as busy:
        store.begin("sk", "key-1", "print")
    assert (busy.value.status, busy.value.error["code"]) == (409, "idempotency_key_in_use")
    # As Stripe does: the SDK is told that the same request again will get the answer.
    assert ("stripe-should-retry", "true") in busy.value.headers
    store.release(reservation)
    assert isinstance(store.begin("sk", "key-1", "print"), Reservation)


def test_keys_are_scoped_per_api_key() -> None:
    store = IdempotencyStore()
    first = store.begin("sk_test_a", "key-1", "print-a")
    assert isinstance(first, Reservation)
    store.complete(first, _answer("{}"))
    assert isinstance(store.begin("sk_test_b", "key-1", "print-b"), Reservation)


def test_keys_expire_and_the_store_is_bounded() -> None:
    clock = FakeClock()
    store = IdempotencyStore(ttl_s=60, max_keys=2, clock=clock)
    for key in ("k1", "k2", "k3"):
        reservation = store.begin("sk", key, "print")
        assert isinstance(reservation, Reservation)
        store.complete(reservation, _answer(key))
    assert len(store) == 2
    assert isinstance(store.begin("sk", "k1", "print"), Reservation)  # evicted, runs anew
    clock.now += 61
    assert isinstance(store.begin("sk", "k3", "print"), Reservation)  # expired


def test_api_key_from_bearer_and_basic_auth() -> None:
    assert api_key_of("Bearer sk_test_123") == "sk_test_123"
    assert api_key_of("Basic c2tfdGVzdF8xMjM6") == "sk_test_123"  # "sk_test_123:"
    assert api_key_of(None) == ""
    assert api_key_of("Basic !!!") == ""


# --- fault matching ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "method", "path", "matches"),
    [
        ("*", "GET", "/v1/customers/cus_1", True),
        ("POST /v1/payment_intents/*/confirm", "POST", "/v1/payment_intents/pi_1/confirm", True),
        ("POST /v1/payment_intents/*/confirm", "GET", "/v1/payment_intents/pi_1/confirm", False),
        ("POST /v1/payment_intents/*/confirm", "POST", "/v1/payment_intents/pi_1/capture", False),
        ("/v1/payment_intents", "GET", "/v1/payment_intents/pi_1", True),
        ("/v1/payment_intents$", "GET", "/v1/payment_intents/pi_1", False),
        ("POST /v1/payment_intents$", "POST", "/v1/payment_intents", True),
        ("post /v1/refunds", "POST", "/v1/refunds", True),
        ("* /v1/refunds", "GET", "/v1/refunds/re_1", True),
        ("/v1/payment_intents/pi_*", "POST", "/v1/payment_intents/pi_1/cancel", True),
        ("/v1/refunds", "POST", "/v1/refundsX", False),
    ],
)
def test_request_patterns(pattern: str, method: str, path: str, matches: bool) -> None:
    assert RequestPattern.parse(pattern).matches(method, path) is matches


@pytest.mark.parametrize("bad", ["POST v1/refunds", "GET /v1 extra"])
def test_bad_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="fault match"):
        RequestPattern.parse(bad)


def test_rule_limited_to_next_n_matching_requests() -> None:
    injector = FaultInjector(seed=1)
    injector.add(FaultSpec(kind="error", match="POST /v1/payment_intents$", times=2))
    assert injector.plan("GET", "/v1/customers").is_empty
    plans = [injector.plan("POST", "/v1/payment_intents") for _ in range(3)]
    assert [p.before.kind if p.before else None for p in plans] == ["error", "error", None]
    [rule] = injector.rules()
    assert (rule.remaining, rule.matched, rule.fired) == (0, 2, 2)


def test_fractions_are_reproducible_with_the_same_seed() -> None:
    def run(seed: int) -> list[bool]:
        injector = FaultInjector(seed=seed)
        injector.add(FaultSpec(kind="rate_limit", probability=0.3))
        return [injector.plan("GET", "/v1/x").before is not None for _ in range(200)]

    first = run(42)
    assert run(42) == first
    assert 30 < sum(first) < 90


def test_latencies_add_up_and_the_first_fault_of_each_side_wins() -> None:
    injector = FaultInjector()
    injector.add(FaultSpec(kind="latency", latency_ms=100))
    injector.add(FaultSpec(kind="timeout", latency_ms=50, hold_s=5))
    injector.add(FaultSpec(kind="drop_after"))
    injector.add(FaultSpec(kind="rate_limit"))
    injector.add(FaultSpec(kind="error"))
    plan = injector.plan("POST", "/v1/refunds")
    assert plan.latency_s == pytest.approx(0.15)
    assert plan.after is not None
    assert plan.after.kind == "timeout"
    assert plan.before is not None
    assert plan.before.kind == "rate_limit"


def test_rules_can_be_removed_and_cleared() -> None:
    injector = FaultInjector()
    rule = injector.add(FaultSpec(kind="error"))
    injector.add(FaultSpec(kind="latency", latency_ms=1))
    assert injector.remove(rule.id)
    assert not injector.remove(rule.id)
    assert [r.kind for r in injector.rules()] == ["latency"]
    injector.clear()
    assert injector.rules() == []


# --- form encoding and lifecycle rules -----------------------------------------------


def test_form_nesting() -> None:
    pairs = parse_pairs(b"amount=100&metadata[order_id]=o1&metadata[x]=&expand[]=a&expand[]=b")
    assert nest(pairs) == {
        "amount": "100",
        "metadata": {"order_id": "o1", "x": ""},
        "expand": {"0": "a", "1": "b"},
    }


def test_metadata_merge_follows_stripe() -> None:
    current = {"a": "1", "b": "2"}
    assert lifecycle.merge_metadata(current, {"b": "", "c": "3"}) == {"a": "1", "c": "3"}
    assert lifecycle.merge_metadata(current, {}) == {}


def _paid_charge(amount: int = 1000, refunded: int = 0) -> ChargeRecord:
    return ChargeRecord(
        id="ch_1",
        payment_intent="pi_1",
        amount=amount,
        currency="usd",
        payment_method="pm_card_visa",
        status="succeeded",
        created=0,
        idempotency_key=None,
        captured=True,
        amount_captured=amount,
        amount_refunded=refunded,
    )


def test_refund_amount_rules() -> None:
    lifecycle.check_refund_amount(_paid_charge(1000, 400), 600)
    with pytest.raises(EmulatedStripeError) as too_much:
        lifecycle.check_refund_amount(_paid_charge(1000, 400), 601)
    assert too_much.value.error["message"] == (
        "Refund amount ($6.01) is greater than unrefunded amount on charge ($6.00)"
    )
    with pytest.raises(EmulatedStripeError) as done:
        lifecycle.check_refund_amount(_paid_charge(1000, 1000), 1)
    assert done.value.error["code"] == "charge_already_refunded"


def test_a_decline_returns_the_intent_to_requires_payment_method() -> None:
    intent = PaymentIntentRecord(
        id="pi_1",
        amount=1000,
        currency="usd",
        capture_method="automatic",
        status="requires_confirmation",
        client_secret="pi_1_secret_x",
        created=0,
        payment_method="pm_card_visa_chargeDeclined",
    )
    charge = _paid_charge()
    charge.captured, charge.amount_captured = False, 0
    charge.decline = test_cards.decline_for("pm_card_visa_chargeDeclined")
    lifecycle.apply_charge(intent, charge)
    assert (intent.status, intent.payment_method, intent.amount_received) == (
        "requires_payment_method",
        None,
        0,
    )
    assert intent.last_payment_error is not None
    assert intent.last_payment_error["decline_code"] == "generic_decline"
    assert charge.status == "failed"
