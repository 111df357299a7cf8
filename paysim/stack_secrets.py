"""The stack's own secrets: the webhook signing secret and the admin token.

``paysim up`` issues fresh ones for every stack it starts, records them in the run
folder in a file only its owner can read (``secrets.json``, mode 0600), and hands them
to the service processes in their environment: never on a command line, where ``ps``
shows it to every user of the machine. paysim's own tools (the lab, the tests, the load
runs) find them in that file. A value set explicitly (``PAYSIM_WEBHOOK_SECRET``,
``PAYSIM_ADMIN_TOKEN``) wins over a generated one.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from paysim.config import Settings
from paysim.errors import InfraError

SECRETS_FILE = "secrets.json"
WEBHOOK_SECRET_ENV = "PAYSIM_WEBHOOK_SECRET"
ADMIN_TOKEN_ENV = "PAYSIM_ADMIN_TOKEN"


class StackSecrets(BaseModel):
    """The secrets one stack's processes share."""

    model_config = ConfigDict(frozen=True)

    webhook_secret: SecretStr
    admin_token: SecretStr

    def environ(self) -> dict[str, str]:
        """As the ``PAYSIM_*`` variables a service process reads them from."""
        return {
            WEBHOOK_SECRET_ENV: self.webhook_secret.get_secret_value(),
            ADMIN_TOKEN_ENV: self.admin_token.get_secret_value(),
        }


def path_in(run_dir: Path) -> Path:
    """Where a run folder's secrets are recorded."""
    return run_dir / SECRETS_FILE


def generate() -> StackSecrets:
    return StackSecrets(
        webhook_secret=SecretStr("whsec_" + secrets.token_hex(32)),
        admin_token=SecretStr(secrets.token_urlsafe(32)),
    )


def load(run_dir: Path) -> StackSecrets | None:
    """The secrets recorded in ``run_dir``, if there are any."""
    try:
        return StackSecrets.model_validate_json(path_in(run_dir).read_bytes())
    except (OSError, ValidationError):
        return None


def _explicit_or(settings: Settings, fallback: StackSecrets) -> StackSecrets:
    return StackSecrets(
        webhook_secret=settings.webhook_secret or fallback.webhook_secret,
        admin_token=settings.admin_token or fallback.admin_token,
    )


def _record(run_dir: Path, stack: StackSecrets, *, replace: bool) -> bool:
    """Write ``stack`` to the run folder; with ``replace`` off, only if nothing is there
    yet (False if something was)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    tmp = run_dir / f".{SECRETS_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    # Created 0600 and exclusively: readable by nobody else from its first byte on.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(
                {
                    "webhook_secret": stack.webhook_secret.get_secret_value(),
                    "admin_token": stack.admin_token.get_secret_value(),
                },
                out,
            )
        if replace:
            os.replace(tmp, path_in(run_dir))
            return True
        try:
            # A hard link fails if the name exists: of two processes creating at once,
            # exactly one wins and both then read the winner's secrets.
            os.link(tmp, path_in(run_dir))
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)


def issue(settings: Settings) -> StackSecrets:
    """Fresh secrets for a stack about to start (explicit settings kept), recorded."""
    stack = _explicit_or(settings, generate())
    _record(settings.resolved_run_dir, stack, replace=True)
    return stack


def find(settings: Settings) -> StackSecrets | None:
    """The secrets of the stack in ``settings``' run folder, as a client finds them:
    explicit settings first, else those recorded there; ``None`` if there are none."""
    if settings.webhook_secret is not None and settings.admin_token is not None:
        return StackSecrets(
            webhook_secret=settings.webhook_secret, admin_token=settings.admin_token
        )
    recorded = load(settings.resolved_run_dir)
    return None if recorded is None else _explicit_or(settings, recorded)


def resolve(settings: Settings) -> StackSecrets:
    """The secrets a process of the stack in ``settings``' run folder works with.

    As :func:`find` (``paysim up`` passes its processes the recorded secrets in their
    environment), recorded now if there are none yet: a service started by hand, or by
    docker-compose on a shared volume.
    """
    found = find(settings)
    if found is None:
        _record(settings.resolved_run_dir, generate(), replace=False)
        found = find(settings)
    if found is None:
        raise InfraError(f"cannot read the stack's secrets in {path_in(settings.resolved_run_dir)}")
    return found


def discard(run_dir: Path) -> None:
    """Forget a stopped stack's secrets: the next stack gets its own."""
    path_in(run_dir).unlink(missing_ok=True)
