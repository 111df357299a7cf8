"""The Stripe emulator against the real stripe-mock, driven with the official SDK.

One emulator per module (in-process, uvicorn on a free port) in front of the session's
stripe-mock (``stripe_api_base``); every test starts from a reset emulator.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr

from paysim.stripe_emulator import EmulatorAdmin, EmulatorConfig, EmulatorThread
from paysim.stripe_emulator.models import FaultKind, WebhookSettings

pytestmark = pytest.mark.integration

API_KEY = "sk_test_paysimEmulator"
WEBHOOK_SECRET = "whsec_test_paysim_emulator"
ADMIN_TOKEN = "test-admin-token-of-this-module"

DECLINES = [
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    (
        "pm_card_visa_chargeDeclinedLostCard",
        "card_declined",
        "lost_card",
        "Your card was declined.",
    ),
    (
        "pm_card_visa_chargeDeclinedStolenCard",
        "card_declined",
        "stolen_card",
        "Your card was declined.",
    ),
    (
        "pm_card_visa_chargeDeclinedFraudulent",
        "card_declined",
        "fraudulent",
        "Your card was declined.",
    ),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired."),
    (
        "pm_card_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        None,
        "Your card's security code is incorrect.",
    ),
    (
        "pm_card_chargeDeclinedProcessingError",
        "processing_error",
        None,
        "An error occurred while processing your card. Try again in a little bit.",
    ),
]


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def emulator_url(stripe_api_base: str) -> Iterator[str]:
    config = EmulatorConfig(
        stripe_mock_base=stripe_api_base,
        port=0,
        fault_seed=1234,
        log_level="warning",
        webhooks=WebhookSettings(retry_base_s=0.05, retry_max_s=0.2, timeout_s=2.0),
        admin_token=SecretStr(ADMIN_TOKEN),
    )
    with EmulatorThread(config) as server:
        yield server.url


@pytest.fixture(scope="module")
def admin(emulator_url: str) -> Iterator[EmulatorAdmin]:
    with EmulatorAdmin(emulator_url, ADMIN_TOKEN, timeout=5.0) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_emulator(admin: EmulatorAdmin) -> Iterator[None]:
    admin.reset()
    yield
    admin.clear_faults()


def make_client(url: str, timeout_s: float = 10.0, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(
        API_KEY,
        base_addresses={"api": url},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout_s),
    )


@pytest.fixture
def client(emulator_url: str) -> stripe.StripeClient:
    return make_client(emulator_url)


def new_intent(client: stripe.StripeClient, amount: int = 5000, **extra: Any) -> Any:
    params: Any = {"amount": amount, "currency": "usd", **extra}
    return client.v1.payment_intents.create(params=params)


def confirm(client: stripe.StripeClient, intent_id: str, card: str, key: str | None = None) -> Any:
    """Confirm with ``card``; ``key`` as the Idempotency-Key (else the SDK makes one)."""
    options: Any = {"idempotency_key": key} if key else {}
    params: Any = {"payment_method": card}
    return client.v1.payment_intents.confirm(intent_id, params=params, options=options)


def error_of(exc: stripe.StripeError) -> Any:
    """The ``error`` object of an SDK exception (which the SDK types as optional)."""
    assert exc.error is not None
    return exc.error


# --- lifecycle ------------------------------------------------------------------------


def test_create_confirm_refund_amounts_add_up(
    client: stripe.StripeClient, admin: EmulatorAdmin
) -> None:
    created = new_intent(client, 5000, metadata={"order_id": "ord_1"})
    assert created.status == "requires_payment_method"
    assert created.client_secret.startswith(created.id + "_secret_")
    assert client.v1.payment_intents.retrieve(created.id).metadata["order_id"] == "ord_1"

    paid = confirm(client, created.id, "pm_card_visa")
    assert (paid.status, paid.amount_received, paid.amount_capturable) == ("succeeded", 5000, 0)
    assert paid.latest_charge.startswith("ch_")

    first = client.v1.refunds.create(params={"payment_intent": created.id, "amount": 1500})
    assert (first.amount, first.status, first.charge) == (1500, "succeeded", paid.latest_charge)
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": created.id, "amount": 3501})
    assert too_much.value.http_status == 400
    assert error_of(too_much.value).type == "invalid_request_error"
    assert too_much.value.param == "amount"
    assert "greater than unrefunded amount" in str(too_much.value.user_message)

    rest = client.v1.refunds.create(params={"payment_intent": created.id})
    assert rest.amount == 3500
    assert client.v1.refunds.retrieve(first.id).amount == 1500
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create(params={"payment_intent": created.id, "amount": 1})
    assert again.value.code == "charge_already_refunded"

    charge = client.v1.charges.retrieve(paid.latest_charge)
    assert (charge.amount_captured, charge.amount_refunded, charge.refunded) == (5000, 5000, True)
    after = client.v1.payment_intents.retrieve(created.id)
    assert (after.status, after.amount_received) == ("succeeded", 5000)

    ledger = admin.ledger()
    assert [c.amount for c in ledger.succeeded_charges_for(created.id)] == [5000]
    assert [r.amount for r in ledger.refunds_for(created.id)] == [1500, 3500]
    assert ledger.refunded_amount(created.id) == 5000


def test_payment_method_at_create_then_confirm(client: stripe.StripeClient) -> None:
    created = new_intent(client, 1200, payment_method="pm_card_mastercard")
    assert created.status == "requires_confirmation"
    assert created.payment_method == "pm_card_mastercard"
    paid = client.v1.payment_intents.confirm(created.id)
    assert (paid.status, paid.amount_received) == ("succeeded", 1200)


def test_create_with_confirm_true(client: stripe.StripeClient) -> None:
    paid = new_intent(client, 999, payment_method="pm_card_amex", confirm=True)
    assert (paid.status, paid.amount_received) == ("succeeded", 999)


@pytest.mark.parametrize(
    "card", ["pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit"]
)
def test_success_cards(client: stripe.StripeClient, card: str) -> None:
    created = new_intent(client, 2500)
    paid = confirm(client, created.id, card)
    assert (paid.status, paid.payment_method, paid.last_payment_error) == ("succeeded", card, None)


@pytest.mark.parametrize("case", DECLINES, ids=[case[0] for case in DECLINES])
def test_decline_then_retry_with_good_card(
    client: stripe.StripeClient,
    admin: EmulatorAdmin,
    case: tuple[str, str, str | None, str],
) -> None:
    card, code, decline_code, message = case
    created = new_intent(client, 4200)
    with pytest.raises(stripe.CardError) as declined:
        confirm(client, created.id, card)
    error = declined.value
    assert error.http_status == 402
    assert (error_of(error).type, error.code, error_of(error).decline_code) == (
        "card_error",
        code,
        decline_code,
    )
    assert error.user_message == message
    assert error_of(error).payment_intent["id"] == created.id
    assert error_of(error).payment_intent["status"] == "requires_payment_method"

    failed = client.v1.payment_intents.retrieve(created.id)
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error is not None
    assert failed.last_payment_error.code == code
    assert failed.amount_received == 0

    paid = confirm(client, created.id, "pm_card_visa")
    assert (paid.status, paid.amount_received, paid.last_payment_error) == ("succeeded", 4200, None)
    statuses = [c.status for c in admin.ledger().charges_for(created.id)]
    assert statuses == ["failed", "succeeded"]


def test_manual_capture(client: stripe.StripeClient, admin: EmulatorAdmin) -> None:
    created = new_intent(client, 3000, capture_method="manual")
    held = confirm(client, created.id, "pm_card_visa")
    assert (held.status, held.amount_capturable, held.amount_received) == (
        "requires_capture",
        3000,
        0,
    )
    with pytest.raises(stripe.InvalidRequestError) as early:
        client.v1.refunds.create(params={"payment_intent": created.id})
    assert early.value.code == "payment_intent_unexpected_state"

    captured = client.v1.payment_intents.capture(created.id, params={"amount_to_capture": 2000})
    assert (captured.status, captured.amount_received, captured.amount_capturable) == (
        "succeeded",
        2000,
        0,
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": created.id, "amount": 2001})
    assert client.v1.refunds.create(params={"payment_intent": created.id}).amount == 2000
    [charge] = admin.ledger().charges_for(created.id)
    assert (charge.amount, charge.amount_captured, charge.captured) == (3000, 2000, True)


def test_invalid_state_moves_and_unknown_ids(client: stripe.StripeClient) -> None:
    created = new_intent(client, 800)
    with pytest.raises(stripe.InvalidRequestError) as unpaid:
        client.v1.refunds.create(params={"payment_intent": created.id})
    assert (unpaid.value.http_status, unpaid.value.code) == (400, "payment_intent_unexpected_state")

    canceled = client.v1.payment_intents.cancel(
        created.id, params={"cancellation_reason": "requested_by_customer"}
    )
    assert (canceled.status, canceled.cancellation_reason) == ("canceled", "requested_by_customer")
    with pytest.raises(stripe.InvalidRequestError) as confirm_canceled:
        confirm(client, created.id, "pm_card_visa")
    assert confirm_canceled.value.code == "payment_intent_unexpected_state"
    assert error_of(confirm_canceled.value).type == "invalid_request_error"

    paid = new_intent(client, 800, payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as cancel_paid:
        client.v1.payment_intents.cancel(paid.id)
    assert (cancel_paid.value.http_status, cancel_paid.value.code) == (
        400,
        "payment_intent_unexpected_state",
    )

    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    with pytest.raises(stripe.InvalidRequestError) as missing_refund:
        client.v1.refunds.retrieve("re_doesnotexist")
    assert missing_refund.value.http_status == 404


# --- validation by stripe-mock -------------------------------------------------------


def test_request_stripe_mock_rejects_is_rejected_the_same(
    emulator_url: str, stripe_api_base: str
) -> None:
    form = {"amount": "not-a-number", "currency": "usd"}
    direct = httpx.post(
        f"{stripe_api_base}/v1/payment_intents", data=form, auth=(API_KEY, ""), timeout=5
    )
    proxied = httpx.post(
        f"{emulator_url}/v1/payment_intents", data=form, auth=(API_KEY, ""), timeout=5
    )
    assert direct.status_code == 400
    assert (proxied.status_code, proxied.content) == (direct.status_code, direct.content)

    missing_amount: Any = {"currency": "usd"}
    with pytest.raises(stripe.InvalidRequestError) as rejected:
        make_client(emulator_url).v1.payment_intents.create(params=missing_amount)
    assert rejected.value.http_status == 400
    assert "amount" in str(rejected.value.user_message)


def test_other_paths_pass_through(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(params={"email": "jane@example.com"})
    assert customer.object == "customer"
    assert client.v1.customers.retrieve("cus_123").id == "cus_123"


# --- idempotency ---------------------------------------------------------------------


def test_idempotent_replay_is_byte_for_byte(emulator_url: str, admin: EmulatorAdmin) -> None:
    form = {"amount": "1000", "currency": "usd", "payment_method": "pm_card_visa"}
    headers = {"Idempotency-Key": "replay-key-1"}
    with httpx.Client(base_url=emulator_url, auth=(API_KEY, ""), timeout=5) as http:
        first = http.post("/v1/payment_intents", data=form, headers=headers)
        second = http.post("/v1/payment_intents", data=form, headers=headers)
        other_key = httpx.post(
            f"{emulator_url}/v1/payment_intents",
            data=form,
            headers=headers,
            auth=("sk_test_OtherAccount42", ""),
            timeout=5,
        )
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # Keys are scoped per API key: another key's request is a new one.
    assert other_key.json()["id"] != first.json()["id"]


def test_idempotency_key_with_other_parameters(client: stripe.StripeClient) -> None:
    options: Any = {"idempotency_key": "mismatch-key-1"}
    first = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options=options
    )
    same = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options=options
    )
    assert same.id == first.id
    with pytest.raises(stripe.IdempotencyError) as mismatch:
        client.v1.payment_intents.create(
            params={"amount": 2000, "currency": "usd"}, options=options
        )
    assert mismatch.value.http_status == 400
    assert error_of(mismatch.value).type == "idempotency_error"


def test_declined_confirm_is_replayed_not_recharged(
    client: stripe.StripeClient, admin: EmulatorAdmin
) -> None:
    created = new_intent(client, 700)
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            confirm(client, created.id, "pm_card_visa_chargeDeclined", key="decline-once")
    assert len(admin.ledger().charges_for(created.id)) == 1


# --- faults --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["timeout", "drop_after"])
def test_lost_answer_then_retry_charges_once(
    emulator_url: str, admin: EmulatorAdmin, kind: FaultKind
) -> None:
    impatient = make_client(emulator_url, timeout_s=1.0)
    created = new_intent(impatient, 6100)
    admin.set_fault(kind, "POST /v1/payment_intents/*/confirm", times=1, hold_s=10)
    key = f"confirm-{created.id}"
    with pytest.raises(stripe.APIConnectionError):
        confirm(impatient, created.id, "pm_card_visa", key=key)

    retried = confirm(impatient, created.id, "pm_card_visa", key=key)
    assert retried.status == "succeeded"
    [charge] = admin.ledger().charges_for(created.id)
    assert (charge.status, charge.amount, charge.idempotency_key) == ("succeeded", 6100, key)
    assert retried.latest_charge == charge.id


def test_sdk_retries_through_a_timeout_and_charges_once(
    emulator_url: str, admin: EmulatorAdmin
) -> None:
    retrying = make_client(emulator_url, timeout_s=1.0, retries=2)
    created = new_intent(retrying, 3300)
    admin.set_fault("timeout", "POST /v1/payment_intents/*/confirm", times=1, hold_s=10)
    paid = confirm(retrying, created.id, "pm_card_visa")
    assert paid.status == "succeeded"
    assert len(admin.ledger().succeeded_charges_for(created.id)) == 1


def test_dropped_before_applying_charges_nothing(emulator_url: str, admin: EmulatorAdmin) -> None:
    client = make_client(emulator_url)
    created = new_intent(client, 2100)
    admin.set_fault("drop_before", "POST /v1/payment_intents/*/confirm", times=1)
    with pytest.raises(stripe.APIConnectionError):
        confirm(client, created.id, "pm_card_visa", key="drop-before-1")
    assert admin.ledger().charges_for(created.id) == []
    assert client.v1.payment_intents.retrieve(created.id).status == "requires_payment_method"
    paid = confirm(client, created.id, "pm_card_visa", key="drop-before-1")
    assert paid.status == "succeeded"
    assert len(admin.ledger().charges_for(created.id)) == 1


def test_500_and_429_faults(client: stripe.StripeClient, admin: EmulatorAdmin) -> None:
    admin.set_fault("error", "POST /v1/payment_intents$", times=1)
    with pytest.raises(stripe.APIError) as server_error:
        new_intent(client)
    assert server_error.value.http_status == 500
    assert error_of(server_error.value).type == "api_error"

    admin.set_fault("rate_limit", "/v1/payment_intents", times=1)
    with pytest.raises(stripe.RateLimitError) as limited:
        new_intent(client)
    assert limited.value.http_status == 429
    assert error_of(limited.value).code == "rate_limit"

    assert new_intent(client).status == "requires_payment_method"
    assert admin.ledger().charges == []
    rules = admin.faults()
    assert [(r.kind, r.remaining, r.fired) for r in rules] == [
        ("error", 0, 1),
        ("rate_limit", 0, 1),
    ]


def test_fault_fraction_is_reproducible_with_a_seed(
    client: stripe.StripeClient, admin: EmulatorAdmin
) -> None:
    def outcomes() -> list[bool]:
        results = []
        for _ in range(20):
            try:
                client.v1.customers.retrieve("cus_123")
                results.append(True)
            except stripe.APIError:
                results.append(False)
        return results

    admin.seed_faults(99)
    admin.set_fault("error", "GET /v1/customers", probability=0.5, status=503)
    first = outcomes()
    admin.seed_faults(99)
    assert outcomes() == first
    assert 0 < first.count(False) < 20


def test_latency_fault_and_admin_is_never_faulted(
    client: stripe.StripeClient, admin: EmulatorAdmin
) -> None:
    admin.set_fault("latency", "*", latency_ms=400, times=2)
    admin.health()  # the admin API is exempt: it neither waits nor uses up the rule
    started = time.monotonic()
    client.v1.customers.retrieve("cus_123")
    assert time.monotonic() - started >= 0.4
    [rule] = admin.faults()
    assert rule.remaining == 1


def test_health_reports_stripe_mock(admin: EmulatorAdmin) -> None:
    health = admin.health()
    assert health.status == "ok"
    assert health.stripe_mock.reachable


# --- webhooks ------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class WebhookReceiver:
    """A little HTTP endpoint that records what it gets; can fail its first requests."""

    url: str = ""
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        with self.lock:
            return [json.loads(r.body)["type"] for r in self.received]

    def verified_events(self) -> list[Any]:
        with self.lock:
            snapshot = list(self.received)
        return [
            stripe.Webhook.construct_event(
                r.body.decode(), r.headers["stripe-signature"], WEBHOOK_SECRET
            )
            for r in snapshot
        ]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    state = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            with state.lock:
                state.seen += 1
                failing = state.seen <= state.fail_first
                if not failing:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    state.received.append(Received(headers, body))
            self.send_response(500 if failing else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/stripe"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def test_webhooks_are_signed_as_stripe_signs(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    admin.configure_webhooks(receiver.url, WEBHOOK_SECRET)
    paid = new_intent(client, 1800, payment_method="pm_card_visa", confirm=True)
    wait_until(lambda: len(receiver.received) >= 2, what="two webhooks")
    events = receiver.verified_events()
    assert [e.type for e in events] == ["payment_intent.created", "payment_intent.succeeded"]
    succeeded = events[1]
    assert succeeded.id.startswith("evt_")
    assert succeeded.object == "event"
    assert succeeded.livemode is False
    assert succeeded.data.object.id == paid.id
    assert succeeded.data.object.amount_received == 1800
    assert succeeded.request.idempotency_key
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.received[0].body.decode(),
            receiver.received[0].headers["stripe-signature"],
            "whsec_wrong",
        )
    wait_until(
        lambda: [d.state for d in admin.webhook_deliveries()] == ["delivered", "delivered"],
        what="delivery log",
    )


def test_failure_refund_and_cancel_events(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    admin.configure_webhooks(
        receiver.url,
        WEBHOOK_SECRET,
        enabled_events=[
            "payment_intent.payment_failed",
            "payment_intent.canceled",
            "charge.refunded",
        ],
    )
    declined = new_intent(client, 500)
    with pytest.raises(stripe.CardError):
        confirm(client, declined.id, "pm_card_visa_chargeDeclined")
    client.v1.payment_intents.cancel(declined.id)
    paid = new_intent(client, 900, payment_method="pm_card_visa", confirm=True)
    client.v1.refunds.create(params={"payment_intent": paid.id, "amount": 400})
    wait_until(lambda: len(receiver.received) >= 3, what="three webhooks")
    events = receiver.verified_events()
    assert [e.type for e in events] == [
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "charge.refunded",
    ]
    assert events[0].data.object.last_payment_error.decline_code == "generic_decline"
    refunded_charge = events[2].data.object
    assert (refunded_charge.object, refunded_charge.amount_refunded) == ("charge", 400)
    assert refunded_charge.payment_intent == paid.id


def test_webhook_duplicates_on_command(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    admin.configure_webhooks(receiver.url, WEBHOOK_SECRET, duplicate=True)
    new_intent(client, 1000)
    wait_until(lambda: len(receiver.received) >= 2, what="a duplicated webhook")
    first, second = receiver.verified_events()
    assert first.id == second.id
    assert [d.duplicate for d in admin.webhook_deliveries()] == [False, True]


def test_webhook_reordering_on_command(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    admin.configure_webhooks(receiver.url, WEBHOOK_SECRET, reorder=True, reorder_window_s=1.5)
    created = new_intent(client, 1000)
    confirm(client, created.id, "pm_card_visa")
    wait_until(lambda: len(receiver.received) >= 2, what="two webhooks")
    assert receiver.types() == ["payment_intent.succeeded", "payment_intent.created"]


def test_webhook_retried_after_receiver_fails(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 2
    admin.configure_webhooks(receiver.url, WEBHOOK_SECRET)
    new_intent(client, 1000)
    wait_until(
        lambda: [d.state for d in admin.webhook_deliveries()] == ["delivered"],
        what="a delivery after retries",
    )
    [event] = receiver.verified_events()
    [delivery] = admin.webhook_deliveries()
    assert (delivery.event_id, delivery.attempts, delivery.state, delivery.last_status) == (
        event.id,
        3,
        "delivered",
        200,
    )


def test_webhook_gives_up_after_max_attempts(
    client: stripe.StripeClient, admin: EmulatorAdmin, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 100
    admin.configure_webhooks(receiver.url, WEBHOOK_SECRET, max_attempts=3)
    new_intent(client, 1000)
    wait_until(
        lambda: [d.state for d in admin.webhook_deliveries()] == ["failed"], what="a failure"
    )
    [delivery] = admin.webhook_deliveries()
    assert (delivery.attempts, delivery.last_status) == (3, 500)
    assert len(admin.events()) == 1
