"""Fixtures shared by every tier. The real stack is started once per test session.

If the broker or stripe-mock cannot be started, every test that needs them fails with
the reason: there is no silent skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paysim import infra
from paysim.config import Settings
from paysim.errors import PaysimError
from paysim.infra import Endpoints


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """The test run's own stack, in its own run folder: a user's stack is left alone."""
    base = Settings()
    return base.model_copy(update={"run_dir": base.cache_dir / "run-pytest"})


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
