"""Path and query parameters the service APIs share, each with its bound.

An id past the store's 64-bit integer is refused with a 422 here, before it reaches a
query (where it would overflow the driver and answer 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from paysim.domain.bounds import MAX_ID, MAX_LIST_LIMIT

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive 64-bit id")]
"""An entity id in the path: ``/api/payments/{payment_id}``, ``/api/orders/{order_id}``."""


ListLimit = Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT, description="Rows to return")]
"""A list endpoint's ``limit``; each endpoint gives its own default."""
