"""Settings, read once at an entry point (CLI, test fixture, notebook) and passed down.

Every setting can be given as an environment variable with the ``PAYSIM_`` prefix,
for example ``PAYSIM_INFRA=native`` or ``PAYSIM_CACHE_DIR=/tmp/paysim-cache``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

InfraChoice = Literal["auto", "docker", "native", "external"]


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "paysim"


class Settings(BaseSettings):
    """Everything paysim can be told from outside."""

    # An empty variable counts as unset, so docker-compose can pass ``${VAR:-}`` through.
    model_config = SettingsConfigDict(env_prefix="PAYSIM_", extra="ignore", env_ignore_empty=True)

    infra: InfraChoice = "auto"
    """Which backend runs Kafka and stripe-mock; ``auto`` picks Docker if it answers."""

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    """Downloads and builds (Kafka jars, stripe-mock binary); outside the repository."""

    run_dir: Path | None = None
    """State of a running stack (pids, ports, broker data); default: ``cache_dir/run``."""

    kafka_version: str = "4.1.1"
    stripe_mock_version: str = "v0.203.0"
    kafka_heap: str = "512m"

    bootstrap_servers: str | None = None
    """For the ``external`` backend: the broker to use."""

    stripe_api_base: str | None = None
    """For the ``external`` backend: a running stripe-mock (or compatible) base URL."""

    serve_host: str = "127.0.0.1"
    """Where ``paysim serve`` binds; loopback unless a container needs 0.0.0.0."""

    stripe_api_key: SecretStr = SecretStr("sk_test_paysim")
    """Test-mode key the services give the Stripe SDK (the emulator accepts any sk_test_)."""

    webhook_secret: SecretStr | None = None
    """Shared by the Stripe emulator (signs) and the payment service (verifies). Unset:
    the stack's own, generated per stack into the run folder (:mod:`paysim.stack_secrets`)."""

    admin_token: SecretStr | None = None
    """Bearer token of the testbench controls (the emulator's ``/_emulator`` admin API).
    Unset: the stack's own, generated like the webhook secret."""

    test_mode: bool = True
    """Testbench controls on: faults, webhook endpoint, ledger and reset at ``/_emulator``.
    On by default (paysim is a testbench); off (``PAYSIM_TEST_MODE=0``) they answer 404."""

    stripe_timeout_s: float = 5.0
    """Per-request timeout of every Stripe call."""

    reconcile_after_s: float = Field(default=30.0, gt=0)
    """A payment or refund waiting on Stripe this long is settled by asking Stripe."""

    delivery_step_s: float = 0.4
    """Mean time between a simulated agent's steps (assigned, picked up, in transit, ...)."""

    deadline_payment_pending_s: float = 900.0
    """An order may wait this long for its payment before the saga cancels the payment."""

    deadline_payment_failed_s: float = 1800.0
    """A declined order may wait this long for a retry before its payment is cancelled."""

    deadline_restaurant_accept_s: float = 300.0
    """A paid order the restaurant has not accepted after this long is rejected and refunded."""

    deadline_cancelling_s: float = 300.0
    """A cancelled paid order may wait this long for its refund before it is asked again."""

    seed: int = 42
    """Seed of every simulated choice (agents, timings, checkout mix): runs repeat."""

    start_timeout_s: float = 60.0
    """How long a part may take to become ready before the start is declared failed."""

    consumer_batch_max_records: int = Field(default=500, ge=1, le=10_000)
    """Most records a consumer handles in one transaction: those already fetched, never
    waited for; consumers whose handler calls out take one at a time regardless
    (``paysim.bus.consumer``)."""

    consumer_consume_timeout_s: float = Field(default=0.1, gt=0, le=10)
    """How long a consumer waits for a record before it looks at its stop event again."""

    outbox_max_attempts: int = Field(default=5, ge=1, le=1000)
    """Failures charged to an outbox row before the relay parks it (see ``outbox_relay``)."""

    retention_hours: float = Field(default=24.0, gt=0, le=24 * 365)
    """How long sent outbox rows, processed-event rows and webhook records are kept
    before they are pruned (``paysim.store.retention``)."""

    @property
    def resolved_run_dir(self) -> Path:
        return self.run_dir if self.run_dir is not None else self.cache_dir / "run"
