"""The running service processes as an observer sees them: their settings and their logs.

``paysim up`` (and ``Lab.start``) reuse a healthy set of services as it is, so the
settings a notebook asked for with ``service_env`` hold only if it started them. These
helpers read what a running service was actually started with (its ``PAYSIM_*``
environment) and what it wrote to its log file, without touching the process.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import psutil
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from paysim.config import Settings
from paysim.infra import service_launcher

ENV_PREFIX = "PAYSIM_"


class _GivenSettings(Settings):
    """Settings built from the values given only: the caller's environment is ignored."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],  # noqa: ARG003 (pydantic passes every source)
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def service_environ(settings: Settings, name: str) -> dict[str, str]:
    """The ``PAYSIM_*`` environment variables the running service ``name`` was started with.

    Raises ``LookupError`` if no services are recorded, ``psutil.Error`` if the process is
    gone or not readable.
    """
    handle = service_launcher.process_of(settings, name)
    environ: dict[str, str] = psutil.Process(handle.pid).environ()
    return {key: value for key, value in environ.items() if key.startswith(ENV_PREFIX)}


def settings_from_environ(environ: Mapping[str, str]) -> Settings:
    """The ``Settings`` a process with this environment reads (its own, not ours)."""
    names = {f"{ENV_PREFIX}{field.upper()}": field for field in Settings.model_fields}
    given: dict[str, Any] = {names[key]: value for key, value in environ.items() if key in names}
    return _GivenSettings(**given)


def service_settings(settings: Settings, name: str) -> Settings:
    """The settings the running service ``name`` works with, e.g. its saga deadlines."""
    return settings_from_environ(service_environ(settings, name))


def differs(settings: Settings, name: str, wanted: Mapping[str, str]) -> dict[str, str | None]:
    """Which of ``wanted`` the running service was started without: {variable: its value}."""
    environ = service_environ(settings, name)
    return {key: environ.get(key) for key, value in wanted.items() if environ.get(key) != value}


def log_path(settings: Settings, name: str) -> Path:
    """The log file of the running service ``name`` (appended to across restarts)."""
    return Path(service_launcher.process_of(settings, name).log_path)


def log_offset(settings: Settings, name: str) -> int:
    """Where a service's log ends now: pass it as ``start`` to read only what comes next."""
    path = log_path(settings, name)
    return path.stat().st_size if path.exists() else 0


def log_lines(
    settings: Settings, name: str, contains: str | Iterable[str], *, start: int = 0
) -> list[str]:
    """The lines of a service's log that contain any of the strings, oldest first.

    The file keeps the lines of earlier runs on the same run folder: filter by something
    unique (an idempotency key, an eventId), or read from a ``start`` offset taken with
    ``log_offset`` before the thing you look for happened.
    """
    needles = [contains] if isinstance(contains, str) else list(contains)
    path = log_path(settings, name)
    if not path.exists():
        return []
    with path.open("rb") as log:
        log.seek(start)
        text = log.read().decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if any(n in line for n in needles)]


def wait_for_log_lines(
    settings: Settings,
    name: str,
    contains: str | Iterable[str],
    *,
    count: int = 1,
    start: int = 0,
    timeout_s: float = 30.0,
) -> list[str]:
    """Poll a service's log until at least ``count`` lines contain any of the strings.

    For things a service only tells its log (a duplicate it skipped, a call it retried);
    raises ``TimeoutError`` with what was found.
    """
    needles = [contains] if isinstance(contains, str) else list(contains)
    deadline = time.monotonic() + timeout_s
    while True:
        found = log_lines(settings, name, needles, start=start)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{name}: {len(found)} of {count} log lines with {needles} after {timeout_s}s"
            )
        time.sleep(0.2)
