"""Fakes the unit tests share: an in-memory publisher in place of the Kafka producer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from paysim.codec import decode_event
from paysim.domain.events import AnyEvent
from paysim.store.ports import DeliveryCallback


class BrokerError(Exception):
    """What the fake broker reports for a record it refuses."""


class Crash(BaseException):
    """The relay process dies here: nothing after this line of the relay runs."""


@dataclass(frozen=True)
class Delivered:
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]

    @property
    def event(self) -> AnyEvent:
        return decode_event(self.value)


@dataclass
class FakePublisher:
    """An in-memory ``Publisher``; ``calls`` counts publish() calls from 0.

    Reports arrive on ``flush`` (as with confluent-kafka), except with ``report_at_once``.
    ``refuse`` calls get a failure report, ``lose`` calls get no report at all,
    ``raise_at`` calls raise from publish(), ``crash_on_publish`` / ``crash_after_flush``
    kill the relay before anything is handed over / after everything was confirmed.
    ``refuse_record`` refuses the records it returns an error for, at every call (from
    publish() with ``refuse_record_at_once``, else in their report).
    """

    refuse: set[int] = field(default_factory=set)
    lose: set[int] = field(default_factory=set)
    raise_at: set[int] = field(default_factory=set)
    report_at_once: bool = False
    crash_on_publish: bool = False
    crash_after_flush: bool = False
    flush_raises: int = 0
    refuse_record: Callable[[Delivered], Exception | None] | None = None
    refuse_record_at_once: bool = False
    calls: int = 0
    delivered: list[Delivered] = field(default_factory=list)
    _queued: list[tuple[int, Delivered, DeliveryCallback]] = field(default_factory=list)

    def publish(
        self,
        topic: str,
        key: str,
        value: bytes,
        headers: dict[str, str],
        on_delivery: DeliveryCallback,
    ) -> None:
        if self.crash_on_publish:
            raise Crash
        call, self.calls = self.calls, self.calls + 1
        if call in self.raise_at:
            raise BufferError("local queue full")
        record = Delivered(topic, key, value, dict(headers))
        refusal = self.refuse_record(record) if self.refuse_record else None
        if refusal is not None and self.refuse_record_at_once:
            raise refusal
        self._queued.append((call, record, on_delivery))
        if self.report_at_once:
            self._report()

    def flush(self, timeout_s: float) -> int:  # noqa: ARG002 - the fake answers at once
        if self.flush_raises:
            self.flush_raises -= 1
            raise RuntimeError("broker transport failure")
        undelivered = self._report()
        if self.crash_after_flush:
            raise Crash
        return undelivered

    def _report(self) -> int:
        queued, self._queued = self._queued, []
        undelivered = 0
        for call, record, on_delivery in queued:
            if call in self.lose:
                undelivered += 1
            elif call in self.refuse:
                on_delivery(BrokerError(f"refused call {call}"))
            elif self.refuse_record and (refusal := self.refuse_record(record)) is not None:
                on_delivery(refusal)
            else:
                self.delivered.append(record)
                on_delivery(None)
        return undelivered
