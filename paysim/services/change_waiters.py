"""Waking requests that wait for an entity to change, from the thread that changed it.

A long-poll (``GET /api/orders/{id}?waitFor=...``) waits in the event loop; the change
it waits for is committed by a consumer thread or a request's worker thread. The writer
calls ``notify(key)`` once its transaction has committed (``UnitOfWork.after_commit``);
each waiter on that key has its ``asyncio.Event`` set through its own loop's
``call_soon_threadsafe``. A notice is only a hint to read again: a waiter re-reads the
store after each one, so a spurious notice (work a savepoint rolled back) costs one read,
and a waiter that registers before it reads cannot miss a commit.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from paysim.errors import TransientError

DEFAULT_MAX_WAITERS = 1024
"""Requests that may wait at once in one process; one more is refused (503)."""


class TooManyWaitersError(TransientError):
    """Every waiting place is taken; the client should ask again later (503)."""


@dataclass(frozen=True, slots=True, eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    changed: asyncio.Event


class ChangeWaiters:
    """Waiters keyed by entity id, woken from any thread; at most ``limit`` at once."""

    def __init__(self, limit: int = DEFAULT_MAX_WAITERS) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._waiters: dict[int, set[_Waiter]] = {}
        self._count = 0

    @property
    def waiting(self) -> int:
        """How many requests wait now."""
        return self._count

    @contextmanager
    def watching(self, key: int) -> Iterator[asyncio.Event]:
        """An event set whenever ``key`` changes while the block runs; call it from a
        coroutine, and read the entity only after entering (so no commit is missed).
        Raises ``TooManyWaitersError`` when ``limit`` requests wait already."""
        waiter = _Waiter(asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            if self._count >= self._limit:
                raise TooManyWaitersError(f"{self._limit} requests wait already; ask again")
            self._waiters.setdefault(key, set()).add(waiter)
            self._count += 1
        try:
            yield waiter.changed
        finally:
            with self._lock:
                waiters = self._waiters[key]
                waiters.discard(waiter)
                if not waiters:
                    del self._waiters[key]
                self._count -= 1

    def notify(self, key: int) -> None:
        """``key`` changed (and that change is committed): wake everyone waiting on it."""
        with self._lock:
            waiters = tuple(self._waiters.get(key, ()))
        for waiter in waiters:
            # RuntimeError: that loop is closed, and its request is gone with it.
            with suppress(RuntimeError):
                waiter.loop.call_soon_threadsafe(waiter.changed.set)
