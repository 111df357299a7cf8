"""schemathesis against every service's HTTP API on the real stack: no request, however
malformed, gets a server error, and every 4xx says what is wrong.

Each operation of each service's ``/openapi.json`` is fuzzed twice: with data that
fits its schema (positive: half the cases steered at the entities a fixture made first
(payments and orders in every state, real amounts, the test cards), so requests get past
"not found" into the code that moves money) and with data that does not (negative). The
payment service's Stripe webhook takes a body the schema does not describe: it gets its
own property test, of signed events in every wrong shape.

Not fuzzed: ``/metrics`` (Prometheus text, for scrapers) and the fault switchboard
``/_faults`` (a testbench control: fuzzing it would inject faults into the stack the
rest of the session uses). The emulator publishes only its admin API in its schema (its
``/v1`` Stripe API is stripe-mock's), so it is not fuzzed either.

Bounded for CI: ``MAX_EXAMPLES`` cases an operation and mode (``PAYSIM_FUZZ_EXAMPLES``),
each call with a timeout.

An operation's cases come from schemathesis (``APIOperation.as_strategy``) under
hypothesis's ``@given`` inside a plain test, because the schema's URL is known only once
the session's stack is up, and ``schemathesis.pytest.from_fixture``, made for that, fails
on pytest 9.2 (it renames the test item through ``_nodeid``, which pytest 9.2 dropped).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema

from paysim.domain.bounds import MAX_AMOUNT_MINOR, MAX_WAIT_MS
from paysim.domain.money import SUPPORTED_CURRENCIES
from paysim.domain.status import PaymentMethod
from paysim.infra.service_launcher import ServiceUrls
from paysim.lab import Shop
from paysim.stripe_emulator.webhooks import signature_header
from tests.support import confirm, create_intent, paid, post, wait_for_order

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

# More, for a thorough run: PAYSIM_FUZZ_EXAMPLES=1000 pytest tests/integration/test_api_fuzz.py
MAX_EXAMPLES = int(os.environ.get("PAYSIM_FUZZ_EXAMPLES", "50"))
WEBHOOK_EXAMPLES = 4 * MAX_EXAMPLES  # cheap: no Stripe call, and the widest input space
CALL_TIMEOUT_S = 15.0
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # a real stack's latency is not the question; CALL_TIMEOUT_S bounds it
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

SERVICES = ("payment_api", "order_api", "delivery_api", "notification_api", "analytics_api")
NOT_FUZZED = ("/metrics", "/_faults")


@dataclass(frozen=True, slots=True)
class Operation:
    service: str
    method: str
    path: str
    takes_input: bool = True
    """False: nothing to make invalid, so no negative run."""

    def __str__(self) -> str:
        return f"{self.service.removesuffix('_api')} {self.method} {self.path}"


OPERATIONS = [
    Operation("payment_api", "POST", "/api/payments/create-intent"),
    Operation("payment_api", "POST", "/api/payments/{payment_id}/confirm"),
    Operation("payment_api", "POST", "/api/payments/{payment_id}/cancel"),
    Operation("payment_api", "POST", "/api/payments/{payment_id}/refund"),
    Operation("payment_api", "GET", "/api/payments"),
    Operation("payment_api", "GET", "/api/payments/{payment_id}"),
    Operation("payment_api", "GET", "/api/payments/{payment_id}/history"),
    Operation("payment_api", "GET", "/api/payments/{payment_id}/webhook-events"),
    Operation("payment_api", "GET", "/api/webhook-events"),
    Operation("payment_api", "POST", "/webhooks/stripe", takes_input=False),
    Operation("payment_api", "GET", "/healthz", takes_input=False),
    Operation("order_api", "GET", "/api/orders"),
    Operation("order_api", "GET", "/api/orders/{order_id}"),
    Operation("order_api", "POST", "/api/orders/{order_id}/cancel"),
    Operation("order_api", "POST", "/api/orders/{order_id}/confirm"),
    Operation("order_api", "POST", "/api/orders/{order_id}/preparing"),
    Operation("order_api", "POST", "/api/orders/{order_id}/ready-for-pickup"),
    Operation("order_api", "POST", "/api/orders/{order_id}/reject"),
    Operation("order_api", "GET", "/api/compensations", takes_input=False),
    Operation("order_api", "GET", "/healthz", takes_input=False),
    Operation("delivery_api", "GET", "/api/deliveries/{order_id}"),
    Operation("delivery_api", "GET", "/healthz", takes_input=False),
    Operation("notification_api", "GET", "/api/notifications"),
    Operation("notification_api", "GET", "/healthz", takes_input=False),
    Operation("analytics_api", "GET", "/api/analytics/summary", takes_input=False),
    Operation("analytics_api", "GET", "/healthz", takes_input=False),
]
RUNS = [
    pytest.param(op, mode, id=f"{op} {mode.value}")
    for op in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if op.takes_input or mode is GenerationMode.POSITIVE
]


def explains_every_4xx(_ctx: CheckContext, response: Any, case: Case) -> None:
    """A client error comes with a JSON body that says what is wrong: FastAPI's
    ``detail`` (validation errors, HTTP errors) or paysim's ``message``."""
    if not 400 <= response.status_code < 500:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{case.operation.label}: {response.status_code} without a JSON body: "
            f"{response.text[:300]!r}"
        ) from None
    said = (body.get("detail") or body.get("message")) if isinstance(body, dict) else None
    if not said:
        raise AssertionError(
            f"{case.operation.label}: {response.status_code} does not say what is wrong: "
            f"{response.text[:300]!r}"
        )


