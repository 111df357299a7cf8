"""The consumer loop itself, against a fake Kafka consumer and a fake dead-letter writer.

What is checked is the loop's contract (``paysim.bus.consumer``): a transient failure
is retried in place and then succeeds; an exhausted budget, a permanent failure or an
undecodable record is parked as a dead letter; a dead letter that is not acknowledged is
tried again, never skipped; a stop leaves unfinished work uncommitted; offsets are
stored only after the handler returned, and a stop commits and closes. The dead-letter
writer's headers are checked against an in-memory publisher.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition
from prometheus_client import REGISTRY

from paysim.bus import dead_letters as dl
from paysim.bus.consumer import Batching, EventConsumer, RetryPolicy
from paysim.bus.dead_letters import DeadLetter, DeadLetterWriter
from paysim.bus.reader import Record, to_record
from paysim.codec import encode_event
from paysim.domain.events import AnyEvent, PaymentEvent, PaymentEventType
from paysim.errors import InvalidEventError, PermanentError, TransientError
from paysim.topics import PAYMENT_DLQ
from tests.builders import payment_completed
from tests.fakes import FakePublisher

TOPIC = "payment-events"
TINY = RetryPolicy(max_attempts=3, initial_backoff_s=0.001, multiplier=2.0, max_backoff_s=0.004)


# -- fakes ---------------------------------------------------------------------------------


@dataclass
class FakeMessage:
    """The parts of ``confluent_kafka.Message`` the loop reads."""

    value_: bytes | None
    offset_: int = 0
    partition_: int = 0
    topic_: str = TOPIC
    key_: bytes | None = b"42"
    headers_: list[tuple[str, bytes]] = field(default_factory=list)
    error_: KafkaError | None = None

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes | None:
        return self.key_

    def value(self) -> bytes | None:
        return self.value_

    def headers(self) -> list[tuple[str, bytes]]:
        return self.headers_

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)

    def error(self) -> KafkaError | None:
        return self.error_


class FakeConsumer:
    """A ``confluent_kafka.Consumer`` that hands out ``messages`` and then sets ``stop``.

    Partitions are assigned on the first poll, as librdkafka does. Every call the loop
    makes that matters to delivery is appended to ``log``, shared with the handler.
    """

    def __init__(
        self,
        messages: list[FakeMessage],
        stop: threading.Event,
        log: list[tuple[str, int | None]],
        *,
        commit_error: KafkaException | None = None,
    ) -> None:
        self._messages = list(messages)
        self._delivered = list(messages)
        self._stop = stop
        self.log = log
        self.config: dict[str, Any] = {}
        self.topics: list[str] = []
        self._on_assign: Callable[..., None] | None = None
        self._on_revoke: Callable[..., None] | None = None
        self._commit_error = commit_error

    def subscribe(
        self, topics: list[str], *, on_assign: Callable[..., None], on_revoke: Callable[..., None]
    ) -> None:
        self.topics = topics
        self._on_assign, self._on_revoke = on_assign, on_revoke

    def poll(self, _timeout: float) -> FakeMessage | None:
        if self._on_assign is not None:
            self._on_assign(self, [])
            self._on_assign = None
        if not self._messages:
            self._stop.set()
            return None
        return self._messages.pop(0)

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        assert timeout == 0, "the loop waits in poll(), never for a batch to fill"
        taken, self._messages = self._messages[:num_messages], self._messages[num_messages:]
        return taken

    def seek(self, partition: TopicPartition) -> None:
        """Hand out the partition's records again from ``partition.offset`` on."""
        self.log.append(("seek", partition.offset))
        again = [
            m
            for m in self._delivered
            if (m.topic(), m.partition()) == (partition.topic, partition.partition)
            and m.offset() >= partition.offset
            and not any(m is pending for pending in self._messages)
        ]
        self._messages = again + self._messages

    def revoke(self) -> None:
        """What librdkafka does in a rebalance: the loop's revoke callback runs."""
        assert self._on_revoke is not None
        self._on_revoke(self, [])

    def store_offsets(self, *, offsets: list[TopicPartition]) -> None:
        """Logged as ("store", next offset to read) per partition."""
        self.log.extend(("store", tp.offset) for tp in offsets)

    def commit(self, *, asynchronous: bool) -> None:
        assert asynchronous is False, "the loop's commits must be synchronous"
        self.log.append(("commit", None))
        if self._commit_error is not None:
            raise self._commit_error

    def close(self) -> None:
        self.log.append(("close", None))


