"""The one way paysim writes to Kafka: an idempotent producer with checked deliveries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from paysim.codec import encode_event
from paysim.domain.events import AnyEvent
from paysim.errors import PermanentError, TransientError
from paysim.topics import destinations

log = logging.getLogger(__name__)

DeliveryCallback = Callable[[Exception | None], None]

DELIVERY_TIMEOUT_MS = 30_000


# Codes that describe the record itself: the same bytes are refused however often they
# are sent. librdkafka has already retried everything retriable before it reports, so
# any other code (timeouts, unknown topic, authorization, ...) is about the broker or
# the topic, which may recover: those stay transient.
RECORD_REFUSED_CODES = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,  # over message.max.bytes (the client's or the broker's)
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_RECORD,  # the broker's validation of the record failed
        KafkaError._BAD_MSG,
        KafkaError._INVALID_ARG,  # produce() refused the arguments themselves
    }
)


class DeliveryFailedError(TransientError):
    """The broker did not acknowledge a record within the delivery timeout."""


class RecordRefusedError(PermanentError):
    """The record can never be delivered as it is (too large, invalid): do not retry it."""


def delivery_error(topic: str, error: KafkaError) -> DeliveryFailedError | RecordRefusedError:
    """A Kafka error on one record as paysim's error, transient or permanent by its code."""
    text = f"{topic}: {error.name()}: {error.str()}"
    if error.code() in RECORD_REFUSED_CODES:
        return RecordRefusedError(text)
    return DeliveryFailedError(text)


class EventProducer:
    """Thin, lazy wrapper over ``confluent_kafka.Producer``.

    Idempotence on and ``acks=all``: a retried send never duplicates or reorders a
    record within a partition. Nothing connects until the first publish.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str = "paysim",
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self._config: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": client_id,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "delivery.timeout.ms": DELIVERY_TIMEOUT_MS,
            "logger": logging.getLogger("paysim.librdkafka"),
            **(overrides or {}),
        }
        self._producer: Producer | None = None

    @property
    def _client(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self._config)
        return self._producer

    def publish(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: Mapping[str, str] | None = None,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        """Queue one record; ``on_delivery`` is told the outcome from ``flush``/``poll``.

        Raises ``RecordRefusedError`` when the client refuses the record before sending it
        (larger than its ``message.max.bytes``), ``DeliveryFailedError`` for any other
        error of the client; a refusal by the broker arrives through ``on_delivery``.
        """

        def report(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                log.error("delivery to %s failed: %s", msg.topic(), err.str())
            if on_delivery is not None:
                on_delivery(None if err is None else delivery_error(msg.topic() or topic, err))

        while True:
            try:
                self._client.produce(
                    topic,
                    key=key.encode(),
                    value=value,
                    headers=list((headers or {}).items()),
                    on_delivery=report,
                )
                break
            except BufferError:
                # Local queue full: serve delivery reports to make room, then try again.
                self._client.poll(0.1)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if not isinstance(error, KafkaError):
                    raise
                raise delivery_error(topic, error) from exc
        self._client.poll(0)

    def publish_event(self, event: AnyEvent, on_delivery: DeliveryCallback | None = None) -> None:
        """Publish an event to its own topic and its family's catch-all, keyed by orderId."""
        value = encode_event(event)
        headers = {
            "eventType": event.event_type.value,
            "eventId": str(event.event_id),
            "schemaVersion": str(event.schema_version),
        }
        for topic in destinations(event.event_type.value):
            self.publish(topic, str(event.order_id), value, headers, on_delivery)

    def flush(self, timeout_s: float = DELIVERY_TIMEOUT_MS / 1000) -> int:
        """Wait for outstanding deliveries; returns how many are still undelivered."""
        if self._producer is None:
            return 0
        return int(self._producer.flush(timeout_s))

    def close(self, timeout_s: float = 10.0) -> None:
        # Flush on exit so records accepted by publish() are not lost with the process.
        remaining = self.flush(timeout_s)
        if remaining:
            log.error("%d records undelivered at close", remaining)
        self._producer = None
