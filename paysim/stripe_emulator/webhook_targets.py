"""Where the admin API may point the webhooks: this machine, or the endpoint the emulator
was started with.

``PATCH /_emulator/webhooks`` takes a URL and makes the emulator POST signed events to
it. Open to any URL, that is a request forger aimed at whatever the emulator can reach;
so a new target must be on loopback (127.0.0.0/8, ``localhost``, ``[::1]``). The endpoint
given at start-up (by whoever started the emulator, e.g. a container's
``http://payment:8001/webhooks/stripe``) stays allowed, so webhooks can be switched off
and back on.
"""

from __future__ import annotations

import ipaddress

import httpx

_LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback_url(url: str) -> bool:
    """An http(s) URL whose host is a loopback address or ``localhost``."""
    try:
        # httpx's parser: the same one the sender uses, so both read the same host.
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    if parsed.scheme not in ("http", "https"):
        return False
    host = parsed.host.lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusal(url: str, started_with: str | None) -> str | None:
    """Why the emulator will not send webhooks to ``url``, or ``None`` if it will."""
    if url == started_with or is_loopback_url(url):
        return None
    return (
        f"webhook target {url!r} refused: the emulator sends webhooks only to loopback "
        "(127.0.0.0/8, localhost, [::1]) or to the endpoint it was started with"
    )
