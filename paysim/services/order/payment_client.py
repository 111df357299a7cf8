"""The order service's one synchronous call: asking the payment service to cancel.

Refunds travel over Kafka (``payment-refund-initiated``); cancelling an uncaptured
payment is a command the plan gives no topic to, so it goes over HTTP, with a timeout.
A cancel that gets no answer is asked again (``payment_cancels``); one the payment
service refuses outright is not.
"""

from __future__ import annotations

import logging

import httpx

from paysim.errors import PermanentError, TransientError

log = logging.getLogger(__name__)


class PaymentServiceUnavailableError(TransientError):
    """The payment service did not answer the cancel in time."""


class PaymentCancelRefusedError(PermanentError):
    """The payment service answered the cancel with a 4xx other than 409: asking again
    would get the same answer."""


class PaymentClient:
    """The payment service's cancel endpoint, seen from the order service."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s

    def cancel(self, payment_id: int, reason: str) -> bool:
        """True if the payment is now cancelled; False if it can no longer be (409)."""
        try:
            response = httpx.post(
                f"{self._base_url}/api/payments/{payment_id}/cancel",
                json={"reason": reason},
                timeout=self._timeout_s,
            )
        except httpx.HTTPError as exc:
            raise PaymentServiceUnavailableError(f"cancel of payment {payment_id}: {exc}") from exc
        if response.status_code == 409:
            log.info("payment %s could not be cancelled: %s", payment_id, response.text)
            return False
        if response.status_code >= 500:
            raise PaymentServiceUnavailableError(
                f"cancel of payment {payment_id}: HTTP {response.status_code}"
            )
        if response.status_code >= 400:
            raise PaymentCancelRefusedError(
                f"cancel of payment {payment_id}: HTTP {response.status_code} {response.text}"
            )
        return True
