"""Dead letters listed back with their provenance and replayed byte for byte.

Each test sends its record to a topic of its own (so nothing else consumes it and its
read-back sees only its records), keyed by a random large orderId; the dead letter lands
on the shared ``payment-events-dlq`` and is picked out there by its eventId.
"""

import json
import random
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from typer.testing import CliRunner

from paysim import cli_dlq
from paysim.bus import dead_letters as dl
from paysim.bus.admin import ensure_topics
from paysim.bus.dead_letter_replay import (
    by_error_class,
    by_event_id,
    by_original_topic,
    list_dead_letters,
    replay,
    replayed_from,
    select,
)
from paysim.bus.producer import EventProducer
from paysim.bus.reader import Record, wait_for_records
from paysim.codec import encode_event
from paysim.domain.events import PaymentEvent, PaymentEventType
from paysim.errors import PermanentError
from paysim.infra import StackStatus
from paysim.topics import PAYMENT_DLQ, Topic

pytestmark = pytest.mark.integration


@pytest.fixture
def producer(bootstrap_servers: str) -> Iterator[EventProducer]:
    producer = EventProducer(bootstrap_servers, client_id="test-dead-letter-tools")
    yield producer
    producer.close()


def _fresh_topic(bootstrap_servers: str) -> str:
    name = f"paysim-test-dlq-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap_servers, [Topic(name, "payment")])
    return name


def _records_of(bootstrap_servers: str, topic: str, order_id: int, count: int) -> list[Record]:
    found = wait_for_records(
        bootstrap_servers, [topic], lambda r: r.key == str(order_id), count=count
    )
    return sorted(found, key=lambda r: r.offset)


def _dead_lettered(
    bootstrap_servers: str, producer: EventProducer, topic: str
) -> tuple[Record, str]:
    """Publish one event to ``topic``, read it back and dead-letter it; (record, eventId)."""
    order_id = random.randint(10**11, 10**12)
    event = PaymentEvent(
        event_type=PaymentEventType.PAYMENT_COMPLETED,
        order_id=order_id,
        payment_id=random.randint(10**11, 10**12),
        amount_minor=2599,
        currency="usd",
    )
    event_id = str(event.event_id)
    headers = {"eventType": "PAYMENT_COMPLETED", "eventId": event_id, "trace": "t-1"}
    producer.publish(topic, str(order_id), encode_event(event), headers)
    assert producer.flush(30) == 0
    (original,) = _records_of(bootstrap_servers, topic, order_id, 1)
    sent_to = dl.DeadLetterWriter(producer).send(
        original, PermanentError("order 42 is unknown"), attempts=3, group="test-group"
    )
    assert sent_to == PAYMENT_DLQ
    return original, event_id


def test_dead_letter_is_listed_with_its_provenance_and_replayed_byte_for_byte(
    bootstrap_servers: str, producer: EventProducer
) -> None:
    topic = _fresh_topic(bootstrap_servers)
    original, event_id = _dead_lettered(bootstrap_servers, producer, topic)

    letters = by_event_id(list_dead_letters(bootstrap_servers), [event_id])
    assert len(letters) == 1
    (letter,) = letters
    assert letter.record.topic == PAYMENT_DLQ
    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        topic,
        original.partition,
        original.offset,
    )
    assert (letter.error_class, letter.error_message) == ("PermanentError", "order 42 is unknown")
    assert (letter.attempts, letter.consumer_group) == (3, "test-group")
    assert datetime.fromisoformat(letter.failed_at).tzinfo is not None
    assert letter.record.key == original.key
    assert letter.record.value == original.value
    assert {k: v for k, v in letter.record.headers.items() if not k.startswith("dlq.")} == (
        original.headers
    )
    # The selection helpers agree with each other on this one letter.
    assert by_original_topic(letters, topic) == letters
    assert by_error_class(letters, "PermanentError") == letters
    assert by_error_class(letters, "TransientError") == []
    assert select(letters) == letters
    assert select(letters, event_ids=[event_id], original_topic="elsewhere") == []

    assert replay(bootstrap_servers, letters, producer) == 1

    first, replayed = _records_of(bootstrap_servers, topic, int(original.key or 0), 2)
    assert first == original
    assert replayed.key == original.key
    assert replayed.value == original.value
    assert replayed.partition == original.partition
    where = f"{PAYMENT_DLQ}:{letter.record.partition}:{letter.record.offset}"
    assert replayed_from(letter) == where
    assert replayed.headers == {**original.headers, dl.REPLAYED_FROM: where}

    # Replaying again is allowed (consumers are idempotent): a second identical copy.
    assert replay(bootstrap_servers, letters) == 1
    *_, again = _records_of(bootstrap_servers, topic, int(original.key or 0), 3)
    assert (again.value, again.headers) == (replayed.value, replayed.headers)


def test_a_record_without_provenance_is_refused_before_anything_is_sent() -> None:
    foreign = dl.DeadLetter.from_record(Record(PAYMENT_DLQ, 0, 7, "1", b"{}", {}))
    with pytest.raises(ValueError, match=r"payment-events-dlq:0:7"):
        replay("127.0.0.1:1", [foreign])


def test_cli_lists_as_json_and_replays_by_event_id(
    bootstrap_servers: str, producer: EventProducer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_dlq, "find_bootstrap_servers", lambda _settings: bootstrap_servers)
    topic = _fresh_topic(bootstrap_servers)
    original, event_id = _dead_lettered(bootstrap_servers, producer, topic)
    runner = CliRunner()

    listed = runner.invoke(cli_dlq.dlq_app, ["list", "--json", "--topic", topic])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert row["dlqTopic"] == PAYMENT_DLQ
    assert (row["originalTopic"], row["originalOffset"]) == (topic, original.offset)
    assert (row["eventId"], row["eventType"], row["orderId"]) == (
        event_id,
        "PAYMENT_COMPLETED",
        original.key,
    )
    assert (row["errorClass"], row["attempts"], row["consumerGroup"]) == (
        "PermanentError",
        3,
        "test-group",
    )
    assert row["headers"][dl.ORIGINAL_TOPIC] == topic

    table = runner.invoke(cli_dlq.dlq_app, ["list", "--topic", topic])
    assert table.exit_code == 0, table.output
    assert f"{topic}[{original.partition}]@{original.offset}" in table.stdout

    replayed = runner.invoke(cli_dlq.dlq_app, ["replay", "--event-id", event_id, "--yes"])
    assert replayed.exit_code == 0, replayed.output
    assert "1 dead letter(s) replayed" in replayed.stdout
    _, copy = _records_of(bootstrap_servers, topic, int(original.key or 0), 2)
    assert copy.value == original.value
    assert copy.headers[dl.REPLAYED_FROM].startswith(f"{PAYMENT_DLQ}:0:")


def test_cli_needs_one_selection_and_a_healthy_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    from paysim import infra

    monkeypatch.delenv("PAYSIM_INFRA", raising=False)
    monkeypatch.setattr(infra, "status", lambda _s: StackStatus(False, False, None, None, {}))
    runner = CliRunner()

    neither = runner.invoke(cli_dlq.dlq_app, ["replay"])
    assert neither.exit_code == 1
    assert "--event-id" in neither.stderr

    no_stack = runner.invoke(cli_dlq.dlq_app, ["list"])
    assert no_stack.exit_code == 1
    assert "no healthy stack" in no_stack.stderr