CHECKS = [not_a_server_error, explains_every_4xx]

FUZZ_WAIT_MS = 100


def short_waits(case: Case) -> None:
    """A long-poll's valid timeout (``timeoutMs``: up to 30 s, 10 s if left out) cut to
    ``FUZZ_WAIT_MS``: a fuzzed wait for a status the order never reaches would otherwise
    hold each case that long. Out-of-range values stay as generated, for their 422."""
    query = case.query
    if not isinstance(query, dict) or ("waitFor" not in query and "timeoutMs" not in query):
        return
    wait = query.get("timeoutMs", FUZZ_WAIT_MS)
    if isinstance(wait, int) and not isinstance(wait, bool) and 0 <= wait <= MAX_WAIT_MS:
        query["timeoutMs"] = min(wait, FUZZ_WAIT_MS)


@dataclass
class Targets:
    """Entities in every state, made before fuzzing: what steered cases aim at."""

    payment_ids: list[int] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    intent_ids: list[str] = field(default_factory=list)

    def ids_for(self, parameter: str) -> list[int]:
        return {"payment_id": self.payment_ids, "order_id": self.order_ids}.get(parameter, [])


@pytest.fixture(scope="module")
def schemas(services: ServiceUrls) -> dict[str, BaseSchema]:
    return {
        name: schemathesis.openapi.from_url(f"{getattr(services, name)}/openapi.json", timeout=10)
        for name in SERVICES
    }


@pytest.fixture(scope="module")
def targets(services: ServiceUrls) -> Targets:
    """A payment pending, paid, declined, cancelled and partly refunded; orders waiting
    for payment, paid, accepted and being prepared."""
    api, orders = services.payment_api, services.order_api
    pending = create_intent(api)
    declined = create_intent(api, "7.50", "eur")
    assert confirm(api, declined["paymentId"], "pm_card_visa_chargeDeclined").status_code == 402
    cancelled = create_intent(api, "300", "jpy")
    assert post(api, f"/api/payments/{cancelled['paymentId']}/cancel", {}).status_code == 200
    refunded = paid(api, "12.00")
    refund = post(api, f"/api/payments/{refunded['paymentId']}/refund", {"amount": "2.00"})
    assert refund.status_code == 200, refund.text
    accepted, preparing, waiting = paid(api), paid(api, "1.234", "kwd"), paid(api)
    for payment in (accepted, preparing, waiting):
        wait_for_order(orders, payment["orderId"], "PENDING")
    for order_id, move in (
        (accepted["orderId"], "confirm"),
        (preparing["orderId"], "confirm"),
        (preparing["orderId"], "preparing"),
    ):
        moved = post(orders, f"/api/orders/{order_id}/{move}", {})
        assert moved.status_code == 200, moved.text
    made = [pending, declined, cancelled, refunded, accepted, preparing, waiting]
    return Targets(
        payment_ids=[p["paymentId"] for p in made],
        order_ids=[p["orderId"] for p in made],
        intent_ids=[p["stripePaymentIntentId"] for p in made],
    )


