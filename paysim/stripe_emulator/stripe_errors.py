"""Stripe's error replies (``{"error": {...}}`` with an HTTP status), built in one place.

Handlers raise :class:`EmulatedStripeError`; the proxy turns it into the HTTP answer. The
types, codes and messages follow what Stripe's API answers, so that the official SDK
maps each one to the same exception class it raises against Stripe.
"""

from __future__ import annotations

from typing import Any

from paysim.domain.money import Money
from paysim.errors import MoneyError
from paysim.stripe_emulator.test_cards import CardDecline

JsonObject = dict[str, Any]

_DOCS = "https://stripe.com/docs/error-codes/"
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


class EmulatedStripeError(Exception):
    """An answer in Stripe's error shape: HTTP ``status`` and ``{"error": error}``."""

    def __init__(
        self, status: int, error: JsonObject, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error
        self.headers = headers

    @property
    def body(self) -> JsonObject:
        return {"error": self.error}


def _error(kind: str, message: str, code: str | None, param: str | None) -> JsonObject:
    error: JsonObject = {"type": kind, "message": message}
    if code is not None:
        error["code"] = code
        error["doc_url"] = _DOCS + code.replace("_", "-")
    if param is not None:
        error["param"] = param
    return error


def invalid_request(
    message: str, *, code: str | None = None, param: str | None = None, status: int = 400
) -> EmulatedStripeError:
    return EmulatedStripeError(status, _error("invalid_request_error", message, code, param))


def unexpected_state(message: str, payment_intent: JsonObject | None = None) -> EmulatedStripeError:
    reply = invalid_request(message, code="payment_intent_unexpected_state")
    if payment_intent is not None:
        reply.error["payment_intent"] = payment_intent
    return reply


def resource_missing(kind: str, object_id: str, param: str = "id") -> EmulatedStripeError:
    return invalid_request(
        f"No such {kind}: '{object_id}'", code="resource_missing", param=param, status=404
    )


def idempotency_mismatch(key: str) -> EmulatedStripeError:
    message = (
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request."
    )
    return EmulatedStripeError(400, {"type": "idempotency_error", "message": message})


def idempotency_key_in_use(key: str) -> EmulatedStripeError:
    message = (
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going "
        f"through): {key}. Please try again later."
    )
    # As Stripe does, tell the client that a retry (same key) will get the real answer.
    return EmulatedStripeError(
        409,
        _error("invalid_request_error", message, "idempotency_key_in_use", None),
        (("stripe-should-retry", "true"),),
    )


def rate_limited() -> EmulatedStripeError:
    message = (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits."
    )
    return EmulatedStripeError(429, _error("invalid_request_error", message, "rate_limit", None))


def api_error(status: int = 500, message: str | None = None) -> EmulatedStripeError:
    text = message or (
        "Sorry, something went wrong. We've already been notified of the problem, but if "
        "you need any help, you can reach us at support.stripe.com/contact."
    )
    return EmulatedStripeError(status, {"type": "api_error", "message": text})


def card_error(decline: CardDecline, charge_id: str, payment_method: str) -> JsonObject:
    """The ``card_error`` object, as set in ``last_payment_error`` and in the 402 body."""
    error: JsonObject = {
        "type": "card_error",
        "code": decline.code,
        "message": decline.message,
        "doc_url": decline.doc_url,
        "charge": charge_id,
        "payment_method": {"id": payment_method, "object": "payment_method", "type": "card"},
    }
    if decline.decline_code is not None:
        error["decline_code"] = decline.decline_code
    if decline.param is not None:
        error["param"] = decline.param
    return error


def card_declined(error: JsonObject, payment_intent: JsonObject) -> EmulatedStripeError:
    """The 402 answer to a declined confirm: the error plus the intent it left behind."""
    return EmulatedStripeError(402, {**error, "payment_intent": payment_intent})


def format_amount(amount: int, currency: str) -> str:
    """Render minor units the way Stripe writes amounts in messages (``$12.50``)."""
    try:
        money = Money(amount, currency)
    except MoneyError:
        return f"{amount} {currency.upper()} (minor units)"
    symbol = _SYMBOLS.get(money.currency)
    if symbol is None:
        return f"{money.to_decimal()} {money.currency.upper()}"
    return f"{symbol}{money.to_decimal()}"
