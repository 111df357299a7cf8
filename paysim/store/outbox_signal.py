"""A wake-up for the outbox relay: set when a transaction that owes events has committed.

``Outbox.add`` marks its connection (``note_owed``); the engine's ``commit`` event turns
the mark into "committed", and the signal is set once that commit is over: when the
connection goes back to the pool, or begins its next transaction, whichever comes
first. Not at the ``commit`` event itself, which fires before the database commits: a
relay woken there could read its snapshot just before the rows land and then sleep on
them. A rolled-back transaction sets nothing.

Only a relay in the same process as the writers can be woken; one in another process
(``paysim serve relay``) keeps polling. A wake-up that finds nothing new is harmless.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

_OWED = "paysim_outbox_owed"
"""On a connection's ``info``: its open transaction added outbox rows."""
_COMMITTED = "paysim_outbox_committed"
"""On a connection's ``info``: it committed outbox rows and nobody was told yet."""

STOP_CHECK_S = 0.25
"""How often a waiting relay looks at its stop event (no database work)."""


def note_owed(connection: Connection) -> None:
    """Mark ``connection``'s transaction as one that added outbox rows."""
    connection.info[_OWED] = True


class OutboxSignal:
    """Set when rows were committed to an engine's outbox; the relay waits on it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def notify(self) -> None:
        self._event.set()

    def clear(self) -> None:
        """Forget earlier commits: call before reading the outbox, so that any commit
        after the read sets the signal again."""
        self._event.clear()

    def wait(self, timeout_s: float, stop: threading.Event) -> bool:
        """Wait up to ``timeout_s`` for a commit (0: only look); False on a timeout or
        once ``stop`` is set."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set():
            left = deadline - time.monotonic()
            if self._event.wait(min(max(left, 0.0), STOP_CHECK_S)):
                return True
            if left <= 0:
                return False
        return False


_signals: weakref.WeakKeyDictionary[Engine, OutboxSignal] = weakref.WeakKeyDictionary()
_signals_lock = threading.Lock()


def outbox_signal(engine: Engine) -> OutboxSignal:
    """The engine's signal, its event listeners installed on first use."""
    with _signals_lock:
        signal = _signals.get(engine)
        if signal is None:
            signal = _signals[engine] = OutboxSignal()
            _listen(engine, signal)
        return signal


def _listen(engine: Engine, signal: OutboxSignal) -> None:
    def committed_earlier(info: dict[Any, Any]) -> None:
        if info.pop(_COMMITTED, False):
            signal.notify()

    @event.listens_for(engine, "commit")
    def _on_commit(connection: Connection) -> None:
        if connection.info.pop(_OWED, False):
            connection.info[_COMMITTED] = True

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection: Connection) -> None:
        connection.info.pop(_OWED, None)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        committed_earlier(connection.info)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            committed_earlier(record.info)
