"""A consumer's retry budget stays provably below max.poll.interval.ms.

No poll happens while a round of records is handled: if handling one (every attempt at
its limit, every backoff, its dead letter; for a batch, the batch transaction and then
the one-at-a-time fallback) could outlast max.poll.interval.ms, the member would be
evicted mid-round and its records redelivered.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import pytest

from paysim.bootstrap.common import ONE_TRANSACTION_S
from paysim.bus.consumer import (
    DEFAULT_MAX_POLL_INTERVAL_MS,
    Batching,
    BatchScope,
    EventConsumer,
    RetryPolicy,
)
from paysim.bus.dead_letters import DELIVERY_TIMEOUT_S
from paysim.gateway.stripe_gateway import StripeGateway
from paysim.store.database import SQLITE_BUSY_TIMEOUT_MS


def _consumer(
    retry: RetryPolicy,
    *,
    batch: BatchScope | None = None,
    batching: Batching = Batching(),
    **overrides: object,
) -> EventConsumer:
    # Building one connects nothing: the Kafka consumer is created in run().
    return EventConsumer(
        "127.0.0.1:1",
        "budget-test",
        ["payment-events"],
        lambda _event, _record: None,
        dead_letters=None,  # type: ignore[arg-type]  # never reached: nothing is consumed
        batch=batch,
        batching=batching,
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
    # Four tries of 5 s, and the SDK's pauses between them (0.5 s doubling).
    assert gateway.longest_call_s == pytest.approx(4 * 5.0 + 0.5 + 1.0 + 2.0)
    refund = RetryPolicy(attempt_limit_s=2 * ONE_TRANSACTION_S + gateway.longest_call_s)
    assert _interval_s(_consumer(refund)) >= 2 * refund.worst_case_s()


def test_a_batched_round_counts_its_budget_the_batch_and_the_fallbacks_last_record() -> None:
    retry = RetryPolicy(max_attempts=4, attempt_limit_s=30)
    batching = Batching(max_records=500, budget_s=5.0)
    # Records are started only within the budget; the last one started in the batch takes
    # at most one attempt, the last one of the fallback its whole budget. The round's
    # size does not count: what was not started is sought back for the next round.
    assert batching.worst_case_s(retry, batched=True) == pytest.approx(
        5.0 + 30 + retry.worst_case_s()
    )
    assert batching.worst_case_s(retry, batched=False) == retry.worst_case_s()
    assert _interval_s(_consumer(retry, batch=nullcontext, batching=batching)) >= 2 * (
        batching.worst_case_s(retry, batched=True)
    )


def test_an_interval_that_fits_one_record_but_not_a_batched_round_is_refused() -> None:
    retry = RetryPolicy(max_attempts=2, attempt_limit_s=10)
    batching = Batching(budget_s=20.0)
    fits_one_record_ms = math.ceil(2 * retry.worst_case_s() * 1000)
    overrides = {"max.poll.interval.ms": fits_one_record_ms}
    assert (
        _interval_s(_consumer(retry, batching=batching, **overrides)) == fits_one_record_ms / 1000
    )
    with pytest.raises(ValueError, match=r"one round of records may take"):
        _consumer(retry, batch=nullcontext, batching=batching, **overrides)
