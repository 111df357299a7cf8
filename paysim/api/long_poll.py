"""A long-poll: read an entity again each time it changes, until it is what the client
waits for or the client's wait is over; the timeout's bound and the read loop, once.

The wait holds no worker thread: it awaits a ``ChangeWaiters`` notice in the event loop
and reads the store in the threadpool only after one (and once at the start).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Query
from starlette.concurrency import run_in_threadpool

from paysim.domain.bounds import MAX_WAIT_MS
from paysim.services.change_waiters import ChangeWaiters

T = TypeVar("T")

DEFAULT_WAIT_MS = 10_000

WaitTimeoutMs = Annotated[
    int,
    Query(
        alias="timeoutMs",
        ge=0,
        le=MAX_WAIT_MS,
        description="With waitFor: how long to wait at most, in ms; the answer at the end "
        "is what the entity is then",
    ),
]


async def read_until(
    waiters: ChangeWaiters,
    key: int,
    read: Callable[[], T],
    done: Callable[[T], bool],
    timeout_ms: int,
) -> T:
    """``read()`` now and after each change of ``key``, until ``done`` holds of what it
    read or ``timeout_ms`` has passed; what it read last."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_ms / 1000
    with waiters.watching(key) as changed:
        while True:
            # Cleared before the read: a commit during the read sets it again.
            changed.clear()
            value = await run_in_threadpool(read)
            remaining = deadline - loop.time()
            if done(value) or remaining <= 0:
                return value
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return value  # no change since it was read