def _amounts() -> st.SearchStrategy[dict[str, Any]]:
    major = st.decimals(
        min_value=Decimal("0.001"), max_value=Decimal(MAX_AMOUNT_MINOR), places=3
    ).map(str)
    return st.one_of(
        st.fixed_dictionaries({"amount": major}),
        st.fixed_dictionaries({"amountMinor": st.integers(1, MAX_AMOUNT_MINOR)}),
    )


CURRENCIES = st.sampled_from(sorted(SUPPORTED_CURRENCIES)).flatmap(
    lambda code: st.sampled_from([code, code.upper()])
)
REASONS = st.text(max_size=40)
# Bodies a client would send: valid amounts, real currencies and test cards.
BODIES: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "/api/payments/create-intent": st.builds(
        lambda base, amount, extra: {**base, **amount, **extra},
        st.fixed_dictionaries({"userId": st.integers(1, 10**6), "currency": CURRENCIES}),
        _amounts(),
        st.fixed_dictionaries(
            {}, optional={"paymentMethod": st.sampled_from([m.value for m in PaymentMethod])}
        ),
    ),
    "/api/payments/{payment_id}/confirm": st.fixed_dictionaries(
        {
            "paymentMethodId": st.sampled_from(
                [
                    "pm_card_visa",
                    "pm_card_visa_chargeDeclined",
                    "pm_card_chargeDeclinedExpiredCard",
                    "pm_card_mastercard",
                    "pm_does_not_exist",
                ]
            )
        }
    ),
    "/api/payments/{payment_id}/refund": st.one_of(
        st.just({}), _amounts(), st.fixed_dictionaries({"reason": REASONS})
    ),
    "/api/payments/{payment_id}/cancel": st.fixed_dictionaries({}, optional={"reason": REASONS}),
}


def steered(operation: APIOperation, targets: Targets) -> st.SearchStrategy[Case]:
    """Cases aimed at the targets: their ids in the path, a client's body."""
    aims: dict[str, st.SearchStrategy[Any]] = {}
    for parameter in operation.path_parameters:
        ids = targets.ids_for(parameter.name)
        if ids:
            aims["path_parameters"] = st.sampled_from(ids).map(
                lambda i, name=parameter.name: {name: i}
            )
    if operation.path in BODIES:
        aims["body"] = BODIES[operation.path]
    if not aims:
        return st.nothing()
    return st.fixed_dictionaries(aims).flatmap(lambda given: operation.as_strategy(**given))


@pytest.fixture(scope="module")
def all_operations(schemas: dict[str, BaseSchema]) -> set[tuple[str, str, str]]:
    found = set()
    for name, schema in schemas.items():
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith(NOT_FUZZED):
                found.add((name, operation.method.upper(), operation.path))
    return found


def test_every_operation_of_every_service_is_fuzzed(
    all_operations: set[tuple[str, str, str]],
) -> None:
    assert {(op.service, op.method, op.path) for op in OPERATIONS} == all_operations


@pytest.mark.parametrize(("op", "mode"), RUNS)
def test_no_server_error_and_every_4xx_says_why(
    schemas: dict[str, BaseSchema], targets: Targets, op: Operation, mode: GenerationMode
) -> None:
    operation = schemas[op.service][op.path][op.method]
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        cases = st.one_of(cases, steered(operation, targets))

    @FUZZ_SETTINGS
    @given(case=cases)
    def fuzz(case: Case) -> None:
        short_waits(case)
        case.call_and_validate(checks=CHECKS, timeout=CALL_TIMEOUT_S)

    fuzz()


