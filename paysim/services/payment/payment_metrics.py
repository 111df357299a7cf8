"""The payment service's gauges, computed from its store when /metrics is scraped."""

from __future__ import annotations

from paysim import metrics
from paysim.domain.payment_state import CAPTURED, REFUNDED
from paysim.domain.status import PaymentStatus
from paysim.services.payment import repository as repo
from paysim.services.payment.service import PaymentService
from paysim.store.outbox import Outbox


def refresh_gauges(service: PaymentService) -> None:
    with service.reading() as conn:
        counts = repo.status_counts(conn)
        backlog = Outbox(conn).backlog()
    captured = sum(counts.get(s.value, 0) for s in CAPTURED)
    failed = counts.get(PaymentStatus.FAILED.value, 0)
    refunded = sum(counts.get(s.value, 0) for s in REFUNDED)
    metrics.PAYMENT_SUCCESS_RATE.set(captured / (captured + failed) if captured + failed else 0.0)
    metrics.PAYMENT_REFUND_RATE.set(refunded / captured if captured else 0.0)
    metrics.OUTBOX_BACKLOG.labels("payment").set(backlog)
