"""Analytics arithmetic: counts, rates, revenue in minor units; and the service's stored
totals agreeing with the pure fold, duplicates counted once (SQLite file, no broker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from paysim.domain.bounds import MAX_AMOUNT_MINOR
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.domain.money import Money
from paysim.domain.payment_analytics import Totals, contribution, fold, payment_key
from paysim.services.analytics.analytics_metrics import refresh_gauges
from paysim.services.analytics.service import AnalyticsService
from paysim.services.analytics.tables import metadata
from paysim.store import create_engine_for, create_schema, sqlite_url


def _event(event_type: PaymentEventType, payment_id: int, **fields: object) -> PaymentEvent:
    base = {"event_type": event_type, "order_id": 1000 + payment_id, "payment_id": payment_id}
    return PaymentEvent.model_validate({**base, **fields})


def _story() -> list[PaymentEvent]:
    """Three payments: one declined then paid and refunded in two parts, one in JPY, one
    declined for good."""
    return [
        _event(PaymentEventType.PAYMENT_INITIATED, 1, amount_minor=2599, currency="usd"),
        _event(PaymentEventType.PAYMENT_FAILED, 1, amount_minor=2599, currency="usd"),
        _event(PaymentEventType.PAYMENT_COMPLETED, 1, amount_minor=2599, currency="usd"),
        _event(
            PaymentEventType.PAYMENT_REFUNDED,
            1,
            amount_minor=2599,
            refund_amount_minor=1000,
            currency="usd",
        ),
        _event(
            PaymentEventType.PAYMENT_REFUNDED,
            1,
            amount_minor=2599,
            refund_amount_minor=599,
            currency="usd",
        ),
        _event(PaymentEventType.PAYMENT_COMPLETED, 2, amount_minor=1500, currency="jpy"),
        _event(PaymentEventType.PAYMENT_FAILED, 3, amount_minor=999, currency="usd"),
    ]


def test_each_event_contributes_its_type_and_its_money() -> None:
    completed = contribution(
        _event(PaymentEventType.PAYMENT_COMPLETED, 1, amount_minor=2599, currency="usd")
    )
    assert (completed.captured, completed.refunded) == (Money(2599, "usd"), None)
    refunded = contribution(
        _event(
            PaymentEventType.PAYMENT_REFUNDED,
            1,
            amount_minor=2599,
            refund_amount_minor=500,
            currency="usd",
        )
    )
    assert (refunded.captured, refunded.refunded) == (None, Money(500, "usd"))
    assert refunded.refunded_payment == "payment-1"
    failed = contribution(
        _event(PaymentEventType.PAYMENT_FAILED, 1, amount_minor=2599, currency="usd")
    )
    assert (failed.captured, failed.refunded, failed.refunded_payment) == (None, None, None)


def test_a_refund_without_its_own_amount_refunds_the_payments_amount() -> None:
    part = contribution(
        _event(PaymentEventType.PAYMENT_REFUNDED, 1, amount_minor=700, currency="eur")
    )
    assert part.refunded == Money(700, "eur")


def test_the_payment_key_falls_back_to_the_order() -> None:
    foreign = PaymentEvent(event_type=PaymentEventType.PAYMENT_REFUNDED, order_id=55)
    assert payment_key(foreign) == "order-55"


def test_rates_and_revenue_of_a_story() -> None:
    totals = fold(_story())
    assert totals.count(PaymentEventType.PAYMENT_COMPLETED) == 2
    assert totals.count(PaymentEventType.PAYMENT_FAILED) == 2
    assert totals.events == 7
    assert totals.success_rate == pytest.approx(2 / 4)
    assert totals.refunded_payments == 1  # refunded in two parts, counted once
    assert totals.refund_rate == pytest.approx(1 / 2)
    usd = totals.in_currency("usd")
    assert (usd.captured, usd.refunded, usd.net) == (
        Money(2599, "usd"),
        Money(1599, "usd"),
        Money(1000, "usd"),
    )
    assert totals.in_currency("jpy").net == Money(1500, "jpy")


def test_the_summary_renders_amounts_as_exact_decimal_strings() -> None:
    summary = fold(_story()).summary()
    assert summary["revenue"] == {
        "jpy": {
            "captured": "1500",
            "refunded": "0",
            "net": "1500",
            "capturedMinor": 1500,
            "refundedMinor": 0,
            "netMinor": 1500,
        },
        "usd": {
            "captured": "25.99",
            "refunded": "15.99",
            "net": "10.00",
            "capturedMinor": 2599,
            "refundedMinor": 1599,
            "netMinor": 1000,
        },
    }
    assert summary["counts"] == {
        "PAYMENT_COMPLETED": 2,
        "PAYMENT_FAILED": 2,
        "PAYMENT_INITIATED": 1,
        "PAYMENT_REFUNDED": 2,
    }
    assert (summary["successRate"], summary["refundRate"]) == (0.5, 0.5)


def test_nothing_counted_means_zero_rates_not_a_division_by_zero() -> None:
    empty = Totals()
    assert (empty.success_rate, empty.refund_rate, empty.events) == (0.0, 0.0, 0)
    assert empty.summary()["revenue"] == {}
    only_failures = fold([_event(PaymentEventType.PAYMENT_FAILED, 1)])
    assert only_failures.success_rate == 0.0


def test_large_sums_stay_exact() -> None:
    # One event carries at most Stripe's ceiling; their sum has no bound and stays exact.
    big = MAX_AMOUNT_MINOR
    totals = fold(
        [
            _event(PaymentEventType.PAYMENT_COMPLETED, i, amount_minor=big, currency="usd")
            for i in (1, 2, 3)
        ]
    )
    assert totals.in_currency("usd").captured.minor == 3 * big
    assert totals.summary()["revenue"]["usd"]["captured"] == "2999999.97"  # type: ignore[index]


# --- the service on a SQLite file ------------------------------------------------------


@pytest.fixture
def service(tmp_path: Path) -> AnalyticsService:
    engine = create_engine_for(sqlite_url(tmp_path / "analytics.db"))
    create_schema(engine, metadata)
    return AnalyticsService(engine)


def test_stored_totals_agree_with_the_fold_and_duplicates_count_once(
    service: AnalyticsService,
) -> None:
    story = _story()
    for event in story + story[::2]:  # every other event delivered again
        service.record(event)
    assert service.totals().summary() == fold(story).summary()


def test_gauges_are_refreshed_from_the_store(service: AnalyticsService) -> None:
    for event in _story():
        service.record(event)
    refresh_gauges(service)
    assert _sample("payment_revenue_minor", "usd") == 1000
    assert _sample("payment_refunded_minor", "usd") == 1599
    assert _sample("payment_revenue_minor", "jpy") == 1500
    assert REGISTRY.get_sample_value("payment_success_rate") == 0.5
    assert REGISTRY.get_sample_value("payment_refund_rate") == 0.5


def _sample(name: str, currency: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"currency": currency})
