"""The launcher counts a service as started only when its own process answers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from paysim.infra import service_launcher


def _server(pid: int) -> Iterator[str]:
    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f'{{"status": "ok", "pid": {pid}}}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def healthz() -> Iterator[str]:
    yield from _server(os.getpid())


def test_the_started_process_answering_counts(healthz: str) -> None:
    assert service_launcher._answers(healthz, os.getpid())()


def test_another_process_on_the_port_does_not_count(healthz: str) -> None:
    # Ours failed to bind; whatever holds the port answers healthy but is not ours.
    assert not service_launcher._answers(healthz, os.getpid() + 1)()


def test_nothing_listening_does_not_count() -> None:
    assert not service_launcher._answers("http://127.0.0.1:9/healthz", os.getpid())()