@dataclass
class FakeDeadLetters:
    """A ``DeadLetterWriter`` that records what it was sent; the first ``refuse`` sends raise."""

    refuse: int = 0
    sent: list[tuple[Record, BaseException, int, str]] = field(default_factory=list)
    tries: int = 0

    def send(self, record: Record, error: BaseException, attempts: int, group: str) -> str:
        self.tries += 1
        if self.tries <= self.refuse:
            raise TransientError("dead letter not acknowledged")
        self.sent.append((record, error, attempts, group))
        return PAYMENT_DLQ


class Stop(threading.Event):
    """A stop event whose waits return at once (and are recorded), so no test sleeps.

    ``set_on_wait``: the first wait sets the event, as a shutdown arriving mid-backoff.
    """

    def __init__(self, *, set_on_wait: bool = False) -> None:
        super().__init__()
        self.waits: list[float | None] = []
        self._set_on_wait = set_on_wait

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if self._set_on_wait:
            self.set()
        return self.is_set()


class Handler:
    """A handler that fails with the given errors, in order, then succeeds."""

    def __init__(
        self, *failures: Exception, log: list[tuple[str, int | None]] | None = None
    ) -> None:
        self._failures = list(failures)
        self.calls: list[tuple[AnyEvent, Record]] = []
        self._log = log

    def __call__(self, event: AnyEvent, record: Record) -> None:
        self.calls.append((event, record))
        if self._failures:
            raise self._failures.pop(0)
        if self._log is not None:
            self._log.append(("handled", record.offset))


class AlwaysFails:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def __call__(self, _event: AnyEvent, _record: Record) -> None:
        self.calls += 1
        raise self.error


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def group() -> str:
    """A group of its own per test, so the metric samples read are this test's alone."""
    return f"test-loop-{uuid.uuid4().hex[:10]}"


def _message(event: PaymentEvent | None = None, offset: int = 0) -> FakeMessage:
    event = event or payment_completed()
    return FakeMessage(
        encode_event(event),
        offset_=offset,
        partition_=2,
        headers_=[("eventType", event.event_type.value.encode()), ("eventId", b"e-1")],
    )


def _consumer(
    group: str, handler: Callable[[AnyEvent, Record], None], dead_letters: FakeDeadLetters
) -> EventConsumer:
    """A consumer for ``process()`` alone: no Kafka consumer is ever built."""
    return EventConsumer(
        "127.0.0.1:1",
        group,
        [TOPIC],
        handler,
        dead_letters,  # type: ignore[arg-type]  # the fake has DeadLetterWriter's send()
        retry=TINY,
    )


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# -- process(): one record ------------------------------------------------------------------


def test_a_transient_failure_is_retried_and_then_handled(group: str) -> None:
    handler = Handler(TransientError("database is locked"))
    dead_letters = FakeDeadLetters()
    stop = Stop()

    assert _consumer(group, handler, dead_letters).process(to_record(_message()), stop) is True

    assert len(handler.calls) == 2
    event, record = handler.calls[1]
    assert event.event_type is PaymentEventType.PAYMENT_COMPLETED
    assert (record.topic, record.partition, record.key) == (TOPIC, 2, "42")
    assert dead_letters.sent == []
    assert stop.waits == [TINY.backoff_s(1)]
    labels = {"group": group, "event_type": "PAYMENT_COMPLETED"}
    assert _sample("payment_event_retries_total", **labels) == 1
    assert _sample("payment_events_consumed_total", **labels, outcome="handled") == 1
    assert _sample("payment_event_failures_total", **labels, error="TransientError") == 1


