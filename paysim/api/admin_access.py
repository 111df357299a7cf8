"""Who may use a testbench control (the services' fault switchboard at ``/_faults``,
the emulator's admin API at ``/_emulator``): with test mode off nobody, with it on the
holder of the stack's admin token (``Authorization: Bearer <token>``).

Written once for both: a service's app and the emulator's guard their controls with
:func:`guarded_router`. A control that is off answers 404 saying why, whatever the
token; a control that is on answers 401 to anyone without the token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

_BEARER = HTTPBearer(
    auto_error=False,
    description="The stack's admin token: PAYSIM_ADMIN_TOKEN, or the run folder's secrets.json.",
)
_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def token_guard(expected: SecretStr, where: str) -> Callable[..., Awaitable[None]]:
    """A dependency that lets through requests bearing ``expected`` and answers 401 else;
    ``where`` names the controls in the answer."""
    wanted = expected.get_secret_value().encode()

    async def guard(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        # compare_digest: the time a wrong guess takes says nothing about the token.
        if credentials is None or not hmac.compare_digest(credentials.credentials.encode(), wanted):
            raise HTTPException(
                status_code=401,
                detail=f"{where} needs the stack's admin token: Authorization: Bearer <token> "
                "(PAYSIM_ADMIN_TOKEN, or the run folder's secrets.json)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return guard


def closed_router(prefix: str) -> APIRouter:
    """Every path under ``prefix`` (and ``prefix`` itself) answers 404 saying why: test
    mode is off."""
    router = APIRouter()

    @router.api_route(
        f"{prefix}{{rest:path}}", methods=_ALL_METHODS, include_in_schema=False, response_model=None
    )
    async def closed(rest: str) -> NoReturn:
        raise HTTPException(
            status_code=404,
            detail=f"{prefix}{rest} is off: this stack runs with test mode off "
            "(PAYSIM_TEST_MODE=0)",
        )

    return router


def guarded_router(controls: APIRouter, prefix: str, admin_token: SecretStr | None) -> APIRouter:
    """``controls`` (their paths relative to ``prefix``) for the holder of ``admin_token``;
    ``None`` (test mode off): every path under ``prefix`` closed instead."""
    router = APIRouter()
    if admin_token is None:
        router.include_router(closed_router(prefix))
    else:
        router.include_router(
            controls, prefix=prefix, dependencies=[Depends(token_guard(admin_token, prefix))]
        )
    return router
