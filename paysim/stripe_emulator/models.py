"""The admin API's wire models, shared by the emulator's routes and :mod:`.client`.

Only pydantic here, so that a test or notebook can import the client without FastAPI.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

FaultKind = Literal["latency", "error", "rate_limit", "drop_before", "drop_after", "timeout"]
"""``latency``: delay, then serve. ``error``: an ``api_error`` with ``status`` (500).
``rate_limit``: 429 ``rate_limit``. ``drop_before``: close the connection before the
request is applied. ``drop_after``: apply it, then close without answering.
``timeout``: apply it, then hold the answer ``hold_s`` (longer than the client waits)."""

DeliveryState = Literal["pending", "delivered", "failed"]


class FaultSpec(BaseModel):
    """A fault to inject into matching ``/v1`` requests."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    match: str = "*"
    """``*`` (all), ``POST /v1/payment_intents/*/confirm``, ``/v1/refunds`` (any method).
    Segments are glob patterns; the pattern matches a path prefix unless it ends in ``$``."""
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    times: int | None = Field(default=None, ge=1)
    """Limit the rule to the next ``times`` matching requests (fired or not)."""
    latency_ms: int = Field(default=0, ge=0)
    status: int = Field(default=500, ge=500, le=599)
    hold_s: float = Field(default=30.0, ge=0.0)


class FaultRuleView(FaultSpec):
    """A fault rule as installed, with its counters."""

    id: str
    remaining: int | None
    matched: int
    fired: int


class FaultSeed(BaseModel):
    seed: int


class LedgerCharge(BaseModel):
    """A charge attempt as the ledger records it (failed attempts included)."""

    id: str
    payment_intent: str
    amount: int
    amount_captured: int
    amount_refunded: int
    currency: str
    status: str
    captured: bool
    idempotency_key: str | None
    created: int


class LedgerRefund(BaseModel):
    """A refund as the ledger records it."""

    id: str
    charge: str
    payment_intent: str
    amount: int
    currency: str
    status: str
    idempotency_key: str | None
    created: int


class Ledger(BaseModel):
    """Every charge attempt and refund, in the order they happened."""

    charges: list[LedgerCharge]
    refunds: list[LedgerRefund]

    def charges_for(self, payment_intent: str) -> list[LedgerCharge]:
        return [c for c in self.charges if c.payment_intent == payment_intent]

    def succeeded_charges_for(self, payment_intent: str) -> list[LedgerCharge]:
        return [c for c in self.charges_for(payment_intent) if c.status == "succeeded"]

    def refunds_for(self, payment_intent: str) -> list[LedgerRefund]:
        return [r for r in self.refunds if r.payment_intent == payment_intent]

    def refunded_amount(self, payment_intent: str) -> int:
        return sum(r.amount for r in self.refunds_for(payment_intent))


class WebhookSettings(BaseModel):
    """Where and how webhooks are sent; the emulator keeps one endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    secret: SecretStr | None = None
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    retry_base_s: float = Field(default=1.0, ge=0)
    retry_max_s: float = Field(default=60.0, ge=0)
    duplicate: float = Field(default=0.0, ge=0.0, le=1.0)
    """Fraction of events sent twice (same event id): 1.0 duplicates every event."""
    reorder: bool = False
    """Collect events for ``reorder_window_s`` and deliver each batch in reverse."""
    reorder_window_s: float = Field(default=0.5, ge=0)
    enabled_events: tuple[str, ...] = ("*",)


class WebhookSettingsUpdate(BaseModel):
    """A change to :class:`WebhookSettings`; fields left out keep their value.

    A new ``url`` must be on loopback (or be the endpoint the emulator started with)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048)
    secret: str | None = Field(default=None, max_length=512)
    timeout_s: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
    retry_base_s: float | None = Field(default=None, ge=0)
    retry_max_s: float | None = Field(default=None, ge=0)
    duplicate: float | None = Field(default=None, ge=0.0, le=1.0)
    reorder: bool | None = None
    reorder_window_s: float | None = Field(default=None, ge=0)
    enabled_events: tuple[str, ...] | None = None


class WebhookSettingsView(BaseModel):
    """The webhook settings as the admin API shows them: the secret is not echoed."""

    url: str | None
    secret_set: bool
    timeout_s: float
    max_attempts: int
    retry_base_s: float
    retry_max_s: float
    duplicate: float
    reorder: bool
    reorder_window_s: float
    enabled_events: tuple[str, ...]


class Delivery(BaseModel):
    """One delivery of one event to the endpoint (a duplicate is its own delivery)."""

    delivery_id: str
    event_id: str
    event_type: str
    url: str
    duplicate: bool
    attempts: int
    state: DeliveryState
    last_status: int | None
    last_error: str | None


class StripeMockHealth(BaseModel):
    base_url: str
    reachable: bool
    detail: str | None = None


class Health(BaseModel):
    status: Literal["ok"]
    stripe_mock: StripeMockHealth
    pid: int | None = None
    """The emulator's process, so that a launcher knows it reached the one it started."""
