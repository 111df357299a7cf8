"""Ports of the store: what the outbox relay needs from the outside world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

DeliveryCallback = Callable[[Exception | None], None]
"""Told once per record: None when the broker confirmed it, else why it failed."""


class Publisher(Protocol):
    """Puts records on the broker; the Kafka adapter is confluent-kafka's producer.

    ``publish`` only queues a record; its outcome arrives later through ``on_delivery``
    (for confluent-kafka, from inside ``poll``/``flush``). An adapter must call
    ``on_delivery`` at most once per record, and must not reorder records that share a
    topic and key (confluent-kafka: ``enable.idempotence=true``, which also implies
    ``acks=all``). ``publish`` may raise when the record cannot even be queued (a full
    local queue, say); the relay treats that as a failed delivery.

    The error's class tells the relay what to do with the row (see ``outbox_relay``): a
    ``PermanentError`` means the record can never be delivered as it is (larger than the
    broker's limit, invalid), and the row is parked at once; a ``TransientError`` means
    the broker or the connection failed, which is not held against the row unless records
    behind it went through.
    """

    def publish(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: dict[str, str],
        on_delivery: DeliveryCallback,
    ) -> None:
        """Queue one record for delivery."""
        ...

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for queued records; return how many are still undelivered."""
        ...
