"""The locust run's stack: found or started before the first user, judged after the last.

Targets are loopback only: a run refuses any payment or order API that is not on
127.0.0.1/localhost, whatever the command line says.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

from paysim.lab import Lab

log = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def require_loopback(url: str) -> str:
    host = urlparse(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"load tests target loopback only; refusing {url}")
    return url.rstrip("/")


@dataclass
class RunState:
    """What the users share: where the services are, and the orders they created."""

    lab: Lab | None = None
    payment_api: str = ""
    order_api: str = ""
    stripe_emulator: str = ""
    order_ids: list[int] = field(default_factory=list)

    def attach(self) -> None:
        """Use the services named by PAYSIM_PAYMENT_API/... or start the stack here."""
        if os.environ.get("PAYSIM_PAYMENT_API"):
            self.payment_api = require_loopback(os.environ["PAYSIM_PAYMENT_API"])
            self.order_api = require_loopback(os.environ["PAYSIM_ORDER_API"])
            self.stripe_emulator = require_loopback(os.environ["PAYSIM_STRIPE_EMULATOR"])
            return
        self.lab = Lab.start()
        self.payment_api = self.lab.urls.payment_api
        self.order_api = self.lab.urls.order_api
        self.stripe_emulator = self.lab.urls.stripe_emulator
