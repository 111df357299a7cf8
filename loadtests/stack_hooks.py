"""The locust run's stack: found or started before the first user, judged after the last.

Targets are loopback only: a run refuses any payment or order API that is not on
127.0.0.1/localhost, whatever the command line says. The emulator's admin token is the
stack's: ``PAYSIM_ADMIN_TOKEN``, or found in its run folder (``PAYSIM_RUN_DIR``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

from pydantic import SecretStr

from paysim import stack_secrets
from paysim.config import Settings
from paysim.lab import Lab
from paysim.stripe_emulator.client import EmulatorAdmin

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
    admin_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    order_ids: list[int] = field(default_factory=list)

    def attach(self) -> None:
        """Use the services named by PAYSIM_PAYMENT_API/... or start the stack here."""
        if os.environ.get("PAYSIM_PAYMENT_API"):
            self.payment_api = require_loopback(os.environ["PAYSIM_PAYMENT_API"])
            self.order_api = require_loopback(os.environ["PAYSIM_ORDER_API"])
            self.stripe_emulator = require_loopback(os.environ["PAYSIM_STRIPE_EMULATOR"])
            found = stack_secrets.find(Settings())
            if found is None:
                raise SystemExit("no admin token: set PAYSIM_ADMIN_TOKEN or PAYSIM_RUN_DIR")
            self.admin_token = found.admin_token
            return
        self.lab = Lab.start()
        self.payment_api = self.lab.urls.payment_api
        self.order_api = self.lab.urls.order_api
        self.stripe_emulator = self.lab.urls.stripe_emulator
        self.admin_token = self.lab.urls.admin_token

    def emulator(self, timeout: float = 5.0) -> EmulatorAdmin:
        """The Stripe emulator's admin API, with the stack's token; a context manager."""
        return EmulatorAdmin(self.stripe_emulator, self.admin_token, timeout=timeout)
