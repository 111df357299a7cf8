"""What a running stack offers its clients, and how to find it again."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

BackendName = Literal["docker", "native", "external"]


class Endpoints(BaseModel):
    """Addresses of a running broker and stripe-mock, whichever backend started them."""

    backend: BackendName
    bootstrap_servers: str
    stripe_api_base: str
