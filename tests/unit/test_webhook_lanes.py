"""The emulator's webhook sender: concurrent deliveries, bounded, in order per intent."""

from __future__ import annotations

import asyncio
import json
import random

import httpx

from paysim.stripe_emulator.models import WebhookSettings
from paysim.stripe_emulator.webhook_sender import WebhookSender
from paysim.stripe_emulator.webhooks import EventSource, build_event

SOURCE = EventSource(request_id="req_1", idempotency_key=None, api_version="2024-06-20")
URL = "http://127.0.0.1:9/webhooks"


class Receiver:
    """A webhook endpoint answering after a random short delay, counting open requests."""

    def __init__(self, seed: int, fail_first: int = 0) -> None:
        self._rng = random.Random(seed)
        self.fail_first = fail_first
        self.open = 0
        self.most_open = 0
        self.received: list[tuple[str, int]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await asyncio.sleep(self._rng.uniform(0.0, 0.01))
        finally:
            self.open -= 1
        if self.fail_first > 0:
            self.fail_first -= 1
            return httpx.Response(500)
        body = json.loads(request.content)
        intent = body["data"]["object"]
        self.received.append((intent["id"], intent["step"]))
        return httpx.Response(200)


async def _deliver(
    receiver: Receiver, intents: int, steps: int, bound: int, **settings: object
) -> WebhookSender:
    sender = WebhookSender(
        WebhookSettings(url=URL, retry_base_s=0.01, **settings),  # type: ignore[arg-type]
        seed=1,
        max_in_flight=bound,
        transport=httpx.MockTransport(receiver),
    )
    await sender.start()
    try:
        # Interleaved as a load run makes them: each intent's steps among the others'.
        for step in range(steps):
            for intent in range(intents):
                obj = {"id": f"pi_{intent}", "object": "payment_intent", "step": step}
                sender.publish(build_event("payment_intent.succeeded", obj, SOURCE))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20.0
        while len(receiver.received) < intents * steps and loop.time() < deadline:
            await asyncio.sleep(0.01)
    finally:
        await sender.stop()
    return sender


def _steps_per_intent(received: list[tuple[str, int]]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for intent, step in received:
        seen.setdefault(intent, []).append(step)
    return seen


def test_deliveries_run_concurrently_within_the_bound_and_in_order_per_intent() -> None:
    receiver = Receiver(seed=7)
    asyncio.run(_deliver(receiver, intents=40, steps=5, bound=6))
    assert len(receiver.received) == 200
    assert 1 < receiver.most_open <= 6
    seen = _steps_per_intent(receiver.received)
    assert all(steps == [0, 1, 2, 3, 4] for steps in seen.values()), seen


def test_retries_count_against_the_bound() -> None:
    receiver = Receiver(seed=3, fail_first=30)
    asyncio.run(_deliver(receiver, intents=30, steps=2, bound=4))
    assert len(receiver.received) == 60
    assert receiver.most_open <= 4


def test_one_lane_sends_in_the_order_events_happened() -> None:
    receiver = Receiver(seed=5)
    asyncio.run(_deliver(receiver, intents=5, steps=4, bound=1))
    assert receiver.most_open == 1
    assert receiver.received == [(f"pi_{i}", s) for s in range(4) for i in range(5)]


def test_reorder_reverses_each_intents_events() -> None:
    receiver = Receiver(seed=9)
    asyncio.run(_deliver(receiver, intents=3, steps=3, bound=4, reorder=True))
    seen = _steps_per_intent(receiver.received)
    assert all(steps == [2, 1, 0] for steps in seen.values()), seen


def test_a_charge_is_ordered_with_its_payment_intent() -> None:
    charge = build_event(
        "charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_9"}, SOURCE
    )
    intent = build_event("payment_intent.succeeded", {"id": "pi_9"}, SOURCE)
    assert charge.ordering_key == intent.ordering_key == "pi_9"
