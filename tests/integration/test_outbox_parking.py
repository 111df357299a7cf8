"""A row over the broker's size limit is parked and blocks nothing, on the real broker.

The outbox is a real SQLite file and the relay is the one the services build (the real
producer, the real metric hooks). A row whose payload is over the broker's 1 MB limit is
written first, then ordinary rows behind it, of its own key and of another; they go to a
one-partition topic of the test's own, so their order on it can be read by offset. The
big row is refused either by the client (its ``message.max.bytes`` is the broker's) or,
with that raised, by the broker itself: the two ways the refusal reaches the relay.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from paysim.bootstrap.common import default_db_path, relay_worker
from paysim.bus.admin import ensure_topics, partition_counts
from paysim.bus.producer import EventProducer
from paysim.bus.reader import read_records, wait_for_records
from paysim.cli import app
from paysim.codec import encode_event
from paysim.config import Settings
from paysim.domain.events import PaymentEvent, utc_now
from paysim.store import create_engine_for, create_schema, sqlite_url
from paysim.store.outbox import Outbox, ParkedRow, record_headers
from paysim.store.schema import outbox
from paysim.topics import Topic
from tests.builders import payment_cancelled

pytestmark = pytest.mark.integration

OVERSIZED = 1_200_000  # the broker's default message.max.bytes is 1,048,588
_T = TypeVar("_T")


def owe(engine: Engine, topic: str, event: PaymentEvent, padding: int = 0) -> None:
    """Write an outbox row by hand; ``padding`` spaces after the JSON keep it valid."""
    with engine.begin() as connection:
        connection.execute(
            insert(outbox).values(
                event_id=str(event.event_id),
                event_type=event.event_type.value,
                topic=topic,
                key=str(event.order_id),
                payload=encode_event(event) + b" " * padding,
                headers=json.dumps(record_headers(event)),
                created_at=utc_now(),
                state="pending",
                attempts=0,
            )
        )


def poll(what: str, check: Callable[[], _T | None], timeout_s: float = 30.0) -> _T:
    deadline = time.monotonic() + timeout_s
    while (found := check()) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s}s")
        time.sleep(0.1)
    return found


def parked(engine: Engine) -> list[ParkedRow]:
    with engine.begin() as connection:
        return Outbox(connection).parked()


def parked_total() -> float:
    labels = {"service": "payment", "event_type": "PAYMENT_CANCELLED"}
    return REGISTRY.get_sample_value("payment_outbox_parked_total", labels) or 0.0


def parked_rows_gauge() -> float | None:
    return REGISTRY.get_sample_value("payment_outbox_parked_rows", {"service": "payment"})


@pytest.fixture
def run_settings(stack_settings: Settings, tmp_path: Path) -> Settings:
    """A run folder of the test's own: the CLI finds the payment database in it."""
    return stack_settings.model_copy(update={"run_dir": tmp_path})


@pytest.fixture
def engine(run_settings: Settings) -> Iterator[Engine]:
    path = default_db_path(run_settings, "payment")
    path.parent.mkdir(parents=True)
    engine = create_engine_for(sqlite_url(path))
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def topic(bootstrap_servers: str) -> str:
    name = f"paysim-test-outbox-{uuid.uuid4().hex[:10]}"
    ensure_topics(bootstrap_servers, [Topic(name, "payment", partitions=1)])
    # Created is not yet known to every client: wait until the metadata has it.
    poll("the topic's metadata", lambda: name in partition_counts(bootstrap_servers) or None)
    return name


@pytest.fixture(
    params=[{}, {"message.max.bytes": 2_000_000}], ids=["client-refuses", "broker-refuses"]
)
def relay(
    request: pytest.FixtureRequest, run_settings: Settings, engine: Engine, bootstrap_servers: str
) -> Iterator[None]:
    """The payment service's relay, as its process builds it, running in a thread."""
    overrides: dict[str, Any] = request.param
    producer = EventProducer(
        bootstrap_servers, client_id="test-outbox-parking", overrides=overrides
    )
    worker = relay_worker(run_settings, "payment", engine, producer)
    stop = threading.Event()
    thread = threading.Thread(target=worker.target, args=(stop,), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=15)
    producer.close()
    assert not thread.is_alive()


def cli(run_settings: Settings, *args: str) -> Any:
    result = CliRunner().invoke(
        app, ["outbox", *args], env={"PAYSIM_RUN_DIR": str(run_settings.resolved_run_dir)}
    )
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.usefixtures("relay")
def test_an_oversized_row_is_parked_and_the_rows_behind_it_are_published(
    bootstrap_servers: str, engine: Engine, topic: str, run_settings: Settings
) -> None:
    order, other = random.randint(10**11, 10**12), random.randint(10**11, 10**12)
    big, same_key, other_key = (payment_cancelled(o) for o in (order, order, other))
    counted = parked_total()
    owe(engine, topic, big, padding=OVERSIZED)
    owe(engine, topic, same_key)
    owe(engine, topic, other_key)

    # The rows behind it arrive, in commit order, the big row's own key included.
    arrived = wait_for_records(bootstrap_servers, [topic], lambda _r: True, count=2)
    assert [r.headers["eventId"] for r in sorted(arrived, key=lambda r: r.offset)] == [
        str(same_key.event_id),
        str(other_key.event_id),
    ]
    [row] = poll("the big row parked", lambda: parked(engine) or None)
    assert (row.event_id, row.topic, row.key) == (str(big.event_id), topic, str(order))
    assert row.payload_bytes > OVERSIZED
    assert row.attempts == 1
    assert "MSG_SIZE_TOO_LARGE" in row.reason
    assert "size too large" in row.reason.lower()
    # The metric hooks run once the round is written: wait for them too.
    poll("the parked counter", lambda: parked_total() == counted + 1 or None)
    poll("the parked gauge", lambda: parked_rows_gauge() == 1 or None)

    # `paysim outbox list --json` shows it, from the run folder's payment database.
    [listed] = json.loads(cli(run_settings, "list", "--json"))
    assert listed["id"] == row.id
    assert listed["service"] == "payment"
    assert (listed["eventId"], listed["eventType"]) == (str(big.event_id), "PAYMENT_CANCELLED")
    assert (listed["topic"], listed["key"], listed["attempts"]) == (topic, str(order), 1)
    assert "MSG_SIZE_TOO_LARGE" in listed["reason"]
    assert listed["payloadBytes"] > OVERSIZED
    assert datetime.fromisoformat(listed["parkedAt"]) == row.parked_at
    assert topic in cli(run_settings, "list", "--service", "payment")

    # Retried, it is tried again (it is still too large) and parked again, anew.
    assert "1 row(s) made pending again" in cli(run_settings, "retry", "--id", str(row.id))
    [again] = poll(
        "the big row parked again",
        lambda: [r for r in parked(engine) if r.parked_at and r.parked_at > row.parked_at] or None,
    )
    assert (again.id, again.attempts) == (row.id, 1)
    poll("the parked counter", lambda: parked_total() == counted + 2 or None)
    assert parked_rows_gauge() == 1
    # Nothing of it ever reached the topic, and nothing else went out twice.
    on_topic = [r.headers["eventId"] for r in read_records(bootstrap_servers, [topic])]
    assert on_topic == [str(same_key.event_id), str(other_key.event_id)]
