"""Who may use the admin API's controls: with test mode off nobody, with it on the
holder of the stack's admin token (``Authorization: Bearer <token>``).

Health stays open either way: it tells only whether stripe-mock answers, and it is what
a launcher or a container probe polls.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from paysim.stripe_emulator.fault_middleware import ADMIN_PREFIX

_BEARER = HTTPBearer(
    auto_error=False,
    description="The stack's admin token: PAYSIM_ADMIN_TOKEN, or the run folder's secrets.json.",
)
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def token_guard(expected: SecretStr) -> Callable[..., Awaitable[None]]:
    """A dependency that lets through requests bearing ``expected`` and answers 401 else."""
    wanted = expected.get_secret_value().encode()

    async def guard(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        # compare_digest: the time a wrong guess takes says nothing about the token.
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), wanted):
            raise HTTPException(
                status_code=401,
                detail="the emulator's admin API needs the stack's admin token: "
                "Authorization: Bearer <token> (PAYSIM_ADMIN_TOKEN, or the run folder's "
                "secrets.json)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard


def closed_router() -> APIRouter:
    """Every admin path but health answers 404 saying why: test mode is off (to be
    included under the admin prefix)."""
    router = APIRouter()

    @router.api_route(
        "/{path:path}", methods=_ALL_METHODS, include_in_schema=False, response_model=None
    )
    async def closed(path: str) -> NoReturn:
        raise HTTPException(
            status_code=404,
            detail=f"{ADMIN_PREFIX}/{path} is off: the emulator runs with test mode off "
            "(PAYSIM_TEST_MODE=0)",
        )

    return router
