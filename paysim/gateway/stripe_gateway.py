"""Stripe through the official SDK, with the rules paysim holds every call to.

- Every mutating call carries an idempotency key derived from the logical operation
  (``paysim.domain.idempotency_keys``), so a retried call can never charge or refund
  twice: Stripe (and the emulator) replay the first response for the same key.
- Every call has a timeout. Transient failures (timeouts, dropped connections, 5xx,
  409 ``idempotency_key_in_use``) are retried by the SDK itself (``max_network_retries``):
  with backoff, the *same* key, and honouring Stripe's ``Stripe-Should-Retry`` header.
  The SDK leaves 429 (``rate_limit``, ``lock_timeout``) to its caller: retried here.
- SDK errors are mapped to paysim's: a declined card is a ``CardDeclinedError`` with
  Stripe's code and decline code; an intent in another state than the call expects is a
  ``StripeUnexpectedStateError`` (ask Stripe for the intent: it knows what happened);
  other bad requests are permanent; outages, and answers that say the first request
  with this key is still running, are transient: the outcome is *unknown*, not failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe

from paysim.domain.money import Money
from paysim.errors import PaysimError, PermanentError, TransientError

log = logging.getLogger(__name__)

T = TypeVar("T")


class CardDeclinedError(PermanentError):
    """Stripe declined the card: the payment failed, a new attempt may use another card."""

    def __init__(self, message: str, code: str | None, decline_code: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code


class StripeRequestError(PermanentError):
    """Stripe refused the request as invalid; repeating it cannot help."""

    def __init__(self, message: str, code: str | None, http_status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class StripeUnexpectedStateError(StripeRequestError):
    """Stripe refused because the PaymentIntent is not in a state the call applies to
    (already succeeded, canceled, ...): retrieve it to learn what it is."""


class StripeUnavailableError(TransientError):
    """Stripe did not answer in time, answered 429/5xx, or was still running the first
    request with this key, after every retry: the outcome of the call is unknown."""


# 409: another request with this key is still running at Stripe; 429: rate limit or
# lock_timeout. Neither says anything about the outcome of the operation.
_IN_PROGRESS_STATUSES = frozenset({409, 429})


@dataclass(frozen=True, slots=True)
class StripeIntent:
    """What paysim needs of a PaymentIntent."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None
    latest_charge: str | None
    amount_received: int
    cancellation_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StripeRefund:
    id: str
    status: str
    amount: int


def _plain(obj: Any) -> dict[str, Any]:
    # SDK objects are not dicts; work on a plain copy.
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def _intent(resource: Any) -> StripeIntent:
    obj = _plain(resource)
    charge = obj.get("latest_charge")
    return StripeIntent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=obj["currency"],
        client_secret=obj.get("client_secret"),
        latest_charge=charge if isinstance(charge, str) or charge is None else charge["id"],
        amount_received=int(obj.get("amount_received") or 0),
        cancellation_reason=obj.get("cancellation_reason"),
    )


class StripeGateway:
    """PaymentIntents and Refunds, through ``stripe.StripeClient``; nothing connects in init."""

    def __init__(
        self,
        api_base: str,
        api_key: str,
        *,
        timeout_s: float = 5.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            # The SDK retries connection errors, 409 and 5xx with the same idempotency key.
            max_network_retries=max_attempts - 1,
            http_client=stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True),
        )
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        # The SDK's own backoff: INITIAL_DELAY doubling, capped at MAX_DELAY (jitter only
        # shortens it).
        sdk_pauses = sum(
            min(stripe.HTTPXClient.INITIAL_DELAY * 2**retry, stripe.HTTPXClient.MAX_DELAY)
            for retry in range(max_attempts - 1)
        )
        self.longest_call_s: float = max_attempts * timeout_s + sdk_pauses
        """How long one call can take with every retry: what a caller must budget for."""

    def create_intent(
        self, amount: Money, *, idempotency_key: str, metadata: dict[str, str]
    ) -> StripeIntent:
        return _intent(
            self._call(
                "create intent",
                idempotency_key,
                lambda opts: self._client.v1.payment_intents.create(
                    params={
                        "amount": amount.minor,
                        "currency": amount.currency,
                        "metadata": metadata,
                    },
                    options=opts,
                ),
            )
        )

    def confirm(self, intent_id: str, payment_method: str, *, idempotency_key: str) -> StripeIntent:
        return _intent(
            self._call(
                "confirm",
                idempotency_key,
                lambda opts: self._client.v1.payment_intents.confirm(
                    intent_id, params={"payment_method": payment_method}, options=opts
                ),
            )
        )

    def cancel(self, intent_id: str, *, idempotency_key: str) -> StripeIntent:
        return _intent(
            self._call(
                "cancel",
                idempotency_key,
                lambda opts: self._client.v1.payment_intents.cancel(
                    intent_id, params={"cancellation_reason": "requested_by_customer"}, options=opts
                ),
            )
        )

    def retrieve(self, intent_id: str) -> StripeIntent:
        return _intent(
            self._call(
                "retrieve",
                None,
                lambda opts: self._client.v1.payment_intents.retrieve(intent_id, options=opts),
            )
        )

    def refund(self, intent_id: str, amount: Money, *, idempotency_key: str) -> StripeRefund:
        obj = _plain(
            self._call(
                "refund",
                idempotency_key,
                lambda opts: self._client.v1.refunds.create(
                    params={"payment_intent": intent_id, "amount": amount.minor}, options=opts
                ),
            )
        )
        return StripeRefund(id=obj["id"], status=obj["status"], amount=int(obj["amount"]))

    def _call(self, what: str, idempotency_key: str | None, call: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self.longest_call_s
        options: dict[str, Any] = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        for round_ in range(1, self._max_attempts + 1):
            try:
                return call(options)
            except stripe.RateLimitError as exc:
                # The one transient answer the SDK does not retry unless Stripe says so.
                failure: Exception = exc
            except stripe.StripeError as exc:
                raise _mapped(what, exc) from exc
            pause = self._backoff_s * 2 ** (round_ - 1)
            # Later rounds are single tries, started only if they end within the budget.
            options["max_network_retries"] = 0
            if time.monotonic() + pause + self._timeout_s > deadline:
                break
            log.warning(
                "stripe %s rate limited (round %d): %s (key=%s)",
                what,
                round_,
                failure,
                idempotency_key,
            )
            time.sleep(pause)
        raise _unavailable(what, failure)


def _unavailable(what: str, failure: Exception) -> StripeUnavailableError:
    return StripeUnavailableError(f"Stripe did not {what}; its outcome is unknown: {failure}")


def _mapped(what: str, exc: stripe.StripeError) -> PaysimError:
    """The paysim error for an SDK error the SDK's own retries did not get past."""
    if isinstance(exc, stripe.CardError):
        err = exc.error
        return CardDeclinedError(
            exc.user_message or str(err.message if err else exc),
            exc.code,
            getattr(err, "decline_code", None) if err else None,
        )
    status = exc.http_status or 0
    if isinstance(exc, stripe.APIConnectionError) or status >= 500:
        return _unavailable(what, exc)
    if status in _IN_PROGRESS_STATUSES:
        return _unavailable(what, exc)
    message = f"Stripe refused to {what}: {exc.user_message or exc}"
    if exc.code == "payment_intent_unexpected_state":
        return StripeUnexpectedStateError(message, exc.code, status)
    return StripeRequestError(message, exc.code, status)
