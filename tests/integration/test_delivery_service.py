"""The delivery service in-process against the real broker: order events in, a courier
run out (ASSIGNED .. DELIVERED, keyed by orderId), cancellation, duplicates, restart.

Each test runs the service on its own database under a consumer group of its own,
whose offsets are first set to the current end of the order topics: the service then
sees only what the test produces, not what earlier tests left on the session's broker.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from paysim.bootstrap.common import ServiceProcess
from paysim.bootstrap.delivery import SERVICE, build_process
from paysim.bus.producer import EventProducer
from paysim.bus.reader import Record, read_records, wait_for_records
from paysim.config import Settings
from paysim.domain.delivery_schedule import CourierSimulation
from paysim.domain.events import DeliveryEvent, OrderEvent, OrderEventType
from paysim.services.delivery.order_consumer import TOPICS
from paysim.store.database import create_engine_for, sqlite_url
from paysim.store.schema import outbox
from tests.support import poll, running, start_at_end, wait_until_drained

pytestmark = pytest.mark.integration

RUN = ["DELIVERY_ASSIGNED", "DELIVERY_PICKED_UP", "DELIVERY_IN_TRANSIT", "DELIVERY_DELIVERED"]
TOPICS_OF_RUN = [
    "delivery-assigned",
    "delivery-picked-up",
    "delivery-in-transit",
    "delivery-delivered",
]


class Harness:
    """Builds the delivery process for one test (its database, group, step time)."""

    def __init__(self, settings: Settings, bootstrap_servers: str, tmp_path: Path) -> None:
        self.settings = settings
        self.bootstrap = bootstrap_servers
        self.db_url = sqlite_url(tmp_path / "delivery.db")
        self.group = f"delivery-test-{uuid.uuid4().hex[:10]}"
        start_at_end(bootstrap_servers, self.group, TOPICS)
        self.producer = EventProducer(bootstrap_servers, client_id="test-delivery")
        self.engine = create_engine_for(self.db_url)

    def process(self, step_s: float) -> ServiceProcess:
        settings = self.settings.model_copy(update={"delivery_step_s": step_s})
        return build_process(
            settings, bootstrap_servers=self.bootstrap, db_url=self.db_url, group=self.group
        )

    def publish(self, event: OrderEvent, times: int = 1) -> None:
        for _ in range(times):
            self.producer.publish_event(event)
        assert self.producer.flush(10) == 0

    def records(self, order_id: int) -> list[Record]:
        """This service's records of the order on ``delivery-events`` now, by offset.

        Picked by the eventIds in this service's outbox too: a delivery service that the
        session runs for other tests would answer the same order events with its own.
        """
        found = read_records(self.bootstrap, ["delivery-events"])
        mine = self.published_ids()  # after the read: whatever was read, was owed first
        return sorted(
            (r for r in found if r.key == str(order_id) and r.headers.get("eventId") in mine),
            key=lambda r: r.offset,
        )

    def drain(self, api: TestClient) -> None:
        """Wait until this service has consumed every order event and published its outbox."""
        wait_until_drained(
            self.bootstrap, groups=[self.group], topics=TOPICS, outboxes={SERVICE: api}
        )

    def published_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return {str(i) for i in conn.execute(select(outbox.c.event_id)).scalars()}

    def records_until(self, order_id: int, last: str) -> list[Record]:
        """Poll until the order's newest delivery record is a ``last``; all its records."""

        def ended() -> list[Record] | None:
            found = self.records(order_id)
            return found if found and _types(found)[-1] == last else None

        records: list[Record] = poll(ended, f"{last} for order {order_id}")
        return records


@pytest.fixture
def harness(stack_settings: Settings, bootstrap_servers: str, tmp_path: Path) -> Iterator[Harness]:
    made = Harness(stack_settings, bootstrap_servers, tmp_path)
    yield made
    made.producer.close()
    made.engine.dispose()


def _order_id() -> int:
    return random.randint(10**12, 10**13)


def _order(event_type: OrderEventType, order_id: int, **extra: Any) -> OrderEvent:
    fields = {"event_type": event_type, "order_id": order_id, "user_id": 31, **extra}
    return OrderEvent.model_validate(fields)


def _types(records: list[Record]) -> list[str]:
    return [r.headers["eventType"] for r in records]


def _view(api: TestClient, order_id: int, *statuses: str) -> dict[str, Any] | None:
    """The delivery as the API shows it, once it is in one of ``statuses`` (or any)."""
    response = api.get(f"/api/deliveries/{order_id}")
    if response.status_code != 200:
        return None
    view: dict[str, Any] = response.json()
    return view if not statuses or view["status"] in statuses else None


