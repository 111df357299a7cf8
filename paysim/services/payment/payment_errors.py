"""Stripe's refusals as the payment service's own errors.

The gateway raises its errors (``paysim.gateway``); callers of the payment service (its
HTTP API, its consumers) see these instead, so they depend on the service and not on the
Stripe adapter under it. Outages stay ``TransientError``s as the gateway raised them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from paysim.errors import PermanentError
from paysim.gateway.stripe_gateway import CardDeclinedError, StripeRequestError


class PaymentDeclinedError(PermanentError):
    """Stripe declined the card: the payment failed, a new attempt may use another card."""

    def __init__(self, message: str, code: str | None, decline_code: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.decline_code = decline_code


class StripeRefusedError(PermanentError):
    """Stripe refused the request as invalid; repeating it cannot help."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def stripe_refusals() -> Iterator[None]:
    """Raise the gateway's refusals inside the block as the payment service's errors."""
    try:
        yield
    except CardDeclinedError as exc:
        raise PaymentDeclinedError(exc.message, exc.code, exc.decline_code) from exc
    except StripeRequestError as exc:
        raise StripeRefusedError(str(exc), exc.code) from exc
