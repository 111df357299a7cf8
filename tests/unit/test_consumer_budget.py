"""A consumer's retry budget stays provably below max.poll.interval.ms.

No poll happens while a record is handled: if handling one record (every attempt at its
limit, every backoff, its dead letter) could outlast max.poll.interval.ms, the member
would be evicted mid-record and its records redelivered.
"""

from __future__ import annotations

import pytest

from paysim.bootstrap.common import ONE_TRANSACTION_S
from paysim.bus.consumer import DEFAULT_MAX_POLL_INTERVAL_MS, EventConsumer, RetryPolicy
from paysim.bus.dead_letters import DELIVERY_TIMEOUT_S
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.store.database import SQLITE_BUSY_TIMEOUT_MS


def _consumer(retry: RetryPolicy, **overrides: object) -> EventConsumer:
    # Building one connects nothing: the Kafka consumer is created in run().
    return EventConsumer(
        "127.0.0.1:1",
        "budget-test",
        ["payment-events"],
        lambda _event, _record: None,
        dead_letters=None,  # type: ignore[arg-type]  # never reached: nothing is consumed
        retry=retry,
        overrides=overrides,
    )


def _interval_s(consumer: EventConsumer) -> float:
    return float(consumer._config["max.poll.interval.ms"]) / 1000


def test_the_worst_case_counts_every_attempt_backoff_and_the_dead_letter() -> None:
    policy = RetryPolicy(
        max_attempts=4, initial_backoff_s=0.1, multiplier=2.0, max_backoff_s=2.0, attempt_limit_s=30
    )
    assert policy.worst_case_s() == pytest.approx(4 * 30 + (0.1 + 0.2 + 0.4) + DELIVERY_TIMEOUT_S)


def test_the_default_attempt_limit_is_one_sqlite_transaction() -> None:
    assert RetryPolicy().attempt_limit_s == ONE_TRANSACTION_S == SQLITE_BUSY_TIMEOUT_MS / 1000


@pytest.mark.parametrize(
    "policy",
    [
        RetryPolicy(),
        RetryPolicy(max_attempts=1, attempt_limit_s=0.5),
        RetryPolicy(max_attempts=10, attempt_limit_s=90, max_backoff_s=5),
    ],
)
def test_the_poll_interval_is_sized_from_the_budget(policy: RetryPolicy) -> None:
    interval_s = _interval_s(_consumer(policy))
    assert interval_s >= 2 * policy.worst_case_s()
    assert interval_s >= DEFAULT_MAX_POLL_INTERVAL_MS / 1000


def test_the_issues_budget_against_a_120_s_interval_is_refused() -> None:
    # 4 attempts x a 30 s busy timeout against max.poll.interval.ms = 120 s: the member
    # could be evicted in the middle of a record.
    with pytest.raises(ValueError, match=r"more than half of max\.poll\.interval\.ms"):
        _consumer(
            RetryPolicy(max_attempts=4, attempt_limit_s=30), **{"max.poll.interval.ms": 120_000}
        )


def test_an_override_that_leaves_room_is_kept() -> None:
    policy = RetryPolicy(max_attempts=2, attempt_limit_s=1)
    consumer = _consumer(policy, **{"max.poll.interval.ms": 90_000})
    assert _interval_s(consumer) == 90.0
    assert 2 * policy.worst_case_s() <= 90.0


def test_the_refund_consumer_budgets_for_its_stripe_calls() -> None:
    gateway = StripeGateway("http://127.0.0.1:1", "sk_test_x", timeout_s=5.0)
    # Four tries of 5 s with 0.2, 0.4 and 0.8 s between them.
    assert gateway.longest_call_s == pytest.approx(4 * 5.0 + 0.2 + 0.4 + 0.8)
    refund = RetryPolicy(attempt_limit_s=2 * ONE_TRANSACTION_S + gateway.longest_call_s)
    assert _interval_s(_consumer(refund)) >= 2 * refund.worst_case_s()
