"""Background loops that call a function every interval until the process stops.

A round that raises is logged and counted (``paysim_worker_errors_total``) and the loop
goes on: one database error must not end a sweep for the life of the process. Should
the thread end all the same, the service's ``/healthz`` names it (``dead_workers``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from paysim import metrics

log = logging.getLogger(__name__)


def periodic(name: str, interval_s: float, fn: Callable[[], object], stop: threading.Event) -> None:
    """Call ``fn`` every ``interval_s`` seconds until ``stop`` is set, surviving its errors."""
    errors = metrics.WORKER_ERRORS.labels(name)  # exported from the start, at zero
    log.info("%s started (every %.3fs)", name, interval_s)
    while not stop.wait(interval_s):
        try:
            fn()
        except Exception:
            errors.inc()
            log.exception("%s: round failed; trying again in %.3fs", name, interval_s)
    log.info("%s stopped", name)
