"""Delivers events to the webhook endpoint from background tasks, as Stripe does.

First attempts go out concurrently on ``max_in_flight`` lanes; the events of one payment
intent (their ``ordering_key``) always take the same lane, which sends one at a time, so
one intent's events arrive in the order they happened (with ``reorder``, each batch
gathered over ``reorder_window_s`` is handed to the lanes in reverse). At most
``max_in_flight`` requests are open at once, retries included. A failed delivery (non-2xx,
timeout, refused connection) is retried on its own task with exponential backoff,
``retry_base_s * 2**n`` capped at ``retry_max_s``, up to ``max_attempts`` in all, so one
dead event never holds back the others. With ``duplicate``, that fraction of events is
delivered twice under the same event id (on the same lane, the copy second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass

import httpx

from paysim.stripe_emulator.models import (
    Delivery,
    DeliveryState,
    WebhookSettings,
    WebhookSettingsUpdate,
)
from paysim.stripe_emulator.records import new_id
from paysim.stripe_emulator.webhooks import Event, JsonObject, is_enabled, signature_header

logger = logging.getLogger(__name__)

_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"

MAX_IN_FLIGHT = 16
"""Delivery requests open at once: enough to keep up with a load run, few enough that
the receiving service is never flooded by its own payment provider."""


@dataclass(slots=True)
class _Delivery:
    id: str
    event: Event
    url: str
    secret: str | None
    duplicate: bool
    generation: int
    attempts: int = 0
    state: DeliveryState = "pending"
    last_status: int | None = None
    last_error: str | None = None

    def view(self) -> Delivery:
        return Delivery(
            delivery_id=self.id,
            event_id=self.event.id,
            event_type=self.event.type,
            url=self.url,
            duplicate=self.duplicate,
            attempts=self.attempts,
            state=self.state,
            last_status=self.last_status,
            last_error=self.last_error,
        )


class WebhookSender:
    """The one webhook endpoint's configuration, queue, retries and delivery log."""

    def __init__(
        self,
        settings: WebhookSettings,
        seed: int | None = None,
        max_log: int = 10_000,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._settings = settings
        self._rng = random.Random(seed)
        self._max_log = max_log
        self._lock = threading.Lock()
        self._events: deque[Event] = deque(maxlen=max_log)
        self._log: OrderedDict[str, _Delivery] = OrderedDict()
        self._queue: asyncio.Queue[_Delivery] = asyncio.Queue()
        self._lanes: list[asyncio.Queue[_Delivery]] = [
            asyncio.Queue() for _ in range(max_in_flight)
        ]
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._retries: set[asyncio.Task[None]] = set()
        self._runners: list[asyncio.Task[None]] = []
        # Bumped by reset(): deliveries of an older generation are abandoned where they are.
        self._generation = 0
        self._client: httpx.AsyncClient | None = None
        self._transport = transport
        """None: the network (tests pass an ``httpx.MockTransport``)."""

    @property
    def settings(self) -> WebhookSettings:
        return self._settings

    def configure(self, update: WebhookSettingsUpdate) -> WebhookSettings:
        merged = {**self._settings.model_dump(), **update.model_dump(exclude_unset=True)}
        self._settings = WebhookSettings.model_validate(merged)
        return self._settings

    def publish(self, event: Event) -> None:
        """Record ``event`` and queue its delivery; call from the event loop."""
        settings = self._settings
        with self._lock:
            self._events.append(event)
        if settings.url is None or not is_enabled(event.type, settings.enabled_events):
            return
        secret = settings.secret.get_secret_value() if settings.secret is not None else None
        copies = 2 if self._rng.random() < settings.duplicate else 1
        for copy_index in range(copies):
            delivery = _Delivery(
                new_id("whdel", 16),
                event,
                settings.url,
                secret,
                duplicate=copy_index > 0,
                generation=self._generation,
            )
            self._remember(delivery)
            self._queue.put_nowait(delivery)

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return [delivery.view() for delivery in self._log.values()]

    def events(self) -> list[JsonObject]:
        with self._lock:
            return [event.as_json() for event in self._events]

    def reset(self, settings: WebhookSettings) -> None:
        """Take ``settings``, forget events and deliveries, drop what is queued or waiting
        to retry."""
        self._settings = settings
        self._generation += 1
        for task in list(self._retries):
            task.cancel()
        for queue in (self._queue, *self._lanes):
            while not queue.empty():
                queue.get_nowait()
        with self._lock:
            self._events.clear()
            self._log.clear()

    async def start(self) -> None:
        self._client = httpx.AsyncClient(transport=self._transport)
        self._runners = [asyncio.create_task(self._dispatch(), name="webhook-dispatch")]
        self._runners += [
            asyncio.create_task(self._send(lane), name=f"webhook-lane-{index}")
            for index, lane in enumerate(self._lanes)
        ]

    async def stop(self) -> None:
        tasks = [*self._retries, *self._runners]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.aclose()

    def _remember(self, delivery: _Delivery) -> None:
        with self._lock:
            self._log[delivery.id] = delivery
            while len(self._log) > self._max_log:
                self._log.popitem(last=False)

    def _lane_of(self, delivery: _Delivery) -> asyncio.Queue[_Delivery]:
        # crc32, not hash(): the same intent takes the same lane in every run.
        key = delivery.event.ordering_key.encode()
        return self._lanes[zlib.crc32(key) % len(self._lanes)]

    async def _dispatch(self) -> None:
        """Hand queued deliveries to their intents' lanes, in order (or reversed)."""
        while True:
            batch = [await self._queue.get()]
            if self._settings.reorder:
                batch += await self._collect(self._settings.reorder_window_s)
                batch.reverse()
            for delivery in batch:
                self._lane_of(delivery).put_nowait(delivery)

    async def _send(self, lane: asyncio.Queue[_Delivery]) -> None:
        """One lane: first attempts one at a time, in the order handed over."""
        while True:
            delivery = await lane.get()
            if delivery.generation != self._generation:
                continue
            try:
                delivered = await self._attempt(delivery)
            except Exception:
                # A bug here must not stop every later delivery: log it, go on.
                logger.exception("webhook delivery crashed eventId=%s", delivery.event.id)
                delivered = False
            if not delivered:
                self._schedule_retry(delivery)

    async def _collect(self, window_s: float) -> list[_Delivery]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + window_s
        gathered: list[_Delivery] = []
        while (remaining := deadline - loop.time()) > 0:
            try:
                gathered.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return gathered

    def _schedule_retry(self, delivery: _Delivery) -> None:
        if delivery.generation != self._generation:
            return
        if delivery.attempts >= self._settings.max_attempts:
            delivery.state = "failed"
            return
        task = asyncio.create_task(self._retry(delivery))
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def _retry(self, delivery: _Delivery) -> None:
        while delivery.attempts < self._settings.max_attempts:
            settings = self._settings
            delay = settings.retry_base_s * 2 ** (delivery.attempts - 1)
            await asyncio.sleep(min(delay, settings.retry_max_s))
            if await self._attempt(delivery):
                return
        delivery.state = "failed"

    async def _attempt(self, delivery: _Delivery) -> bool:
        assert self._client is not None, "start() the sender before delivering"
        delivery.attempts += 1
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": _USER_AGENT}
        if delivery.secret is not None:
            headers["stripe-signature"] = signature_header(delivery.event.payload, delivery.secret)
        try:
            async with self._in_flight:
                response = await self._client.post(
                    delivery.url,
                    content=delivery.event.payload,
                    headers=headers,
                    timeout=self._settings.timeout_s,
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            delivery.last_status, delivery.last_error = None, f"{type(exc).__name__}: {exc}"
        else:
            delivery.last_status, delivery.last_error = response.status_code, None
            if response.is_success:
                delivery.state = "delivered"
        logger.info(
            "webhook attempt eventId=%s type=%s attempt=%d status=%s error=%s",
            delivery.event.id,
            delivery.event.type,
            delivery.attempts,
            delivery.last_status,
            delivery.last_error,
        )
        return delivery.state == "delivered"
