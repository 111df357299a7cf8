"""The emulator's admin API is closed to strangers: the stack's token, webhook targets on
loopback only, and nothing but health with test mode off.

The real emulator (in-process, uvicorn on a free port) in front of the session's real
stripe-mock. No test here makes the emulator produce an event, so a refused target is
never sent anything, and neither is the non-loopback endpoint it starts with.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from paysim.stripe_emulator import EmulatorAdmin, EmulatorConfig, EmulatorThread
from paysim.stripe_emulator.models import WebhookSettings

pytestmark = pytest.mark.integration

TOKEN = secrets.token_urlsafe(32)
# A documentation address (RFC 5737), as a container's endpoint would be: not loopback.
STARTED_WITH = "http://192.0.2.10:8001/webhooks/stripe"

CONTROLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/ledger", None),
    ("POST", "/reset", None),
    ("GET", "/faults", None),
    ("POST", "/faults", {"kind": "error", "match": "GET /v1/customers"}),
    ("DELETE", "/faults", None),
    ("DELETE", "/faults/flt_123", None),
    ("POST", "/faults/seed", {"seed": 1}),
    ("GET", "/webhooks", None),
    ("PATCH", "/webhooks", {"url": "http://127.0.0.1:9/hook"}),
    ("GET", "/webhooks/deliveries", None),
    ("GET", "/events", None),
]
NOT_THE_TOKEN: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"X-Admin-Token": TOKEN},
]


def _call(
    base: str, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
) -> httpx.Response:
    return httpx.request(method, f"{base}/_emulator{path}", json=body, headers=headers, timeout=5.0)


@pytest.fixture(scope="module")
def emulator_url(stripe_api_base: str) -> Iterator[str]:
    config = EmulatorConfig(
        stripe_mock_base=stripe_api_base,
        port=0,
        log_level="warning",
        webhooks=WebhookSettings(url=STARTED_WITH),
        admin_token=SecretStr(TOKEN),
    )
    with EmulatorThread(config) as server:
        yield server.url


@pytest.fixture
def admin(emulator_url: str) -> Iterator[EmulatorAdmin]:
    with EmulatorAdmin(emulator_url, TOKEN) as client:
        client.reset()
        yield client
        client.reset()


def test_health_needs_no_token(emulator_url: str) -> None:
    health = httpx.get(f"{emulator_url}/_emulator/health", timeout=5.0)
    assert health.status_code == 200
    assert health.json()["stripe_mock"]["reachable"] is True


@pytest.mark.parametrize(
    ("method", "path", "body"), CONTROLS, ids=[f"{m} {p}" for m, p, _ in CONTROLS]
)
def test_every_control_is_401_without_the_token(
    emulator_url: str, admin: EmulatorAdmin, method: str, path: str, body: dict[str, Any] | None
) -> None:
    for headers in NOT_THE_TOKEN:
        answer = _call(emulator_url, method, path, body, headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "admin token" in answer.json()["detail"]
    # Refused means not done: no rule was added, the webhook endpoint did not move.
    assert admin.faults() == []
    assert admin.webhook_settings().url == STARTED_WITH


def test_the_token_opens_the_controls(emulator_url: str, admin: EmulatorAdmin) -> None:
    rule = admin.set_fault("error", "GET /v1/customers", times=1)
    assert [r.id for r in admin.faults()] == [rule.id]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert _call(emulator_url, "DELETE", f"/faults/{rule.id}", None, bearer).status_code == 204
    assert admin.faults() == []
    assert admin.ledger().charges == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/webhooks/stripe",
        "http://example.com/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1.nip.io/hook",
        "http://localhost@example.com/hook",
        "http://example.com#@127.0.0.1/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0:8001/hook",
        "ftp://127.0.0.1/hook",
        "not a url",
    ],
)
def test_webhook_targets_off_loopback_are_422(admin: EmulatorAdmin, url: str) -> None:
    before = admin.webhook_settings()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        admin.configure_webhooks(url)
    assert refused.value.response.status_code == 422
    assert "loopback" in refused.value.response.json()["detail"]
    assert admin.webhook_settings() == before


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://127.8.9.10:9/hook",
        "http://localhost:9/hook",
        "https://LOCALHOST:9/hook",
        "http://[::1]:9/hook",
    ],
)
def test_loopback_targets_are_accepted(admin: EmulatorAdmin, url: str) -> None:
    assert admin.configure_webhooks(url).url == url


def test_the_endpoint_it_started_with_stays_allowed(admin: EmulatorAdmin) -> None:
    assert admin.disable_webhooks().url is None
    assert admin.configure_webhooks(STARTED_WITH).url == STARTED_WITH


def test_with_test_mode_off_only_health_and_stripe_answer(stripe_api_base: str) -> None:
    config = EmulatorConfig(
        stripe_mock_base=stripe_api_base,
        port=0,
        log_level="warning",
        test_mode=False,
        admin_token=SecretStr(TOKEN),
    )
    with EmulatorThread(config) as server:
        assert httpx.get(f"{server.url}/_emulator/health", timeout=5.0).status_code == 200
        for method, path, body in CONTROLS:
            for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
                answer = _call(server.url, method, path, body, headers)
                assert answer.status_code == 404, (method, path, answer.text)
                assert "test mode off" in answer.json()["detail"]
        customer = httpx.get(
            f"{server.url}/v1/customers/cus_123",
            headers={"Authorization": "Bearer sk_test_paysim"},
            timeout=5.0,
        )
        assert customer.status_code == 200
