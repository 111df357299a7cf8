"""The admin API under ``/_emulator``: health, ledger, faults, webhooks, reset.

Never faulted and never forwarded to stripe-mock; :mod:`.client` is its Python client.
Everything but health is there only in test mode and only for the holder of the admin
token (:mod:`paysim.api.admin_access`).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, HTTPException, Response

from paysim.api.admin_access import guarded_router
from paysim.stripe_emulator import webhook_targets
from paysim.stripe_emulator.emulator import Emulator
from paysim.stripe_emulator.fault_middleware import ADMIN_PREFIX
from paysim.stripe_emulator.models import (
    Delivery,
    FaultRuleView,
    FaultSeed,
    FaultSpec,
    Health,
    Ledger,
    StripeMockHealth,
    WebhookSettings,
    WebhookSettingsUpdate,
    WebhookSettingsView,
)


def webhook_view(settings: WebhookSettings) -> WebhookSettingsView:
    return WebhookSettingsView(
        **settings.model_dump(exclude={"secret"}), secret_set=settings.secret is not None
    )


def admin_router(emulator: Emulator) -> APIRouter:
    """Routes bound to one emulator's parts: health for anyone, the controls guarded."""
    router = APIRouter(tags=["emulator admin"])

    @router.get(f"{ADMIN_PREFIX}/health")
    async def health() -> Health:
        reachable, detail = await emulator.forwarder.ping()
        mock = StripeMockHealth(
            base_url=emulator.forwarder.base_url, reachable=reachable, detail=detail
        )
        return Health(status="ok", stripe_mock=mock, pid=os.getpid())

    config = emulator.config
    controls = APIRouter(tags=["emulator admin"])
    _state_routes(controls, emulator)
    _fault_routes(controls, emulator)
    _webhook_routes(controls, emulator)
    # After health: with test mode off, the closed controls answer every other path.
    admin_token = config.admin_token if config.test_mode else None
    router.include_router(guarded_router(controls, ADMIN_PREFIX, admin_token))
    return router


def _state_routes(router: APIRouter, emulator: Emulator) -> None:
    @router.get("/ledger")
    async def ledger() -> Ledger:
        return emulator.state.ledger()

    @router.post("/reset", status_code=204)
    async def reset() -> Response:
        emulator.reset()
        return Response(status_code=204)


def _fault_routes(router: APIRouter, emulator: Emulator) -> None:
    @router.get("/faults")
    async def list_faults() -> list[FaultRuleView]:
        return emulator.faults.rules()

    @router.post("/faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> FaultRuleView:
        try:
            return emulator.faults.add(spec)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc

    @router.delete("/faults", status_code=204)
    async def clear_faults() -> Response:
        emulator.faults.clear()
        return Response(status_code=204)

    @router.delete("/faults/{rule_id}", status_code=204)
    async def remove_fault(rule_id: str) -> Response:
        if not emulator.faults.remove(rule_id):
            raise HTTPException(status_code=404, detail=f"no fault rule {rule_id}")
        return Response(status_code=204)

    @router.post("/faults/seed", status_code=204)
    async def seed_faults(seed: FaultSeed) -> Response:
        emulator.faults.reseed(seed.seed)
        return Response(status_code=204)


def _webhook_routes(router: APIRouter, emulator: Emulator) -> None:
    @router.get("/webhooks")
    async def webhook_settings() -> WebhookSettingsView:
        return webhook_view(emulator.webhooks.settings)

    @router.patch("/webhooks")
    async def configure_webhooks(update: WebhookSettingsUpdate) -> WebhookSettingsView:
        if update.url is not None:
            refused = webhook_targets.refusal(update.url, emulator.config.webhooks.url)
            if refused is not None:
                raise HTTPException(status_code=422, detail=refused)
        return webhook_view(emulator.webhooks.configure(update))

    @router.get("/webhooks/deliveries")
    async def deliveries() -> list[Delivery]:
        return emulator.webhooks.deliveries()

    @router.get("/events")
    async def events() -> list[dict[str, Any]]:
        return emulator.webhooks.events()
