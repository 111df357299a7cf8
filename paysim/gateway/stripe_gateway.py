"""Stripe through the official SDK, with the rules paysim holds every call to.

- Every mutating call carries an idempotency key derived from the logical operation
  (``paysim.domain.idempotency_keys``), so a retried call can never charge or refund
  twice: Stripe (and the emulator) replay the first response for the same key.
- Every call has a timeout; transient failures (timeouts, dropped connections, 429,
  5xx) are retried here, with backoff and the *same* key, a bounded number of times.
- SDK errors are mapped to paysim's: a declined card is a ``CardDeclinedError`` with
  Stripe's code and decline code; bad requests are permanent; outages are transient.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import stripe

from paysim.domain.money import Money
from paysim.errors import PermanentError, TransientError

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


class StripeUnavailableError(TransientError):
    """Stripe did not answer in time, or answered 429/5xx, after every retry."""


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
        backoff_s: float = 0.2,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            # Retries are ours (below): bounded, logged, always with our own key.
            max_network_retries=0,
            http_client=stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True),
        )
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self.longest_call_s = max_attempts * timeout_s + sum(
            backoff_s * 2 ** (attempt - 1) for attempt in range(1, max_attempts)
        )
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
        options: dict[str, str] = {}
        if idempotency_key is not None:
            options["idempotency_key"] = idempotency_key
        for attempt in range(1, self._max_attempts + 1):
            try:
                return call(options)
            except stripe.CardError as exc:
                err = exc.error
                raise CardDeclinedError(
                    exc.user_message or str(err.message if err else exc),
                    exc.code,
                    getattr(err, "decline_code", None) if err else None,
                ) from exc
            except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
                failure: Exception = exc
            except stripe.StripeError as exc:
                status = exc.http_status or 0
                if status < 500:
                    raise StripeRequestError(
                        f"Stripe refused to {what}: {exc.user_message or exc}", exc.code, status
                    ) from exc
                failure = exc
            log.warning(
                "stripe %s attempt %d/%d failed: %s (key=%s)",
                what,
                attempt,
                self._max_attempts,
                type(failure).__name__,
                idempotency_key,
            )
            if attempt < self._max_attempts:
                time.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise StripeUnavailableError(
            f"Stripe did not {what} after {self._max_attempts} attempts: {failure}"
        ) from failure
