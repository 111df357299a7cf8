"""The idempotent-consumer step, written once: a handler run at most once per event.

``tracked(units, group, handler)`` opens a unit of work, records the event's id as
handled by ``group`` (``ProcessedEvents.record``) and only then runs the handler in the
same transaction. The tracking row and the handler's state change are committed together
or not at all: a redelivered event finds its row and is skipped; a handler that raises
rolls its row back with everything else, so the event is handled again when it comes
back.
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

    def handle_once(event: E) -> R | None:
        with units() as uow:
            if not uow.processed.record(group, event.event_id):
                return None
            return handler(uow, event)

    return handle_once
