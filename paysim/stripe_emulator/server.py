"""Serving the emulator with uvicorn: in the foreground (``run``) or in a thread.

The threaded form is for tests and notebooks that want the emulator in-process: it
binds its socket before starting, so the URL is known (port 0 picks a free port), and
``start`` returns only once the server accepts connections.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from paysim.errors import InfraError
from paysim.stripe_emulator.app import create_app
from paysim.stripe_emulator.config import EmulatorConfig


def run(config: EmulatorConfig) -> None:
    """Serve the emulator in the foreground until interrupted (Ctrl-C, SIGTERM)."""
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level=config.log_level,
        # The admin API must not stall shutdown behind a held ("timeout" fault) answer.
        timeout_graceful_shutdown=5,
    )


class EmulatorThread:
    """The emulator served by uvicorn on a background thread; a context manager."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._socket is None:
            raise InfraError("the emulator thread is not started")
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout_s: float = 10.0) -> str:
        """Bind, serve, and wait until uvicorn has started; returns the base URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self._socket = sock
        uv_config = uvicorn.Config(
            create_app(self.config),
            log_level=self.config.log_level,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(uv_config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="stripe-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise InfraError(f"the Stripe emulator did not start within {timeout_s}s")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
