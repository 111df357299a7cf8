"""``create_app``: the emulator as an ASGI application (FastAPI)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from paysim.stripe_emulator.admin import admin_router
from paysim.stripe_emulator.config import EmulatorConfig
from paysim.stripe_emulator.emulator import Emulator
from paysim.stripe_emulator.fault_middleware import FaultMiddleware

logger = logging.getLogger(__name__)

_API_METHODS = ["GET", "POST", "DELETE"]


def create_app(config: EmulatorConfig) -> FastAPI:
    """The emulator for ``config``; its parts are at ``app.state.emulator``.

    Nothing connects anywhere until the app's lifespan starts (the webhook sender's
    task, stripe-mock's HTTP client on first use).
    """
    emulator = Emulator.build(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await emulator.start()
        logger.info("stripe emulator ready stripeMock=%s", config.stripe_mock_base)
        try:
            yield
        finally:
            await emulator.stop()

    app = FastAPI(title="paysim Stripe test-mode emulator", lifespan=lifespan)
    app.state.emulator = emulator
    app.include_router(admin_router(emulator))
    app.add_api_route(
        "/v1/{path:path}", emulator.proxy.handle, methods=_API_METHODS, include_in_schema=False
    )
    app.add_middleware(FaultMiddleware, injector=emulator.faults)
    return app
