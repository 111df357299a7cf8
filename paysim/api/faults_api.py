"""The ``/_faults`` routes over a service's fault switchboard (``paysim.services.faults``).

A testbench control: there only in test mode, and only for the holder of the stack's
admin token (:mod:`paysim.api.admin_access`); off, every ``/_faults`` path answers 404.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from pydantic import SecretStr

from paysim.api.admin_access import guarded_router
from paysim.services.faults import FaultPoints, FaultSpec

FAULTS_PREFIX = "/_faults"


def fault_router(faults: FaultPoints, admin_token: SecretStr | None) -> APIRouter:
    """The switchboard's routes; ``admin_token`` None (test mode off): closed."""
    controls = APIRouter(tags=["faults"])

    @controls.post("", status_code=201)
    def add_fault(spec: FaultSpec) -> dict[str, Any]:
        return asdict(faults.add(spec))

    @controls.get("")
    def list_faults() -> list[dict[str, Any]]:
        return faults.rules()

    @controls.delete("", status_code=204)
    def clear_faults() -> None:
        faults.clear()

    return guarded_router(controls, FAULTS_PREFIX, admin_token)
