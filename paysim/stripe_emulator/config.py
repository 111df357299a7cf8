"""The emulator's settings, built once at its entry point (CLI, test fixture, notebook)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from paysim.stripe_emulator.models import WebhookSettings

DEFAULT_PORT = 12200
DEFAULT_API_VERSION = "2026-10-28.endive"
"""Stamped on events when a request sends no ``Stripe-Version`` (the SDK always does)."""


class EmulatorConfig(BaseModel):
    """Everything the emulator needs to start; webhooks can be changed later via admin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stripe_mock_base: str
    """The real stripe-mock every /v1 call is forwarded to, e.g. ``http://127.0.0.1:12111``."""
    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    forward_timeout_s: float = Field(default=10.0, gt=0)
    webhooks: WebhookSettings = WebhookSettings()
    fault_seed: int | None = None
    """Seed of the dice for probabilistic faults and webhook duplicates (reproducible runs)."""
    api_version: str = DEFAULT_API_VERSION
    idempotency_ttl_s: float = Field(default=24 * 3600.0, gt=0)
    idempotency_max_keys: int = Field(default=100_000, ge=1)
    log_level: str = "info"
    test_mode: bool = True
    """The admin API's controls (faults, webhooks, ledger, reset) answer; off, only its
    health does, and everything else under ``/_emulator`` is 404."""
    admin_token: SecretStr | None = None
    """The bearer token the admin API's controls require; needed in test mode."""

    @model_validator(mode="after")
    def _token_in_test_mode(self) -> EmulatorConfig:
        if self.test_mode and not self.admin_token:
            raise ValueError("test mode needs an admin_token: the admin API is never left open")
        return self
