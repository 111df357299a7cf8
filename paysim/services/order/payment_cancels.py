"""Payment cancels the saga owes, asked for until the payment service answers.

Cancelling an unpaid order's payment is an HTTP call (``payment_client``) that may get
no answer: the payment service is down, slow or restarting. So the cancel is written
down as a pending compensation in the transaction of the move that calls for it (the
customer's CANCELLED, a deadline's cancel), asked for once right after the commit, and
then again by ``retry_due`` (a periodic worker) with ``saga.cancel_retry_delay``
between tries, until the payment service answers:

* cancelled -> settled;
* 409, it can no longer be cancelled (cancelled already, or captured meanwhile) ->
  settled too: a captured payment's PAYMENT_COMPLETED reaches an order that is
  cancelled, and the saga refunds it (``saga.on_payment_completed``);
* another 4xx -> settled as refused, logged as an error: asking again cannot help.

A crash between the commit and the call leaves the row pending, and the sweep asks.
Asking twice is harmless: the second answer is a 409.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from paysim.domain import saga
from paysim.errors import PermanentError
from paysim.services.order import repository as repo
from paysim.services.order.repository import PendingCancel

if TYPE_CHECKING:
    from paysim.services.order.service import OrderService

log = logging.getLogger(__name__)

FAULT_POINT = "cancel-payment"
"""The fault point passed just before the call, so a test can make it go unanswered."""
BATCH = 50
"""Cancels asked for per sweep round, at most."""

NOT_CANCELLABLE = "not cancellable: cancelled already, or captured (a captured payment is refunded)"


def try_cancel(service: OrderService, pending: PendingCancel) -> bool:
    """Ask the payment service once; True if it answered (the cancel is then settled)."""
    try:
        service.faults.check(FAULT_POINT, pending.order_id)
        cancelled = service.payments.cancel(pending.payment_id, pending.reason)
    except PermanentError as refused:
        detail = f"refused: {refused}"
        log.error(
            "cancel of paymentId=%s refused, not asked again: %s", pending.payment_id, refused
        )
    except Exception as unanswered:  # any failure to get an answer is asked again
        _postpone(service, pending, unanswered)
        return False
    else:
        detail = "cancelled" if cancelled else NOT_CANCELLABLE
    with service.uow() as uow:
        repo.settle_cancels(uow.connection, pending, detail=detail, now=service.now())
    return True


def _postpone(service: OrderService, pending: PendingCancel, unanswered: Exception) -> None:
    wait = saga.cancel_retry_delay(pending.tries + 1)
    with service.uow() as uow:
        repo.postpone_cancel(
            uow.connection,
            pending,
            detail=f"no answer: {unanswered}",
            retry_at=service.now() + wait,
        )
    log.warning(
        "cancel of paymentId=%s (orderId=%s) got no answer; asking again in %gs: %s",
        pending.payment_id,
        pending.order_id,
        wait.total_seconds(),
        unanswered,
    )


def retry_due(service: OrderService) -> int:
    """One sweep round: ask again every cancel whose next try is due; returns how many
    were answered."""
    with service.reading() as conn:
        due = repo.due_cancels(conn, service.now(), BATCH)
    answered = 0
    for pending in due:
        # Answered meanwhile (another row of the same payment, or the first try): skip.
        with service.reading() as conn:
            current = repo.pending_cancel(conn, pending.compensation_id)
        if current is not None and try_cancel(service, current):
            answered += 1
    return answered
