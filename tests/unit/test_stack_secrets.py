"""The stack's secrets: generated per stack, private to their owner, never on a command
line; the emulator takes them (and test mode) from settings, never from options."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from paysim import stack_secrets
from paysim.config import Settings
from paysim.infra import Endpoints, service_launcher
from paysim.infra.processes import ProcessHandle
from paysim.stripe_emulator.__main__ import config_from_args
from paysim.stripe_emulator.config import EmulatorConfig
from paysim.stripe_emulator.webhook_targets import is_loopback_url, refusal

ENDPOINTS = Endpoints(
    backend="external", bootstrap_servers="127.0.0.1:9092", stripe_api_base="http://127.0.0.1:1"
)


@pytest.fixture(autouse=True)
def _no_secrets_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (stack_secrets.WEBHOOK_SECRET_ENV, stack_secrets.ADMIN_TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PAYSIM_TEST_MODE", raising=False)


def _settings(run_dir: Path, **given: Any) -> Settings:
    return Settings(run_dir=run_dir, **given)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_issued_secrets_are_recorded_for_their_owner_only(tmp_path: Path) -> None:
    issued = stack_secrets.issue(_settings(tmp_path))
    assert issued.webhook_secret.get_secret_value().startswith("whsec_")
    assert len(issued.admin_token.get_secret_value()) >= 32
    assert _mode(stack_secrets.path_in(tmp_path)) == 0o600
    assert stack_secrets.load(tmp_path) == issued
    assert [p.name for p in tmp_path.iterdir()] == [stack_secrets.SECRETS_FILE]


def test_every_stack_gets_its_own_secrets(tmp_path: Path) -> None:
    first = stack_secrets.issue(_settings(tmp_path / "a"))
    second = stack_secrets.issue(_settings(tmp_path / "b"))
    again = stack_secrets.issue(_settings(tmp_path / "a"))
    values = {
        s.get_secret_value()
        for stack in (first, second, again)
        for s in (stack.webhook_secret, stack.admin_token)
    }
    assert len(values) == 6


def test_explicit_settings_win(tmp_path: Path) -> None:
    settings = _settings(tmp_path, webhook_secret="whsec_given")
    issued = stack_secrets.issue(settings)
    assert issued.webhook_secret.get_secret_value() == "whsec_given"
    assert stack_secrets.resolve(settings) == issued


def test_find_never_creates_and_resolve_creates_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert stack_secrets.find(settings) is None
    assert not stack_secrets.path_in(tmp_path).exists()
    found: list[stack_secrets.StackSecrets] = []
    threads = [
        threading.Thread(target=lambda: found.append(stack_secrets.resolve(settings)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8
    assert all(f == found[0] for f in found)
    assert stack_secrets.find(settings) == found[0]
    assert _mode(stack_secrets.path_in(tmp_path)) == 0o600


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    """``service_launcher.up`` with process spawning recorded instead of done."""
    calls: list[tuple[list[str], dict[str, str]]] = []

    def spawn(
        name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None
    ) -> ProcessHandle:
        calls.append((list(argv), dict(env or {})))
        # A pid that is not running: nothing can ever signal a real process through it.
        return ProcessHandle(name, 2**22 + len(calls), 0.0, str(log_path))

    monkeypatch.setattr(service_launcher.processes, "spawn", spawn)
    monkeypatch.setattr(service_launcher.processes, "wait_until", lambda *_, **__: None)
    return calls


def test_launched_command_lines_carry_no_secret(
    tmp_path: Path, spawned: list[tuple[list[str], dict[str, str]]]
) -> None:
    settings = _settings(tmp_path)
    urls = service_launcher.up(settings, ENDPOINTS)
    recorded = stack_secrets.load(tmp_path)
    assert recorded is not None
    assert urls.admin_token == recorded.admin_token
    secret_values = list(recorded.environ().values())
    for argv, env in spawned:
        assert not any(value in arg for arg in argv for value in secret_values), argv
        assert {k: env[k] for k in recorded.environ()} == recorded.environ()
    assert len(spawned) == len(service_launcher.SPECS)
    # The token is in the 0600 secrets file only: not in services.json, not in the URLs.
    state = (tmp_path / service_launcher.STATE_FILE).read_text()
    assert not any(value in state for value in secret_values)
    assert "admin_token" not in json.dumps(urls.model_dump())


def test_two_stacks_launch_with_different_secrets(
    tmp_path: Path, spawned: list[tuple[list[str], dict[str, str]]]
) -> None:
    service_launcher.up(_settings(tmp_path / "one"), ENDPOINTS)
    service_launcher.up(_settings(tmp_path / "two"), ENDPOINTS)
    envs = [env for _, env in spawned]
    one, two = envs[0], envs[len(service_launcher.SPECS)]
    for name in (stack_secrets.WEBHOOK_SECRET_ENV, stack_secrets.ADMIN_TOKEN_ENV):
        assert one[name] != two[name]


def test_the_emulator_takes_secrets_and_test_mode_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYSIM_RUN_DIR", str(tmp_path))
    issued = stack_secrets.issue(_settings(tmp_path))
    config = config_from_args(["--stripe-mock-base", "http://127.0.0.1:1"])
    assert config.test_mode is True
    assert config.admin_token == issued.admin_token
    assert config.webhooks.secret == issued.webhook_secret

    monkeypatch.setenv("PAYSIM_TEST_MODE", "0")
    assert config_from_args(["--stripe-mock-base", "http://127.0.0.1:1"]).test_mode is False
    with pytest.raises(SystemExit):
        config_from_args(["--stripe-mock-base", "http://x", "--webhook-secret", "whsec_x"])


def test_test_mode_needs_a_token() -> None:
    with pytest.raises(ValidationError, match="admin_token"):
        EmulatorConfig(stripe_mock_base="http://127.0.0.1:1")
    assert not EmulatorConfig(stripe_mock_base="http://127.0.0.1:1", test_mode=False).test_mode
    EmulatorConfig(stripe_mock_base="http://127.0.0.1:1", admin_token=SecretStr("t" * 32))


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8001/webhooks/stripe", True),
        ("http://127.255.0.9/", True),
        ("http://localhost/", True),
        ("http://[::1]:9/", True),
        ("https://LocalHost/", True),
        ("http://10.0.0.1/", False),
        ("http://example.com/", False),
        ("http://127.0.0.1.nip.io/", False),
        ("http://localhost@example.com/", False),
        ("http://0x7f000001/", False),
        ("gopher://127.0.0.1/", False),
        ("", False),
    ],
)
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_the_start_up_endpoint_is_allowed_and_nothing_else_off_loopback() -> None:
    started = "http://payment:8001/webhooks/stripe"
    assert refusal(started, started) is None
    assert refusal("http://payment:8002/webhooks/stripe", started) is not None
    assert refusal("http://10.0.0.1/", None) is not None
