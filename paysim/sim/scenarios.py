"""The checkout mix of a simulated run: what each customer will do, drawn from a seed.

Pure: a plan is data, and the same seed gives the same plans, so two runs are comparable.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from paysim.domain.money import Money


class Scenario(StrEnum):
    HAPPY = "happy"
    DECLINE_THEN_RETRY = "decline_then_retry"
    DECLINE_GIVE_UP = "decline_give_up"
    CANCEL_BEFORE_PAYMENT = "cancel_before_payment"
    CANCEL_AFTER_PAYMENT = "cancel_after_payment"
    PARTIAL_REFUND = "partial_refund"
    RESTAURANT_REJECTS = "restaurant_rejects"


WEIGHTS: dict[Scenario, int] = {
    Scenario.HAPPY: 45,
    Scenario.DECLINE_THEN_RETRY: 12,
    Scenario.DECLINE_GIVE_UP: 8,
    Scenario.CANCEL_BEFORE_PAYMENT: 7,
    Scenario.CANCEL_AFTER_PAYMENT: 10,
    Scenario.PARTIAL_REFUND: 8,
    Scenario.RESTAURANT_REJECTS: 10,
}

SUCCESS_CARDS = ("pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_visa_debit")
DECLINE_CARDS = (
    "pm_card_visa_chargeDeclined",
    "pm_card_visa_chargeDeclinedInsufficientFunds",
    "pm_card_visa_chargeDeclinedLostCard",
    "pm_card_visa_chargeDeclinedStolenCard",
    "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedIncorrectCvc",
    "pm_card_chargeDeclinedProcessingError",
)
# (currency, weight, smallest and largest basket in minor units)
CURRENCIES = (("usd", 70, 800, 8_000), ("inr", 20, 15_000, 250_000), ("jpy", 10, 900, 9_000))

# The restaurant's ending of scenarios that reach the end of the order flow.
FINAL_STATUS: dict[Scenario, str] = {
    Scenario.HAPPY: "DELIVERED",
    Scenario.DECLINE_THEN_RETRY: "DELIVERED",
    Scenario.DECLINE_GIVE_UP: "CANCELLED",
    Scenario.CANCEL_BEFORE_PAYMENT: "CANCELLED",
    Scenario.CANCEL_AFTER_PAYMENT: "REFUNDED",
    Scenario.PARTIAL_REFUND: "DELIVERED",
    Scenario.RESTAURANT_REJECTS: "REFUNDED",
}


@dataclass(frozen=True, slots=True)
class CheckoutPlan:
    """One customer's checkout, decided in advance."""

    number: int
    scenario: Scenario
    user_id: int
    amount: Money
    card: str
    decline_card: str | None
    partial_refund: Money | None


def plan_checkouts(count: int, seed: int) -> list[CheckoutPlan]:
    rng = random.Random(seed)
    kinds, weights = zip(*WEIGHTS.items(), strict=True)
    plans = []
    for number in range(1, count + 1):
        scenario = rng.choices(kinds, weights)[0]
        code, _, low, high = rng.choices(CURRENCIES, [c[1] for c in CURRENCIES])[0]
        amount = Money(rng.randint(low, high), code)
        declines = scenario in (Scenario.DECLINE_THEN_RETRY, Scenario.DECLINE_GIVE_UP)
        partial = (
            Money(max(1, amount.minor * rng.randint(10, 50) // 100), code)
            if scenario is Scenario.PARTIAL_REFUND
            else None
        )
        plans.append(
            CheckoutPlan(
                number=number,
                scenario=scenario,
                user_id=rng.randint(1, 500),
                amount=amount,
                card=rng.choice(SUCCESS_CARDS),
                decline_card=rng.choice(DECLINE_CARDS) if declines else None,
                partial_refund=partial,
            )
        )
    return plans
