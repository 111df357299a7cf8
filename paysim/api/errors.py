"""paysim errors as HTTP responses: the status says who must act, the body says what."""

from __future__ import annotations

import math
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from paysim.domain.commands import InvalidCommandError
from paysim.domain.refunds import RefundError
from paysim.domain.transitions import IllegalTransition
from paysim.errors import MoneyError, PaysimError, PermanentError, TransientError

# Checked along each error's class hierarchy, most specific first.
HTTP_STATUS: Mapping[type[PaysimError], int] = {
    IllegalTransition: 409,
    RefundError: 422,
    MoneyError: 422,
    InvalidCommandError: 422,
    TransientError: 503,
    PermanentError: 422,
}


def status_for(exc: PaysimError, table: Mapping[type[PaysimError], int] = HTTP_STATUS) -> int:
    for cls in type(exc).__mro__:
        status = table.get(cls)
        if status is not None:
            return int(status)
    return 500


def _finite_or_text(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def install(app: FastAPI, service_statuses: Mapping[type[PaysimError], int] | None = None) -> None:
    """Answer paysim errors as JSON; a service adds its own (not found: 404, ...)."""
    table = {**HTTP_STATUS, **(service_statuses or {})}

    @app.exception_handler(PaysimError)
    async def _paysim_error(_request: Request, exc: PaysimError) -> JSONResponse:
        status = status_for(exc, table)
        headers = {"Retry-After": "1"} if status == 503 else None
        return JSONResponse(
            {"error": type(exc).__name__, "message": str(exc)}, status_code=status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each input back; a JSON number past a float's
        # range (1E+40000) or NaN arrives as a non-finite float, and echoing that fails
        # with a 500. Such an input is echoed as text.
        detail = jsonable_encoder(exc.errors(), custom_encoder={float: _finite_or_text})
        return JSONResponse({"detail": detail}, status_code=422)