# -- the Stripe webhook: signed events of every shape ------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
EVENT_TYPES = st.sampled_from(
    [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.created",
        "charge.refunded",
        "charge.succeeded",
    ]
)


def mostly(right: st.SearchStrategy[Any], wrong: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``right`` seven times in eight: an event wrong in one place at a time gets far."""
    return st.integers(0, 7).flatmap(lambda n: wrong if n == 0 else right)


def stripe_objects(targets: Targets) -> st.SearchStrategy[Any]:
    """An event's ``data.object``: Stripe's fields for intents and charges, each right
    (the fixture's intents, real amounts), wrong in type, or missing."""
    intent_ids = st.sampled_from(targets.intent_ids)
    return st.fixed_dictionaries(
        {
            "id": mostly(intent_ids, JSON_SCALARS),
            "object": mostly(st.sampled_from(["payment_intent", "charge"]), JSON_SCALARS),
        },
        optional={
            "payment_intent": mostly(intent_ids, JSON_SCALARS),
            "amount": mostly(st.integers(0, 2 * MAX_AMOUNT_MINOR), JSON_VALUES),
            "amount_received": mostly(st.integers(0, 2 * MAX_AMOUNT_MINOR), JSON_VALUES),
            "currency": mostly(CURRENCIES, JSON_SCALARS),
            "latest_charge": mostly(st.just("ch_fuzz"), JSON_VALUES),
            "last_payment_error": mostly(
                st.fixed_dictionaries({}, optional={"message": JSON_SCALARS, "code": JSON_SCALARS}),
                JSON_VALUES,
            ),
            "cancellation_reason": JSON_SCALARS,
        },
    )


def stripe_events(targets: Targets) -> st.SearchStrategy[Any]:
    event = st.fixed_dictionaries(
        {
            "id": st.uuids().map(lambda u: f"evt_fuzz_{u.hex}"),
            "type": mostly(EVENT_TYPES, JSON_SCALARS),
            "data": mostly(st.fixed_dictionaries({"object": stripe_objects(targets)}), JSON_VALUES),
        },
        optional={
            "object": st.just("event"),
            "request": mostly(
                st.fixed_dictionaries(
                    {}, optional={"id": JSON_SCALARS, "idempotency_key": JSON_SCALARS}
                ),
                JSON_SCALARS,
            ),
        },
    )
    return mostly(event, JSON_VALUES)


@pytest.fixture
def post_webhook(services: ServiceUrls, webhook_secret: str) -> Iterator[Callable[[Any], Any]]:
    with httpx.Client(timeout=CALL_TIMEOUT_S) as client:

        def send(event: Any) -> httpx.Response:
            payload = json.dumps(event).encode()
            return client.post(
                f"{services.payment_api}/webhooks/stripe",
                content=payload,
                headers={
                    "Stripe-Signature": signature_header(payload, webhook_secret),
                    "Content-Type": "application/json",
                },
            )

        yield send


def test_a_signed_webhook_of_any_shape_gets_no_server_error(
    targets: Targets, post_webhook: Callable[[Any], httpx.Response]
) -> None:
    @settings(FUZZ_SETTINGS, max_examples=WEBHOOK_EXAMPLES)
    @given(event=stripe_events(targets))
    def fuzz(event: Any) -> None:
        answer = post_webhook(event)
        assert answer.status_code < 500, (answer.status_code, answer.text[:300], event)
        if answer.status_code >= 400:
            assert answer.json().get("message"), answer.text

    fuzz()


def test_the_stack_is_whole_after_the_fuzzing(services: ServiceUrls, order_faults: Shop) -> None:
    """The rest of the session shares these services: all of them still healthy, no
    fault left on, and a checkout still goes through."""
    for name in SERVICES:
        health = httpx.get(f"{getattr(services, name)}/healthz", timeout=CALL_TIMEOUT_S)
        assert health.status_code == 200, (name, health.text)
    assert order_faults.faults() == []
    payment = paid(services.payment_api)
    wait_for_order(services.order_api, payment["orderId"], "PENDING")