def test_retries_back_off_exponentially_within_the_bound() -> None:
    policy = RetryPolicy(max_attempts=6, initial_backoff_s=0.1, multiplier=2.0, max_backoff_s=0.5)
    assert [policy.backoff_s(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_an_exhausted_retry_budget_dead_letters_the_record_with_its_story(group: str) -> None:
    failure = TransientError("stripe is down")
    handler = AlwaysFails(failure)
    dead_letters = FakeDeadLetters()
    stop = Stop()
    message = _message(offset=17)

    assert _consumer(group, handler, dead_letters).process(to_record(message), stop) is True

    assert handler.calls == TINY.max_attempts
    [(record, error, attempts, sent_group)] = dead_letters.sent
    assert (record.topic, record.partition, record.offset) == (TOPIC, 2, 17)
    assert (record.key, record.value) == ("42", message.value())
    assert (error, attempts, sent_group) == (failure, TINY.max_attempts, group)
    # Backoff between attempts only: none after the last one.
    assert stop.waits == [TINY.backoff_s(1), TINY.backoff_s(2)]
    labels = {"group": group, "event_type": "PAYMENT_COMPLETED"}
    assert _sample("payment_event_retries_total", **labels) == TINY.max_attempts - 1
    assert _sample("payment_event_dead_letters_total", group=group, topic=TOPIC) == 1
    assert _sample("payment_events_consumed_total", **labels, outcome="dead_lettered") == 1
    assert _sample("payment_events_consumed_total", **labels, outcome="handled") == 0


def test_any_exception_not_permanent_is_retried(group: str) -> None:
    handler = Handler(RuntimeError("surprise"), KeyError("gone"))
    dead_letters = FakeDeadLetters()

    assert _consumer(group, handler, dead_letters).process(to_record(_message()), Stop()) is True

    assert len(handler.calls) == 3
    assert dead_letters.sent == []


def test_a_permanent_error_is_dead_lettered_at_once_without_retry(group: str) -> None:
    failure = PermanentError("order 42 lacks an amount")
    handler = AlwaysFails(failure)
    dead_letters = FakeDeadLetters()
    stop = Stop()

    assert _consumer(group, handler, dead_letters).process(to_record(_message()), stop) is True

    assert handler.calls == 1
    assert [(e, n, g) for _r, e, n, g in dead_letters.sent] == [(failure, 1, group)]
    assert stop.waits == []
    assert _sample("payment_event_retries_total", group=group, event_type="PAYMENT_COMPLETED") == 0


@pytest.mark.parametrize(
    "value",
    [b"not json at all", b"[1, 2]", b'{"eventType": "NO_SUCH_EVENT", "orderId": 1}', None],
    ids=["garbage", "not-an-object", "unknown-type", "no-value"],
)
def test_an_undecodable_record_is_dead_lettered_and_never_handled(
    group: str, value: bytes | None
) -> None:
    handler = Handler()
    dead_letters = FakeDeadLetters()
    message = FakeMessage(value, offset_=5, headers_=[("eventType", b"PAYMENT_COMPLETED")])

    assert _consumer(group, handler, dead_letters).process(to_record(message), Stop()) is True

    assert handler.calls == []
    [(record, error, attempts, _group)] = dead_letters.sent
    assert isinstance(error, InvalidEventError)
    assert attempts == 1
    assert (record.offset, record.value) == (5, value)
    # Not decodable, so labelled by what the record's header claims.
    assert _sample("payment_event_dead_letters_total", group=group, topic=TOPIC) == 1
    assert (
        _sample(
            "payment_event_failures_total",
            group=group,
            event_type="PAYMENT_COMPLETED",
            error="InvalidEventError",
        )
        == 1
    )


def test_a_record_without_headers_is_labelled_unknown(group: str) -> None:
    dead_letters = FakeDeadLetters()
    message = FakeMessage(b"{", offset_=9)

    assert _consumer(group, Handler(), dead_letters).process(to_record(message), Stop()) is True

    assert len(dead_letters.sent) == 1
    assert (
        _sample(
            "payment_events_consumed_total",
            group=group,
            event_type="UNKNOWN",
            outcome="dead_lettered",
        )
        == 1
    )


def test_a_stop_after_a_failure_leaves_the_record_uncommitted(group: str) -> None:
    stop = Stop()
    calls = 0

    def fails_and_shuts_down(_event: AnyEvent, _record: Record) -> None:
        nonlocal calls
        calls += 1
        stop.set()  # the service is asked to stop while this record is being handled
        raise TransientError("interrupted")

    dead_letters = FakeDeadLetters()

    assert (
        _consumer(group, fails_and_shuts_down, dead_letters).process(to_record(_message()), stop)
        is False
    )

    assert calls == 1
    assert dead_letters.sent == []
    assert stop.waits == []


def test_a_stop_during_the_backoff_gives_up_before_the_budget_is_spent(group: str) -> None:
    handler = AlwaysFails(TransientError("still down"))
    dead_letters = FakeDeadLetters()
    stop = Stop(set_on_wait=True)

    assert _consumer(group, handler, dead_letters).process(to_record(_message()), stop) is False

    # The backoff was cut short; the attempt then made fails, and the loop, seeing the
    # stop, neither retries again nor parks the record.
    assert handler.calls == 2 < TINY.max_attempts
    assert stop.waits == [TINY.backoff_s(1)]
    assert dead_letters.sent == []


def test_a_dead_letter_not_acknowledged_is_sent_again_until_it_is(group: str) -> None:
    dead_letters = FakeDeadLetters(refuse=2)
    stop = Stop()

    assert _consumer(group, AlwaysFails(PermanentError("bad")), dead_letters).process(
        to_record(_message()), stop
    )

    assert dead_letters.tries == 3
    assert len(dead_letters.sent) == 1
    assert stop.waits == [1.0, 1.0]
    assert _sample("payment_event_dead_letters_total", group=group, topic=TOPIC) == 1


def test_a_stop_while_the_dead_letter_is_refused_leaves_the_record_uncommitted(
    group: str,
) -> None:
    dead_letters = FakeDeadLetters(refuse=10)
    stop = Stop(set_on_wait=True)

    done = _consumer(group, AlwaysFails(PermanentError("bad")), dead_letters).process(
        to_record(_message()), stop
    )

    assert done is False
    assert (dead_letters.tries, dead_letters.sent) == (1, [])
    assert _sample("payment_event_dead_letters_total", group=group, topic=TOPIC) == 0


# -- run(): the poll loop and its offsets ----------------------------------------------------


@dataclass
class Run:
    """One ``run()`` over a fake consumer: what it logged, handled and parked."""

    consumer: EventConsumer
    fake: FakeConsumer
    stop: threading.Event
    log: list[tuple[str, int | None]]
    handler: Handler
    dead_letters: FakeDeadLetters


class FakeBatch:
    """A batch scope that logs its transaction's begin and its commit or rollback."""

    def __init__(self, log: list[tuple[str, int | None]]) -> None:
        self.log = log

    def __enter__(self) -> FakeBatch:
        self.log.append(("begin", None))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_exc: object) -> None:
        self.log.append(("rollback" if exc_type else "commit-batch", None))


@pytest.fixture
def make_run(group: str) -> Callable[..., Run]:
    def make(
        messages: list[FakeMessage],
        *failures: Exception,
        commit_error: KafkaException | None = None,
        batched: bool = False,
        batching: Batching = Batching(),
        handler: Handler | None = None,
    ) -> Run:
        stop = threading.Event()
        log: list[tuple[str, int | None]] = []
        fake = FakeConsumer(messages, stop, log, commit_error=commit_error)
        handler = handler or Handler(*failures, log=log)
        handler._log = log
        dead_letters = FakeDeadLetters()

        def factory(config: dict[str, Any]) -> FakeConsumer:
            fake.config = config
            return fake

        consumer = EventConsumer(
            "127.0.0.1:1",
            group,
            [TOPIC],
            handler,
            dead_letters,  # type: ignore[arg-type]
            retry=TINY,
            batch=(lambda: FakeBatch(log)) if batched else None,
            batching=batching,
            consumer_factory=factory,  # type: ignore[arg-type]
        )
        return Run(consumer, fake, stop, log, handler, dead_letters)

    return make


def _run(run: Run) -> threading.Event:
    ready = threading.Event()
    thread = threading.Thread(target=run.consumer.run, args=(run.stop, ready), daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "run() did not return after stop"
    return ready


def test_run_stores_each_offset_after_its_handler_then_commits_and_closes(
    make_run: Callable[..., Run],
) -> None:
    run = make_run([_message(payment_completed(n), n - 1) for n in (1, 2, 3)])

    ready = _run(run)

    assert ready.is_set()
    assert run.fake.topics == [TOPIC]
    assert run.log == [
        ("handled", 0),
        ("store", 1),
        ("handled", 1),
        ("store", 2),
        ("handled", 2),
        ("store", 3),
        ("commit", None),
        ("close", None),
    ]
    assert [e.order_id for e, _r in run.handler.calls] == [1, 2, 3]


def test_run_configures_the_consumer_to_store_offsets_itself(
    make_run: Callable[..., Run], group: str
) -> None:
    run = make_run([])
    _run(run)
    config = run.fake.config
    assert config["group.id"] == group
    assert config["enable.auto.offset.store"] is False
    assert config["enable.auto.commit"] is True
    assert config["auto.offset.reset"] == "earliest"
    assert run.log == [("commit", None), ("close", None)]


def test_run_stores_a_retried_records_offset_once_after_success(
    make_run: Callable[..., Run],
) -> None:
    run = make_run([_message(offset=4)], TransientError("blip"), TransientError("blip"))
    _run(run)
    assert len(run.handler.calls) == 3
    assert run.log == [("handled", 4), ("store", 5), ("commit", None), ("close", None)]


def test_run_moves_past_a_dead_lettered_record(make_run: Callable[..., Run]) -> None:
    poison = FakeMessage(b"not json", offset_=0)
    run = make_run([poison, _message(offset=1)])
    _run(run)
    assert len(run.dead_letters.sent) == 1
    assert run.log == [
        ("store", 1),
        ("handled", 1),
        ("store", 2),
        ("commit", None),
        ("close", None),
    ]


def test_run_skips_error_messages_without_storing_them(make_run: Callable[..., Run]) -> None:
    eof = FakeMessage(None, offset_=3, error_=KafkaError(KafkaError._PARTITION_EOF))
    broken = FakeMessage(None, offset_=3, error_=KafkaError(KafkaError._TRANSPORT))
    run = make_run([eof, broken, _message(offset=3)])
    _run(run)
    assert run.dead_letters.sent == []
    assert run.log == [("handled", 3), ("store", 4), ("commit", None), ("close", None)]


def test_run_does_not_store_a_record_left_unfinished_at_stop(
    make_run: Callable[..., Run],
) -> None:
    run = make_run([_message(offset=0), _message(offset=1)])

    def second_fails_during_shutdown(event: AnyEvent, record: Record) -> None:
        if record.offset == 1:
            run.stop.set()
            raise TransientError("interrupted")
        run.log.append(("handled", record.offset))

    run.consumer._handler = second_fails_during_shutdown
    _run(run)
    assert run.log == [("handled", 0), ("store", 1), ("commit", None), ("close", None)]
    assert run.dead_letters.sent == []


def test_run_closes_even_when_there_was_nothing_to_commit(make_run: Callable[..., Run]) -> None:
    nothing = KafkaException(KafkaError(KafkaError._NO_OFFSET))
    run = make_run([], commit_error=nothing)
    _run(run)
    assert run.log == [("commit", None), ("close", None)]


def test_a_partition_revoke_commits_what_was_stored(make_run: Callable[..., Run]) -> None:
    run = make_run([_message(offset=0)])
    polled = run.fake.poll

    def poll_then_rebalance(timeout: float) -> FakeMessage | None:
        message = polled(timeout)
        if message is None:  # all handed out: the group rebalances away from us
            run.fake.revoke()
        return message

    run.fake.poll = poll_then_rebalance  # type: ignore[method-assign]
    _run(run)
    assert run.log == [
        ("handled", 0),
        ("store", 1),
        ("commit", None),  # on revoke
        ("commit", None),  # on stop
        ("close", None),
    ]


# -- run() with a batch scope: one transaction a round, one-at-a-time only on failure ------


class FailsAt(Handler):
    """Fails the record at ``offset`` with ``error`` the first ``times`` it is handled."""

    def __init__(self, offset: int, error: Exception, times: int = 1) -> None:
        super().__init__()
        self._offset, self._error, self._left = offset, error, times

    def __call__(self, event: AnyEvent, record: Record) -> None:
        if record.offset == self._offset and self._left:
            self._left -= 1
            self.calls.append((event, record))
            raise self._error
        super().__call__(event, record)


def _on(partition: int, offset: int) -> FakeMessage:
    message = _message(payment_completed(offset + 1), offset)
    message.partition_ = partition
    return message


def test_a_batch_is_handled_in_one_transaction_and_its_offsets_stored_once(
    make_run: Callable[..., Run], group: str
) -> None:
    run = make_run([_on(2, 0), _on(5, 7), _on(2, 1), _on(2, 2)], batched=True)

    _run(run)

    assert run.log == [
        ("begin", None),
        ("handled", 0),
        ("handled", 7),
        ("handled", 1),
        ("handled", 2),
        ("commit-batch", None),
        ("store", 3),  # partition 2: after its last record
        ("store", 8),  # partition 5
        ("commit", None),
        ("close", None),
    ]
    labels = {"group": group, "event_type": "PAYMENT_COMPLETED"}
    assert _sample("payment_events_consumed_total", **labels, outcome="handled") == 4
    assert _sample("payment_consumer_batch_fallbacks_total", group=group) == 0


def test_a_failed_batch_is_rolled_back_and_handled_again_one_record_at_a_time(
    make_run: Callable[..., Run], group: str
) -> None:
    handler = FailsAt(1, TransientError("database is locked"))
    run = make_run([_message(offset=n) for n in range(3)], batched=True, handler=handler)

    _run(run)

    assert run.log == [
        ("begin", None),
        ("handled", 0),  # rolled back with the batch
        ("rollback", None),
        ("handled", 0),
        ("handled", 1),
        ("handled", 2),
        ("store", 3),
        ("commit", None),
        ("close", None),
    ]
    assert run.dead_letters.sent == []
    assert _sample("payment_consumer_batch_fallbacks_total", group=group) == 1
    labels = {"group": group, "event_type": "PAYMENT_COMPLETED"}
    # Counted once each: the batch that was rolled back counts nothing.
    assert _sample("payment_events_consumed_total", **labels, outcome="handled") == 3
    # In the fallback, record 1 succeeds at its first attempt: no retry was needed.
    assert _sample("payment_event_retries_total", **labels) == 0


def test_a_poison_record_is_dead_lettered_and_the_rest_of_its_batch_handled(
    make_run: Callable[..., Run],
) -> None:
    poison = FakeMessage(b"not json", offset_=1, partition_=2)
    run = make_run([_message(offset=0), poison, _message(offset=2)], batched=True)

    _run(run)

    assert run.log == [
        ("begin", None),
        ("handled", 0),
        ("rollback", None),
        ("handled", 0),
        ("handled", 2),
        ("store", 3),
        ("commit", None),
        ("close", None),
    ]
    [(record, error, attempts, _group)] = run.dead_letters.sent
    assert (record.offset, attempts) == (1, 1)
    assert isinstance(error, InvalidEventError)


def test_a_round_past_its_budget_stops_starting_records_and_seeks_back_to_them(
    make_run: Callable[..., Run],
) -> None:
    # A zero budget: every round handles only its first record (a round always makes
    # progress); the others are fetched again, in order, none skipped.
    run = make_run(
        [_message(offset=n) for n in range(3)], batched=True, batching=Batching(budget_s=0.0)
    )

    _run(run)

    one_round = [("begin", None), ("handled", 0), ("commit-batch", None), ("store", 1)]
    assert run.log == [
        *one_round,
        ("seek", 1),
        *[(what, n + 1 if n is not None else None) for what, n in one_round],
        ("seek", 2),
        *[(what, n + 2 if n is not None else None) for what, n in one_round],
        ("commit", None),
        ("close", None),
    ]


def test_the_fallback_past_its_budget_seeks_back_to_what_it_did_not_start(
    make_run: Callable[..., Run],
) -> None:
    handler = FailsAt(0, TransientError("blip"))
    run = make_run(
        [_message(offset=n) for n in range(2)],
        batched=True,
        batching=Batching(budget_s=0.0),
        handler=handler,
    )

    _run(run)

    assert run.log == [
        ("begin", None),
        ("rollback", None),
        ("handled", 0),  # the fallback's first record, always started
        ("store", 1),
        ("seek", 1),
        ("begin", None),
        ("handled", 1),
        ("commit-batch", None),
        ("store", 2),
        ("commit", None),
        ("close", None),
    ]


def test_a_consumer_without_a_batch_scope_takes_one_record_a_round(
    make_run: Callable[..., Run],
) -> None:
    run = make_run([_message(offset=n) for n in range(2)])

    def consume(num_messages: int, timeout: float) -> list[FakeMessage]:
        raise AssertionError("a consumer without a batch scope takes no batch")

    run.fake.consume = consume  # type: ignore[method-assign]
    _run(run)
    assert run.log == [
        ("handled", 0),
        ("store", 1),
        ("handled", 1),
        ("store", 2),
        ("commit", None),
        ("close", None),
    ]


# -- the dead-letter writer's headers --------------------------------------------------------


def _failed_record(**headers: str) -> Record:
    return Record(
        topic="payment-completed",
        partition=3,
        offset=1234,
        key="42",
        value=b'{"eventType":"PAYMENT_COMPLETED"}',
        headers={"eventType": "PAYMENT_COMPLETED", "eventId": "e-9", **headers},
    )


def test_the_dead_letter_keeps_the_record_and_says_where_it_came_from() -> None:
    producer = FakePublisher()
    writer = DeadLetterWriter(producer)  # type: ignore[arg-type]
    record = _failed_record()

    topic = writer.send(record, TransientError("stripe timed out"), 4, "order-service")

    assert topic == PAYMENT_DLQ
    [(sent_topic, key, value, headers)] = [astuple(d) for d in producer.delivered]
    assert (sent_topic, key, value) == (PAYMENT_DLQ, "42", record.value)
    assert headers[dl.ORIGINAL_TOPIC] == "payment-completed"
    assert headers[dl.ORIGINAL_PARTITION] == "3"
    assert headers[dl.ORIGINAL_OFFSET] == "1234"
    assert headers[dl.ERROR_CLASS] == "TransientError"
    assert headers[dl.ERROR_MESSAGE] == "stripe timed out"
    assert headers[dl.ATTEMPTS] == "4"
    assert headers[dl.CONSUMER_GROUP] == "order-service"
    assert headers[dl.FAILED_AT]
    # The record's own headers ride along, so the dead letter can be routed and replayed.
    assert (headers["eventType"], headers["eventId"]) == ("PAYMENT_COMPLETED", "e-9")

    parked = DeadLetter.from_record(
        Record(PAYMENT_DLQ, 0, 0, key, value, headers)  # as read back from the topic
    )
    assert (parked.original_topic, parked.original_partition, parked.original_offset) == (
        "payment-completed",
        3,
        1234,
    )
    assert (parked.error_class, parked.attempts, parked.consumer_group) == (
        "TransientError",
        4,
        "order-service",
    )


def test_a_replayed_record_that_fails_again_carries_only_its_new_story() -> None:
    producer = FakePublisher()
    stale = {dl.ORIGINAL_OFFSET: "1", dl.ERROR_CLASS: "OldError", dl.REPLAYED_FROM: "x@0"}
    DeadLetterWriter(producer).send(  # type: ignore[arg-type]
        _failed_record(**stale), PermanentError("x" * 5000), 1, "analytics-service"
    )
    [headers] = [d.headers for d in producer.delivered]
    assert headers[dl.ORIGINAL_OFFSET] == "1234"
    assert headers[dl.ERROR_CLASS] == "PermanentError"
    assert dl.REPLAYED_FROM not in headers
    assert len(headers[dl.ERROR_MESSAGE]) == 2000


def test_a_record_from_another_family_goes_to_that_familys_dead_letter_topic() -> None:
    producer = FakePublisher()
    record = Record("order-created", 0, 7, "42", b"{}", {})
    assert (
        DeadLetterWriter(producer).send(record, PermanentError("no"), 1, "g") == "order-events-dlq"
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "producer", [FakePublisher(refuse={0}), FakePublisher(lose={0})], ids=["refused", "lost"]
)
def test_a_dead_letter_the_broker_did_not_acknowledge_raises(producer: FakePublisher) -> None:
    with pytest.raises(TransientError, match="not acknowledged"):
        DeadLetterWriter(producer).send(_failed_record(), PermanentError("no"), 1, "g")  # type: ignore[arg-type]
