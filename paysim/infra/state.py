"""The run folder's record of a started stack, so a later command can find or stop it."""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from paysim.infra.endpoints import Endpoints
from paysim.infra.processes import ProcessHandle

STATE_FILE = "stack.json"


class StackState(BaseModel):
    """What ``infra up`` started: endpoints, and the processes or containers behind them."""

    endpoints: Endpoints
    processes: list[ProcessHandle] = Field(default_factory=list)
    containers: list[str] = Field(default_factory=list)


def load(run_dir: Path) -> StackState | None:
    path = run_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return StackState.model_validate(json.loads(path.read_text()))
    except ValueError:
        return None


def save(run_dir: Path, state: StackState) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(state.model_dump_json(indent=2))
    tmp.replace(run_dir / STATE_FILE)


def clear(run_dir: Path) -> None:
    (run_dir / STATE_FILE).unlink(missing_ok=True)


@contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Serialize up/down across processes (two test runs, a notebook and the CLI)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
