"""The analytics gauges, computed from the store when /metrics is scraped.

``payment_success_rate`` and ``payment_refund_rate`` are the plan's gauges (defined in
``paysim.metrics``), here from the analytics service's own event counts.
Revenue gauges are in minor units per currency: exact integers (a Prometheus sample is
a float64, which holds every integer up to 2**53 exactly).
"""

from __future__ import annotations

from prometheus_client import Gauge

from paysim import metrics
from paysim.domain.payment_analytics import Totals
from paysim.services.analytics.service import AnalyticsService

REVENUE_MINOR = Gauge(
    "payment_revenue_minor",
    "Net revenue (captured minus refunded), in minor units, by currency.",
    ["currency"],
)
REFUNDED_MINOR = Gauge(
    "payment_refunded_minor",
    "Refunded amounts, in minor units, by currency.",
    ["currency"],
)


def refresh_gauges(service: AnalyticsService) -> Totals:
    totals = service.totals()
    metrics.PAYMENT_SUCCESS_RATE.set(totals.success_rate)
    metrics.PAYMENT_REFUND_RATE.set(totals.refund_rate)
    for currency in totals.currencies():
        money = totals.in_currency(currency)
        REVENUE_MINOR.labels(currency).set(money.net.minor)
        REFUNDED_MINOR.labels(currency).set(money.refunded.minor)
    return totals
