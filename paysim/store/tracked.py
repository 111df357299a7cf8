"""The idempotent-consumer step, written once: a handler run at most once per event.

``tracked(units, group, handler)`` opens a unit of work, records the event's id as
handled by ``group`` (``ProcessedEvents.record``) and only then runs the handler in the
same transaction. The tracking row and the handler's state change are committed together
or not at all: a redelivered event finds its row and is skipped; a handler that raises
rolls its row back with everything else, so the event is handled again when it comes
back.

Inside a batch (the consumer loop handling a round of records in one batch unit of work,
``UnitOfWork.open_batch``), the handler joins that unit of work instead of opening its
own: tracking rows and state changes of the whole round are committed together, and a
handler that raises rolls back the round, which the loop then handles record by record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from paysim.domain.events import Event
from paysim.store.unit_of_work import UnitOfWork

E = TypeVar("E", bound=Event)
R = TypeVar("R")


def tracked(
    units: Callable[[], UnitOfWork], group: str, handler: Callable[[UnitOfWork, E], R]
) -> Callable[[E], R | None]:
    """``handler`` run once per event for ``group``, in a unit of work from ``units``.

    The wrapped call returns the handler's answer, or None when the event was handled
    before (and nothing was done). A handler that needs to tell "done" from "seen" must
    therefore answer something other than None.
    """

    def once_in(uow: UnitOfWork, event: E) -> R | None:
        if not uow.processed.record(group, event.event_id):
            return None
        return handler(uow, event)

    def handle_once(event: E) -> R | None:
        unit = units()
        batch = unit.open_batch()
        if batch is not None:
            return once_in(batch, event)
        with unit as uow:
            return once_in(uow, event)

    return handle_once
