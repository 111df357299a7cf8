"""The ``/_faults`` routes over a service's fault switchboard (``paysim.services.faults``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from paysim.services.faults import FaultPoints, FaultSpec


def fault_router(faults: FaultPoints) -> APIRouter:
    router = APIRouter(prefix="/_faults", tags=["faults"])

    @router.post("", status_code=201)
    def add_fault(spec: FaultSpec) -> dict[str, Any]:
        return asdict(faults.add(spec))

    @router.get("")
    def list_faults() -> list[dict[str, Any]]:
        return faults.rules()

    @router.delete("", status_code=204)
    def clear_faults() -> None:
        faults.clear()

    return router
