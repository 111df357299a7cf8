"""The objects the emulator keeps and stripe-mock does not: intents, charges, refunds.

Amounts are integer minor units, as on Stripe's wire. Records are plain mutable
dataclasses owned by :class:`~paysim.stripe_emulator.state.PaymentState`, which hands
out copies so that a caller never reads one while another thread changes it.
"""

from __future__ import annotations

import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from paysim.stripe_emulator.test_cards import CardDecline

IntentStatus = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
]
ChargeStatus = Literal["succeeded", "pending", "failed"]

CONFIRMABLE: frozenset[IntentStatus] = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)
CANCELABLE: frozenset[IntentStatus] = frozenset(
    {
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    }
)
UPDATABLE: frozenset[IntentStatus] = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)

_ID_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking object id such as ``pi_3PgafyB7WZ01zgkW0aBcDeFg``."""
    return f"{prefix}_{random_token(length)}"


def now() -> int:
    return int(time.time())


@dataclass(slots=True)
class PaymentIntentRecord:
    """What the emulator knows of one PaymentIntent beyond stripe-mock's template."""

    id: str
    amount: int
    currency: str
    capture_method: str
    status: IntentStatus
    client_secret: str
    created: int
    payment_method: str | None = None
    confirmation_method: str = "automatic"
    metadata: dict[str, str] = field(default_factory=dict)
    echoed: dict[str, Any] = field(default_factory=dict)
    """Create/update parameters Stripe shows back unchanged (description, customer, ...)."""
    amount_received: int = 0
    amount_capturable: int = 0
    latest_charge: str | None = None
    last_payment_error: dict[str, Any] | None = None
    canceled_at: int | None = None
    cancellation_reason: str | None = None


@dataclass(slots=True)
class ChargeRecord:
    """One charge attempt of an intent: succeeded (captured or not) or failed."""

    id: str
    payment_intent: str
    amount: int
    currency: str
    payment_method: str
    status: ChargeStatus
    created: int
    idempotency_key: str | None
    captured: bool = False
    amount_captured: int = 0
    amount_refunded: int = 0
    released: bool = False
    """An uncaptured authorisation given back by cancelling its intent."""
    decline: CardDecline | None = None

    @property
    def refundable(self) -> int:
        return self.amount_captured - self.amount_refunded

    @property
    def refunded(self) -> bool:
        if self.released:
            return True
        return self.amount_captured > 0 and self.amount_refunded == self.amount_captured


@dataclass(slots=True)
class RefundRecord:
    """A refund of part or all of a captured charge."""

    id: str
    charge: str
    payment_intent: str
    amount: int
    currency: str
    created: int
    idempotency_key: str | None
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    status: str = "succeeded"
