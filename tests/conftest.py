"""Fixtures shared by every tier. The real stack is started once per test session.

If the broker or stripe-mock cannot be started, every test that needs them fails with
the reason: there is no silent skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from paysim import infra, stack_secrets
from paysim.config import Settings
from paysim.errors import PaysimError
from paysim.infra import Endpoints, service_launcher
from paysim.infra.service_launcher import ServiceUrls
from paysim.stripe_emulator.client import EmulatorAdmin

if TYPE_CHECKING:
    from paysim.lab import Shop

# Short Stripe timeouts and saga deadlines, so the fault and deadline tests run in seconds.
# The restaurant's is longer: tests that drive the restaurant, or that refund a paid order
# themselves, do so within seconds of payment, and must not be overtaken by an auto-reject.
SERVICE_ENV = {
    "PAYSIM_STRIPE_TIMEOUT_S": "1.5",
    "PAYSIM_DEADLINE_PAYMENT_PENDING_S": "8",
    "PAYSIM_DEADLINE_PAYMENT_FAILED_S": "8",
    "PAYSIM_DEADLINE_RESTAURANT_ACCEPT_S": "20",
    "PAYSIM_DEADLINE_CANCELLING_S": "8",
    "PAYSIM_DELIVERY_STEP_S": "0.2",
    "PAYSIM_RECONCILE_AFTER_S": "3",
}


@pytest.fixture(scope="session")
def stack_settings() -> Iterator[Settings]:
    """The test run's own stack, in its own run folder: a user's stack (or another test
    run's) is left alone."""
    base = Settings()
    run_dir = base.cache_dir / f"run-pytest-{os.getpid()}"
    yield base.model_copy(update={"run_dir": run_dir})
    shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def endpoints(stack_settings: Settings) -> Iterator[Endpoints]:
    try:
        started = infra.up(stack_settings)
    except PaysimError as exc:
        pytest.fail(f"could not start Kafka and stripe-mock: {exc}", pytrace=False)
    yield started
    infra.down(stack_settings)


@pytest.fixture(scope="session")
def bootstrap_servers(endpoints: Endpoints) -> str:
    return endpoints.bootstrap_servers


@pytest.fixture(scope="session")
def stripe_api_base(endpoints: Endpoints) -> str:
    return endpoints.stripe_api_base


@pytest.fixture(scope="session")
def services(stack_settings: Settings, endpoints: Endpoints) -> Iterator[ServiceUrls]:
    """The Stripe emulator and the payment service, as real processes."""
    try:
        urls = service_launcher.up(stack_settings, endpoints, env=SERVICE_ENV)
    except PaysimError as exc:
        pytest.fail(f"could not start the services: {exc}", pytrace=False)
    yield urls
    service_launcher.down(stack_settings)


@pytest.fixture(scope="session")
def webhook_secret(stack_settings: Settings, services: ServiceUrls) -> str:
    """The stack's own webhook secret, found in its run folder as paysim's tools find it."""
    found = stack_secrets.find(stack_settings)
    assert found is not None, "the stack recorded no secrets"
    return found.webhook_secret.get_secret_value()


@pytest.fixture
def order_faults(services: ServiceUrls) -> Iterator[Shop]:
    """The order service's fault switchboard, driven as the lab drives it (with the
    stack's admin token); its rules are cleared after each test."""
    from paysim.lab import Shop  # the lab's imports (pandas, plots): only when used

    shop = Shop(services)
    try:
        yield shop
    finally:
        shop.clear_faults()
        shop.close()


@pytest.fixture
def emulator(services: ServiceUrls) -> Iterator[EmulatorAdmin]:
    """The emulator's admin API; faults are cleared after each test."""
    with EmulatorAdmin(services.stripe_emulator, services.admin_token) as admin:
        yield admin
        admin.clear_faults()
