"""Waiters for an entity's change: woken from another thread after a commit, bounded,
and the long-poll's read loop over them."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine, text

from paysim.api.long_poll import read_until
from paysim.services.change_waiters import ChangeWaiters, TooManyWaitersError
from paysim.store.unit_of_work import UnitOfWork


def _from_another_thread(call: object, *args: object) -> None:
    assert callable(call)
    worker = threading.Thread(target=call, args=args)
    worker.start()
    worker.join(timeout=5)


def test_a_notice_from_another_thread_wakes_the_waiters_on_that_key_only() -> None:
    waiters = ChangeWaiters()

    async def scenario() -> tuple[bool, bool]:
        with waiters.watching(5) as five, waiters.watching(6) as six:
            assert waiters.waiting == 2
            _from_another_thread(waiters.notify, 5)
            await asyncio.wait_for(five.wait(), 10)
            await asyncio.sleep(0)  # any callback scheduled for six would have run
            return five.is_set(), six.is_set()

    assert asyncio.run(scenario()) == (True, False)
    assert waiters.waiting == 0


def test_a_notice_without_waiters_does_nothing() -> None:
    waiters = ChangeWaiters()
    waiters.notify(5)
    assert waiters.waiting == 0


def test_waiters_beyond_the_limit_are_refused_until_a_place_frees() -> None:
    waiters = ChangeWaiters(limit=2)

    async def scenario() -> None:
        with waiters.watching(1), waiters.watching(1):
            with pytest.raises(TooManyWaitersError), waiters.watching(2):
                pass
            assert waiters.waiting == 2
        with waiters.watching(2):
            assert waiters.waiting == 1

    asyncio.run(scenario())
    assert waiters.waiting == 0


class Box:
    """A value a test changes from another thread, as a commit would."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def read(self) -> str:
        self.reads += 1
        return self.value


def test_read_until_answers_when_a_notice_brings_what_is_waited_for() -> None:
    waiters, box = ChangeWaiters(), Box("PAYMENT_PENDING")

    def commit(value: str) -> None:
        box.value = value
        waiters.notify(7)

    async def scenario() -> str:
        waiting = asyncio.create_task(
            read_until(waiters, 7, box.read, lambda v: v == "PENDING", 30_000)
        )
        while waiters.waiting == 0:  # registered, and read once
            await asyncio.sleep(0)
        _from_another_thread(commit, "PAYMENT_FAILED")  # a change, not the one waited for
        _from_another_thread(commit, "PENDING")
        return await asyncio.wait_for(waiting, 10)

    assert asyncio.run(scenario()) == "PENDING"
    assert waiters.waiting == 0


def test_read_until_answers_what_it_read_when_the_wait_is_over() -> None:
    waiters, box = ChangeWaiters(), Box("PAYMENT_PENDING")
    at_once = asyncio.run(read_until(waiters, 7, box.read, lambda v: v == "PENDING", 0))
    assert (at_once, box.reads) == ("PAYMENT_PENDING", 1)
    later = asyncio.run(read_until(waiters, 7, box.read, lambda v: v == "PENDING", 20))
    assert later == "PAYMENT_PENDING"
    assert waiters.waiting == 0


def test_after_commit_callbacks_run_once_committed_and_never_after_a_rollback(
    engine: Engine,
) -> None:
    seen: list[str] = []
    with UnitOfWork(engine) as uow:
        uow.after_commit(lambda: seen.append("committed"))
        # Not yet: a reader told now would read the state before this transaction.
        assert seen == []
        uow.connection.execute(text("SELECT 1"))
    assert seen == ["committed"]

    def abandoned() -> None:
        with UnitOfWork(engine) as uow:
            uow.after_commit(lambda: seen.append("rolled back"))
            raise RuntimeError("abandoned")

    with pytest.raises(RuntimeError, match="abandoned"):
        abandoned()
    assert seen == ["committed"]


def test_a_failing_after_commit_callback_does_not_fail_the_committed_work(
    engine: Engine,
) -> None:
    seen: list[str] = []

    def fails() -> None:
        raise ValueError("a broken notice")

    with UnitOfWork(engine) as uow:
        uow.after_commit(fails)
        uow.after_commit(lambda: seen.append("still told"))
    assert seen == ["still told"]
