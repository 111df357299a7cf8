"""The admin API under ``/_emulator``: health, ledger, faults, webhooks, reset.

Never faulted and never forwarded to stripe-mock; :mod:`.client` is its Python client.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

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
    """Routes bound to one emulator's parts."""
    router = APIRouter(prefix=ADMIN_PREFIX, tags=["emulator admin"])

    @router.get("/health")
    async def health() -> Health:
        reachable, detail = await emulator.forwarder.ping()
        mock = StripeMockHealth(
            base_url=emulator.forwarder.base_url, reachable=reachable, detail=detail
        )
        return Health(status="ok", stripe_mock=mock)

    @router.get("/ledger")
    async def ledger() -> Ledger:
        return emulator.state.ledger()

    @router.post("/reset", status_code=204)
    async def reset() -> Response:
        emulator.reset()
        return Response(status_code=204)

    _fault_routes(router, emulator)
    _webhook_routes(router, emulator)
    return router


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
        return webhook_view(emulator.webhooks.configure(update))

    @router.get("/webhooks/deliveries")
    async def deliveries() -> list[Delivery]:
        return emulator.webhooks.deliveries()

    @router.get("/events")
    async def events() -> list[dict[str, Any]]:
        return emulator.webhooks.events()
