"""The PaymentIntent state machine as Stripe runs it: pure moves on records, no locking.

Each ``check_*`` raises the error Stripe answers for a move it refuses (HTTP 400,
``payment_intent_unexpected_state`` or ``invalid_request_error``); each ``apply_*``
changes the records in place. :class:`~paysim.stripe_emulator.state.PaymentState` calls
them under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paysim.stripe_emulator import stripe_errors
from paysim.stripe_emulator.records import (
    CANCELABLE,
    CONFIRMABLE,
    UPDATABLE,
    ChargeRecord,
    PaymentIntentRecord,
)


@dataclass(frozen=True, slots=True)
class IntentChanges:
    """Parameters of a create or update call; ``None`` leaves a field as it is."""

    amount: int | None = None
    currency: str | None = None
    payment_method: str | None = None
    capture_method: str | None = None
    confirmation_method: str | None = None
    metadata: dict[str, str] | None = None
    echoed: dict[str, Any] = field(default_factory=dict)


def merge_metadata(current: dict[str, str], update: dict[str, str]) -> dict[str, str]:
    """Stripe's metadata update: keys merge, ``""`` deletes a key, an empty map clears."""
    if not update:
        return {}
    merged = {**current, **update}
    return {key: value for key, value in merged.items() if value != ""}


def check_amount(amount: int, param: str = "amount") -> None:
    if amount < 1:
        raise stripe_errors.invalid_request(
            "This value must be greater than or equal to 1.",
            code="parameter_invalid_integer",
            param=param,
        )


def apply_update(intent: PaymentIntentRecord, changes: IntentChanges) -> None:
    money_moves = (changes.amount, changes.currency, changes.payment_method)
    if any(value is not None for value in money_moves) and intent.status not in UPDATABLE:
        raise stripe_errors.unexpected_state(
            f"You cannot update this PaymentIntent because it has a status of {intent.status}."
        )
    if changes.amount is not None:
        check_amount(changes.amount)
        intent.amount = changes.amount
    if changes.currency is not None:
        intent.currency = changes.currency.lower()
    if changes.capture_method is not None:
        intent.capture_method = changes.capture_method
    if changes.payment_method is not None:
        intent.payment_method = changes.payment_method
        if intent.status == "requires_payment_method":
            intent.status = "requires_confirmation"
    if changes.metadata is not None:
        intent.metadata = merge_metadata(intent.metadata, changes.metadata)
    intent.echoed.update(changes.echoed)


def check_confirmable(intent: PaymentIntentRecord, payment_method: str | None) -> str:
    """The card to charge; refuses intents that cannot be confirmed now."""
    if intent.status == "succeeded":
        raise stripe_errors.unexpected_state(
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed."
        )
    if intent.status not in CONFIRMABLE:
        raise stripe_errors.unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of "
            f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
            "be confirmed: requires_confirmation, requires_payment_method, requires_action."
        )
    card = payment_method or intent.payment_method
    if card is None:
        raise stripe_errors.unexpected_state(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "You can either update the PaymentIntent with a payment method and then confirm "
            "it again, or confirm it again directly with a payment method."
        )
    return card


def apply_charge(intent: PaymentIntentRecord, charge: ChargeRecord) -> None:
    """Settle a confirm: a declined card fails, a good one authorises (and captures)."""
    intent.latest_charge = charge.id
    if charge.decline is not None:
        charge.status = "failed"
        # As at Stripe, a declined card is detached: the next confirm needs a new one.
        intent.status = "requires_payment_method"
        intent.payment_method = None
        intent.last_payment_error = stripe_errors.card_error(
            charge.decline, charge.id, charge.payment_method
        )
        return
    intent.payment_method = charge.payment_method
    intent.last_payment_error = None
    if intent.capture_method == "manual":
        intent.status = "requires_capture"
        intent.amount_capturable = charge.amount
        return
    apply_capture(intent, charge, charge.amount)


def capture_amount(intent: PaymentIntentRecord, amount_to_capture: int | None) -> int:
    """The amount a capture takes; refuses intents that hold nothing to capture."""
    if intent.status != "requires_capture" or intent.latest_charge is None:
        raise stripe_errors.unexpected_state(
            "This PaymentIntent could not be captured because it has a status of "
            f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
            "be captured: requires_capture."
        )
    amount = intent.amount_capturable if amount_to_capture is None else amount_to_capture
    check_amount(amount, "amount_to_capture")
    if amount > intent.amount_capturable:
        raise stripe_errors.invalid_request(
            "The amount to capture must be less than or equal to the amount capturable "
            f"({intent.amount_capturable}).",
            param="amount_to_capture",
        )
    return amount


def apply_capture(intent: PaymentIntentRecord, charge: ChargeRecord, amount: int) -> None:
    # A partial capture releases the rest: the intent owes nothing more.
    charge.captured = True
    charge.amount_captured = amount
    intent.status = "succeeded"
    intent.amount_received = amount
    intent.amount_capturable = 0


def check_cancelable(intent: PaymentIntentRecord) -> None:
    if intent.status not in CANCELABLE:
        raise stripe_errors.unexpected_state(
            "You cannot cancel this PaymentIntent because it has a status of "
            f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
            "be canceled: requires_payment_method, requires_capture, requires_confirmation, "
            "requires_action, processing."
        )


def apply_cancel(
    intent: PaymentIntentRecord, held: ChargeRecord | None, reason: str | None, at: int
) -> None:
    if intent.status == "requires_capture" and held is not None:
        held.released = True
    intent.status = "canceled"
    intent.canceled_at = at
    intent.cancellation_reason = reason
    intent.amount_capturable = 0


def check_refundable(intent: PaymentIntentRecord) -> str:
    """The id of the charge a refund of ``intent`` applies to."""
    if intent.status != "succeeded" or intent.latest_charge is None:
        raise stripe_errors.unexpected_state(
            f"This PaymentIntent ({intent.id}) does not have a successful charge to refund: "
            f"it has a status of {intent.status}."
        )
    return intent.latest_charge


def check_refund_amount(charge: ChargeRecord, amount: int) -> None:
    """Stripe's refusals: nothing left to refund, or more than is left."""
    if charge.refundable == 0:
        raise stripe_errors.invalid_request(
            f"Charge {charge.id} has already been refunded.", code="charge_already_refunded"
        )
    check_amount(amount)
    if amount > charge.refundable:
        fmt = stripe_errors.format_amount
        raise stripe_errors.invalid_request(
            f"Refund amount ({fmt(amount, charge.currency)}) is greater than unrefunded "
            f"amount on charge ({fmt(charge.refundable, charge.currency)})",
            param="amount",
        )
