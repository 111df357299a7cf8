"""Prometheus metrics with the plan's names, defined once for every service.

Names and labels follow the plan's "Metrics to Track". Each service process exposes the
default registry on its ``/metrics`` endpoint.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "payment_events_published_total",
    "Events published to Kafka, by event type.",
    ["event_type"],
)
EVENTS_CONSUMED = Counter(
    "payment_events_consumed_total",
    "Events handled by a consumer group, by event type and outcome.",
    ["group", "event_type", "outcome"],
)
PROCESSING_SECONDS = Histogram(
    "payment_event_processing_duration_seconds",
    "Time from poll to stored offset for one event, retries included.",
    ["group", "event_type"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENT_FAILURES = Counter(
    "payment_event_failures_total",
    "Handler failures, by group, event type and error class (every attempt counts).",
    ["group", "event_type", "error"],
)
EVENT_RETRIES = Counter(
    "payment_event_retries_total",
    "Retries of a failed handler, by group and event type.",
    ["group", "event_type"],
)
BATCH_FALLBACKS = Counter(
    "payment_consumer_batch_fallbacks_total",
    "Rounds whose one-transaction batch failed and were handled one record at a time.",
    ["group"],
)
DEAD_LETTERS = Counter(
    "payment_event_dead_letters_total",
    "Records sent to a dead-letter topic, by group and source topic.",
    ["group", "topic"],
)
OUTBOX_BACKLOG = Gauge(
    "payment_outbox_backlog",
    "Outbox rows committed but not yet published, by service.",
    ["service"],
)
OUTBOX_PARKED = Counter(
    "payment_outbox_parked_total",
    "Outbox rows parked because they could not be published, by service and event type.",
    ["service", "event_type"],
)
OUTBOX_PARKED_ROWS = Gauge(
    "payment_outbox_parked_rows",
    "Outbox rows parked now, waiting for `paysim outbox retry`, by service.",
    ["service"],
)
RELAY_PUBLISH_SECONDS = Histogram(
    "payment_outbox_publish_latency_seconds",
    "Time from an outbox row's commit to its confirmed delivery to Kafka.",
    ["service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PAYMENT_SUCCESS_RATE = Gauge(
    "payment_success_rate",
    "Completed payments over completed plus failed confirmations.",
)
PAYMENT_REFUND_RATE = Gauge(
    "payment_refund_rate",
    "Refunded payments over completed payments.",
)
CONSUMER_LAG = Gauge(
    "payment_consumer_lag",
    "High watermark minus committed offset, by group, topic and partition.",
    ["group", "topic", "partition"],
)
COMPENSATIONS = Counter(
    "payment_saga_compensations_total",
    "Compensations the saga issued, by kind (REFUND, CANCEL_PAYMENT) and reason.",
    ["kind", "reason"],
)
SAGA_REFUNDS_FAILED = Counter(
    "payment_saga_refunds_failed_total",
    "Saga refunds Stripe refused for good: orders left to an operator (REFUND_FAILED).",
)
WORKER_ERRORS = Counter(
    "paysim_worker_errors_total",
    "Rounds of a periodic background worker (sweeps, timers) that raised, by worker.",
    ["worker"],
)
REFUNDS_FAILED = Counter(
    "payment_refunds_failed_total",
    "Refunds Stripe refused for good (left FAILED, their amount released), by Stripe code.",
    ["code"],
)
RECONCILED = Counter(
    "payment_reconciled_total",
    "Payments whose status the reconciler changed after asking Stripe, by new status.",
    ["status"],
)