def test_a_created_order_ready_for_pickup_is_delivered_in_order_under_its_key(
    harness: Harness,
) -> None:
    order_id = _order_id()
    with running(harness.process(step_s=0.2)) as api:
        harness.publish(_order(OrderEventType.ORDER_CREATED, order_id))
        harness.publish(_order(OrderEventType.ORDER_READY_FOR_PICKUP, order_id))
        records = harness.records_until(order_id, "DELIVERY_DELIVERED")
        view = poll(lambda: _view(api, order_id, "DELIVERED"), "the API to show it delivered")
        assert api.get("/healthz").json()["status"] == "ok"
        assert "delivery_courier_steps_pending" in api.get("/metrics").text
        assert api.get(f"/api/deliveries/{_order_id()}").status_code == 404

    assert _types(records) == RUN
    assert {(r.key, r.partition) for r in records} == {(str(order_id), records[0].partition)}
    events = [r.event() for r in records]
    assert all(isinstance(e, DeliveryEvent) for e in events)
    agent = CourierSimulation(harness.settings.seed, 0.2).agent_for(order_id)
    assert {getattr(e, "agent_id", None) for e in events} == {agent}
    assert {getattr(e, "delivery_id", None) for e in events} == {view["deliveryId"]}
    assert (view["agentId"], view["nextStep"]) == (agent, None)
    # Applied moves only: order-created and order-ready-for-pickup are separate topics,
    # so either may come first; the late one is recorded as ignored.
    assert [h["to"] for h in view["history"] if h["applied"]] == [
        "ASSIGNED",
        "PICKED_UP",
        "IN_TRANSIT",
        "DELIVERED",
    ]
    # Each event is on its own topic too, under the same key.
    ids = {r.headers["eventId"] for r in records}
    for topic, event_type in zip(TOPICS_OF_RUN, RUN, strict=True):
        [own] = wait_for_records(
            harness.bootstrap,
            [topic],
            lambda r: r.key == str(order_id) and r.headers.get("eventId") in ids,
        )
        assert own.headers["eventType"] == event_type


def test_a_cancel_before_delivery_publishes_delivery_cancelled_and_stops_the_timers(
    harness: Harness,
) -> None:
    order_id = _order_id()
    step_s = 1.0
    with running(harness.process(step_s=step_s)) as api:
        harness.publish(_order(OrderEventType.ORDER_CREATED, order_id))
        harness.publish(_order(OrderEventType.ORDER_READY_FOR_PICKUP, order_id))
        poll(lambda: _view(api, order_id, "ASSIGNED", "PICKED_UP"), "the courier")
        cancel = _order(OrderEventType.ORDER_CANCELLED, order_id, reason="customer cancelled")
        harness.publish(cancel)
        records = harness.records_until(order_id, "DELIVERY_CANCELLED")
        view = _view(api, order_id)
        assert view is not None
        assert (view["status"], view["nextStep"]) == ("CANCELLED", None)
        # Timers are rows and the order's is gone (nextStep None), so once the consumer
        # and the outbox are drained, nothing more can be published for the order.
        harness.drain(api)
        after = harness.records(order_id)
    event = records[-1].event()
    assert isinstance(event, DeliveryEvent)
    assert (event.reason, event.previous_status) == (
        "customer cancelled",
        view["history"][-2]["to"],
    )
    assert _types(after) == _types(records)
    assert "DELIVERY_DELIVERED" not in _types(after)


def test_a_duplicated_order_created_creates_one_delivery(harness: Harness) -> None:
    order_id = _order_id()
    created = _order(OrderEventType.ORDER_CREATED, order_id)
    with running(harness.process(step_s=0.2)) as api:
        harness.publish(created, times=2)  # the same record twice, as Kafka may redeliver
        harness.publish(_order(OrderEventType.ORDER_CREATED, order_id))  # republished anew
        # Same key, same topic: handled in order, so the third one's audit line means all
        # three were handled.
        view = poll(
            lambda: (v := _view(api, order_id)) and len(v["history"]) == 2 and v,
            "all three to be handled",
        )
        harness.publish(_order(OrderEventType.ORDER_READY_FOR_PICKUP, order_id))
        # The relay publishes in commit order: a second ASSIGNED would precede DELIVERED.
        records = harness.records_until(order_id, "DELIVERY_DELIVERED")
    assert _types(records) == RUN
    assert [(h["to"], h["applied"]) for h in view["history"]] == [
        ("ASSIGNED", True),
        ("ASSIGNED", False),
    ]


def test_a_restarted_process_resumes_the_run_and_finishes_it(harness: Harness) -> None:
    order_id = _order_id()
    with running(harness.process(step_s=1.0)) as api:
        harness.publish(_order(OrderEventType.ORDER_CREATED, order_id))
        harness.publish(_order(OrderEventType.ORDER_READY_FOR_PICKUP, order_id))
        poll(lambda: _view(api, order_id, "PICKED_UP"), "the pickup")
    # Stopped mid-run: the remaining steps are rows in the database, not threads.
    with running(harness.process(step_s=1.0)) as api:
        assert _view(api, order_id, "PICKED_UP", "IN_TRANSIT"), "the first run went too far"
        records = harness.records_until(order_id, "DELIVERY_DELIVERED")
    assert _types(records) == RUN
    assert len({r.headers["eventId"] for r in records}) == 4
