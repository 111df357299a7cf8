"""Carries out the faults :mod:`.faults` decides, around the emulator's ``/v1`` routes.

Faults that strike before the request is applied (500, 429, dropped connection) never
reach the routes: nothing is charged and no idempotency key is used up, as when Stripe
is unreachable. Faults that strike after (dropped connection, held answer) let the
routes apply the request and save its idempotent answer first, so a client that gives
up and retries with the same key gets the replay: the charge happens exactly once.
``/_emulator`` (the admin API) is never faulted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paysim.stripe_emulator import stripe_errors
from paysim.stripe_emulator.faults import FaultInjector, FaultPlan
from paysim.stripe_emulator.models import FaultSpec

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator"


class ConnectionDropError(RuntimeError):
    """The server gave no way to close the connection; the ASGI server answers 500."""


class FaultMiddleware:
    """Pure ASGI middleware, so that it sees the server's own ``receive`` channel."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        plan = self.injector.plan(scope["method"], scope["path"])
        if plan.is_empty:
            await self.app(scope, receive, send)
            return
        _log(plan, scope)
        if plan.latency_s > 0:
            await asyncio.sleep(plan.latency_s)
        if plan.before is not None:
            await _strike_before(plan.before, receive, send)
            return
        if plan.after is None:
            await self.app(scope, receive, send)
            return
        await self._strike_after(plan.after, scope, receive, send)

    async def _strike_after(
        self, fault: FaultSpec, scope: Scope, receive: Receive, send: Send
    ) -> None:
        held: list[Message] = []

        async def keep(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        if fault.kind == "drop_after":
            await drop_connection(receive)
            return
        # The client gives up long before ``hold_s``; stop waiting as soon as it does.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_disconnected(receive), timeout=fault.hold_s)
        for message in held:
            await send(message)


async def _strike_before(fault: FaultSpec, receive: Receive, send: Send) -> None:
    if fault.kind == "drop_before":
        await drop_connection(receive)
        return
    if fault.kind == "rate_limit":
        reply = stripe_errors.rate_limited()
    else:
        reply = stripe_errors.api_error(fault.status)
    body = json.dumps(reply.body, indent=2).encode()
    await send(
        {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def drop_connection(receive: Receive) -> None:
    """Close the TCP connection without a byte of answer.

    ASGI has no message for this, so reach the transport through uvicorn's ``receive``
    (a bound method of its request cycle). Yielding once lets the server see the
    connection as lost, so it does not try to answer 500 on a closed socket.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    # By its shape, not its class: uvloop's transports do not derive from asyncio's.
    close = getattr(transport, "close", None)
    if not callable(close):
        raise ConnectionDropError("this ASGI server does not expose its transport")
    close()
    await asyncio.sleep(0)


def _log(plan: FaultPlan, scope: Scope) -> None:
    kinds = [fault.kind for fault in (plan.before, plan.after) if fault is not None]
    logger.info(
        "fault injected method=%s path=%s latencyS=%.3f faults=%s rules=%s",
        scope["method"],
        scope["path"],
        plan.latency_s,
        kinds or ["latency"],
        list(plan.rule_ids),
    )
