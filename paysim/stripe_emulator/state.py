"""Intents, charges and refunds kept in memory behind one lock: the emulator's store.

Each public method is one Stripe operation, applied whole under the lock, so that two
concurrent confirms of one intent cannot both charge it. The rules themselves live in
:mod:`.lifecycle`; callers get deep copies, never the records the store keeps.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

from paysim.stripe_emulator import lifecycle, stripe_errors
from paysim.stripe_emulator.lifecycle import IntentChanges
from paysim.stripe_emulator.models import Ledger, LedgerCharge, LedgerRefund
from paysim.stripe_emulator.records import (
    ChargeRecord,
    PaymentIntentRecord,
    RefundRecord,
    new_id,
    now,
    random_token,
)
from paysim.stripe_emulator.test_cards import decline_for

__all__ = ["ChargeOutcome", "IntentChanges", "PaymentState", "RefundOutcome"]


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    """The intent after a confirm or capture, and the charge it made or moved."""

    intent: PaymentIntentRecord
    charge: ChargeRecord


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    refund: RefundRecord
    charge: ChargeRecord
    intent: PaymentIntentRecord


class PaymentState:
    """Intents, charges and refunds; thread-safe, one lock for all of them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._intents: dict[str, PaymentIntentRecord] = {}
        self._charges: dict[str, ChargeRecord] = {}
        self._refunds: dict[str, RefundRecord] = {}

    def reset(self) -> None:
        with self._lock:
            self._intents.clear()
            self._charges.clear()
            self._refunds.clear()

    def create_intent(self, changes: IntentChanges) -> PaymentIntentRecord:
        if changes.amount is None or changes.currency is None:
            raise stripe_errors.invalid_request("Missing required param: amount.", param="amount")
        lifecycle.check_amount(changes.amount)
        intent_id = new_id("pi")
        intent = PaymentIntentRecord(
            id=intent_id,
            amount=changes.amount,
            currency=changes.currency.lower(),
            capture_method=changes.capture_method or "automatic",
            confirmation_method=changes.confirmation_method or "automatic",
            status="requires_payment_method",
            client_secret=f"{intent_id}_secret_{random_token(25)}",
            created=now(),
            metadata=lifecycle.merge_metadata({}, changes.metadata or {}),
            echoed=dict(changes.echoed),
        )
        if changes.payment_method is not None:
            intent.payment_method = changes.payment_method
            intent.status = "requires_confirmation"
        with self._lock:
            self._intents[intent.id] = intent
            return copy.deepcopy(intent)

    def intent(self, intent_id: str) -> PaymentIntentRecord:
        with self._lock:
            return copy.deepcopy(self._intent(intent_id))

    def _intent(self, intent_id: str) -> PaymentIntentRecord:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise stripe_errors.resource_missing("payment_intent", intent_id, param="intent")
        return intent

    def update_intent(self, intent_id: str, changes: IntentChanges) -> PaymentIntentRecord:
        with self._lock:
            intent = self._intent(intent_id)
            lifecycle.apply_update(intent, changes)
            return copy.deepcopy(intent)

    def confirm(
        self,
        intent_id: str,
        *,
        payment_method: str | None,
        capture_method: str | None,
        idempotency_key: str | None,
    ) -> ChargeOutcome:
        """Charge the intent's card; the charge fails for Stripe's declining test cards."""
        with self._lock:
            intent = self._intent(intent_id)
            card = lifecycle.check_confirmable(intent, payment_method)
            if capture_method is not None:
                intent.capture_method = capture_method
            charge = ChargeRecord(
                id=new_id("ch"),
                payment_intent=intent.id,
                amount=intent.amount,
                currency=intent.currency,
                payment_method=card,
                status="succeeded",
                created=now(),
                idempotency_key=idempotency_key,
                decline=decline_for(card),
            )
            self._charges[charge.id] = charge
            lifecycle.apply_charge(intent, charge)
            return ChargeOutcome(copy.deepcopy(intent), copy.deepcopy(charge))

    def capture(self, intent_id: str, amount_to_capture: int | None) -> ChargeOutcome:
        with self._lock:
            intent = self._intent(intent_id)
            amount = lifecycle.capture_amount(intent, amount_to_capture)
            assert intent.latest_charge is not None  # capture_amount refuses otherwise
            charge = self._charges[intent.latest_charge]
            lifecycle.apply_capture(intent, charge, amount)
            return ChargeOutcome(copy.deepcopy(intent), copy.deepcopy(charge))

    def cancel(self, intent_id: str, reason: str | None) -> PaymentIntentRecord:
        with self._lock:
            intent = self._intent(intent_id)
            lifecycle.check_cancelable(intent)
            held = self._charges.get(intent.latest_charge or "")
            lifecycle.apply_cancel(intent, held, reason, now())
            return copy.deepcopy(intent)

    def refund(
        self,
        *,
        payment_intent: str | None,
        charge: str | None,
        amount: int | None,
        reason: str | None,
        metadata: dict[str, str] | None,
        idempotency_key: str | None,
    ) -> RefundOutcome:
        """Refund ``amount`` (default: all that is left) of the intent's captured charge."""
        with self._lock:
            intent = self._refund_target(payment_intent, charge)
            paid = self._charges[lifecycle.check_refundable(intent)]
            refund_amount = paid.refundable if amount is None else amount
            lifecycle.check_refund_amount(paid, refund_amount)
            refund = RefundRecord(
                id=new_id("re"),
                charge=paid.id,
                payment_intent=intent.id,
                amount=refund_amount,
                currency=paid.currency,
                created=now(),
                idempotency_key=idempotency_key,
                reason=reason,
                metadata=lifecycle.merge_metadata({}, metadata or {}),
            )
            paid.amount_refunded += refund_amount
            self._refunds[refund.id] = refund
            return RefundOutcome(copy.deepcopy(refund), copy.deepcopy(paid), copy.deepcopy(intent))

    def _refund_target(self, payment_intent: str | None, charge: str | None) -> PaymentIntentRecord:
        if charge is not None:
            found = self._charges.get(charge)
            if found is None:
                raise stripe_errors.resource_missing("charge", charge, param="charge")
            return self._intent(found.payment_intent)
        if payment_intent is not None:
            return self._intent(payment_intent)
        raise stripe_errors.invalid_request(
            "One of the following params should be provided for this request: "
            "payment_intent or charge."
        )

    def charge(self, charge_id: str) -> ChargeRecord | None:
        with self._lock:
            found = self._charges.get(charge_id)
            return copy.deepcopy(found) if found is not None else None

    def refund_record(self, refund_id: str) -> RefundRecord:
        with self._lock:
            found = self._refunds.get(refund_id)
            if found is None:
                raise stripe_errors.resource_missing("refund", refund_id)
            return copy.deepcopy(found)

    def ledger(self) -> Ledger:
        with self._lock:
            charges = [_ledger_charge(c) for c in self._charges.values()]
            refunds = [_ledger_refund(r) for r in self._refunds.values()]
        return Ledger(charges=charges, refunds=refunds)


def _ledger_charge(charge: ChargeRecord) -> LedgerCharge:
    return LedgerCharge(
        id=charge.id,
        payment_intent=charge.payment_intent,
        amount=charge.amount,
        amount_captured=charge.amount_captured,
        amount_refunded=charge.amount_refunded,
        currency=charge.currency,
        status=charge.status,
        captured=charge.captured,
        idempotency_key=charge.idempotency_key,
        created=charge.created,
    )


def _ledger_refund(refund: RefundRecord) -> LedgerRefund:
    return LedgerRefund(
        id=refund.id,
        charge=refund.charge,
        payment_intent=refund.payment_intent,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        idempotency_key=refund.idempotency_key,
        created=refund.created,
    )
