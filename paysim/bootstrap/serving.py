"""Running a service process: its HTTP app under uvicorn, its workers beside it.

Shutdown order matters: uvicorn stops taking requests (SIGTERM or Ctrl-C), then the
workers are told to stop (consumers commit and leave their group, the relay finishes
its round), then the producer is flushed.

uvicorn's default ``loop="auto"``, ``http="auto"`` serve with uvloop and httptools,
both paysim dependencies: on loopback they cost the order service less CPU per request
than asyncio and h11. JSON is left to FastAPI: with a return type it renders through
pydantic's own serializer, which measured faster than ``ORJSONResponse`` (deprecated).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import uvicorn

from paysim.bootstrap.common import ServiceProcess

log = logging.getLogger(__name__)


def serve(process: ServiceProcess, host: str, port: int) -> None:
    if process.app is None:
        raise ValueError("this process has no HTTP app; use run_workers_only")
    stop = threading.Event()
    threads = process.start(stop)
    server = uvicorn.Server(
        uvicorn.Config(
            process.app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
        )
    )
    try:
        server.run()
    finally:
        stop.set()
        process.shutdown(threads)
        log.info("service on port %s stopped", port)


def run_workers_only(process: ServiceProcess) -> None:
    """For processes without HTTP (a standalone relay): run until SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = process.start(stop)
    stop.wait()
    process.shutdown(threads)
