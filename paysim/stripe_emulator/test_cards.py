"""Stripe's test PaymentMethods and the outcome each one has in test mode, as data.

The codes and messages are those Stripe documents for its test cards
(stripe.com/docs/testing#declined-payments). Cards that fail with ``expired_card``,
``incorrect_cvc`` or ``processing_error`` carry no ``decline_code`` at Stripe either.
Any PaymentMethod not listed here succeeds, as a freshly created test card would.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CardDecline:
    """How Stripe declines a charge on a test card (the ``card_error`` it answers with)."""

    code: str
    message: str
    decline_code: str | None = None
    param: str | None = None

    @property
    def doc_url(self) -> str:
        return "https://stripe.com/docs/error-codes/" + self.code.replace("_", "-")


_DECLINED = "Your card was declined."

GENERIC_DECLINE = CardDecline("card_declined", _DECLINED, "generic_decline")
INSUFFICIENT_FUNDS = CardDecline(
    "card_declined", "Your card has insufficient funds.", "insufficient_funds"
)
LOST_CARD = CardDecline("card_declined", _DECLINED, "lost_card")
STOLEN_CARD = CardDecline("card_declined", _DECLINED, "stolen_card")
FRAUDULENT = CardDecline("card_declined", _DECLINED, "fraudulent")
VELOCITY_EXCEEDED = CardDecline(
    "card_declined",
    "Your card was declined for making repeated attempts too frequently or exceeding "
    "its amount limit.",
    "card_velocity_exceeded",
)
EXPIRED_CARD = CardDecline("expired_card", "Your card has expired.", param="exp_month")
INCORRECT_CVC = CardDecline("incorrect_cvc", "Your card's security code is incorrect.", param="cvc")
PROCESSING_ERROR = CardDecline(
    "processing_error",
    "An error occurred while processing your card. Try again in a little bit.",
)

DECLINING_PAYMENT_METHODS: dict[str, CardDecline] = {
    "pm_card_visa_chargeDeclined": GENERIC_DECLINE,
    "pm_card_chargeDeclined": GENERIC_DECLINE,
    "pm_card_chargeCustomerFail": GENERIC_DECLINE,
    "pm_card_visa_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "pm_card_chargeDeclinedInsufficientFunds": INSUFFICIENT_FUNDS,
    "pm_card_visa_chargeDeclinedLostCard": LOST_CARD,
    "pm_card_chargeDeclinedLostCard": LOST_CARD,
    "pm_card_visa_chargeDeclinedStolenCard": STOLEN_CARD,
    "pm_card_chargeDeclinedStolenCard": STOLEN_CARD,
    "pm_card_visa_chargeDeclinedFraudulent": FRAUDULENT,
    "pm_card_chargeDeclinedFraudulent": FRAUDULENT,
    "pm_card_radarBlock": FRAUDULENT,
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded": VELOCITY_EXCEEDED,
    "pm_card_chargeDeclinedExpiredCard": EXPIRED_CARD,
    "pm_card_chargeDeclinedIncorrectCvc": INCORRECT_CVC,
    "pm_card_chargeDeclinedProcessingError": PROCESSING_ERROR,
}

SUCCEEDING_PAYMENT_METHODS: frozenset[str] = frozenset(
    {
        "pm_card_visa",
        "pm_card_visa_debit",
        "pm_card_mastercard",
        "pm_card_mastercard_debit",
        "pm_card_mastercard_prepaid",
        "pm_card_amex",
        "pm_card_discover",
        "pm_card_diners",
        "pm_card_jcb",
        "pm_card_unionpay",
        "pm_card_us",
        "pm_card_gb",
        "pm_card_de",
        "pm_card_fr",
        "pm_card_jp",
    }
)
"""Documented success cards; listed for reference, since unknown ids succeed as well."""


def decline_for(payment_method: str) -> CardDecline | None:
    """The decline a charge on ``payment_method`` meets, or ``None`` if it succeeds."""
    return DECLINING_PAYMENT_METHODS.get(payment_method)
